//! The HTTP edge: body limits per route, uploads refused before their file is read, extractor
//! rejections in Chinese, security headers, login throttling and account management over HTTP.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::{Body, Bytes};
use fangkong_domain::role::Role;
use support::{PASSWORD, start, start_with};
use tower::ServiceExt;

const BOUNDARY: &str = "fkboundary";

/// A multipart body that announces `size` bytes of file after the given leading fields, generated
/// lazily; `pulled` counts how many bytes the server actually read from it.
fn lazy_upload(leading: &[(&str, &str)], size: usize, pulled: Arc<AtomicUsize>) -> Body {
    lazy_upload_as("file", leading, size, pulled)
}

/// [`lazy_upload`] with the file in the field `file_field`.
fn lazy_upload_as(
    file_field: &str,
    leading: &[(&str, &str)],
    size: usize,
    pulled: Arc<AtomicUsize>,
) -> Body {
    let mut head = String::new();
    for (name, value) in leading {
        head.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    ));
    let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
    let chunks = size / chunk.len();
    let head = Bytes::from(head);
    let tail = Bytes::from(format!("\r\n--{BOUNDARY}--\r\n"));
    let stream = futures::stream::iter(
        std::iter::once(head)
            .chain(std::iter::repeat_n(chunk, chunks))
            .chain(std::iter::once(tail)),
    )
    // Like a network: each chunk arrives after the reader has waited once (a stream that is always
    // ready would let multer's buffer take everything in one poll).
    .then(move |bytes| {
        let pulled = pulled.clone();
        async move {
            tokio::task::yield_now().await;
            pulled.fetch_add(bytes.len(), Ordering::SeqCst);
            Ok::<_, std::io::Error>(bytes)
        }
    });
    Body::from_stream(stream)
}

use futures::StreamExt;

fn upload_request(path: &str, auth: (&str, &str), body: Body) -> axum::http::Request<Body> {
    axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header(auth.0, auth.1)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .unwrap()
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn an_upload_is_refused_before_its_file_is_read_without_the_role_or_the_form_token() {
    let spool = tempfile::tempdir().unwrap();
    let config = fangkong_web::WebConfig {
        upload_dir: Some(spool.path().to_path_buf()),
        ..Default::default()
    };
    let server = start_with(config.clone()).await;
    server
        .add_user("resident1", Role::Resident, &server.own_grid)
        .await;
    let router = fangkong_web::router_with(server.app.clone(), config);
    let big = 512 * 1024 * 1024;

    // A resident with a valid session and form token, sending 512 MB to the population import.
    let resident = server
        .app
        .login("resident1", PASSWORD, "test")
        .await
        .unwrap();
    let cookie = format!("fk_session={}", resident.token);
    for path in ["/import", "/testing/results", "/leads/import"] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = lazy_upload(&[("csrf", &resident.csrf_token)], big, pulled.clone());
        let response = router
            .clone()
            .oneshot(upload_request(path, ("cookie", &cookie), body))
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
        assert!(
            pulled.load(Ordering::SeqCst) < 1024 * 1024,
            "{path}: the file part was read ({} bytes)",
            pulled.load(Ordering::SeqCst)
        );
        assert_eq!(files_in(spool.path()), 0, "{path}: nothing spooled");
    }

    // The API: a bearer token of a role without the permission.
    let bearer = format!("Bearer {}", resident.token);
    for path in ["/api/imports", "/api/lab/uploads"] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = lazy_upload(&[], big, pulled.clone());
        let response = router
            .clone()
            .oneshot(upload_request(path, ("authorization", &bearer), body))
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "forbidden");
        assert!(
            pulled.load(Ordering::SeqCst) < 1024 * 1024,
            "{path}: {} bytes read",
            pulled.load(Ordering::SeqCst)
        );
        assert_eq!(files_in(spool.path()), 0);
    }

    // A grid worker may import, but a form whose first field is not the session's token (the file
    // first, or a wrong token) is refused before the file is read.
    let gw = server.app.login("gw", PASSWORD, "test").await.unwrap();
    let cookie = format!("fk_session={}", gw.token);
    for leading in [
        vec![("note", "x")],
        vec![("csrf", "0123456789abcdef0123456789abcdef")],
        vec![],
    ] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = lazy_upload(&leading, big, pulled.clone());
        let response = router
            .clone()
            .oneshot(upload_request("/import", ("cookie", &cookie), body))
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("表单已失效"));
        assert!(
            pulled.load(Ordering::SeqCst) < 1024 * 1024,
            "{leading:?}: {} bytes read",
            pulled.load(Ordering::SeqCst)
        );
        assert_eq!(files_in(spool.path()), 0);
    }
}

#[tokio::test]
async fn a_resident_antigen_photo_is_refused_before_it_is_read_without_the_role_or_the_form_token()
{
    let server = start().await;
    server
        .add_user("resident1", Role::Resident, &server.own_grid)
        .await;
    server
        .add_user("sampler1", Role::Sampler, &server.own_grid)
        .await;
    let router = fangkong_web::router_with(server.app.clone(), Default::default());
    // Under the photo route's body limit, so only the order of the checks can keep it unread.
    let photo = 5 * 1024 * 1024;

    // A role that may not report an antigen result, with a valid token: refused unread.
    let sampler = server
        .app
        .login("sampler1", PASSWORD, "test")
        .await
        .unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let body = lazy_upload_as(
        "photo",
        &[("csrf", &sampler.csrf_token)],
        photo,
        pulled.clone(),
    );
    let cookie = format!("fk_session={}", sampler.token);
    let response = router
        .clone()
        .oneshot(upload_request("/me/antigen", ("cookie", &cookie), body))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(pulled.load(Ordering::SeqCst) < 1024 * 1024);

    // A resident whose form does not begin with the token: refused unread.
    let resident = server
        .app
        .login("resident1", PASSWORD, "test")
        .await
        .unwrap();
    let cookie = format!("fk_session={}", resident.token);
    for leading in [
        vec![("result", "negative")],
        vec![("csrf", "wrong")],
        vec![],
    ] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = lazy_upload_as("photo", &leading, photo, pulled.clone());
        let response = router
            .clone()
            .oneshot(upload_request("/me/antigen", ("cookie", &cookie), body))
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{leading:?}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("表单已失效"));
        assert!(
            pulled.load(Ordering::SeqCst) < 1024 * 1024,
            "{leading:?}: {} bytes read",
            pulled.load(Ordering::SeqCst)
        );
    }
}

#[tokio::test]
async fn an_oversized_login_or_form_body_is_refused_before_any_password_is_hashed() {
    let server = start().await;
    let client = support::client();
    let long = "a".repeat(100 * 1024);
    let response = client
        .post(server.url("/login"))
        .form(&[("username", "commander"), ("password", long.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let response = client
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": "commander", "password": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let admin = server.app.actor_for_user("admin", "test").await.unwrap();
    let failed = server
        .app
        .audit_log(&admin, "login_failed", None)
        .await
        .unwrap();
    assert!(
        failed.is_empty(),
        "the login was never attempted, so no password was hashed"
    );

    // Any page form is held to 64 KB; a 1 MB form is refused.
    let commander = server.login("commander").await;
    let (_, home) = server.get_text(&commander, "/").await;
    let csrf = support::csrf_of(&home);
    let big = "a".repeat(1024 * 1024);
    let response = server
        .post_form(&commander, "/logout", &csrf, &[("padding", big.as_str())])
        .await;
    assert_eq!(response.status(), 413);
    // A normal login still works.
    server.login("commander").await;
}

fn is_chinese_page(body: &str) -> bool {
    body.contains("<html") && body.contains("无法完成")
}

#[tokio::test]
async fn axum_refusals_become_the_chinese_page_or_the_json_error() {
    let server = start().await;
    let commander = server.login("commander").await;
    let (_, home) = server.get_text(&commander, "/").await;
    let csrf = support::csrf_of(&home);

    // Pages: a bad path id, a bad query, a form missing a field, a wrong content type.
    let (status, body) = server.get_text(&commander, "/residents/abc").await;
    assert_eq!(status, 400);
    assert!(is_chinese_page(&body), "{body}");
    assert!(body.contains("网址中的编号"), "{body}");
    assert!(!body.contains("Cannot parse"), "{body}");
    let (status, body) = server
        .get_text(&commander, "/audit?before=99999999999999999999")
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("查询条件"), "{body}");
    let response = server.post_form(&commander, "/export", &csrf, &[]).await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("表单内容不完整") && body.contains("region"),
        "{body}"
    );
    assert!(!body.contains("Failed to deserialize"), "{body}");
    let response = commander
        .post(server.url("/logout"))
        .body("csrf=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert!(is_chinese_page(&response.text().await.unwrap()));
    let (status, body) = server.get_text(&commander, "/no-such-page").await;
    assert_eq!(status, 404);
    assert!(body.contains("没有找到该页面"), "{body}");
    let response = support::client()
        .post(server.url("/login"))
        .form(&[("username", "x"), ("password", "a".repeat(20_000).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("提交的内容太大") && body.contains("8 KB"),
        "{body}"
    );

    // The API: the JSON error format, with the Chinese message.
    let session: serde_json::Value = support::client()
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": "commander", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let api = support::client();
    let cases = [
        api.get(server.url("/api/residents/abc")),
        api.post(server.url("/api/residents/1/reveal"))
            .body("{\"reason\":\"x\"}"),
        api.post(server.url("/api/residents/1/reveal"))
            .header("content-type", "application/json")
            .body("{not json"),
        api.post(server.url("/api/residents/1/reveal"))
            .json(&serde_json::json!({})),
        api.post(server.url("/api/residents"))
            .json(&serde_json::json!({"name": "x".repeat(100_000)})),
        api.get(server.url("/api/no-such-thing")),
        api.put(server.url("/api/session")),
    ];
    let expected = [
        (400, "invalid_input", "网址中的编号"),
        (415, "invalid_input", "JSON"),
        (400, "invalid_input", "不是有效的 JSON"),
        (422, "invalid_input", "缺少字段 reason"),
        (413, "too_large", "提交的内容太大"),
        (404, "not_found", "没有找到"),
        (405, "method_not_allowed", "请求方式"),
    ];
    for (request, (status, code, words)) in cases.into_iter().zip(expected) {
        let response = request.bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), status, "{words}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], code, "{body}");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_the_cookie_is_secure_when_configured() {
    let server = start().await;
    let client = server.login("commander").await;
    let mut request_ids = std::collections::HashSet::new();
    for path in [
        "/login",
        "/",
        "/residents?q=张",
        "/api/residents?q=张",
        "/nowhere",
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        // A request id a user can quote when reporting a failure, different for every request.
        let id = headers["x-request-id"].to_str().unwrap().to_string();
        assert!(!id.is_empty() && request_ids.insert(id), "{path}");
    }
    let css = client
        .get(server.url("/assets/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["cache-control"], "max-age=3600");
    assert_eq!(css.headers()["x-content-type-options"], "nosniff");

    let cookie = |response: &reqwest::Response| {
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let plain = support::client()
        .post(server.url("/login"))
        .form(&[("username", "commander"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        !cookie(&plain).contains("Secure"),
        "off by default (plain HTTP intranets)"
    );
    let secure = start_with(fangkong_web::WebConfig {
        secure_cookies: true,
        ..Default::default()
    })
    .await;
    let response = support::client()
        .post(secure.url("/login"))
        .form(&[("username", "commander"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let set = cookie(&response);
    assert!(set.contains("HttpOnly") && set.contains("Secure"), "{set}");
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_then_locked_in_chinese() {
    let server = start().await;
    let client = support::client();
    for _ in 0..fangkong_app::auth::FREE_TRIES_USER {
        let response = client
            .post(server.url("/api/session"))
            .json(&serde_json::json!({"username": "gw", "password": "wrong-password-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let response = client
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": "gw", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts");
    assert!(body["message"].as_str().unwrap().contains("秒后再试"));
    let response = client
        .post(server.url("/login"))
        .form(&[("username", "gw"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.text().await.unwrap().contains("登录尝试过于频繁"));
    server.clock.advance(chrono::Duration::seconds(2));
    server.login("gw").await;
}

#[tokio::test]
async fn an_administrator_disables_a_user_and_their_sessions_and_tokens_end_at_once() {
    let server = start().await;
    let admin = server.login("admin").await;
    let gw_page = server.login("gw").await;
    let gw_token = server
        .app
        .login("gw", PASSWORD, "test")
        .await
        .unwrap()
        .token;
    let api = support::client();
    let bearer_status = |token: String| {
        let api = api.clone();
        let url = server.url("/api/residents?q=张");
        async move {
            api.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(bearer_status(gw_token.clone()).await, 200);

    let (status, users) = server.get_text(&admin, "/users").await;
    assert_eq!(status, 200);
    let gw_id = server.app.actor_for_user("gw", "t").await.unwrap().user_id;
    assert!(
        users.contains(&format!("href=\"/users/{gw_id}\"")),
        "{users}"
    );
    let (status, page) = server.get_text(&admin, &format!("/users/{gw_id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("停用账号"));
    let csrf = support::csrf_of(&page);
    let response = server
        .post_form(&admin, &format!("/users/{gw_id}/disable"), &csrf, &[])
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("已停用"));
    let (status, _) = server.get_text(&gw_page, "/").await;
    assert_eq!(status, 303, "the page session ended");
    assert_eq!(bearer_status(gw_token).await, 401, "the token ended");

    // Enable, reset (a weak password is refused in words), and the user's own change.
    for (path, fields) in [
        ("enable", vec![]),
        ("password", vec![("password", "12345678")]),
        ("password", vec![("password", "xin-mima-2022")]),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let response = admin
            .post(server.url(&format!("/users/{gw_id}/{path}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        if fields.first().is_some_and(|f| f.1 == "12345678") {
            assert_eq!(status, 422);
            assert!(body.contains("至少10位"), "{body}");
        } else {
            assert_eq!(status, 200, "{body}");
        }
    }
    let gw = support::client();
    let response = gw
        .post(server.url("/login"))
        .form(&[("username", "gw"), ("password", "xin-mima-2022")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let response = server
        .submit_form(
            &gw,
            "/me/password",
            "/me/password",
            &[
                ("current", "xin-mima-2022"),
                ("new_password", "wo-de-mima-2022"),
                ("repeat", "wo-de-mima-2022"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("密码已修改"));
    server
        .app
        .login("gw", "wo-de-mima-2022", "test")
        .await
        .expect("the new password works");

    // A township of another county's admin cannot open the user (outside the jurisdiction).
    let other = server
        .login_as("admin_other", Role::Administrator, &server.other_township)
        .await;
    let (status, _) = server.get_text(&other, &format!("/users/{gw_id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn delete_api_session_revokes_the_bearer_token() {
    let server = start().await;
    let api = support::client();
    let session: serde_json::Value = api
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": "lab", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    let response = api
        .delete(server.url("/api/session"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = api
        .get(server.url("/api/regions/130109"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_logged_in");
}

/// A page form (`web::forms::CsrfForm`) answers in a fixed order: no session → the login page,
/// before the body is looked at; a body that is not a form → the Chinese refusal; a missing or
/// wrong token → the 422 error page in the user's frame, and the command does not run.
#[tokio::test]
async fn a_page_form_is_refused_in_order_session_then_body_then_token() {
    let server = start().await;
    let anonymous = support::client();
    let response = anonymous
        .post(server.url("/logout"))
        .body("not a form")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        "/login?reason=required"
    );

    // (A body that is not a form is refused next: `axum_refusals_become_the_chinese_page…`.)
    let commander = server.login("commander").await;
    for body in [vec![], vec![("csrf", "forged")], vec![("csrf", "")]] {
        let response = commander
            .post(server.url("/logout"))
            .form(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains("表单已失效"), "{body:?}: {page}");
        assert!(page.contains("id=\"who\""), "the user's frame: {page}");
    }
    // None of them logged the user out.
    let (status, home) = server.get_text(&commander, "/").await;
    assert_eq!(status, 200);
    let response = server
        .post_form(&commander, "/logout", &support::csrf_of(&home), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (status, _) = server.get_text(&commander, "/").await;
    assert_eq!(status, 303, "logged out by the form with its token");
}
