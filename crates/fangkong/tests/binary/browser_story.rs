//! The story across modules in a real browser, on the database the demo leaves and the binary
//! serving it: the commander's situation picture drilled down to a grid's lead list; a case opened by the epidemiologist → its close contact's file (一人一档) with the
//! lead landed, the room or home measure and the code → the risk area the case's village became,
//! stepping down by the rules. Runs when FANGKONG_TEST_BROWSER and FANGKONG_TEST_SLOW are set (CI
//! sets both): the demo takes a while to seed.

use std::process::{Child, Command};
use std::time::Duration;

use fangkong_app::{App, Store, SystemClock};
use fangkong_testkit::webdriver::Driver;

/// The served binary, killed with the test.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn in_chromium_the_demo_story_runs_from_a_case_to_its_contacts_rooms_codes_and_risk_area() {
    if std::env::var_os("FANGKONG_TEST_BROWSER").is_none() || !crate::slow_suites_enabled() {
        eprintln!(
            "browser story not run: set FANGKONG_TEST_BROWSER=1 and FANGKONG_TEST_SLOW=1 (CI does)"
        );
        return;
    }
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo");
    let seeded = Command::new(env!("CARGO_BIN_EXE_fangkong"))
        .args(["demo", "--residents", "6000", "--no-serve", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );

    // What the browser should find, read from the database first: the newest case with a close
    // contact under a measure, and an area that stepped down.
    let app = App::new(
        Store::open_sqlite_dir(&db).await.unwrap(),
        std::sync::Arc::new(SystemClock),
    );
    let store = app.store_for_tools();
    let commander = app.actor_for_user("commander", "test").await.unwrap();
    let cases = app
        .cases(&commander, None, None, false, None)
        .await
        .unwrap();
    let mut picked = None;
    'cases: for case in &cases {
        for contact in store.contacts_of_case(case.id, 100).await.unwrap() {
            if contact.category != fangkong_domain::investigation::ContactCategory::Close {
                continue;
            }
            let measures = store
                .measures_of_person(&contact.id_type, contact.id_number.as_str())
                .await
                .unwrap();
            if !measures.is_empty() {
                picked = Some((case.id, contact.id));
                break 'cases;
            }
        }
    }
    let (case_id, contact_id) = picked.expect("a case with a close contact under a measure");
    let areas = app.risk_areas(&commander, true).await.unwrap();
    let stepped = areas
        .iter()
        .find(|a| a.area.tier != fangkong_domain::risk_area::AreaTier::High)
        .map(|a| a.area.id);
    store.close().await;

    // Serve the demo's database with the binary (a sandbox: it resumes the story's time).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let _served = Served(
        Command::new(env!("CARGO_BIN_EXE_fangkong"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
            ])
            .arg(&db)
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/login")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(up, "the served demo answers");

    let driver = Driver::start().await;
    driver.goto(&format!("{base}/login")).await;
    driver.type_into("#username", "commander").await;
    driver.type_into("#password", "fangkong2021").await;
    driver.click("#login").await;
    driver
        .text_when("#who", |t| t.contains("藁城区指挥部"))
        .await;
    // The training band tells the story's time, in January 2021.
    assert!(
        driver.source().await.contains("2021-01-1"),
        "the band shows the simulated time"
    );

    // The commander's home is the situation picture: the outbreak's figures, what is late, and
    // the townships worst first. Drill down township → village → grid, to the grid's lead list.
    let picture = driver
        .text_when("#situation", |t| t.contains("今日新增确诊"))
        .await;
    assert!(picture.contains("管控中人员"), "{picture}");
    assert!(driver.text("#late-summary").await.contains("超时事项"));
    let cumulative = driver.text("#cumulative").await;
    assert!(
        !cumulative.starts_with("0 / 0"),
        "the outbreak counts: {cumulative}"
    );
    for level in ["乡镇街道", "村社区", "网格"] {
        driver.click("#children a").await;
        let shown = format!("{level} · 截至");
        driver
            .text_when("#situation .crumbs", |t| t.contains(&shown))
            .await;
    }
    let lists = driver
        .text_when("#grid-lists", |t| t.contains("待落地线索名单"))
        .await;
    assert!(
        lists.contains("未采样人员") || lists.contains("网格住户"),
        "{lists}"
    );
    driver.click("#grid-lists a").await;
    driver.text_when("h1", |t| t.contains("落地查人")).await;

    // The case, opened by the epidemiologist, with its contacts.
    driver.goto(&format!("{base}/cases/{case_id}")).await;
    driver.text_when("h1", |t| !t.is_empty()).await;
    driver
        .click(&format!("a[href='/people/contact-{contact_id}']"))
        .await;
    // The contact's file: the lead landed, the measure, the code.
    let badges = driver
        .text_when("#person-name", |t| t.contains("一人一档"))
        .await;
    assert!(!badges.is_empty());
    let leads = driver.text("#person-leads").await;
    assert!(leads.contains("已落地管控"), "the lead landed: {leads}");
    assert!(!leads.contains("待落地"), "no lead still waits: {leads}");
    let measures = driver.text("div[id^='measure-']").await;
    assert!(
        measures.contains("密切接触者"),
        "the measure names why: {measures}"
    );
    assert!(
        measures.contains("集中隔离点") || measures.contains("居家"),
        "the measure says where: {measures}"
    );
    let code = driver.text("#code-now").await;
    assert!(!code.is_empty());
    let contacts = driver.text("#person-contacts").await;
    assert!(
        contacts.contains("藁城-"),
        "the file names the case met: {contacts}"
    );

    // The risk areas: the village of the index case, and one stepped down by the rules.
    driver.goto(&format!("{base}/risk-areas")).await;
    let list = driver.text_when("main", |t| t.contains("小果庄")).await;
    assert!(list.contains("高风险"), "{list}");
    if let Some(area) = stepped {
        driver.goto(&format!("{base}/risk-areas/{area}")).await;
        let page = driver.text_when("main", |t| t.contains("风险")).await;
        assert!(page.contains("连续7天无新增"), "the step says why: {page}");
    }
}
