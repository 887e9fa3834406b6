//! Reserves (物资储备) over real HTTP (SQLite): the supply office registers a warehouse, stocks it,
//! is refused a movement below zero with the reason, sees the days of cover worst first on its
//! phone-width page and through the API, exports the lists, asks another township for support
//! which that township approves and dispatches and the asker signs for; the picture shows the
//! card; a grid worker has no reserves page.

use crate::support;

use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{csrf_of, start};

async fn token(server: &support::TestServer, username: &str) -> String {
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

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_supply_office_keeps_the_ledger_sees_days_of_cover_and_support_goes_between_townships()
{
    let server = start().await;
    let township = server.own_grid[..9].to_string();
    let other = server.other_township.clone();
    let supply = server.login_as("supply_in", Role::Supply, &township).await;
    let giver = server.login_as("supply_out", Role::Supply, &other).await;

    let (status, page) = server.get_text(&supply, "/supplies/reserves").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/supplies/reserves\""), "nav link");
    assert!(page.contains("登记仓库") && page.contains("尚未登记物资储备"));
    let csrf = csrf_of(&page);

    // A warehouse outside the township is refused; its own is registered.
    let outside = server
        .post_form(
            &supply,
            "/supplies/reserves/warehouses",
            &csrf,
            &[
                ("name", "外镇仓库"),
                ("region_code", &other),
                ("owner_kind", "command_office"),
                ("owner_name", "外镇"),
            ],
        )
        .await;
    assert_eq!(outside.status(), 403);
    let made = server
        .post_form(
            &supply,
            "/supplies/reserves/warehouses",
            &csrf,
            &[
                ("name", "增村镇物资库"),
                ("region_code", &township),
                ("owner_kind", "command_office"),
                ("owner_name", "增村镇物资保障组"),
            ],
        )
        .await;
    assert_eq!(made.status(), 303);
    assert_eq!(location(&made), "/supplies/reserves?saved=warehouse");
    let warehouses: Vec<Value> = supply
        .get(server.url("/api/supplies/reserves/warehouses"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let depot = warehouses[0]["id"].as_i64().unwrap().to_string();

    // Stock in, then a consumption beyond it: refused with the reason, the form comes back.
    let stocked = server
        .post_form(
            &supply,
            "/supplies/reserves/movements",
            &csrf,
            &[
                ("warehouse_id", &depot),
                ("kind", "in"),
                ("item", "swab"),
                ("quantity", "300"),
            ],
        )
        .await;
    assert_eq!(stocked.status(), 303);
    let refused = server
        .post_form(
            &supply,
            "/supplies/reserves/movements",
            &csrf,
            &[
                ("warehouse_id", &depot),
                ("kind", "consumption"),
                ("item", "swab"),
                ("quantity", "301"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("库存不足") && body.contains("现有300支"),
        "{body}"
    );
    // A daily rate puts swabs under the 30-day rule: 300 at 30 a day is 10 days.
    let rate = server
        .post_form(
            &supply,
            "/supplies/reserves/rates",
            &csrf,
            &[
                ("region_code", &township),
                ("item", "swab"),
                ("daily", "30"),
            ],
        )
        .await;
    assert_eq!(rate.status(), 303);
    let (_, page) = server.get_text(&supply, "/supplies/reserves").await;
    assert!(
        page.contains("10.0天") && page.contains("采样拭子"),
        "{page}"
    );
    assert!(
        page.contains("id=\"under-30\"><b>1</b>"),
        "one item under 30 days"
    );
    let cover: Value = supply
        .get(server.url("/api/supplies/reserves/cover"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cover["items"][0]["item_code"], "swab");
    assert_eq!(cover["items"][0]["shortfall"], 600);
    let csv = supply
        .get(server.url("/supplies/reserves/export.csv?which=demand"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("采样拭子"));

    // Support: the township asks the other one through the API; only the giver approves.
    let supply_token = token(&server, "supply_in").await;
    let giver_token = token(&server, "supply_out").await;
    let asked: Value = support::client()
        .post(server.url("/api/supplies/reserves/requests"))
        .bearer_auth(&supply_token)
        .json(
            &json!({"to_warehouse_id": depot, "giver_region": other, "item": "swab",
                      "quantity": "600", "reason": "全员核酸缺口"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = asked["id"].as_i64().unwrap();
    let own_approval = server
        .post_form(
            &supply,
            &format!("/supplies/reserves/requests/{id}/approve"),
            &csrf,
            &[],
        )
        .await;
    assert_eq!(own_approval.status(), 404, "the asker cannot approve");
    let (_, giver_page) = server.get_text(&giver, "/supplies/reserves").await;
    assert!(giver_page.contains(&format!("/supplies/reserves/requests/{id}/approve")));
    let giver_csrf = csrf_of(&giver_page);
    let giver_depot: Value = support::client()
        .post(server.url("/api/supplies/reserves/warehouses"))
        .bearer_auth(&giver_token)
        .json(&json!({"name": "廉州镇物资库", "region_code": other,
                      "owner_kind": "hospital", "owner_name": "廉州镇卫生院"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let giver_depot = giver_depot["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{giver_depot}"))
        .to_string();
    let moved: Value = support::client()
        .post(server.url("/api/supplies/reserves/movements"))
        .bearer_auth(&giver_token)
        .json(
            &json!({"warehouse_id": giver_depot, "kind": "in", "item": "swab", "quantity": "1000"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["ids"].as_array().unwrap().len(), 1);
    for (path, fields) in [
        ("approve", vec![("answer", "同意")]),
        (
            "dispatch",
            vec![("from_warehouse_id", giver_depot.as_str())],
        ),
    ] {
        let answer = server
            .post_form(
                &giver,
                &format!("/supplies/reserves/requests/{id}/{path}"),
                &giver_csrf,
                &fields,
            )
            .await;
        assert_eq!(answer.status(), 303, "{path}");
    }
    let received = server
        .post_form(
            &supply,
            &format!("/supplies/reserves/requests/{id}/receive"),
            &csrf,
            &[],
        )
        .await;
    assert_eq!(received.status(), 303);
    let ledger: Value = supply
        .get(server.url("/api/supplies/reserves/ledger?item=swab"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["total"], 2);
    assert_eq!(ledger["rows"][0]["delta"], 600);
    let (_, page) = server.get_text(&supply, "/supplies/reserves").await;
    assert!(
        page.contains("已签收入库") && page.contains("30.0天"),
        "{page}"
    );

    // The command picture's card; a grid worker has no reserves page.
    let commander = server.login_as("cmd_in", Role::Commander, &township).await;
    let (status, picture) = server.get_text(&commander, "/command").await;
    assert_eq!(status, 200);
    assert!(
        picture.contains("id=\"supplies-slot\"") && picture.contains("物资最短可保障"),
        "{picture}"
    );
    let worker = server.login_as("gw_in", Role::GridWorker, &township).await;
    let (status, _) = server.get_text(&worker, "/supplies/reserves").await;
    assert_eq!(status, 403);
}
