//! A real fangkong server on a free port, on a fresh SQLite database with a small generated 藁城区.

use std::sync::Arc;

use chrono::TimeZone;
use fangkong_app::auth::NewUser;
use fangkong_app::{App, FixedClock};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

pub const PASSWORD: &str = "test-password-1";

pub struct TestServer {
    pub base: String,
    pub app: App,
    pub clock: Arc<FixedClock>,
    /// The grid the grid worker "gw" works in (增村镇), and a grid of another township.
    pub own_grid: String,
    pub other_grid: String,
    pub other_township: String,
    _temp: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub async fn start() -> TestServer {
    start_with(fangkong_web::WebConfig::default()).await
}

/// A server whose router is built with `config` (e.g. a tiny checkpoint concurrency limit).
pub async fn start_with(config: fangkong_web::WebConfig) -> TestServer {
    start_on(
        config,
        FixedClock::new(chrono::Utc.with_ymd_and_hms(2022, 11, 20, 2, 0, 0).unwrap()),
    )
    .await
}

/// A server on `clock` (e.g. [`FixedClock::simulated`], as a training instance runs).
pub async fn start_on(config: fangkong_web::WebConfig, clock: FixedClock) -> TestServer {
    let temp = tempfile::tempdir().expect("temp dir");
    let store = crate::sqlite_store_in(temp.path()).await;
    let clock = Arc::new(clock);
    let app = App::new(store, clock.clone());
    app.load_divisions().await.expect("divisions");
    let county = RegionCode::parse("130109").unwrap();
    let seeded =
        fangkong_seed::seed_population(&app, &county, 3_000, 11, &temp.path().join("people.csv"))
            .await
            .expect("seed population");
    assert_eq!(seeded.report.inserted, 3_000);
    let own_grid = seeded
        .plan
        .grids
        .iter()
        .find(|g| g.code.starts_with("130109110"))
        .unwrap()
        .code
        .clone();
    let other_grid = seeded
        .plan
        .grids
        .iter()
        .find(|g| g.code.starts_with("130109100"))
        .unwrap()
        .code
        .clone();
    let users = [
        ("commander", Role::Commander, "130109"),
        ("admin", Role::Administrator, "13"),
        ("lab", Role::Lab, "130109"),
        ("gw", Role::GridWorker, own_grid.as_str()),
    ];
    for (username, role, jurisdiction) in users {
        app.create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: format!("测试{username}"),
                role,
                jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
                password: PASSWORD.into(),
            },
            "test",
        )
        .await
        .expect("user");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(fangkong_web::serve_with(app.clone(), config, listener));
    TestServer {
        base,
        app,
        clock,
        other_township: other_grid[..9].to_string(),
        own_grid,
        other_grid,
        _temp: temp,
        server,
    }
}

/// A browser-like client (cookies kept, redirects not followed so tests can see them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestServer {
    /// Adds a user with the tests' password; returns its id.
    pub async fn add_user(&self, username: &str, role: Role, jurisdiction: &str) -> i64 {
        self.app
            .create_user_unchecked(
                &NewUser {
                    username: username.into(),
                    display_name: format!("测试{username}"),
                    role,
                    jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
                    password: PASSWORD.into(),
                },
                "test",
            )
            .await
            .expect("user")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in through the login form; returns the client holding the session cookie.
    pub async fn login(&self, username: &str) -> reqwest::Client {
        let client = client();
        let response = client
            .post(self.url("/login"))
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            303,
            "login of {username} should redirect home"
        );
        client
    }

    /// Adds a user with `role` over `jurisdiction` and logs them in through the login form.
    pub async fn login_as(
        &self,
        username: &str,
        role: Role,
        jurisdiction: &str,
    ) -> reqwest::Client {
        self.add_user(username, role, jurisdiction).await;
        self.login(username).await
    }

    /// Posts a page's form as the browser sends it: the form token `csrf` first, then `fields`.
    /// The response as it came (redirects are not followed), for the test to judge.
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = Vec::with_capacity(fields.len() + 1);
        form.push(("csrf", csrf));
        form.extend_from_slice(fields);
        client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// What a user does to send a form: opens `page` (which must answer 200) and posts `fields`
    /// to `path` with that page's form token.
    pub async fn submit_form(
        &self,
        client: &reqwest::Client,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (status, html) = self.get_text(client, page).await;
        assert_eq!(status, 200, "GET {page}: {html}");
        self.post_form(client, path, &csrf_of(&html), fields).await
    }

    pub async fn get_text(&self, client: &reqwest::Client, path: &str) -> (u16, String) {
        let response = client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }
}

impl TestServer {
    /// The first household of the grid worker's grid still on the door-to-door ledger.
    pub async fn first_unvisited_household(&self, client: &reqwest::Client) -> String {
        let (_, ledger) = self
            .get_text(client, &format!("/door-ledger/{}", self.own_grid))
            .await;
        links(&ledger, "/households/")
            .into_iter()
            .next()
            .expect("an unvisited household")
    }
}

/// The value of the first hidden csrf field in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The targets of links whose href starts with `prefix`, in page order.
pub fn links(html: &str, prefix: &str) -> Vec<String> {
    let needle = format!("href=\"{prefix}");
    html.match_indices(&needle)
        .map(|(i, _)| html[i + 6..].split('"').next().unwrap().to_string())
        .collect()
}
