//! The offline checking page in a real browser (chromium through chromedriver, like
//! tests/browser_checkpoint.rs): an officer opens 离线查验, scans a resident's signed code and sees
//! 绿码 worked out by the page itself (Base45, inflate with the `FK1:` dictionary, CBOR, Ed25519 in
//! WebCrypto); a code with one character changed and a text that is no code are refused with the
//! reason. The page asks the server for nothing but its own script and the trust list. Runs when
//! FANGKONG_TEST_BROWSER is set; when set, a missing browser fails the test.

use crate::support;

use support::webdriver::Driver;

use fangkong_app::auth::NewUser;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use serde_json::{Value, json};

/// The WebDriver key code of Enter, as a USB scanner ends every code.
const ENTER: &str = "\u{E007}";

async fn add_user(
    server: &support::TestServer,
    username: &str,
    role: Role,
    jurisdiction: &str,
) -> i64 {
    server
        .app
        .create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: format!("测试{username}"),
                role,
                jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
                password: support::PASSWORD.into(),
            },
            "test",
        )
        .await
        .expect("user")
}

/// A resident's current token, through the API as the resident's phone gets it.
async fn resident_token(server: &support::TestServer) -> String {
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    let resident = server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id_type == "mainland_id")
        .expect("a resident with an ID card");
    let user = add_user(server, "resident1", Role::Resident, &server.own_grid).await;
    server
        .app
        .store_for_tools()
        .link_user_to_resident(user, resident.id)
        .await
        .unwrap();
    let client = server.login("resident1").await;
    let mine: Value = client
        .get(server.url("/api/me/code"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["code"]["colour"], "green", "{mine}");
    mine["token"].as_str().expect("a token").to_string()
}

/// The token with the character at `at` replaced by another Base45 character.
fn changed(token: &str, at: usize) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    chars[at] = if chars[at] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

#[tokio::test]
async fn in_chromium_the_offline_page_verifies_a_signed_code_without_asking_the_server() {
    if std::env::var_os("FANGKONG_TEST_BROWSER").is_none() {
        eprintln!("browser test not run: set FANGKONG_TEST_BROWSER=1 (CI does)");
        return;
    }
    let server = support::start().await;
    let token = resident_token(&server).await;
    assert!(token.starts_with("FK1:"), "{token}");
    add_user(&server, "cp", Role::Checkpoint, "130109").await;
    let driver = Driver::start().await;

    driver.goto(&server.url("/login")).await;
    driver.type_into("#username", "cp").await;
    driver.type_into("#password", support::PASSWORD).await;
    driver.click("#login").await;
    driver.text_when("#who", |t| t.contains("测试cp")).await;

    driver.goto(&server.url("/checkpoints/offline")).await;
    driver
        .text_when("#trust-status", |t| t.contains("可离线查验"))
        .await;
    let requested = resources(&driver).await;
    assert!(
        requested.iter().any(|u| u.ends_with("/api/trust-list")),
        "{requested:?}"
    );

    // The trust list cannot be fetched any more: the page, loaded again, uses the stored one.
    cdp(&driver, "Network.enable", json!({})).await;
    cdp(
        &driver,
        "Network.setBlockedURLs",
        json!({"urls": ["*/api/trust-list*"]}),
    )
    .await;
    driver.goto(&server.url("/checkpoints/offline")).await;
    let status = driver
        .text_when("#trust-status", |t| t.contains("本机保存"))
        .await;
    assert!(status.contains("1 个签发密钥"), "{status}");
    // And now no network at all: every check below is the page's own work.
    cdp(
        &driver,
        "Network.emulateNetworkConditions",
        json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await;

    driver.type_into("#scan", &format!("{token}{ENTER}")).await;
    let label = driver
        .text_when("#decision-label", |t| t.contains("码"))
        .await;
    let reasons = driver.text("#decision-reasons").await;
    assert_eq!(label, "绿码", "{reasons}");
    assert!(driver.attribute("#decision", "class").await.contains("ok"));
    assert!(reasons.contains("有效期至"), "{reasons}");
    assert!(reasons.contains("最近核酸阴性采样"), "{reasons}");

    // One character of the signature changed (near the end of the text): refused.
    let forged = changed(&token, token.len() - 10);
    driver.type_into("#scan", &format!("{forged}{ENTER}")).await;
    let label = driver
        .text_when("#decision-label", |t| t.contains("码无效"))
        .await;
    assert_eq!(label, "码无效");
    assert!(driver.attribute("#decision", "class").await.contains("bad"));
    let reason = driver.text("#decision-reasons").await;
    assert!(
        reason.contains("签名不符") || reason.contains("损坏"),
        "{reason}"
    );

    driver.type_into("#scan", &format!("hello{ENTER}")).await;
    let reason = driver
        .text_when("#decision-reasons", |t| t.contains("不是健康码"))
        .await;
    assert!(reason.contains("不是健康码二维码"), "{reason}");

    // After the reload the page fetched its stylesheet, its script and (blocked) the trust list:
    // no check was sent anywhere.
    let requested = resources(&driver).await;
    assert!(
        requested
            .iter()
            .all(|u| u.contains("/assets/") || u.ends_with("/api/trust-list")),
        "{requested:?}"
    );
}

/// A Chrome DevTools command through chromedriver.
async fn cdp(driver: &Driver, cmd: &str, params: Value) {
    driver
        .call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await;
}

/// Every URL the current page has fetched.
async fn resources(driver: &Driver) -> Vec<String> {
    driver
        .call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({
                "script": "return performance.getEntriesByType('resource').map(e => e.name);",
                "args": []
            }),
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect()
}
