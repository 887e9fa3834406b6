//! The command office's pages over real HTTP: the picture and the late list render for the roles
//! the navigation shows them to and refuse the others; the commander's home is the picture; a
//! lead overdue in a grid shows on the picture, on the late list and in the child-region table,
//! whose links drill down to the grid's own lists; a region outside the jurisdiction is refused;
//! the JSON for big screens carries the same figures.

use crate::support;

use fangkong_app::leads::LeadForm;
use fangkong_domain::role::{Permission, Role};
use serde_json::Value;
use support::{links, start};

#[tokio::test]
async fn the_picture_drills_down_to_the_grid_where_a_lead_is_overdue() {
    let server = start().await;
    let grid = server.own_grid.clone();
    let person: String = server
        .app
        .store_for_tools()
        .residents_page((&grid, &format!("{grid}:")), 0, 5)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id_type == "mainland_id")
        .unwrap()
        .id_number
        .into();
    server
        .app
        .create_lead(
            &fangkong_seed::seed_actor(),
            &LeadForm {
                channel: "grid_screening".into(),
                id_number: person,
                reason: "测试".into(),
                ..LeadForm::default()
            },
        )
        .await
        .unwrap();

    for role in Role::ALL {
        let client = server
            .login_as(&format!("c_{}", role.code()), role, "130109")
            .await;
        let (_, home) = server.get_text(&client, "/").await;
        let commands = role.allows(Permission::ViewCommand);
        assert_eq!(
            home.contains("href=\"/command/late\""),
            commands,
            "{role:?}"
        );
        for path in ["/command", "/command/late"] {
            let (status, body) = server.get_text(&client, path).await;
            assert_eq!(status, if commands { 200 } else { 403 }, "{role:?} {path}");
            assert!(!body.contains("http://") && !body.contains("https://"));
        }
        // The command office's own roles land on the picture.
        let picture_home = matches!(role, Role::Commander | Role::DutyOfficer);
        assert_eq!(home.contains("id=\"situation\""), picture_home, "{role:?}");
    }

    let commander = server.login("commander").await;
    let (status, page) = server.get_text(&commander, "/command").await;
    assert_eq!(status, 200);
    assert!(page.contains("态势总览"));
    assert!(page.contains("id=\"leads-open\""));
    // The lead counts on the picture and in the table; the township line links one level down.
    let township = &grid[..9];
    let down = format!("/command?region={township}");
    assert!(links(&page, "/command?region=").contains(&down), "{page}");
    let (_, township_page) = server.get_text(&commander, &down).await;
    let village = format!("/command?region={}", &grid[..12]);
    assert!(links(&township_page, "/command?region=").contains(&village));
    let (_, village_page) = server.get_text(&commander, &village).await;
    let to_grid = format!("/command?region={grid}");
    assert!(links(&village_page, "/command?region=").contains(&to_grid));
    let (status, grid_page) = server.get_text(&commander, &to_grid).await;
    assert_eq!(status, 200);
    // At the grid the picture ends in the grid's lists.
    let grid_list = format!("/leads?region={grid}");
    assert!(grid_page.contains("id=\"grid-lists\""));
    assert!(links(&grid_page, "/leads?region=").contains(&grid_list));
    let (status, list) = server.get_text(&commander, &grid_list).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("href=\"/leads/"),
        "the grid's list shows the lead"
    );

    // The JSON carries the same figures; a region outside the jurisdiction is refused.
    let json: Value = commander
        .get(server.url(&format!("/api/command/situation?region={grid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["region_code"], grid.as_str());
    assert_eq!(json["leads"]["pending"].as_i64(), Some(1), "{json}");
    let township_gw = server.login("gw").await;
    let status = township_gw
        .get(server.url("/api/command/situation?region=130109110"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 403, "a grid worker has no picture");
    let other_township = if &grid[..9] == "130109110" {
        "130109100"
    } else {
        "130109110"
    };
    let outside = server
        .login_as("outside_cmd", Role::Commander, &grid[..9])
        .await;
    let (status, body) = server
        .get_text(&outside, &format!("/command?region={other_township}"))
        .await;
    assert!(
        status == 403 || status == 404,
        "another township is outside: {status}"
    );
    assert!(body.contains("辖区") || body.contains("无权"), "{body}");
    let late: Value = commander
        .get(server.url("/api/command/late"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(late["groups"].is_array(), "{late}");
}

#[tokio::test]
async fn a_published_bulletin_is_on_the_public_page_without_login() {
    let server = start().await;
    let commander = server.login("commander").await;
    let (_, page) = server.get_text(&commander, "/command/bulletins").await;
    assert!(page.contains("id=\"draft-form\""));
    let today = server.app.today().to_string();
    let response = server
        .submit_form(
            &commander,
            "/command/bulletins",
            "/command/bulletins",
            &[("day", today.as_str())],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_string();
    let (status, drafted) = server.get_text(&commander, &to).await;
    assert_eq!(status, 200, "{drafted}");
    assert!(drafted.contains("id=\"publish-form\""), "{drafted}");
    let public = support::client();
    let (_, before) = server.get_text(&public, "/public/bulletins").await;
    assert!(before.contains("id=\"no-bulletins\""));
    let id = to.rsplit('/').next().unwrap().to_string();
    let response = server
        .submit_form(
            &commander,
            &format!("/command/bulletins/{id}"),
            &format!("/command/bulletins/{id}/publish"),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_string();
    let (status, published) = server.get_text(&commander, &to).await;
    assert_eq!(status, 200);
    assert!(published.contains("已发布"), "{published}");
    let (status, after) = server.get_text(&public, "/public/bulletins").await;
    assert_eq!(status, 200);
    assert!(after.contains(&format!("id=\"bulletin-{id}\"")), "{after}");
    assert!(after.contains("疫情情况通报"));
    // A bad date comes back on the form with the field named.
    let response = server
        .submit_form(
            &commander,
            "/command/bulletins",
            "/command/bulletins",
            &[("day", "明天")],
        )
        .await;
    let status = response.status().as_u16();
    let bad = response.text().await.unwrap();
    assert_eq!(status, 422);
    assert!(bad.contains("通报日期"), "{bad}");
}
