//! Pharmacies (零售药店) over real HTTP (SQLite): a pharmacy registers itself and reports sales on its
//! phone page, by upload and through the API, with bad input — an invalid ID (accepted and
//! flagged), a duplicate sale (idempotent), oversized upload and body (refused cleanly), a pharmacy
//! or region outside the jurisdiction (refused) — and the commander sees the counts, masked.

use crate::support;

use fangkong_app::warning::pharmacies::PharmacyForm;
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

async fn someone_in_grid(server: &TestServer, index: usize) -> String {
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .nth(index)
        .unwrap()
        .id_number
        .into()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_pharmacy_reports_sales_by_page_upload_and_api_and_bad_input_is_refused_or_flagged() {
    let server = start().await;
    let township = &server.own_grid[..9];
    let ph = server.login_as("ph", Role::Pharmacy, township).await;
    let (status, page) = server.get_text(&ph, "/warning/pharmacies").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/warning/pharmacies\""), "nav link");
    assert!(page.contains("登记药店"));
    let csrf = csrf_of(&page);

    // Registering: a region outside the user's township is refused; their own is registered.
    let outside = server
        .post_form(
            &ph,
            "/warning/pharmacies",
            &csrf,
            &[
                ("name", "外镇药店"),
                ("region_code", &server.other_township),
                ("licence_no", "冀DA0000001"),
            ],
        )
        .await;
    assert_eq!(outside.status(), 403);
    assert!(outside.text().await.unwrap().contains("管辖范围"));
    let registered = server
        .post_form(
            &ph,
            "/warning/pharmacies",
            &csrf,
            &[
                ("name", "增村仁和大药房"),
                ("region_code", township),
                ("licence_no", "冀DA1100001"),
            ],
        )
        .await;
    assert_eq!(registered.status(), 303);
    let to = location(&registered);
    assert!(to.contains("saved=registered"), "{to}");
    let id: String = to
        .split("pharmacy=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    // A pharmacy of another township, registered by its own user.
    let other = server
        .app
        .register_pharmacy(
            &fangkong_app::Actor::seeding(
                Role::Pharmacy,
                fangkong_domain::region::RegionCode::parse(&server.other_township).unwrap(),
                "other_ph",
                "外镇药店",
            ),
            &PharmacyForm {
                name: "外镇药店".into(),
                region_code: server.other_township.clone(),
                licence_no: "冀DA9900001".into(),
            },
        )
        .await
        .unwrap();

    // One sale on the phone page; the retry writes nothing; an invalid ID is kept and flagged.
    let buyer = someone_in_grid(&server, 0).await;
    let sale = |key: &'static str, id_number: String, pharmacy: String| {
        vec![
            ("pharmacy_id".to_string(), pharmacy),
            ("sale_key".to_string(), key.to_string()),
            ("drug".to_string(), "TR003".to_string()),
            ("buyer_name".to_string(), "张三".to_string()),
            ("id_number".to_string(), id_number),
            ("phone".to_string(), "13912345678".to_string()),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        let csrf = csrf.clone();
        let server = &server;
        let ph = &ph;
        async move {
            let refs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            server
                .post_form(ph, "/warning/pharmacies/sales", &csrf, &refs)
                .await
        }
    };
    let first = post(sale("R1", buyer.clone(), id.clone())).await;
    assert_eq!(first.status(), 303);
    assert!(location(&first).contains("saved=recorded"));
    let again = post(sale("R1", buyer.clone(), id.clone())).await;
    assert!(location(&again).contains("saved=already_recorded"));
    let flagged = post(sale("R2", "13010919900101123".into(), id.clone())).await;
    assert!(location(&flagged).contains("saved=flagged"));
    // A pharmacy outside the jurisdiction: not found, nothing written.
    let foreign = post(sale("R3", buyer.clone(), other.to_string())).await;
    assert_eq!(foreign.status(), 404);
    // A mistake comes back with the field named and what was typed.
    let mut bad = sale("R4", buyer.clone(), id.clone());
    bad[2].1 = "维生素C".into();
    let mistake = post(bad).await;
    assert_eq!(mistake.status(), 422);
    let body = mistake.text().await.unwrap();
    assert!(
        body.contains("药品：") && body.contains("value=\"R4\""),
        "{body}"
    );

    // An upload: the good row lands, the bad one is named by row, the duplicate writes nothing.
    let second = someone_in_grid(&server, 1).await;
    let csv = format!(
        "{}\nU1,,奥司他韦胶囊,1,李四,,{second},\nU2,,不在目录的药,1,王五,,{second},\nR1,,TR003,1,张三,,{buyer},\n",
        fangkong_app::warning::pharmacies_upload::SALE_COLUMNS.join(",")
    );
    let form = |csrf: String, bytes: Vec<u8>| {
        reqwest::multipart::Form::new().text("csrf", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("销售.csv"),
        )
    };
    let uploaded = ph
        .post(server.url(&format!("/warning/pharmacies/upload?pharmacy={id}")))
        .multipart(form(csrf.clone(), csv.into_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    let body = uploaded.text().await.unwrap();
    assert!(
        body.contains("共 3 行，新登记 1 条，已登记过 1 条"),
        "{body}"
    );
    assert!(body.contains("<td>3</td><td>药品</td>"), "{body}");
    // Too large: refused before it is read, in words.
    let huge = vec![b'x'; 17 * 1024 * 1024];
    let refused = ph
        .post(server.url(&format!("/warning/pharmacies/upload?pharmacy={id}")))
        .multipart(form(csrf.clone(), huge))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    assert!(refused.text().await.unwrap().contains("最大 16 MB"));

    // The API: a pharmacy system sends an array; a foreign licence is a problem, the rest lands.
    let bearer = token(&server, "ph").await;
    let third = someone_in_grid(&server, 2).await;
    let body = json!({"sales": [
        {"licence_no": "冀DA1100001", "sale_key": "A1", "drug": "KJ001", "buyer_name": "赵六", "id_number": third},
        {"licence_no": "冀DA9900001", "sale_key": "A2", "drug": "KJ001", "buyer_name": "赵六", "id_number": third},
    ]});
    let answer: Value = support::client()
        .post(server.url("/api/warning/pharmacies/sales"))
        .bearer_auth(&bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["report"]["recorded"], 1, "{answer}");
    assert_eq!(answer["report"]["problems"][0]["row_number"], 2);
    assert_eq!(answer["outcomes"][0]["status"], "recorded");
    let retry: Value = support::client()
        .post(server.url("/api/warning/pharmacies/sales"))
        .bearer_auth(&bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retry["report"]["recorded"], 0);
    assert_eq!(retry["outcomes"][0]["status"], "already_recorded");
    let oversized = support::client()
        .post(server.url("/api/warning/pharmacies/sales"))
        .bearer_auth(&bearer)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"sales\": [\"{}\"]}}",
            "x".repeat(5 * 1024 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    // The county's commander: the counts, and the buyers masked.
    let commander = server.login_as("cmd", Role::Commander, "130109").await;
    let (status, page) = server.get_text(&commander, "/warning/pharmacies").await;
    assert_eq!(status, 200);
    assert!(page.contains("增村仁和大药房") && page.contains("外镇药店"));
    assert!(page.contains("<b>4</b><span>今日购药登记</span>"), "{page}");
    assert!(page.contains("<b>1</b><span>今日证件无效</span>"));
    assert!(!page.contains(&buyer) && !page.contains("13912345678"));
    let overview: Value = support::client()
        .get(server.url("/api/warning/pharmacies/overview"))
        .bearer_auth(token(&server, "cmd").await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["figures"]["awaiting_test"], 3, "{overview}");
    // A grid worker has no business here.
    let (status, _) = server
        .get_text(&server.login("gw").await, "/warning/pharmacies")
        .await;
    assert_eq!(status, 403);
}
