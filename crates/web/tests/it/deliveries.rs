//! Deliveries (物资配送) over real HTTP (SQLite): a grid worker asks for a resident on the phone
//! page, sets a collection point, allocates and takes the request out; a resident outside the
//! worker's grid is refused, a step without a courier is refused in words; a resident whose
//! account is not linked is told what to do; the supply office reads the board through the API
//! and records the delivery; the page masks the household's personal data.

use crate::support;

use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

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

async fn someone_in(server: &TestServer, grid: &str) -> (String, String) {
    let r = server
        .app
        .store_for_tools()
        .residents_page((grid, &format!("{grid}:")), 0, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id_type == "mainland_id")
        .unwrap();
    (r.id_number.to_string(), r.name.to_string())
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_grid_worker_asks_allocates_and_delivers_and_the_supply_office_follows_through_the_api() {
    let server = start().await;
    let grid = server.own_grid.clone();
    let worker = server.login_as("gw-deliv", Role::GridWorker, &grid).await;
    let (status, page) = server.get_text(&worker, "/supplies/deliveries").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("代居民提交需求"), "{page}");
    assert!(page.contains("设置收货点"));
    let csrf = csrf_of(&page);

    // Someone of another grid: not found, like a missing person.
    let (outside, _) = someone_in(&server, &server.other_grid.clone()).await;
    let refused = server
        .post_form(
            &worker,
            "/supplies/deliveries",
            &csrf,
            &[
                ("id_number", &outside),
                ("category", "medicine"),
                ("urgency", "urgent"),
                ("items", "降压药"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 404);

    let (id_number, name) = someone_in(&server, &grid).await;
    let asked = server
        .post_form(
            &worker,
            "/supplies/deliveries",
            &csrf,
            &[
                ("id_number", &id_number),
                ("category", "medicine"),
                ("urgency", "urgent"),
                ("items", "降压药一盒"),
            ],
        )
        .await;
    assert_eq!(asked.status(), 303);
    assert_eq!(location(&asked), "/supplies/deliveries?saved=requested");
    let (_, page) = server
        .get_text(&worker, "/supplies/deliveries?saved=requested")
        .await;
    assert!(page.contains("降压药一盒"));
    assert!(
        page.contains("不在封控隔离范围"),
        "flagged: not sealed nor isolated"
    );
    assert!(!page.contains(&name), "the name is masked");
    assert!(!page.contains(&id_number));

    let point = server
        .post_form(
            &worker,
            "/supplies/deliveries/points",
            &csrf,
            &[
                ("name", "网格东门收货点"),
                ("region_code", &grid),
                ("address", "东门"),
                ("first_start", "08:00"),
                ("slot_minutes", "30"),
                ("slots_per_day", "20"),
                ("capacity", "10"),
            ],
        )
        .await;
    assert_eq!(point.status(), 303);
    let allocated = server
        .post_form(&worker, "/supplies/deliveries/allocate", &csrf, &[])
        .await;
    assert_eq!(allocated.status(), 303);
    assert!(
        location(&allocated).contains("allocated=1"),
        "{}",
        location(&allocated)
    );
    let (_, page) = server.get_text(&worker, "/supplies/deliveries").await;
    assert!(page.contains("已排时段"));
    let id: i64 = page
        .split("id=\"delivery-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("the request's row");

    // Out without a courier: refused in words; with one: out for delivery.
    let step = format!("/supplies/deliveries/{id}/step");
    let bad = server
        .post_form(&worker, &step, &csrf, &[("status", "out"), ("courier", "")])
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("配送人"));
    let out = server
        .post_form(
            &worker,
            &step,
            &csrf,
            &[("status", "out"), ("courier", "志愿者李强")],
        )
        .await;
    assert_eq!(out.status(), 303);

    // The supply office of the township reads the board and records the delivery by the API.
    server
        .add_user("supply-deliv", Role::Supply, &grid[..9])
        .await;
    let bearer = token(&server, "supply-deliv").await;
    let board: Value = support::client()
        .get(server.url("/api/supplies/deliveries?status=out"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(board["requests"]["total"], 1, "{board}");
    assert_eq!(board["requests"]["rows"][0]["courier"], "志愿者李强");
    let done = support::client()
        .post(server.url(&format!("/api/supplies/deliveries/{id}/step")))
        .bearer_auth(&bearer)
        .json(&json!({"status": "delivered"}))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let again = support::client()
        .post(server.url(&format!("/api/supplies/deliveries/{id}/step")))
        .bearer_auth(&bearer)
        .json(&json!({"status": "failed", "note": "无人"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "a delivered request cannot fail");
    let (_, page) = server.get_text(&worker, "/supplies/deliveries").await;
    assert!(page.contains("已送达"));

    // A resident whose account is not linked to the register is told what to do.
    let resident = server.login_as("res-deliv", Role::Resident, &grid).await;
    let (status, page) = server.get_text(&resident, "/supplies/deliveries").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"not-linked\""), "{page}");
    let mine = support::client()
        .get(server.url("/api/supplies/deliveries/mine"))
        .bearer_auth(token(&server, "res-deliv").await)
        .send()
        .await
        .unwrap();
    assert_eq!(mine.status(), 422);
}
