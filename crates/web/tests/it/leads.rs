//! Leads and 落地查人 over real HTTP (SQLite): every lead page renders for each role the
//! navigation shows it to and refuses the others; a grid worker registers a lead (a mistake comes
//! back with what was typed), lands it, and a second outcome is refused; a big-data push is
//! uploaded and its problem rows downloaded; a resident reports themself; the JSON API creates a
//! lead, records an outcome and lists overdue leads; the OpenAPI document lists the routes.

use crate::support;

use fangkong_app::leads::LeadForm;
use fangkong_domain::role::{Permission, Role};
use serde_json::{Value, json};
use support::{TestServer, csrf_of, links, start};

/// A mainland ID number of a resident of the grid worker's grid.
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

async fn lead_in_grid(server: &TestServer, index: usize) -> i64 {
    server
        .app
        .create_lead(
            &fangkong_seed::seed_actor(),
            &LeadForm {
                channel: "grid_screening".into(),
                id_number: someone_in_grid(server, index).await,
                reason: "测试".into(),
                ..LeadForm::default()
            },
        )
        .await
        .unwrap()
}

fn form_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn every_lead_page_renders_for_the_roles_the_navigation_shows_it_to() {
    let server = start().await;
    let lead = lead_in_grid(&server, 0).await;
    let detail = format!("/leads/{lead}");
    for role in Role::ALL {
        let username = format!("u_{}", role.code());
        let client = server.login_as(&username, role, "130109").await;
        let (_, home) = server.get_text(&client, "/").await;
        let views = role.allows(Permission::ViewLeads);
        assert_eq!(
            home.contains("href=\"/leads\""),
            views,
            "{role:?}: nav link to /leads"
        );
        for path in ["/leads", "/leads?overdue=1&status=pending", detail.as_str()] {
            let (status, body) = server.get_text(&client, path).await;
            if views {
                assert_eq!(status, 200, "{role:?} opens {path}");
                assert!(!body.contains("http://") && !body.contains("https://"));
            } else {
                assert_eq!(status, 403, "{role:?} is refused {path}");
                assert!(body.contains("无权"), "{role:?} {path}: Chinese refusal");
            }
        }
        let sends = role.allows(Permission::SendLeads);
        for path in [
            "/leads/new",
            "/leads/new?channel=assist_out",
            "/leads/import",
            "/leads/import/template.csv",
        ] {
            let (status, _) = server.get_text(&client, path).await;
            assert_eq!(status, if sends { 200 } else { 403 }, "{role:?} {path}");
        }
        let reports = role.allows(Permission::SelfReport);
        assert_eq!(home.contains("href=\"/me/self-report\""), reports);
        let (status, body) = server.get_text(&client, "/me/self-report").await;
        assert_eq!(status, if reports { 200 } else { 403 }, "{role:?}");
        if reports {
            assert!(body.contains("主动报告"));
        }
    }
    // The command view drills down to a grid.
    let commander = server.login("commander").await;
    let (_, view) = server.get_text(&commander, "/leads").await;
    assert!(view.contains("24小时落地率"));
    let township = format!("/leads?region={}", &server.own_grid[..9]);
    assert!(
        view.contains(&format!("href=\"{township}\"")),
        "drill-down link"
    );
    let (status, grid) = server
        .get_text(&commander, &format!("/leads?region={}", server.own_grid))
        .await;
    assert_eq!(status, 200);
    assert!(grid.contains(&format!("href=\"/leads/{lead}\"")));
    // The grid worker of another grid neither sees the lead nor its grid.
    let other = server
        .login_as("gw_other", Role::GridWorker, &server.other_grid)
        .await;
    let (status, body) = server.get_text(&other, &detail).await;
    assert_eq!(status, 404, "a foreign lead answers like a missing one");
    assert!(body.contains("没有找到该线索"));
    let (status, _) = server
        .get_text(&other, &format!("/leads?region={}", server.own_grid))
        .await;
    assert_eq!(status, 403);
    let anonymous = support::client();
    let response = anonymous.get(server.url("/leads")).send().await.unwrap();
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn a_grid_worker_registers_a_lead_lands_it_and_cannot_land_it_twice() {
    let server = start().await;
    let gw = server.login("gw").await;
    let (_, page) = server.get_text(&gw, "/leads/new").await;
    let csrf = csrf_of(&page);
    let id_number = someone_in_grid(&server, 1).await;
    let bad = format!("{}0", &id_number[..16]);
    // A mistake comes back with what was typed and a Chinese reason.
    let response = server
        .post_form(
            &gw,
            "/leads/new",
            &csrf,
            &[
                ("channel", "grid_screening"),
                ("category", "left_high_risk_area"),
                ("id_number", &bad),
                ("came_from", "上海市浦东新区"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("证件号码"), "{body}");
    assert!(body.contains("value=\"上海市浦东新区\""));
    // Without the CSRF token nothing is written.
    let response = gw
        .post(server.url("/leads/new"))
        .form(&form_of(&[
            ("channel", "grid_screening"),
            ("id_number", &id_number),
        ]))
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("表单已失效"));
    // A person of another township is refused.
    let outsider = server
        .app
        .store_for_tools()
        .residents_page(
            (&server.other_grid, &format!("{}:", server.other_grid)),
            0,
            5,
        )
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id_type == "mainland_id")
        .unwrap()
        .id_number;
    let response = server
        .post_form(
            &gw,
            "/leads/new",
            &csrf,
            &[("channel", "grid_screening"), ("id_number", &outsider)],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("不在您的管辖范围内")
    );

    let response = server
        .post_form(
            &gw,
            "/leads/new",
            &csrf,
            &[
                ("channel", "grid_screening"),
                ("category", "left_high_risk_area"),
                ("id_number", &id_number),
                ("came_from", "上海市浦东新区"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/leads/") && location.ends_with("?saved=created"));
    let lead_path = location.split('?').next().unwrap().to_string();
    let (status, detail) = server.get_text(&gw, &location).await;
    assert_eq!(status, 200);
    assert!(detail.contains("线索已登记"));
    assert!(detail.contains(&format!("{}********{}", &id_number[..6], &id_number[14..])));
    assert!(!detail.contains(&id_number), "the ID is masked");
    let csrf = csrf_of(&detail);

    // An unknown measure comes back; a controlled outcome is saved; a second one is refused.
    let outcome = format!("{lead_path}/outcome");
    let response = server
        .post_form(
            &gw,
            &outcome,
            &csrf,
            &[
                ("kind", "controlled"),
                ("measure", "quarantine"),
                ("note", "已电话联系"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(body.contains("无法识别") && body.contains("value=\"已电话联系\""));
    let response = server
        .post_form(
            &gw,
            &outcome,
            &csrf,
            &[("kind", "controlled"), ("measure", "home_isolation")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, detail) = server.get_text(&gw, &lead_path).await;
    assert!(detail.contains("已落地管控") && detail.contains("居家隔离"));
    assert!(detail.contains("落地管控"), "the step is in the history");
    assert!(
        !detail.contains("id=\"outcome-form\""),
        "no outcome form on a closed lead"
    );
    let response = server
        .post_form(
            &gw,
            &outcome,
            &csrf,
            &[("kind", "controlled"), ("measure", "centralised")],
        )
        .await;
    assert_eq!(response.status(), 409);
    assert!(response.text().await.unwrap().contains("已办结"));
    // The reveal shows the full number and is audited.
    let response = server
        .post_form(
            &gw,
            &format!("{lead_path}/reveal"),
            &csrf,
            &[("reason", "上门核实")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains(&id_number));
}

#[tokio::test]
async fn a_big_data_push_is_uploaded_and_its_problem_rows_downloaded() {
    let server = start().await;
    let gw = server.login("gw").await;
    let (_, page) = server.get_text(&gw, "/leads/import").await;
    assert!(page.contains(
        "姓名,证件类型,证件号码,联系电话,现住址,推送原因,风险类别,推送时间,来源,区划编码"
    ));
    let csrf = csrf_of(&page);
    let good = someone_in_grid(&server, 2).await;
    let csv = format!(
        "{}\n某甲,,{good},,,时空伴随,时空伴随者,2022-11-20 08:00,省大数据中心,\n某乙,,,,,健康码异常,,2022-11-20 08:00,省大数据中心,\n",
        fangkong_domain::leads::PUSH_COLUMNS.join(",")
    );
    let upload = |csrf: String, csv: String| {
        reqwest::multipart::Form::new().text("csrf", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("推送.csv"),
        )
    };
    let response = gw
        .post(server.url("/leads/import"))
        .multipart(upload(csrf.clone(), csv.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let (_, report) = server.get_text(&gw, &location).await;
    assert!(report.contains("<b id=\"push-inserted\">1</b>"), "{report}");
    assert!(report.contains("<b id=\"push-problems\">1</b>"));
    assert!(report.contains("至少填写一项"));
    let download = links(&report, "/leads/imports/").remove(0);
    let (status, problems) = server.get_text(&gw, &download).await;
    assert_eq!(status, 200);
    assert!(
        problems.contains("问题说明") && problems.contains("某乙") && problems.contains("第3行")
    );
    // Again: nothing new.
    let response = gw
        .post(server.url("/leads/import"))
        .multipart(upload(csrf, csv))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let (_, report) = server.get_text(&gw, &location).await;
    assert!(report.contains("<b id=\"push-inserted\">0</b>"));
    assert!(report.contains("<b id=\"push-unchanged\">1</b>"));
}

#[tokio::test]
async fn a_resident_reports_themself_and_the_lead_reaches_the_grid() {
    let server = start().await;
    let resident = server
        .login_as("jumin", Role::Resident, &server.own_grid)
        .await;
    let (_, page) = server.get_text(&resident, "/me/self-report").await;
    let csrf = csrf_of(&page);
    let response = server
        .post_form(
            &resident,
            "/me/self-report",
            &csrf,
            &[
                ("came_from", "上海市浦东新区"),
                ("arrived_at", "2022-11-19 18:00"),
                ("category", "left_high_risk_area"),
                ("name", "来返人员"),
                ("phone", "13512345678"),
                ("region_code", &server.own_grid),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = server.get_text(&resident, "/me/self-report?saved=1").await;
    assert!(
        page.contains("报告已提交") && page.contains("上海市浦东新区") && page.contains("待落地")
    );
    let response = server
        .post_form(
            &resident,
            "/me/self-report",
            &csrf,
            &[("arrived_at", "昨天")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let gw = server.login("gw").await;
    let (_, list) = server.get_text(&gw, "/leads?channel=self_report").await;
    assert!(list.contains("来返人员") && list.contains("135****5678"));
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
async fn the_api_creates_a_lead_records_an_outcome_and_lists_overdue_leads() {
    let server = start().await;
    let gw = token(&server, "gw").await;
    let client = support::client();
    let id_number = someone_in_grid(&server, 3).await;
    let created: Value = client
        .post(server.url("/api/leads"))
        .bearer_auth(&gw)
        .json(&json!({"channel": "grid_screening", "category": "inbound", "id_number": id_number}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let refused = client
        .post(server.url("/api/leads"))
        .bearer_auth(&gw)
        .json(&json!({"channel": "grid_screening", "name": "无名"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_input");
    assert!(body["message"].as_str().unwrap().contains("至少填写一项"));

    server.clock.advance(chrono::Duration::hours(25));
    // Sessions do not last a day: log in again.
    let gw = token(&server, "gw").await;
    let overdue: Value = client
        .get(server.url("/api/leads/overdue"))
        .bearer_auth(&gw)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overdue["total"], 1);
    assert_eq!(overdue["rows"][0]["id"], id);
    assert!(overdue["rows"][0].get("id_number").is_none(), "masked");
    let overview: Value = client
        .get(server.url("/api/leads/overview"))
        .bearer_auth(&gw)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["total"]["overdue"], 1);

    let landed = client
        .post(server.url(&format!("/api/leads/{id}/outcome")))
        .bearer_auth(&gw)
        .json(&json!({"kind": "controlled", "measure": "centralised"}))
        .send()
        .await
        .unwrap();
    assert_eq!(landed.status(), 200);
    let view: Value = landed.json().await.unwrap();
    assert_eq!(view["status"], "controlled");
    assert_eq!(view["in_time"], false);
    let again = client
        .post(server.url(&format!("/api/leads/{id}/outcome")))
        .bearer_auth(&gw)
        .json(&json!({"kind": "controlled", "measure": "centralised"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let lab = token(&server, "lab").await;
    let refused = client
        .get(server.url("/api/leads/overdue"))
        .bearer_auth(&lab)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}
