//! A sampler in a real browser (chromium through chromedriver, like tests/browser.rs): scans a tube
//! barcode and an ID number into the binding page and sees the green answer, then a mistyped ID and
//! the red one. Runs when FANGKONG_TEST_BROWSER is set; when set, a missing browser fails the test.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fangkong_app::auth::NewUser;
use fangkong_app::mass_testing::{RoundForm, SiteForm};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use serde_json::{Value, json};

/// The WebDriver key code of Enter, as a USB scanner ends every code.
const ENTER: &str = "\u{E007}";

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

    async fn attribute(&self, css: &str, name: &str) -> String {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/attribute/{name}"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
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
}

#[tokio::test]
async fn in_chromium_a_sampler_binds_a_person_to_a_tube_and_a_mistyped_id_is_refused_in_red() {
    if std::env::var_os("FANGKONG_TEST_BROWSER").is_none() {
        eprintln!("browser test not run: set FANGKONG_TEST_BROWSER=1 (CI does)");
        return;
    }
    let server = support::start().await;
    let admin = fangkong_seed::seed_actor();
    let village = server.own_grid[..12].to_string();
    let round = server
        .app
        .open_round(
            &admin,
            &RoundForm {
                name: "浏览器测试轮次".into(),
                kind: "area".into(),
                region_code: village.clone(),
                pool_size: "10".into(),
                tubes: "100".into(),
                ..RoundForm::default()
            },
        )
        .await
        .expect("round");
    let site = server
        .app
        .create_site(
            &admin,
            round,
            &SiteForm {
                region_code: village,
                name: "浏览器测试采样点".into(),
                tables: "1".into(),
                ..SiteForm::default()
            },
        )
        .await
        .expect("site");
    let tube = server.app.round(&admin, round).await.unwrap().tube_ranges[0]
        .0
        .clone();
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    let people: Vec<String> = server
        .app
        .store
        .residents_page((&lower, &upper), 0, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .map(|r| r.id_number)
        .take(2)
        .collect();
    server
        .app
        .create_user_unchecked(
            &NewUser {
                username: "sampler".into(),
                display_name: "测试sampler".into(),
                role: Role::Sampler,
                jurisdiction: RegionCode::parse("130109").unwrap(),
                password: support::PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
    let driver = Driver::start().await;

    driver.goto(&server.url("/login")).await;
    driver.type_into("#username", "sampler").await;
    driver.type_into("#password", support::PASSWORD).await;
    driver.click("#login").await;
    driver
        .text_when("#who", |t| t.contains("测试sampler"))
        .await;

    driver
        .goto(&server.url(&format!("/testing/sites/{site}/tables/1")))
        .await;
    driver
        .text_when("#banner", |t| t.contains("请扫描试管条码"))
        .await;
    driver.type_into("#scan", &format!("{tube}{ENTER}")).await;
    driver.text_when("#tube", |t| t == tube).await;
    driver
        .type_into("#scan", &format!("{}{ENTER}", people[0]))
        .await;
    let answer = driver.text_when("#banner", |t| t.contains("已绑定")).await;
    assert!(answer.contains("第1/10人"), "{answer}");
    assert!(driver.attribute("#banner", "class").await.contains("ok"));
    driver.text_when("#tube-count", |t| t == "1 / 10").await;
    driver
        .text_when("#queue-status", |t| t.contains("已全部上传"))
        .await;

    // The second person's number with its check digit changed, as a mistyped number would be.
    let good = &people[1];
    let last = good.chars().last().unwrap();
    let wrong = if last == '0' { '1' } else { '0' };
    let mistyped = format!("{}{wrong}", &good[..17]);
    driver
        .type_into("#scan", &format!("{mistyped}{ENTER}"))
        .await;
    let refusal = driver
        .text_when("#banner", |t| t.contains("请重新刷证或核对号码"))
        .await;
    assert!(!refusal.contains("已绑定"), "{refusal}");
    assert!(driver.attribute("#banner", "class").await.contains("bad"));
    assert!(
        driver
            .attribute("#results li:first-child", "class")
            .await
            .contains("bad")
    );
    driver.text_when("#tube-count", |t| t == "1 / 10").await;
    let active = driver
        .call(reqwest::Method::GET, "/element/active", Value::Null)
        .await;
    let scan = driver.find("#scan").await;
    assert_eq!(
        active[ELEMENT].as_str(),
        Some(scan.as_str()),
        "the scan box keeps the focus"
    );
}
