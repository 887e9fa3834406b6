//! A sampler in a real browser (chromium through chromedriver, like tests/browser.rs): scans a tube
//! barcode and an ID number into the binding page and sees the green answer, then a mistyped ID and
//! the red one. Runs when FANGKONG_TEST_BROWSER is set; when set, a missing browser fails the test.

use crate::support;

use support::webdriver::{Driver, ELEMENT};

use fangkong_app::auth::NewUser;
use fangkong_app::mass_testing::{RoundForm, SiteForm};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use serde_json::Value;

/// The WebDriver key code of Enter, as a USB scanner ends every code.
const ENTER: &str = "\u{E007}";

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
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .map(|r| r.id_number.into_string())
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
