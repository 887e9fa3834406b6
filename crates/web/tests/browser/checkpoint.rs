//! A checkpoint officer in a real browser (chromium through chromedriver, like tests/browser.rs):
//! types an ID number into the checking page, presses Enter and sees the green 通行 panel without a
//! page load; the scan box is emptied and keeps the focus. Runs when FANGKONG_TEST_BROWSER is set;
//! when set, a missing browser fails the test.

use crate::support;

use support::webdriver::{Driver, ELEMENT};

use fangkong_app::auth::NewUser;
use fangkong_app::checkpoints::CheckpointForm;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use serde_json::Value;

/// The WebDriver key code of Enter, as a USB scanner ends every code.
const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn in_chromium_an_officer_types_an_id_and_sees_the_decision_panel_turn_green() {
    if std::env::var_os("FANGKONG_TEST_BROWSER").is_none() {
        eprintln!("browser test not run: set FANGKONG_TEST_BROWSER=1 (CI does)");
        return;
    }
    let server = support::start().await;
    let admin = fangkong_seed::seed_actor();
    let checkpoint = server
        .app
        .create_checkpoint(
            &admin,
            &CheckpointForm {
                name: "浏览器测试卡口".into(),
                kind: "community_gate".into(),
                line: String::new(),
                region_code: "130109".into(),
            },
        )
        .await
        .expect("checkpoint");
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    let person = server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id_type == "mainland_id")
        .expect("a resident with an ID card")
        .id_number
        .into_string();
    server
        .app
        .create_user_unchecked(
            &NewUser {
                username: "cp".into(),
                display_name: "测试cp".into(),
                role: Role::Checkpoint,
                jurisdiction: RegionCode::parse("130109").unwrap(),
                password: support::PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
    let driver = Driver::start().await;

    driver.goto(&server.url("/login")).await;
    driver.type_into("#username", "cp").await;
    driver.type_into("#password", support::PASSWORD).await;
    driver.click("#login").await;
    driver.text_when("#who", |t| t.contains("测试cp")).await;

    driver
        .goto(&server.url(&format!("/checkpoints/{checkpoint}")))
        .await;
    driver
        .text_when("#decision-label", |t| t.contains("请扫描健康码"))
        .await;
    // The server's key for a check without JavaScript: unchanged after the check means the script
    // answered it in place, without a page load.
    let server_key = driver.attribute("#passage-key", "value").await;
    assert_eq!(server_key.len(), 32);
    driver.type_into("#temperature", "36.5").await;
    driver.type_into("#scan", &format!("{person}{ENTER}")).await;
    let label = driver
        .text_when("#decision-label", |t| t.contains("通行"))
        .await;
    assert_eq!(label, "通行");
    assert!(driver.attribute("#decision", "class").await.contains("ok"));
    driver.text_when("#passages", |t| t.contains("通行")).await;
    assert_eq!(
        driver.attribute("#passage-key", "value").await,
        server_key,
        "no page load"
    );
    let scan = driver.find("#scan").await;
    let value = driver
        .call(
            reqwest::Method::GET,
            &format!("/element/{scan}/property/value"),
            Value::Null,
        )
        .await;
    assert_eq!(value.as_str(), Some(""), "the scan box is emptied");
    let active = driver
        .call(reqwest::Method::GET, "/element/active", Value::Null)
        .await;
    assert_eq!(
        active[ELEMENT].as_str(),
        Some(scan.as_str()),
        "the scan box keeps the focus"
    );
}
