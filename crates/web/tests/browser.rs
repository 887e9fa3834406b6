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
        let driver = Driver {
            process,
            base,
            session,
            http,
        };
        // Finding an element waits up to 10 s for it to appear (pages load while the test asks).
        driver
            .call(
                reqwest::Method::POST,
                "/timeouts",
                json!({"implicit": 10_000}),
            )
            .await;
        driver
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

    /// The text of `css` once `ready` holds for it: a click that navigates returns before the next
    /// page is there, and the old page may have an element of the same id. Bounded to 10 s.
    async fn text_when(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .call(
                    reqwest::Method::POST,
                    "/elements",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Some(element) = found.as_array().and_then(|all| all.first()) {
                let id = element[ELEMENT].as_str().unwrap().to_string();
                let url = format!("{}/session/{}/element/{id}/text", self.base, self.session);
                let answer: Value = self
                    .http
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                // A stale element (the page changed under us) is simply asked again.
                if let Some(text) = answer["value"].as_str().filter(|t| ready(t)) {
                    return text.to_string();
                }
            }
            assert!(Instant::now() < deadline, "{css} never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
        driver
            .text_when("#who", |t| t.contains("测试commander"))
            .await
            .contains("辖区：藁城区")
    );

    driver.goto(&server.url("/regions")).await;
    driver
        .text_when("#region-name", |t| t.starts_with("藁城区"))
        .await;
    driver.click("#children a[href='/regions/130109110']").await;
    driver
        .text_when("#region-name", |t| t.starts_with("增村镇"))
        .await;
    driver.click("#children tr:nth-child(2) a").await;
    let village = driver
        .text_when("#region-name", |t| !t.starts_with("增村镇"))
        .await;
    assert!(village.contains("村社区"), "a village page: {village}");
    driver.click("#children tr:nth-child(2) a").await;
    driver
        .text_when("#region-name", |t| t.contains("网格"))
        .await;
    let households = driver.text("#households").await;
    assert!(households.contains("户编号"));

    // Search the first member of the grid's first household by name.
    driver.click("#households tr:nth-child(2) a").await;
    let name = driver
        .text_when("#members tr:nth-child(2) td:first-child", |t| !t.is_empty())
        .await;
    driver.goto(&server.url("/residents")).await;
    driver.type_into("#q", &name).await;
    driver.click("#search").await;
    let results = driver
        .text_when("#results", |t| t.contains("证件号码"))
        .await;
    assert!(results.contains(&name), "search finds {name}: {results}");
    assert!(
        results.contains("********"),
        "ID numbers are masked in the results"
    );
}
