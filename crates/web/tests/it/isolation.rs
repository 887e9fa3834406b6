//! Isolation, transfer and hospital pages and API over real HTTP (SQLite): every page renders for
//! every role the navigation shows it to and refuses the others; a site is registered and given
//! rooms through the forms (a bad form comes back with what was typed); a coach for a positive is
//! refused on the page; devices post home check-ins and door alarms with a bearer token; the
//! OpenAPI document lists the routes.

use crate::support;

use fangkong_app::isolation::{MeasurePerson, RoomBlockForm, SiteForm};
use fangkong_domain::isolation::PersonCategory;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

/// Puts residents of the grid worker's grid under measures: the first a close contact (awaiting a
/// room), the second a secondary contact (at home), the third a case. Returns their measure ids.
async fn measures(server: &TestServer) -> (i64, i64, i64) {
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    let people = server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 10)
        .await
        .unwrap();
    let day1 = server.app.today();
    let mut ids = Vec::new();
    for (i, category) in [
        PersonCategory::CloseContact,
        PersonCategory::SecondaryContact,
        PersonCategory::Case,
    ]
    .into_iter()
    .enumerate()
    {
        let id = server
            .app
            .place_under_measure_unchecked(
                &MeasurePerson::of_resident(&people[i]),
                category,
                day1,
                &format!("web:{i}"),
            )
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
    }
    (ids[0], ids[1], ids[2])
}

async fn api_token(server: &TestServer, username: &str) -> String {
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
async fn every_isolation_page_renders_for_the_roles_the_navigation_shows_it_to() {
    let server = start().await;
    let (close, home, case) = measures(&server).await;
    let actor = fangkong_app::Actor::seeding(
        fangkong_domain::role::Role::Administrator,
        RegionCode::parse("130109").unwrap(),
        "seed",
        "数据初始化",
    );
    let site = server
        .app
        .create_isolation_site(
            &actor,
            &SiteForm {
                name: "测试隔离点".into(),
                region_code: server.own_grid[..9].to_string(),
                address: "测试路1号".into(),
                readiness: "2h".into(),
                staff_count: "10".into(),
                note: String::new(),
            },
        )
        .await
        .unwrap();
    server
        .app
        .add_rooms(
            &actor,
            site,
            &RoomBlockForm {
                building: "A".into(),
                floor_from: "1".into(),
                floor_to: "2".into(),
                room_from: "1".into(),
                room_to: "5".into(),
            },
        )
        .await
        .unwrap();
    for (username, role, jurisdiction) in [
        ("epi", Role::Epidemiologist, "130109"),
        ("site", Role::IsolationSite, "130109"),
        ("zhuanyun", Role::Transfer, "130109"),
        ("duty", Role::DutyOfficer, "130109"),
        ("supply", Role::Supply, "130109"),
        ("checker", Role::Checkpoint, "130109"),
    ] {
        server.add_user(username, role, jurisdiction).await;
    }
    let pages = [
        "/isolation".to_string(),
        "/isolation/sites".into(),
        format!("/isolation/sites/{site}"),
        "/isolation/measures".into(),
        format!("/isolation/measures/{close}"),
        format!("/isolation/measures/{home}"),
        format!("/isolation/measures/{case}"),
        "/isolation/hospitals".into(),
        "/isolation/allocate".into(),
        "/transfers".into(),
        "/home-monitoring".into(),
    ];
    for username in [
        "commander",
        "admin",
        "lab",
        "gw",
        "epi",
        "site",
        "zhuanyun",
        "duty",
        "supply",
        "checker",
    ] {
        let client = server.login(username).await;
        let role = server
            .app
            .session(&api_token(&server, username).await, "test")
            .await
            .unwrap()
            .actor
            .role;
        let (_, home_page) = server.get_text(&client, "/").await;
        for path in &pages {
            let (status, body) = server.get_text(&client, path).await;
            let allowed = match path.as_str() {
                "/isolation/allocate" => {
                    role.allows(fangkong_domain::role::Permission::DispatchTransfers)
                }
                "/home-monitoring" => {
                    role.allows(fangkong_domain::role::Permission::ViewIsolation)
                        && role.allows(fangkong_domain::role::Permission::RecordHomeCheckIns)
                }
                _ => role.allows(fangkong_domain::role::Permission::ViewIsolation),
            };
            let linked = home_page.contains(&format!("href=\"{path}\""));
            if path == "/isolation" {
                // The capability link is shown to every role: it always renders, and says so when
                // the role may not see the data.
                assert!(linked);
                assert_eq!(status, 200, "{username} ({role:?}) opens {path}");
                assert_eq!(!allowed, body.contains("无权查看"), "{username} {path}");
            } else if allowed && username == "gw" && path.starts_with("/isolation/sites/") {
                // The site lies in the township, above a grid worker's grid: for the grid worker it
                // does not exist (404, as a missing site).
                assert_eq!(status, 404);
                assert!(body.contains("没有找到该隔离点") && !body.contains("管辖范围"));
            } else if allowed {
                assert_eq!(status, 200, "{username} ({role:?}) opens {path}: {body}");
                assert!(!body.contains("http://") && !body.contains("https://"));
            } else {
                assert!(!linked, "{username} is not shown {path}");
                assert_eq!(status, 403, "{username} ({role:?}) is refused {path}");
                assert!(body.contains("无权"), "{username} {path} says why");
            }
        }
    }
    // The rooms grid and masking.
    let commander = server.login("commander").await;
    let (_, grid) = server
        .get_text(&commander, &format!("/isolation/sites/{site}"))
        .await;
    assert!(grid.contains("data-room=\"A-105\"") && grid.contains("room free"));
    let (_, list) = server.get_text(&commander, "/isolation/measures").await;
    assert!(list.contains("********"), "ID numbers are masked");
    // The heading counts the whole list, the same number as the rows shown when nothing is cut.
    let table = &list[list.find("<table id=\"measures\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let rows = table.matches("href=\"/isolation/measures/").count();
    assert!(rows > 0);
    assert!(
        list.contains(&format!("id=\"measures-count\">{rows} 人<")),
        "{rows} rows"
    );
    let (_, detail) = server
        .get_text(&commander, &format!("/isolation/measures/{close}"))
        .await;
    assert!(detail.contains("********") && detail.contains("id=\"reveal\""));
    assert!(
        detail.contains("name=\"reason\""),
        "the reveal form asks for a reason"
    );
    let no_reason = server
        .post_form(
            &commander,
            &format!("/isolation/measures/{close}/reveal"),
            &csrf_of(&detail),
            &[],
        )
        .await;
    assert_eq!(no_reason.status(), 422);
    let body = no_reason.text().await.unwrap();
    assert!(body.contains("请填写查看原因") && !body.contains("已记入审计："));
    let revealed = server
        .post_form(
            &commander,
            &format!("/isolation/measures/{close}/reveal"),
            &csrf_of(&detail),
            &[("reason", "转运前核对身份")],
        )
        .await;
    assert_eq!(revealed.status(), 200);
    let body = revealed.text().await.unwrap();
    assert!(body.contains("已记入审计") && !body.contains("id=\"reveal\""));
    let audit = server
        .app
        .store_for_tools()
        .audit_page("reveal", i64::MAX, 50)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "reveal"
        && a.target == format!("measure:{close}")
        && a.detail.contains("转运前核对身份")));

    // A resident linked to the person at home sees their own page and checks in through the form.
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    let people = server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 10)
        .await
        .unwrap();
    let user = server
        .add_user("jumin", Role::Resident, &server.own_grid)
        .await;
    server
        .app
        .store_for_tools()
        .link_user_to_resident(user, people[1].id)
        .await
        .unwrap();
    let resident = server.login("jumin").await;
    let (status, mine) = server.get_text(&resident, "/me/isolation").await;
    assert_eq!(status, 200);
    assert!(mine.contains("今日打卡"));
    let refused = server
        .post_form(
            &resident,
            "/me/isolation",
            &csrf_of(&mine),
            &[("temperature", "52"), ("symptoms", "乏力")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("不可能") && body.contains("value=\"52\"") && body.contains("乏力"));
    let done = server
        .post_form(
            &resident,
            "/me/isolation",
            &csrf_of(&mine),
            &[("temperature", "36.6")],
        )
        .await;
    assert_eq!(done.status(), 303);
    let (_, mine) = server.get_text(&resident, "/me/isolation").await;
    assert!(mine.contains("今天已打卡"));
    let (status, _) = server.get_text(&resident, "/isolation").await;
    assert_eq!(
        status, 303,
        "a resident's capability link leads to their own page"
    );
}

#[tokio::test]
async fn sites_rooms_and_transfers_go_through_the_forms_and_bad_input_comes_back() {
    let server = start().await;
    let (close, _, case) = measures(&server).await;
    let commander = server.login("commander").await;
    let (status, page) = server.get_text(&commander, "/isolation/sites").await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&page);
    let township = server.own_grid[..9].to_string();

    // A missing readiness tier: 422, the typed name kept.
    let bad = server
        .post_form(
            &commander,
            "/isolation/sites",
            &csrf,
            &[
                ("name", "增村镇第一隔离点"),
                ("region_code", township.as_str()),
                ("address", "增村镇1号"),
                ("readiness", ""),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("启用时限") && body.contains("value=\"增村镇第一隔离点\""));
    // Without the CSRF token nothing is written.
    let forged = commander
        .post(server.url("/isolation/sites"))
        .form(&[
            ("name", "伪造"),
            ("region_code", township.as_str()),
            ("address", "x"),
            ("readiness", "2h"),
        ])
        .send()
        .await
        .unwrap();
    assert_ne!(forged.status(), 303);
    let created = server
        .post_form(
            &commander,
            "/isolation/sites",
            &csrf,
            &[
                ("name", "增村镇第一隔离点"),
                ("region_code", township.as_str()),
                ("address", "增村镇1号"),
                ("readiness", "2h"),
                ("staff_count", "20"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let site: i64 = location
        .trim_start_matches("/isolation/sites/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let rooms = server
        .post_form(
            &commander,
            &format!("/isolation/sites/{site}/rooms"),
            &csrf,
            &[
                ("building", "A"),
                ("floor_from", "1"),
                ("floor_to", "6"),
                ("room_from", "1"),
                ("room_to", "20"),
            ],
        )
        .await;
    assert_eq!(rooms.status(), 303);
    let (_, site_page) = server
        .get_text(&commander, &format!("/isolation/sites/{site}"))
        .await;
    assert!(site_page.contains("A-620") && site_page.contains("<b id=\"free\">120</b>"));
    let bad_rooms = server
        .post_form(
            &commander,
            &format!("/isolation/sites/{site}/rooms"),
            &csrf,
            &[
                ("building", "B"),
                ("floor_from", "6"),
                ("floor_to", "1"),
                ("room_from", "1"),
                ("room_to", "20"),
            ],
        )
        .await;
    assert_eq!(bad_rooms.status(), 422);
    assert!(bad_rooms.text().await.unwrap().contains("楼层范围"));

    // Allocation preview and confirm; then a coach for the case is refused with the reason.
    let (_, preview) = server.get_text(&commander, "/isolation/allocate").await;
    assert!(preview.contains("A-101") && preview.contains("同乡镇"));
    let confirmed = server
        .post_form(&commander, "/isolation/allocate", &csrf, &[])
        .await;
    assert_eq!(confirmed.status(), 303);
    // A carer the rule refuses: 422, the reason, what was typed kept.
    let carer = server
        .post_form(
            &commander,
            &format!("/isolation/measures/{close}/carer"),
            &csrf,
            &[("name", "张三丰"), ("age", "70"), ("dependent", "1")],
        )
        .await;
    assert_eq!(carer.status(), 422);
    let body = carer.text().await.unwrap();
    assert!(
        body.contains("60岁及以上")
            && body.contains("value=\"张三丰\"")
            && body.contains("value=\"70\"")
    );
    let vehicle = server
        .post_form(
            &commander,
            "/transfers/vehicles",
            &csrf,
            &[
                ("plate", "冀A30001"),
                ("kind", "coach"),
                ("capacity", "30"),
                ("region_code", "130109"),
            ],
        )
        .await;
    assert_eq!(vehicle.status(), 303);
    let coach = server
        .app
        .store_for_tools()
        .transfer_vehicles(("130109", "130109:"))
        .await
        .unwrap()[0]
        .id;
    let refused = server
        .post_form(
            &commander,
            "/transfers",
            &csrf,
            &[
                ("vehicle_id", coach.to_string().as_str()),
                ("measure_id", case.to_string().as_str()),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("只能由（负压）救护车"), "{body}");
    assert!(
        body.contains(&format!("value=\"{case}\" checked")),
        "the ticked person stays ticked"
    );
    let sent = server
        .post_form(
            &commander,
            "/transfers",
            &csrf,
            &[
                ("vehicle_id", coach.to_string().as_str()),
                ("measure_id", close.to_string().as_str()),
            ],
        )
        .await;
    assert_eq!(sent.status(), 303);
    let (_, board) = server.get_text(&commander, "/transfers").await;
    assert!(board.contains("已派车") && board.contains("确认接到"));
}

#[tokio::test]
async fn devices_post_check_ins_alarms_and_transfer_steps_with_a_token() {
    let server = start().await;
    let (_, home, _) = measures(&server).await;
    let token = api_token(&server, "gw").await;
    let client = support::client();
    let check_in = client
        .post(server.url("/api/home-monitoring/check-ins"))
        .bearer_auth(&token)
        .json(&json!({"measure_id": home, "temperature": "37.5", "symptoms": "咳嗽"}))
        .send()
        .await
        .unwrap();
    assert_eq!(check_in.status(), 201);
    assert_eq!(check_in.json::<Value>().await.unwrap()["fever"], true);
    let impossible = client
        .post(server.url("/api/home-monitoring/check-ins"))
        .bearer_auth(&token)
        .json(&json!({"measure_id": home, "temperature": "52"}))
        .send()
        .await
        .unwrap();
    assert_eq!(impossible.status(), 422);
    let body: Value = impossible.json().await.unwrap();
    assert_eq!(body["error"], "invalid_input");
    assert!(body["message"].as_str().unwrap().contains("不可能"));
    let alarm = client
        .post(server.url("/api/home-monitoring/alarms"))
        .bearer_auth(&token)
        .json(&json!({"measure_id": home, "device_id": "MC-1", "kind": "door_opened"}))
        .send()
        .await
        .unwrap();
    assert_eq!(alarm.status(), 201);
    let gw = server.login("gw").await;
    let (status, page) = server.get_text(&gw, "/home-monitoring").await;
    assert_eq!(status, 200);
    assert!(page.contains("门被打开") && page.contains("发热"));
    // Another township's measure is outside a grid worker's jurisdiction.
    let other = server
        .add_user("gw2", Role::GridWorker, &server.other_grid)
        .await;
    let _ = other;
    let token2 = api_token(&server, "gw2").await;
    let outside = client
        .post(server.url("/api/home-monitoring/alarms"))
        .bearer_auth(&token2)
        .json(&json!({"measure_id": home, "device_id": "MC-1", "kind": "door_opened"}))
        .send()
        .await
        .unwrap();
    // …and answers like a missing one.
    assert_eq!(outside.status(), 404);
    let missing = client
        .post(server.url("/api/transfers/999/status"))
        .bearer_auth(&api_token(&server, "commander").await)
        .json(&json!({"status": "picked_up"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[path = "../../../fangkong/src/demo_isolation.rs"]
mod demo_isolation;

#[tokio::test]
async fn the_demo_facilities_show_on_every_page_that_lists_them() {
    // Who fills the rooms is the living outbreak's (the binary's demo story test); here the
    // county's sites, hospitals and vehicles, set up the morning the outbreak is found.
    let server = start().await;
    let county = RegionCode::parse("130109").unwrap();
    let seeded = demo_isolation::seed_facilities(&server.app, &county)
        .await
        .expect("demo facilities");
    assert_eq!(seeded.sites.len(), 10);
    assert!(seeded.rooms >= 2_000, "{seeded:?}");
    assert_eq!(seeded.hospitals.len(), 3);
    assert_eq!(seeded.ambulances.len(), 6);
    assert_eq!(seeded.coaches.len(), 8);
    let admin = server.login("admin").await;
    for path in [
        "/isolation",
        "/isolation/sites",
        "/isolation/hospitals",
        "/transfers",
    ] {
        let (status, _) = server.get_text(&admin, path).await;
        assert_eq!(status, 200, "{path}");
    }
    let (_, sites) = server.get_text(&admin, "/isolation/sites").await;
    assert!(
        sites.contains("集中隔离点"),
        "sites page lists the demo's sites"
    );
    let (_, board) = server.get_text(&admin, "/transfers").await;
    assert!(board.contains("负压救护车"));
    let (_, beds) = server.get_text(&admin, "/isolation/hospitals").await;
    assert!(beds.contains("方舱医院"));
}
