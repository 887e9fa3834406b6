//! A small WebDriver client (chromedriver's W3C API over reqwest) shared by the browser tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser at a time: four chromiums beside four servers on two cores would time each other out.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Driver {
    _alone: tokio::sync::MutexGuard<'static, ()>,
    process: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

/// Ends the browser and chromedriver, panic or not: the session is deleted first (chromedriver
/// closes chromium cleanly), then chromedriver's whole process group — chromium and its helpers
/// included — is killed, so no headless browser outlives its test.
impl Drop for Driver {
    fn drop(&mut self) {
        self.delete_session_blocking();
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The processes in the process group `group` (chromedriver's pid), from /proc.
pub fn processes_in_group(group: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses and may hold spaces.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // state, ppid, pgrp: a zombie (Z) has ended already.
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == group.to_string() {
            found.push(pid);
        }
    }
    found
}

impl Driver {
    pub async fn start() -> Driver {
        let alone = ONE_BROWSER.lock().await;
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let binary =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        use std::os::unix::process::CommandExt;
        let process = Command::new(&binary)
            .arg(format!("--port={port}"))
            // Its own process group, which chromium joins: Drop ends them all together.
            .process_group(0)
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
            _alone: alone,
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

    /// chromedriver's pid, which is also its process group's id.
    pub fn process_group(&self) -> u32 {
        self.process.id()
    }

    /// `DELETE /session/{id}` over a plain socket (Drop cannot wait for the async client), bounded
    /// to a few seconds.
    fn delete_session_blocking(&self) {
        use std::io::{Read, Write};
        let Some(address) = self.base.strip_prefix("http://") else {
            return;
        };
        let Ok(mut stream) = std::net::TcpStream::connect(address) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            self.session
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let mut answer = Vec::new();
            let _ = stream.take(64 * 1024).read_to_end(&mut answer);
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
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

    /// Resizes the browser window (CSS pixels), e.g. to a phone's 360 × 740.
    pub async fn set_window(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Runs `script` in the page and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    pub async fn find(&self, css: &str) -> String {
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

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
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
    pub async fn text_when(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
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

    pub async fn attribute(&self, css: &str, name: &str) -> String {
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

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }
}
