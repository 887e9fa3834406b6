//! A supply pass checked offline in a real browser: the officer opens 离线查验 and scans the
//! electronic pass (`FP1:`); the page verifies it by itself with the trust list (the same
//! envelope, dictionary and keys as the health code) and shows the number, plate, route and
//! validity; a pass with one character changed is refused. Runs when
//! FANGKONG_TEST_BROWSER is set.

use crate::support;

use support::webdriver::Driver;

use fangkong_app::auth::NewUser;
use fangkong_app::supplies::passes::{EnterpriseForm, PassForm, SupplyPersonForm, VehicleForm};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn in_chromium_the_offline_page_verifies_a_supply_pass_from_its_qr_alone() {
    if std::env::var_os("FANGKONG_TEST_BROWSER").is_none() {
        eprintln!("browser test not run: set FANGKONG_TEST_BROWSER=1 (CI does)");
        return;
    }
    let server = support::start().await;
    let app = &server.app;
    let actor = fangkong_seed::seed_actor();
    let enterprise = app
        .register_supply_enterprise(
            &actor,
            &EnterpriseForm {
                name: "藁城区农产品批发市场".into(),
                kind: "wholesale_market".into(),
                region_code: "130109".into(),
                credit_code: "91130109MA0ABCDE1X".into(),
                certificate_no: "保供-1".into(),
                contact_phone: "13912345678".into(),
            },
        )
        .await
        .unwrap();
    let vehicle = app
        .add_supply_vehicle(
            &actor,
            enterprise,
            &VehicleForm {
                plate: "冀AD1234".into(),
                kind: "truck".into(),
                licence_no: "XSZ-1".into(),
            },
        )
        .await
        .unwrap();
    let tested = (app.now() - chrono::Duration::hours(3))
        .with_timezone(&fangkong_domain::time::beijing_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let driver_id = app
        .add_supply_person(
            &actor,
            enterprise,
            &SupplyPersonForm {
                role: "driver".into(),
                name: "王建国".into(),
                id_type: String::new(),
                id_number: "130109198001011237".into(),
                phone: "13812345678".into(),
                document_no: "JSZ-1".into(),
                negative_at: tested,
            },
        )
        .await
        .unwrap();
    let today = app.today();
    let pass = app
        .issue_supply_pass(
            &actor,
            enterprise,
            &PassForm {
                kind: "vehicle".into(),
                vehicle_id: vehicle.to_string(),
                person_ids: driver_id.to_string(),
                goods: "living".into(),
                origin: "130109".into(),
                via: String::new(),
                destination: "110115".into(),
                valid_from: today.to_string(),
                valid_until: (today + chrono::Duration::days(2)).to_string(),
            },
        )
        .await
        .unwrap();
    let qr = app.supply_pass(&actor, pass.id).await.unwrap().qr_text;
    assert!(qr.starts_with("FP1:"));

    app.create_user_unchecked(
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
    driver.goto(&server.url("/checkpoints/offline")).await;
    driver
        .text_when("#trust-status", |t| t.contains("可离线查验"))
        .await;

    driver.type_into("#scan", &format!("{qr}{ENTER}")).await;
    let label = driver
        .text_when("#decision-label", |t| t.contains("通行证"))
        .await;
    assert_eq!(label, "通行证签名有效");
    let line = driver.text("#decision-who").await;
    assert!(
        line.contains("130109000000") && line.contains("冀AD1234"),
        "{line}"
    );
    let reasons = driver.text("#decision-reasons").await;
    assert!(reasons.contains("130109 → 110115"), "{reasons}");

    // One character of the signature changed: refused.
    let mut chars: Vec<char> = qr.chars().collect();
    let at = chars.len() - 5;
    chars[at] = if chars[at] == '0' { '1' } else { '0' };
    let tampered: String = chars.into_iter().collect();
    driver
        .type_into("#scan", &format!("{tampered}{ENTER}"))
        .await;
    driver
        .text_when("#decision-label", |t| t.contains("无效"))
        .await;
    let reasons = driver.text("#decision-reasons").await;
    assert!(
        reasons.contains("伪造") || reasons.contains("损坏"),
        "{reasons}"
    );
}
