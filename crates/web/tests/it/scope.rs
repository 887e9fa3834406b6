//! Scoping and robustness over real HTTP: a bad stored tube serial does not take the testing pages
//! down; a township neither issues tubes to the county's round nor reads the county's import
//! problems, lab uploads or audit log; foreign ids answer 404 like missing ones; refusals do not
//! name a foreign grid.

use crate::support;

use fangkong_app::mass_testing::RoundForm;
use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

async fn actor(server: &TestServer, username: &str) -> fangkong_app::Actor {
    server
        .app
        .login(username, support::PASSWORD, "127.0.0.1")
        .await
        .unwrap()
        .actor
}

/// A county round opened by the county commander (through the app, as the page does).
async fn county_round(server: &TestServer) -> i64 {
    let commander = actor(server, "commander").await;
    server
        .app
        .open_round(
            &commander,
            &RoundForm {
                name: "藁城区第1轮全员核酸检测".into(),
                kind: "whole".into(),
                region_code: "130109".into(),
                pool_size: "10".into(),
                tubes: "50".into(),
                ..Default::default()
            },
        )
        .await
        .expect("open round")
}

#[tokio::test]
async fn a_stored_out_of_range_serial_does_not_panic_the_testing_pages() {
    let server = start().await;
    let round = county_round(&server).await;
    // A batch past the 12-digit range, as the looped request of the probe left it.
    assert!(
        server
            .app
            .store_for_tools()
            .issue_tube_batch(round, 100_000_000_000, 100_000_029_013, 0, "probe")
            .await
            .unwrap()
    );
    let commander = server.login("commander").await;
    for path in [
        "/testing",
        &format!("/testing/rounds/{round}"),
        "/api/rounds",
    ] {
        let (status, body) = server.get_text(&commander, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, page) = server
        .get_text(&commander, &format!("/testing/rounds/{round}"))
        .await;
    assert!(
        page.contains("超出条码范围"),
        "the bad range is shown in words"
    );
    // Issuing more is refused in words; the server is still there afterwards.
    let more = server
        .post_form(
            &commander,
            &format!("/testing/rounds/{round}/tubes"),
            &csrf_of(&page),
            &[("count", "1")],
        )
        .await;
    assert_eq!(more.status(), 409);
    assert!(more.text().await.unwrap().contains("号段已用完"));
    let (status, _) = server.get_text(&commander, "/testing").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn tubes_per_request_are_capped_and_a_township_does_not_issue_to_the_county_round() {
    let server = start().await;
    let round = county_round(&server).await;
    let town = server
        .login_as("towncmd", Role::Commander, &server.other_township)
        .await;
    let (status, page) = server
        .get_text(&town, &format!("/testing/rounds/{round}"))
        .await;
    assert_eq!(status, 200, "the township sees the county round");
    let refused = server
        .post_form(
            &town,
            &format!("/testing/rounds/{round}/tubes"),
            &csrf_of(&page),
            &[("count", "10")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("上级"));

    let county = server.login("commander").await;
    let (_, page) = server
        .get_text(&county, &format!("/testing/rounds/{round}"))
        .await;
    let too_many = server
        .post_form(
            &county,
            &format!("/testing/rounds/{round}/tubes"),
            &csrf_of(&page),
            &[("count", "50000000")],
        )
        .await;
    assert_eq!(too_many.status(), 422);
    assert!(too_many.text().await.unwrap().contains("100000"));
    let batches = server
        .app
        .store_for_tools()
        .tube_batches(round)
        .await
        .unwrap();
    assert_eq!(batches.len(), 1, "nothing was issued");
}

#[tokio::test]
async fn import_problems_lab_uploads_and_the_audit_log_stay_in_the_subtree() {
    let server = start().await;
    server
        .add_user("townadmin", Role::Administrator, &server.other_township)
        .await;
    server
        .add_user("towncmd", Role::Commander, &server.other_township)
        .await;
    server
        .add_user("countyadmin", Role::Administrator, "130109")
        .await;

    // The county commander imports a file with a bad row of a person of the grid worker's township.
    let commander = actor(&server, "commander").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let header = fangkong_domain::resident_row::COLUMNS.join(",");
    std::fs::write(
        &path,
        format!(
            "{header}\n田林民,居民身份证,130109194801040011,不详,1948-01-04,13912345678,增村,{}0001,户主,{},\n",
            server.own_grid, server.own_grid
        ),
    )
    .unwrap();
    let report = server
        .app
        .import_residents(&commander, &path, "bad.csv")
        .await
        .unwrap();
    assert!(report.problem_rows >= 1, "{report:?}");
    let problems = format!("/imports/{}/problems.csv", report.import_id);

    // A township administrator: 404, as for an import that does not exist.
    let town = server.login("townadmin").await;
    let (status, body) = server.get_text(&town, &problems).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("130109194801040011"));
    let (missing, _) = server.get_text(&town, "/imports/999999/problems.csv").await;
    assert_eq!(missing, 404);
    // The county's administrator and the commander who imported see it.
    for who in ["countyadmin", "commander"] {
        let client = server.login(who).await;
        let (status, body) = server.get_text(&client, &problems).await;
        assert_eq!(status, 200, "{who}");
        assert!(body.contains("130109194801040011"), "{who}");
    }

    // A county lab's upload is not a township's to read.
    let lab = actor(&server, "lab").await;
    let upload = server.app.submit_lab_results(&lab, &[]).await.unwrap();
    let results = format!("/testing/results/{}", upload.upload.id);
    let towncmd = server.login("towncmd").await;
    let (status, _) = server.get_text(&towncmd, &results).await;
    assert_eq!(status, 404);
    let county = server.login("commander").await;
    let (status, _) = server.get_text(&county, &results).await;
    assert_eq!(status, 200);

    // The audit log: a township administrator sees only their township's users; an ID number
    // typed as a username at a failed login is masked even for the province.
    let failed = support::client()
        .post(server.url("/login"))
        .form(&[("username", "130109198012230013"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_ne!(failed.status(), 303);
    let (status, log) = server.get_text(&town, "/audit").await;
    assert_eq!(status, 200);
    assert!(log.contains("townadmin"), "their own login is there");
    assert!(
        !log.contains("<td>commander</td>") && !log.contains("<td>lab</td>"),
        "no county users' entries"
    );
    assert!(!log.contains("130109198012230013") && !log.contains("130*************13"));
    let province = server.login("admin").await;
    let (_, log) = server
        .get_text(&province, "/audit?action=login_failed")
        .await;
    assert!(
        log.contains("130*************13"),
        "masked at province level (the login path stores the typed name masked)"
    );
    assert!(!log.contains("130109198012230013"));
}

#[tokio::test]
async fn foreign_ids_answer_like_missing_ones_and_refusals_name_no_grid() {
    let server = start().await;
    let foreign = server
        .app
        .store_for_tools()
        .residents_page(
            (&server.other_grid, &format!("{}:", server.other_grid)),
            0,
            1,
        )
        .await
        .unwrap()
        .remove(0);
    let gw = server.login("gw").await;
    let (foreign_status, foreign_body) = server
        .get_text(&gw, &format!("/api/residents/{}", foreign.id))
        .await;
    let (missing_status, missing_body) = server.get_text(&gw, "/api/residents/99999999").await;
    assert_eq!(foreign_status, 404);
    assert_eq!(missing_status, 404);
    let foreign_json: Value = serde_json::from_str(&foreign_body).unwrap();
    let missing_json: Value = serde_json::from_str(&missing_body).unwrap();
    assert_eq!(foreign_json, missing_json, "the same answer");
    let (page_status, _) = server
        .get_text(&gw, &format!("/residents/{}", foreign.id))
        .await;
    assert_eq!(page_status, 404);

    // A lead for a person of another township: refused without naming their grid.
    let token = server
        .app
        .login("gw", support::PASSWORD, "127.0.0.1")
        .await
        .unwrap()
        .token;
    let refused = support::client()
        .post(server.url("/api/leads"))
        .bearer_auth(&token)
        .json(&json!({
            "channel": "grid_screening",
            "category": "close_contact",
            "name": "某人",
            "id_type": foreign.id_type,
            "id_number": foreign.id_number,
            "reason": "排查",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let message = refused.text().await.unwrap();
    assert!(message.contains("不在您的管辖范围内"), "{message}");
    assert!(
        !message.contains(&server.other_grid) && !message.contains(&server.other_grid[..12]),
        "{message}"
    );
}
