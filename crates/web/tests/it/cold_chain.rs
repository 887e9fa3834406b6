//! Cold-chain goods (冷链食品) over real HTTP (SQLite): an office registers a batch, its way to a
//! market and a positive packaging test (the market alerted once, a retry says so), the trace page,
//! the API list, and a batch of another township not found.

use crate::support;

use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{csrf_of, start};

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_office_traces_a_batch_to_a_market_and_a_positive_alerts_it_once() {
    let server = start().await;
    let township = server.own_grid[..9].to_string();
    let cc = server.login_as("cc", Role::Epidemiologist, &township).await;
    let (status, page) = server.get_text(&cc, "/supplies/cold-chain").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/supplies/cold-chain\""), "nav link");
    assert!(page.contains("登记进口冷链批次"));
    let csrf = csrf_of(&page);
    let made = server
        .post_form(
            &cc,
            "/supplies/cold-chain",
            &csrf,
            &[
                ("batch_no", "TJ-2021-001"),
                ("goods", "冷冻带鱼"),
                ("origin_country", "印度尼西亚"),
                ("port", "天津港"),
                ("quantity", "18000"),
                ("certificate_no", "津消2021-001"),
                ("region_code", &township),
            ],
        )
        .await;
    assert_eq!(made.status(), 303);
    let trace_path = location(&made);
    let batch = trace_path
        .split("batch=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    // A second batch with the same number: refused in words.
    let again = server
        .post_form(
            &cc,
            "/supplies/cold-chain",
            &csrf,
            &[
                ("batch_no", "TJ-2021-001"),
                ("goods", "冷冻带鱼"),
                ("origin_country", "印度尼西亚"),
                ("port", "天津港"),
                ("quantity", "18000"),
                ("certificate_no", "津消2021-001"),
            ],
        )
        .await;
    assert_eq!(again.status(), 409);
    let moved = server
        .post_form(
            &cc,
            "/supplies/cold-chain/movements",
            &csrf,
            &[
                ("batch_id", &batch),
                ("node", "market"),
                ("place", "增村农贸市场"),
                ("region_code", &server.own_grid),
                ("quantity", "500"),
                ("handlers", "摊主刘某"),
            ],
        )
        .await;
    assert!(location(&moved).ends_with("saved=movement"), "{moved:?}");
    let fields = [
        ("batch_id", batch.as_str()),
        ("sample_no", "P1"),
        ("kind", "packaging"),
        ("result", "positive"),
    ];
    let positive = server
        .post_form(&cc, "/supplies/cold-chain/tests", &csrf, &fields)
        .await;
    assert!(location(&positive).ends_with("saved=alerted"));
    let retry = server
        .post_form(&cc, "/supplies/cold-chain/tests", &csrf, &fields)
        .await;
    assert!(location(&retry).ends_with("saved=already_recorded"));
    let (status, trace) = server
        .get_text(&cc, &format!("/supplies/cold-chain?batch={batch}"))
        .await;
    assert_eq!(status, 200);
    assert!(trace.contains("印度尼西亚 → 天津港"), "{trace}");
    assert!(trace.contains("市场：增村农贸市场"));
    assert!(trace.contains("已触发 1 条"), "{trace}");

    // The API list; a grid worker has no business here; another township does not find it.
    let session: Value = support::client()
        .post(server.url("/api/session"))
        .json(&json!({"username": "cc", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list: Value = support::client()
        .get(server.url("/api/supplies/cold-chain/batches"))
        .bearer_auth(session["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["batch_no"], "TJ-2021-001", "{list}");
    let (status, _) = server
        .get_text(&server.login("gw").await, "/supplies/cold-chain")
        .await;
    assert_eq!(status, 403);
    let other = server
        .login_as("cc_other", Role::Epidemiologist, &server.other_township)
        .await;
    let (status, _) = server
        .get_text(&other, &format!("/supplies/cold-chain?batch={batch}"))
        .await;
    assert_eq!(status, 404);
}
