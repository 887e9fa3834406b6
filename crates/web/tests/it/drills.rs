//! Drills (应急演练) over real HTTP (SQLite): the runs page renders for the roles the navigation
//! shows it to and refuses the others; a commander's drill in the sandbox — a case reported late —
//! is measured from the page, its printable report names the late step and why, the drill is
//! finished and archived; a township's commander is refused the county's report; the JSON API
//! carries the same figures.

use crate::support;

use fangkong_app::investigation::{CaseAction, CaseForm};
use fangkong_app::{Actor, InstanceKind};
use fangkong_domain::drills::{DrillMode, shipped_scenario};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::{Permission, Role};
use serde_json::Value;
use support::start;

#[tokio::test]
async fn the_drills_page_renders_for_the_roles_the_navigation_shows_it_to() {
    let server = start().await;
    for role in Role::ALL {
        let client = server
            .login_as(&format!("d_{}", role.code()), role, "130109")
            .await;
        let (_, home) = server.get_text(&client, "/").await;
        let reads = role.allows(Permission::RunDrills) || role.allows(Permission::ViewCommand);
        assert_eq!(home.contains("href=\"/drills\""), reads, "{role:?}");
        let (status, body) = server.get_text(&client, "/drills").await;
        if reads {
            assert_eq!(status, 200, "{role:?}");
            assert!(body.contains("id=\"drill-scenarios\""));
            assert!(body.contains("henan_full") && body.contains("small"));
        } else {
            assert_eq!(status, 403, "{role:?}: {body}");
            assert!(body.contains("无权"));
        }
    }
}

#[tokio::test]
async fn a_commander_measures_prints_and_finishes_a_drill() {
    let server = start().await;
    let app = &server.app;
    app.claim_instance_kind(InstanceKind::Sandbox)
        .await
        .unwrap();
    let county = RegionCode::parse("130109").unwrap();
    let commander_actor = app.actor_for_user("commander", "test").await.unwrap();
    let run = app
        .start_drill(
            &commander_actor,
            &shipped_scenario("small").unwrap(),
            DrillMode::Teams,
        )
        .await
        .unwrap();
    // A positive found; the epidemiologists report it three hours later (late).
    let grid = server.own_grid.clone();
    let person: String = app
        .store_for_tools()
        .residents_page((&grid, &format!("{grid}:")), 0, 5)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id_type == "mainland_id")
        .unwrap()
        .id_number
        .into();
    let epi = Actor::seeding(Role::Epidemiologist, county, "drill_epi", "流调队");
    let case = app
        .open_case(
            &epi,
            &CaseForm {
                kind: "asymptomatic".into(),
                id_number: person,
                found_by: "mass_testing".into(),
                first_positive_at: fangkong_domain::time::beijing_label(
                    app.now() - chrono::Duration::hours(2),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    server.clock.advance(chrono::Duration::hours(3));
    app.update_case(&epi, case, &CaseAction::Reported)
        .await
        .unwrap();

    let commander = server.login("commander").await;
    let page = format!("/drills/{run}");
    let (status, before) = server.get_text(&commander, &page).await;
    assert_eq!(status, 200, "{before}");
    assert!(before.contains("还没有评分"));
    let response = server
        .submit_form(
            &commander,
            &page,
            &format!("/drills/{run}/measure"),
            &[("finish", "")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        response.headers()["location"],
        format!("/drills/{run}?measured=now").as_str()
    );
    let (_, report) = server.get_text(&commander, &page).await;
    assert!(report.contains("id=\"drill-teams\""));
    assert!(report.contains("id=\"drill-late\""));
    assert!(report.contains("病例2小时内网络直报"));
    assert!(report.contains("超时 1小时"), "{report}");
    assert!(report.contains("@media print") && report.contains("window.print()"));
    assert!(report.contains("id=\"finish-form\""));
    assert!(!report.contains("http://") && !report.contains("https://"));

    // Finished: the report is archived and can no longer be re-measured.
    let response = server
        .submit_form(
            &commander,
            &page,
            &format!("/drills/{run}/measure"),
            &[("finish", "1")],
        )
        .await;
    assert_eq!(
        response.headers()["location"],
        format!("/drills/{run}?measured=finished").as_str()
    );
    let (_, finished) = server.get_text(&commander, &page).await;
    assert!(finished.contains("已结束"));
    assert!(!finished.contains("id=\"measure-form\""));
    let (_, list) = server.get_text(&commander, "/drills").await;
    assert!(list.contains(&format!("href=\"/drills/{run}\"")));

    // The API mirrors the pages.
    let runs: Value = commander
        .get(server.url("/api/drills"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(runs[0]["id"], run);
    assert_eq!(runs[0]["finished"], true);
    let json: Value = commander
        .get(server.url(&format!("/api/drills/{run}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["run"]["score"], runs[0]["score"]);
    assert!(
        json["late"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["team_label"] == "流调队")
    );

    // A township's commander does not read the county's drill.
    server
        .add_user("zc_commander", Role::Commander, "130109110")
        .await;
    let township = server.login("zc_commander").await;
    let (status, _) = server.get_text(&township, &page).await;
    assert_eq!(status, 403);
    let status = township
        .get(server.url(&format!("/api/drills/{run}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 403);
}
