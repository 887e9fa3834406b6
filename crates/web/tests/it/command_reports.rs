//! Daily reports and incident reports over real HTTP (SQLite): the pages render for the roles the
//! navigation shows them to and refuse the others; a township's duty officer files a zero report
//! from the prefilled form (a second one is refused with the words to correct instead), the county
//! sees it on its board and exports the sheet, which opens as XLSX; an incident is first reported
//! through the page (a mistake comes back with its field named) and received by the county through
//! the API.

use crate::support;

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use fangkong_domain::role::{Permission, Role};
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

const DAY: &str = "2022-11-20";

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
async fn report_pages_render_for_the_roles_the_navigation_shows_them_to() {
    let server = start().await;
    for role in Role::ALL {
        let username = format!("u_{}", role.code());
        let client = server.login_as(&username, role, "130109").await;
        let (_, home) = server.get_text(&client, "/").await;
        let views = role.allows(Permission::ViewCommand);
        assert_eq!(
            home.contains("href=\"/command/reports\""),
            views,
            "{role:?}: nav link"
        );
        for path in ["/command/reports", "/command/incidents"] {
            let (status, body) = server.get_text(&client, path).await;
            if views {
                assert_eq!(status, 200, "{role:?} opens {path}: {body}");
                assert!(!body.contains("http://") && !body.contains("https://"));
            } else {
                assert_eq!(status, 403, "{role:?} is refused {path}");
                assert!(body.contains("无权"), "{role:?} {path}");
            }
        }
    }
}

#[tokio::test]
async fn a_zero_report_is_filed_once_seen_by_the_county_and_exported_as_xlsx() {
    let server = start().await;
    // The next morning, before the townships' 08:30.
    server.clock.advance(chrono::Duration::hours(22));
    let township = server.own_grid[..9].to_string();
    let duty = server
        .login_as("duty_t", Role::DutyOfficer, &township)
        .await;
    let county = server.login_as("duty_c", Role::DutyOfficer, "130109").await;

    let page = format!("/command/reports/file?day={DAY}");
    let (status, html) = server.get_text(&duty, &page).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("name=\"new_confirmed\""));
    let mut fields = vec![
        ("region_code", township.as_str()),
        ("day", DAY),
        ("kind", "zero"),
        ("note", "无新增"),
    ];
    let codes: Vec<&str> = fangkong_domain::command::reports::Figure::ALL
        .iter()
        .map(|f| f.code())
        .collect();
    for code in &codes {
        fields.push((code, "0"));
    }
    let response = server
        .post_form(&duty, "/command/reports/file", &csrf_of(&html), &fields)
        .await;
    assert_eq!(response.status(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/command/reports/one?"), "{to}");
    let (_, one) = server.get_text(&duty, &to).await;
    assert!(one.contains("零报告"), "{one}");

    // Again: refused in words, the form shown with the message.
    let again = server
        .post_form(&duty, "/command/reports/file", &csrf_of(&html), &fields)
        .await;
    assert_eq!(again.status(), 409);
    let body = again.text().await.unwrap();
    assert!(body.contains("已报送") && body.contains("更正"), "{body}");
    // A bad figure names the field.
    let mut bad = fields.clone();
    bad.retain(|(k, _)| *k != "day");
    bad.push(("day", "2022-11-19"));
    bad.retain(|(k, _)| *k != "at_home");
    bad.push(("at_home", "-3"));
    let refused = server
        .post_form(&duty, "/command/reports/file", &csrf_of(&html), &bad)
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("居家管控人数"));

    // The county's board: the township reported a zero report; its print-friendly page.
    let (status, board) = server
        .get_text(&county, &format!("/command/reports?day={DAY}"))
        .await;
    assert_eq!(status, 200);
    assert!(board.contains(&format!("data-office=\"{township}\"")));
    assert!(board.contains("零报告"));
    assert!(board.contains("export.xlsx"));

    // The sheet opens: one row per township, the zero report's status.
    let response = county
        .get(server.url(&format!(
            "/command/reports/export.xlsx?office=130109&day={DAY}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an XLSX file");
    let sheet = book.worksheet_range("日报告").expect("sheet 日报告");
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    assert_eq!(&rows[0][..4], ["单位", "报告日期", "报送时间", "状态"]);
    assert_eq!(rows[0][4], "新增确诊病例");
    let zero_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[3] == "零报告").collect();
    assert_eq!(zero_rows.len(), 1);
    assert_eq!(zero_rows[0][1], DAY);
    assert_eq!(zero_rows[0][4], "0");
    // Every other township is on the sheet too (待报 before 08:30), and the county's own row.
    assert!(rows.len() > 3);

    // The API: the same board, as JSON.
    let county_token = token(&server, "duty_c").await;
    let api: Value = support::client()
        .get(server.url(&format!("/api/command/reports?day={DAY}")))
        .bearer_auth(&county_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["counts"]["zero"], 1);
    assert_eq!(api["counts"]["on_time"], 1);
}

#[tokio::test]
async fn an_incident_is_first_reported_on_the_page_and_received_by_the_county_through_the_api() {
    let server = start().await;
    let township = server.own_grid[..9].to_string();
    let duty = server
        .login_as("duty_t", Role::DutyOfficer, &township)
        .await;
    server.add_user("duty_c", Role::DutyOfficer, "130109").await;
    let (status, html) = server.get_text(&duty, "/command/incidents").await;
    assert_eq!(status, 200);
    let mut fields = vec![
        ("kind", "isolation_breach"),
        ("occurred_at", "2022-11-20T06:30"),
        ("place", ""),
        ("summary", "一名隔离人员翻墙离开"),
    ];
    let refused = server
        .post_form(&duty, "/command/incidents", &csrf_of(&html), &fields)
        .await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("发生地点") && body.contains("翻墙离开"),
        "{body}"
    );
    fields[2] = ("place", "某隔离酒店");
    let filed = server
        .post_form(&duty, "/command/incidents", &csrf_of(&html), &fields)
        .await;
    assert_eq!(filed.status(), 303);
    let to = filed.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = to
        .trim_start_matches("/command/incidents/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // 06:30 → filed at 10:00: past the 2 hours.
    let (_, page) = server.get_text(&duty, &to).await;
    assert!(page.contains("首报超时"), "{page}");

    let county = token(&server, "duty_c").await;
    let client = support::client();
    let list: Value = client
        .get(server.url("/api/command/incidents"))
        .bearer_auth(&county)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["overdue"], true);
    let detail: Value = client
        .post(server.url(&format!("/api/command/incidents/{id}/acknowledge")))
        .bearer_auth(&county)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["receipts"][0]["office_code"], "130109");
    assert!(detail["receipts"][0]["acknowledged_at"].is_i64());
    assert!(detail["receipts"][1]["acknowledged_at"].is_null());
    // The township follows up through the API; the county cannot.
    let response = client
        .post(server.url(&format!("/api/command/incidents/{id}/follow-up")))
        .bearer_auth(&county)
        .json(&json!({"text": "县里补充"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
}
