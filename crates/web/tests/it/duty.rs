//! Duty (值班值守) over real HTTP (SQLite): every duty page renders for the roles the navigation
//! shows it to and refuses the others; a commander rosters a township (an overlap and a bad date
//! come back with their reasons), the board shows who is on duty and flags the township without a
//! roster, a duty officer writes a handover once, a spot check of an office without a roster is
//! refused and a failed one lands in the accountability list; the JSON API does the same.

use crate::support;

use fangkong_domain::role::{Permission, Role};
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

const OWN: &str = "130109110"; // 增村镇
const OTHER: &str = "130109100"; // 廉州镇

#[tokio::test]
async fn every_duty_page_renders_for_the_roles_the_navigation_shows_it_to() {
    let server = start().await;
    for role in Role::ALL {
        let username = format!("u_{}", role.code());
        let client = server.login_as(&username, role, "130109").await;
        let (_, home) = server.get_text(&client, "/").await;
        let keeps = role.allows(Permission::KeepDuty);
        let manages = role.allows(Permission::ManageDuty);
        assert_eq!(home.contains("href=\"/command/duty\""), keeps, "{role:?}");
        assert_eq!(
            home.contains("href=\"/command/duty/spot-checks\""),
            manages,
            "{role:?}"
        );
        for (path, allowed) in [
            ("/command/duty", keeps),
            ("/command/duty/roster", keeps),
            ("/command/duty/spot-checks", manages),
            ("/command/duty/accountability", manages),
        ] {
            let (status, body) = server.get_text(&client, path).await;
            if allowed {
                assert_eq!(status, 200, "{role:?} opens {path}");
                assert!(!body.contains("http://") && !body.contains("https://"));
            } else {
                assert_eq!(status, 403, "{role:?} is refused {path}: {body}");
                assert!(body.contains("无权"), "{role:?} {path}: Chinese refusal");
            }
        }
    }
    // The board is a duty_line page: the viewport is set and the offices are cards, not a wide table.
    let duty = server.login("u_duty_officer").await;
    let (_, board) = server.get_text(&duty, "/command/duty").await;
    assert!(board.contains("name=\"viewport\""));
    assert!(board.contains("class=\"move-list\" id=\"duty-offices\""));
}

#[tokio::test]
async fn a_commander_rosters_spot_checks_and_sees_the_failure_in_the_accountability_list() {
    let server = start().await;
    let leader = server.add_user("zc_leader", Role::DutyOfficer, OWN).await;
    let a_role = server.add_user("zc_a", Role::DutyOfficer, OWN).await;
    let stranger = server.add_user("lz_a", Role::DutyOfficer, OTHER).await;
    let commander = server.login("commander").await;
    let roster_page = format!("/command/duty/roster?office={OWN}");
    let line = |role: &'static str, who: i64| {
        vec![
            ("region_code", OWN.to_string()),
            ("date", "2022-11-20".to_string()),
            ("shift", "day".to_string()),
            ("role", role.to_string()),
            ("user_id", who.to_string()),
            ("duty_line", "13912345678".to_string()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let server = &server;
        let commander = &commander;
        let roster_page = roster_page.clone();
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = server
                .submit_form(commander, &roster_page, "/command/duty/roster", &pairs)
                .await;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string())
                .unwrap_or_default();
            (status, location, response.text().await.unwrap())
        }
    };
    let (status, location, _) = post(line("leader", leader)).await;
    assert_eq!(status, 303);
    assert!(location.starts_with(&format!("/command/duty/roster?office={OWN}")));
    let (status, _, _) = post(line("a", a_role)).await;
    assert_eq!(status, 303);
    let (_, roster) = server.get_text(&commander, &location).await;
    assert!(roster.contains("测试zc_leader") && roster.contains("带班领导"));
    assert!(roster.contains("夜班缺带班领导"), "the night is a gap");

    // The same person twice: refused with the reason, the form keeps what was typed.
    let (status, _, body) = post(line("b", leader)).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("排班重叠") && body.contains("13912345678"),
        "{body}"
    );
    let mut bad_date = line("b", stranger);
    bad_date[1].1 = "20/11/2022".into();
    let (status, _, body) = post(bad_date).await;
    assert_eq!(status, 422);
    assert!(body.contains("日期："), "{body}");
    let (status, _, body) = post(line("b", stranger)).await;
    assert_eq!(status, 422);
    assert!(body.contains("只能安排本单位"), "{body}");
    // Without the form token nothing is written.
    let response = commander
        .post(server.url("/command/duty/roster"))
        .form(&line("b", a_role))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status().as_u16(), 303);

    // The county's board: 增村镇's leader now, 廉州镇 without a roster today.
    let (_, board) = server.get_text(&commander, "/command/duty").await;
    assert!(board.contains("测试zc_leader"));
    let other = board
        .split(&format!("id=\"office-{OTHER}\""))
        .nth(1)
        .unwrap();
    assert!(other[..other.find("</div>").unwrap()].contains("今日未排班"));

    // The township's duty officer writes the handover once.
    let officer = server.login("zc_a").await;
    let note = [("note", "转运车辆2台待命")];
    let first = server
        .submit_form(&officer, "/command/duty", "/command/duty/handover", &note)
        .await;
    assert_eq!(first.headers()["location"], "/command/duty?saved=handover");
    let again = server
        .submit_form(&officer, "/command/duty", "/command/duty/handover", &note)
        .await;
    assert_eq!(
        again.headers()["location"],
        "/command/duty?saved=handover_kept"
    );
    let (_, board) = server.get_text(&officer, "/command/duty").await;
    assert_eq!(board.matches("转运车辆2台待命").count(), 1);

    // A spot check of 廉州镇 (no roster) is refused; of 增村镇 it is called, then not answered.
    let spot = "/command/duty/spot-checks";
    let refused = server
        .submit_form(&commander, spot, spot, &[("region_code", OTHER)])
        .await;
    assert_eq!(refused.status().as_u16(), 409);
    assert!(refused.text().await.unwrap().contains("没有排班"));
    let called = server
        .submit_form(
            &commander,
            spot,
            spot,
            &[("region_code", OWN), ("minutes", "5")],
        )
        .await;
    assert_eq!(called.status().as_u16(), 303);
    let (_, list) = server.get_text(&commander, spot).await;
    let action = list
        .split("action=\"")
        .find_map(|s| s.strip_prefix("/command/duty/spot-checks/"))
        .map(|s| format!("/command/duty/spot-checks/{}", &s[..s.find('"').unwrap()]))
        .expect("a result form");
    assert!(
        list.contains("测试zc_leader · 带班领导"),
        "the roster to choose from"
    );
    let recorded = server
        .post_form(&commander, &action, &csrf_of(&list), &[("answered", "no")])
        .await;
    assert_eq!(recorded.status().as_u16(), 303);
    let (_, list) = server.get_text(&commander, spot).await;
    assert!(list.contains("不合格：抽查未应答"));
    let (_, accountability) = server
        .get_text(&commander, "/command/duty/accountability")
        .await;
    assert!(accountability.contains("增村镇") && accountability.contains("抽查未应答"));
    assert!(!accountability.contains("廉州镇"));
}

async fn token(server: &TestServer, username: &str) -> String {
    let session: Value = support::client()
        .post(server.url("/api/session"))
        .json(&json!({"username": username, "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_duty_api_rosters_spot_checks_and_lists_the_accountability() {
    let server = start().await;
    let leader = server.add_user("zc_leader", Role::DutyOfficer, OWN).await;
    let commander = token(&server, "commander").await;
    let client = support::client();
    let post = |path: &str, body: Value| {
        client
            .post(server.url(path))
            .bearer_auth(&commander)
            .json(&body)
            .send()
    };
    let get = |path: &str| client.get(server.url(path)).bearer_auth(&commander).send();

    let line = json!({"region_code": OWN, "date": "2022-11-20", "shift": "day", "role": "leader",
        "user_id": leader.to_string()});
    let response = post("/api/command/duty/rosters", line.clone())
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let written: Value = response.json().await.unwrap();
    assert_eq!(written["role"], "leader");
    let again = post("/api/command/duty/rosters", line).await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let error: Value = again.json().await.unwrap();
    assert_eq!(error["error"], "conflict");

    let roster: Value = get(&format!(
        "/api/command/duty/rosters?office={OWN}&from=2022-11-20&to=2022-11-21"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(roster["days"].as_array().unwrap().len(), 2);
    assert_eq!(roster["days"][0]["lines"][0]["user_id"], leader);
    let board: Value = get("/api/command/duty/board")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(board["shift"], "day");
    assert!(
        board["offices"].as_array().unwrap().len() > 2,
        "the county and its townships"
    );

    let called: Value = post("/api/command/duty/spot-checks", json!({"count": "5"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let checks = called.as_array().unwrap();
    assert_eq!(checks.len(), 1, "only 增村镇 has someone on duty");
    let id = checks[0]["id"].as_i64().unwrap();
    server.clock.advance(chrono::Duration::minutes(9));
    let result: Value = post(
        &format!("/api/command/duty/spot-checks/{id}/result"),
        json!({"answered": "yes", "answered_by": leader.to_string(), "knew_situation": "yes"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(result["passed"], false);
    assert_eq!(result["failures"], json!(["抽查超时应答"]));
    let list: Value = get("/api/command/duty/accountability")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["office_code"], OWN);
    assert_eq!(list[0]["items"][0]["kind"], "answered_late");
    let page: Value = get("/api/command/duty/spot-checks")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
}
