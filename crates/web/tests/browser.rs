//! A real browser (Debian's chromium driven through chromedriver's WebDriver API) logs in, drills down
//! to a grid and searches a resident. Runs when FANGKONG_TEST_BROWSER is set (CI sets it and installs
//! chromium and chromium-driver); when set, a missing browser fails the test instead of skipping it.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    process: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
    }
}

impl Driver {
    async fn start() -> Driver {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let binary =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let process = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("FANGKONG_TEST_BROWSER is set but {binary} cannot start: {e}")
            });
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        // chromedriver takes a moment to listen: poll its status, bounded to 20 s.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900"
            ]}
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_string();
        Driver {
            process,
            base,
            session,
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = self.http.request(method.clone(), url);
        let request = if method == reqwest::Method::GET {
            request
        } else {
            request.json(&body)
        };
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            response["value"].get("error").is_none(),
            "webdriver {path}: {response}"
        );
        response["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("element {css}: {found}"))
            .to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap()
        .to_string()
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }
}

#[tokio::test]
async fn in_chromium_a_commander_logs_in_drills_down_to_a_grid_and_finds_a_resident() {
    if std::env::var_os("FANGKONG_TEST_BROWSER").is_none() {
        eprintln!("browser test not run: set FANGKONG_TEST_BROWSER=1 (CI does)");
        return;
    }
    let server = support::start().await;
    let driver = Driver::start().await;

    driver.goto(&server.url("/")).await;
    assert!(
        driver.source().await.contains("请先登录"),
        "an anonymous visitor is sent to the login page"
    );
    driver.type_into("#username", "commander").await;
    driver.type_into("#password", support::PASSWORD).await;
    driver.click("#login").await;
    assert!(
        driver.text("#who").await.contains("藁城区指挥部")
            || driver.text("#who").await.contains("测试commander")
    );

    driver.goto(&server.url("/regions")).await;
    assert!(driver.text("#region-name").await.starts_with("藁城区"));
    driver.click("#children a[href='/regions/130109110']").await;
    assert!(driver.text("#region-name").await.starts_with("增村镇"));
    driver.click("#children tr:nth-child(2) a").await;
    let village = driver.text("#region-name").await;
    assert!(village.contains("村社区"), "a village page: {village}");
    driver.click("#children tr:nth-child(2) a").await;
    assert!(driver.text("#region-name").await.contains("网格"));
    let households = driver.text("#households").await;
    assert!(households.contains("户编号"));

    // Search the first member of the grid's first household by name.
    driver.click("#households tr:nth-child(2) a").await;
    let name = driver.text("#members tr:nth-child(2) td:first-child").await;
    driver.goto(&server.url("/residents")).await;
    driver.type_into("#q", &name).await;
    driver.click("#search").await;
    let results = driver.text("#results").await;
    assert!(results.contains(&name), "search finds {name}: {results}");
    assert!(
        results.contains("********"),
        "ID numbers are masked in the results"
    );
}
