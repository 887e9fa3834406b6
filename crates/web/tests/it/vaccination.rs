//! Vaccination (疫苗接种) over real HTTP (SQLite): the vaccination point types a dose (a retry
//! writes nothing, a dose before its interval is refused with the reason), imports a sheet (problem
//! rows by row, an oversized file refused in words), the grid worker's phone list of the elderly
//! not yet vaccinated, and the coverage through the API.

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

/// A resident of the grid worker's grid aged 18–59 (the doses' story needs no elderly person).
async fn adult_in_grid(server: &TestServer) -> String {
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 200)
        .await
        .unwrap()
        .into_iter()
        .find(|r| {
            r.id_type == "mainland_id"
                && r.birth_date.as_str() < "2004-01-01"
                && r.birth_date.as_str() > "1963-01-01"
        })
        .unwrap()
        .id_number
        .into()
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_vaccination_point_records_and_imports_doses_and_the_grid_worker_sees_the_elderly() {
    let server = start().await;
    let township = &server.own_grid[..9];
    let vx = server.login_as("vx", Role::Vaccinator, township).await;
    let (status, page) = server.get_text(&vx, "/supplies/vaccination").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/supplies/vaccination\""), "nav link");
    assert!(page.contains("分年龄段接种率") && page.contains("80岁及以上"));
    assert!(page.contains("id=\"dose-form\""));
    let csrf = csrf_of(&page);
    let person = adult_in_grid(&server).await;

    // A first dose, then its retry: recorded once.
    let fields = |kind: &'static str, on: &'static str| {
        vec![
            ("id_number", person.clone()),
            ("product", "bbibp".to_string()),
            ("dose_kind", kind.to_string()),
            ("given_on", on.to_string()),
            ("site", "增村镇卫生院".to_string()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let refs: Vec<(&str, String)> = f;
        let server = &server;
        let vx = &vx;
        let csrf = csrf.clone();
        async move {
            let pairs: Vec<(&str, &str)> = refs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server
                .post_form(vx, "/supplies/vaccination/doses", &csrf, &pairs)
                .await
        }
    };
    let first = post(fields("first", "2022-06-01")).await;
    assert_eq!(first.status(), 303);
    assert!(location(&first).ends_with("saved=recorded"));
    let again = post(fields("first", "2022-06-01")).await;
    assert!(location(&again).ends_with("saved=already_recorded"));
    // Too early: refused with the reason, the form shown again as typed.
    let early = post(fields("second", "2022-06-10")).await;
    assert_eq!(early.status(), 422);
    let body = early.text().await.unwrap();
    assert!(body.contains("最早 2022-06-22"), "{body}");
    assert!(body.contains("value=\"2022-06-10\""), "{body}");

    // A sheet: the second dose in time lands; an unknown product is named by its row.
    let csv = format!(
        "{}\n张三,,{person},北京生物,第二剂,2022-06-22,增村镇卫生院\n李四,,{person},辉瑞,加强针,2022-11-01,增村镇卫生院\n",
        fangkong_app::supplies::vaccination_upload::DOSE_COLUMNS.join(",")
    );
    let form = |csrf: String, bytes: Vec<u8>| {
        reqwest::multipart::Form::new().text("csrf", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("接种记录.csv"),
        )
    };
    let uploaded = vx
        .post(server.url("/supplies/vaccination/upload"))
        .multipart(form(csrf.clone(), csv.into_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    let body = uploaded.text().await.unwrap();
    assert!(body.contains("共 2 行，新登记 1 剂"), "{body}");
    assert!(body.contains("<td>3</td><td>疫苗</td>"), "{body}");
    let huge = vec![b'x'; 9 * 1024 * 1024];
    let refused = vx
        .post(server.url("/supplies/vaccination/upload"))
        .multipart(form(csrf.clone(), huge))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    assert!(refused.text().await.unwrap().contains("最大 8 MB"));
    let (status, template) = server
        .get_text(&vx, "/supplies/vaccination/template.csv")
        .await;
    assert_eq!(status, 200);
    assert!(template.contains("证件号码,疫苗,剂次,接种日期"));

    // The grid worker: the elderly list on the phone (masked IDs), no desk to record doses.
    let gw = server.login("gw").await;
    let (status, list) = server.get_text(&gw, "/supplies/vaccination/elderly").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("老年人接种推进") && list.contains("id=\"elderly-total\""));
    assert!(
        list.contains("岁（60—79岁）") || list.contains("岁（80岁及以上）"),
        "{list}"
    );
    assert!(!list.contains("<table"), "a phone list, not a wide table");
    let (status, page) = server.get_text(&gw, "/supplies/vaccination").await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"dose-form\""));
    let refused = server
        .post_form(
            &gw,
            "/supplies/vaccination/doses",
            &csrf_of(&page),
            &[
                ("id_number", &person),
                ("product", "bbibp"),
                ("dose_kind", "booster"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403);

    // The API: the county's coverage by band, and the dose through JSON (a retry says so).
    server.add_user("cmd", Role::Commander, "130109").await;
    let bearer = token(&server, "cmd").await;
    let cover: Value = support::client()
        .get(server.url(&format!(
            "/api/supplies/vaccination/coverage?region={township}"
        )))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cover["bands"].as_array().unwrap().len(), 5, "{cover}");
    assert_eq!(cover["all"]["full_course"], 1, "{cover}");
    let bearer = token(&server, "vx").await;
    let answer: Value = support::client()
        .post(server.url("/api/supplies/vaccination/doses"))
        .bearer_auth(&bearer)
        .json(&json!({"id_number": person, "product": "bbibp", "dose_kind": "second", "given_on": "2022-06-22"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "already_recorded", "{answer}");
}
