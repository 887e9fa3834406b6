//! Investigation (流调溯源) over real HTTP (SQLite): an epidemiologist opens a case through the form
//! (a mistake comes back with the message and what was typed; a double submit opens one case),
//! records contacts that the rule classifies (and refuses an exposure after the case's isolation),
//! the chain picture and the bulletin render without personal data, the JSON API opens a case and
//! classifies a contact, and roles without the permission are refused.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support;

use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

/// An epidemiologist of the county, logged in through the form.
async fn epidemiologist(server: &TestServer) -> reqwest::Client {
    server.login_as("epi", Role::Epidemiologist, "130109").await
}

/// Residents of the grid worker's grid with a mainland ID: (name, ID number).
async fn people(server: &TestServer, count: i64) -> Vec<(String, String)> {
    people_in(server, &server.own_grid, count).await
}

/// Residents under a region code with a mainland ID: (name, ID number).
async fn people_in(server: &TestServer, region: &str, count: i64) -> Vec<(String, String)> {
    let (lower, upper) = (region.to_string(), format!("{region}:"));
    server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, count)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .map(|r| (r.name.into(), r.id_number.into()))
        .collect()
}

/// The same ID number with a wrong check digit.
fn wrong_check_digit(id_number: &str) -> String {
    let (first17, last) = id_number.split_at(17);
    let wrong = if last == "0" { "1" } else { "0" };
    format!("{first17}{wrong}")
}

fn case_fields(csrf: &str, key: &str, id_number: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_string()),
        ("case_key", key.to_string()),
        ("kind", "confirmed".into()),
        ("id_type", "mainland_id".into()),
        ("id_number", id_number.to_string()),
        ("onset_date", "2022-11-18".into()),
        ("found_by", "fever_clinic".into()),
        ("found_at", "2022-11-20T08:30".into()),
        ("hospital", "石家庄市第五医院".into()),
    ]
}

/// The value of a hidden field of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("page has the field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Opens a case through the form; returns its id.
async fn open_case(server: &TestServer, client: &reqwest::Client, id_number: &str) -> i64 {
    let (status, form) = server.get_text(client, "/cases/new").await;
    assert_eq!(status, 200, "{form}");
    let fields = case_fields(&csrf_of(&form), &hidden(&form, "case_key"), id_number);
    let opened = client
        .post(server.url("/cases/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303, "{}", opened.text().await.unwrap());
    case_id_of(&opened)
}

fn case_id_of(response: &reqwest::Response) -> i64 {
    response.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/cases/")
        .split(['?', '#'])
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Posts a form ([`TestServer::post_form`]); the status, where it redirects and the body.
async fn post_to(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let response = server.post_form(client, path, csrf, fields).await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

async fn case_number(server: &TestServer, case_id: i64) -> String {
    server
        .app
        .store_for_tools()
        .case(case_id)
        .await
        .unwrap()
        .expect("case stored")
        .case_number
}

#[tokio::test]
async fn an_epidemiologist_opens_a_case_through_the_form_and_a_mistake_keeps_what_was_typed() {
    let server = start().await;
    let epi = epidemiologist(&server).await;
    let (_, id_number) = people(&server, 10).await.remove(0);

    let (status, cases) = server.get_text(&epi, "/cases").await;
    assert_eq!(status, 200);
    assert!(cases.contains("防控方案第九版") && cases.contains("没有符合条件的病例"));
    assert!(cases.contains("href=\"/cases/new\"") && cases.contains("href=\"/chains\""));

    let (status, form) = server.get_text(&epi, "/cases/new").await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&form);
    let key = hidden(&form, "case_key");
    assert_eq!(key.len(), 32, "a fresh random key: {key}");

    // A confirmed case without onset date.
    let mut fields = case_fields(&csrf, &key, &id_number);
    fields.retain(|(name, _)| *name != "onset_date");
    let refused = epi
        .post(server.url("/cases/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("确诊病例须填写发病日期"), "{refused}");
    assert!(refused.contains(&format!("value=\"{id_number}\"")));
    assert!(refused.contains("value=\"石家庄市第五医院\""));
    assert!(refused.contains("<option value=\"fever_clinic\" selected>"));
    assert!(
        refused.contains(&format!("value=\"{key}\"")),
        "the key is kept"
    );

    // A wrong check digit.
    let wrong = wrong_check_digit(&id_number);
    let fields = case_fields(&csrf, &key, &wrong);
    let refused = epi
        .post(server.url("/cases/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("校验位错误"), "{refused}");
    assert!(refused.contains(&format!("value=\"{wrong}\"")));
    assert!(refused.contains("value=\"2022-11-18\""));

    // Right: lands on the case's page; the same submission again opens no second case.
    let fields = case_fields(&csrf, &key, &id_number);
    let opened = epi
        .post(server.url("/cases/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303);
    let location = opened.headers()["location"].to_str().unwrap().to_string();
    let id = case_id_of(&opened);
    let again = epi
        .post(server.url("/cases/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303, "a double submit is the same case");
    assert_eq!(case_id_of(&again), id);

    let (status, page) = server.get_text(&epi, &location).await;
    assert_eq!(status, 200);
    let number = case_number(&server, id).await;
    assert!(page.contains(&number) && page.contains("确诊病例"));
    assert!(page.contains("已登记病例"), "the flash says so");
    assert!(!page.contains(&id_number), "the ID number is masked");
    assert!(page.contains(&format!("{}********{}", &id_number[..6], &id_number[14..])));
    assert!(page.contains("2小时网络直报") && page.contains("进行中"));
    assert!(
        page.contains("2022-11-20 10:30"),
        "the report is due 2 h after 08:30"
    );

    // The directory lists it once; past 10:30 the report is overdue (red).
    server.clock.advance(chrono::Duration::minutes(60));
    let (_, cases) = server.get_text(&epi, "/cases").await;
    assert_eq!(cases.matches(&format!("href=\"/cases/{id}\"")).count(), 1);
    assert!(cases.contains("<b id=\"report-overdue\" class=\"badge-red\">1</b>"));
    assert!(cases.contains("已超时"));
    let (_, overdue) = server.get_text(&epi, "/cases?overdue=1").await;
    assert!(overdue.contains(&number));
    let (_, suspected) = server.get_text(&epi, "/cases?kind=suspected").await;
    assert!(!suspected.contains(&number));

    // The steps: reported, then investigated.
    let csrf = csrf_of(&page);
    for action in ["reported", "investigated"] {
        let (status, location, _) = post_to(
            &server,
            &epi,
            &format!("/cases/{id}/actions"),
            &csrf,
            &[("action", action)],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(location, format!("/cases/{id}?saved={action}"));
    }
    let (_, page) = server.get_text(&epi, &format!("/cases/{id}")).await;
    assert!(page.contains("超时完成"), "reported after the 2 h: {page}");
    assert!(page.contains("按时完成"), "investigated within 24 h");
    let (_, cases) = server.get_text(&epi, "/cases").await;
    assert!(cases.contains("<b id=\"report-overdue\" class=\"badge-none\">0</b>"));

    // A trajectory stop typed in, and the import from checkpoint and venue records.
    let (status, _, body) = post_to(
        &server,
        &epi,
        &format!("/cases/{id}/stops"),
        &csrf,
        &[
            ("key", "stop-1"),
            ("place_kind", "venue"),
            ("place_name", "增村镇某某超市"),
            ("from_at", "2022-11-17T09:00"),
            ("to_at", "2022-11-17T09:40"),
            ("public", "on"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (status, location, _) =
        post_to(&server, &epi, &format!("/cases/{id}/itinerary"), &csrf, &[]).await;
    assert_eq!(status, 303);
    let (_, page) = server.get_text(&epi, &location).await;
    assert!(
        page.contains("增村镇某某超市") && page.contains("已从卡口和场所码记录导入 0 条新轨迹")
    );
    assert!(
        page.contains("11月17日09:00至09:40，增村镇某某超市"),
        "the bulletin text"
    );
}

#[tokio::test]
async fn contacts_are_classified_by_rule_and_an_exposure_after_isolation_is_refused() {
    let server = start().await;
    let epi = epidemiologist(&server).await;
    let residents = people(&server, 20).await;
    let (_, case_id_number) = &residents[0];
    let (member_name, member_id) = &residents[1];
    let (_, late_id) = &residents[2];
    let id = open_case(&server, &epi, case_id_number).await;
    let (_, page) = server.get_text(&epi, &format!("/cases/{id}")).await;
    let csrf = csrf_of(&page);
    for kind in ["同住家庭成员", "同乘火车", "公共场所（商场、市场、车站等）"]
    {
        assert!(page.contains(kind), "exposure kinds offered: {kind}");
    }

    let (status, location, body) = post_to(
        &server,
        &epi,
        &format!("/cases/{id}/contacts"),
        &csrf,
        &[
            ("via_contact_id", ""),
            ("id_type", "mainland_id"),
            ("id_number", member_id),
            ("exposure_kind", "shared_home"),
            ("first_exposure_at", "2022-11-15T19:00"),
            ("last_exposure_at", "2022-11-19T22:00"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    assert!(location.starts_with(&format!("/cases/{id}?contact=")));
    let (_, page) = server.get_text(&epi, &location).await;
    assert!(
        page.contains("判定为密切接触者：同住家庭成员（密切接触者判定原则第1条）"),
        "{page}"
    );
    assert!(
        page.contains(member_name.as_str()),
        "the register's name is filled in"
    );
    assert!(
        !page.contains(member_id.as_str()),
        "the contact's ID number is masked"
    );
    let (_, close) = server.get_text(&epi, "/contacts?category=close").await;
    assert!(close.contains(member_name.as_str()) && close.contains("判定原则第1条"));

    // The case is isolated on the 19th at noon; an exposure that began after it is refused.
    let (status, _, _) = post_to(
        &server,
        &epi,
        &format!("/cases/{id}/actions"),
        &csrf,
        &[("action", "isolated"), ("at", "2022-11-19T12:00")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _, refused) = post_to(
        &server,
        &epi,
        &format!("/cases/{id}/contacts"),
        &csrf,
        &[
            ("id_type", "mainland_id"),
            ("id_number", late_id),
            ("exposure_kind", "same_enclosed_space"),
            ("first_exposure_at", "2022-11-19T15:00"),
            ("last_exposure_at", "2022-11-19T16:00"),
            ("place_note", "同一车间"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused.contains("接触时间晚于病例被隔离的时间（2022-11-19 12:00）"),
        "{refused}"
    );
    assert!(refused.contains(&format!("value=\"{late_id}\"")));
    assert!(
        refused.contains("value=\"2022-11-19T15:00\"") && refused.contains("value=\"同一车间\"")
    );
    assert!(refused.contains("<option value=\"same_enclosed_space\" selected>"));

    // A secondary contact through the close contact (9th edition), offered from its row.
    let contact_id = location
        .split("contact=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .to_string();
    let (_, page) = server.get_text(&epi, &format!("/cases/{id}")).await;
    assert!(page.contains(&format!(
        "href=\"/cases/{id}?via={contact_id}#add-contact\""
    )));
    let (_, via_page) = server
        .get_text(&epi, &format!("/cases/{id}?via={contact_id}"))
        .await;
    assert!(via_page.contains(&format!("<option value=\"{contact_id}\" selected>")));

    let (status, location, body) = post_to(
        &server,
        &epi,
        &format!("/cases/{id}/contacts"),
        &csrf,
        &[
            ("via_contact_id", &contact_id),
            ("id_number", ""),
            ("phone", "13912345678"),
            ("name", "王同事"),
            ("address", "藁城区某某小区1号楼"),
            ("exposure_kind", "same_enclosed_space"),
            ("first_exposure_at", "2022-11-16T08:00"),
            ("last_exposure_at", "2022-11-19T17:00"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = server.get_text(&epi, &location).await;
    assert!(page.contains("判定为密接的密接：与密接同办公室"), "{page}");
    assert!(page.contains("139****5678") && !page.contains("13912345678"));
    assert!(page.contains(&format!("经 #{contact_id}")));

    // A train passenger: the vehicle checkboxes reach the rule.
    let (status, location, body) = post_to(
        &server,
        &epi,
        &format!("/cases/{id}/contacts"),
        &csrf,
        &[
            ("id_number", late_id),
            ("exposure_kind", "train"),
            ("first_exposure_at", "2022-11-18T10:00"),
            ("last_exposure_at", "2022-11-18T12:00"),
            ("sealed", "on"),
            ("same_carriage", "on"),
            ("place_note", "G1234次 5车"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let (_, page) = server.get_text(&epi, &location).await;
    assert!(
        page.contains("判定为密切接触者：全封闭空调列车同一车厢"),
        "{page}"
    );

    // Withdrawn with a reason.
    let (status, location, _) = post_to(
        &server,
        &epi,
        &format!("/contacts/{contact_id}/clear"),
        &csrf,
        &[("case_id", &id.to_string()), ("reason", "")],
    )
    .await;
    assert_eq!(status, 422, "a reason is needed");
    assert!(location.is_empty());
    let (status, location, _) = post_to(
        &server,
        &epi,
        &format!("/contacts/{contact_id}/clear"),
        &csrf,
        &[("case_id", &id.to_string()), ("reason", "登记错误")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = server.get_text(&epi, &location).await;
    assert!(page.contains("已解除该接触者") && page.contains("已解除"));

    // A contact for a case that does not exist.
    let (status, _, missing) = post_to(
        &server,
        &epi,
        "/cases/999999/contacts",
        &csrf,
        &[
            ("id_number", member_id),
            ("exposure_kind", "shared_home"),
            ("first_exposure_at", "2022-11-15T19:00"),
            ("last_exposure_at", "2022-11-19T10:00"),
        ],
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        missing.contains("密接必须关联到一个已登记的病例"),
        "{missing}"
    );
    let (status, page) = server.get_text(&epi, "/cases/999999").await;
    assert_eq!(status, 404, "{page}");
}

#[tokio::test]
async fn the_chain_picture_and_the_bulletin_render_without_personal_data() {
    let server = start().await;
    let epi = epidemiologist(&server).await;
    let residents = people(&server, 20).await;
    let first = open_case(&server, &epi, &residents[0].1).await;
    let second = open_case(&server, &epi, &residents[1].1).await;
    let first_number = case_number(&server, first).await;
    let second_number = case_number(&server, second).await;
    let (_, page) = server.get_text(&epi, &format!("/cases/{second}")).await;
    let csrf = csrf_of(&page);
    let (status, _, body) = post_to(
        &server,
        &epi,
        &format!("/cases/{second}/actions"),
        &csrf,
        &[
            ("action", "infector"),
            ("infector", &first_number),
            ("note", "同住"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    // A case cannot be its own infector's source: refused with the message, on the page.
    let (status, _, refused) = post_to(
        &server,
        &epi,
        &format!("/cases/{first}/actions"),
        &csrf,
        &[("action", "infector"), ("infector", &second_number)],
    )
    .await;
    assert_eq!(status, 422);
    assert!(refused.contains("不能再作为本病例的传染来源"), "{refused}");
    let (_, page) = server.get_text(&epi, &format!("/cases/{first}")).await;
    assert!(
        page.contains(&format!("href=\"/cases/{second}\"")),
        "infectee linked"
    );

    let (status, chains) = server.get_text(&epi, "/chains").await;
    assert_eq!(status, 200);
    assert!(chains.contains("<svg id=\"chain-picture\""), "{chains}");
    assert!(chains.contains(&first_number) && chains.contains(&second_number));
    assert!(chains.contains("viewBox=\"0 0 "));
    assert!(chains.contains(&format!("href=\"/cases/{first}\"")));
    assert!(
        !chains.contains("http://"),
        "the page names no outside host"
    );
    let svg = epi.get(server.url("/chains.svg")).send().await.unwrap();
    assert_eq!(svg.status(), 200);
    assert!(
        svg.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    let svg = svg.text().await.unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains(&first_number) && svg.contains(&second_number));
    assert!(
        svg.contains("<path class=\"ce\" d=\"M"),
        "the infector edge is drawn"
    );

    let (status, bulletin) = server.get_text(&epi, "/cases/bulletin").await;
    assert_eq!(status, 200);
    assert!(
        bulletin.contains("病例1：") && bulletin.contains("病例2："),
        "{bulletin}"
    );
    assert!(bulletin.contains("共 2 例。"), "{bulletin}");
    assert!(
        bulletin.contains("value=\"2022-11-06\""),
        "14 days back by default"
    );
    for (name, id_number) in &residents[..2] {
        assert!(!bulletin.contains(name.as_str()), "no name in the bulletin");
        assert!(
            !bulletin.contains(id_number.as_str()),
            "no ID number in the bulletin"
        );
    }
    let (status, _) = server
        .get_text(&epi, "/cases/bulletin?since=2022-11-21")
        .await;
    assert_eq!(status, 200);
    let (status, _) = server.get_text(&epi, "/cases/bulletin?since=昨天").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn the_json_api_opens_a_case_and_classifies_a_contact_and_other_roles_are_refused() {
    let server = start().await;
    server.add_user("epi", Role::Epidemiologist, "130109").await;
    let residents = people(&server, 20).await;
    let api = support::client();
    let session: Value = api
        .post(server.url("/api/session"))
        .json(&json!({"username": "epi", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();

    let post = |path: &str, body: Value| {
        api.post(server.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let refused = post(
        "/api/cases",
        json!({"kind": "asymptomatic", "id_number": residents[0].1}),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_input");
    assert!(refused["message"].as_str().unwrap().contains("首次阳性"));

    let opened = post(
        "/api/cases",
        json!({
            "kind": "asymptomatic",
            "id_number": residents[0].1,
            "first_positive_at": "2022-11-19 07:10",
            "found_by": "mass_testing",
            "case_key": "api-1",
        }),
    )
    .await
    .unwrap();
    assert_eq!(opened.status(), 200);
    let opened: Value = opened.json().await.unwrap();
    let id = opened["id"].as_i64().unwrap();

    let contact = post(
        &format!("/api/cases/{id}/contacts"),
        json!({
            "id_number": residents[1].1,
            "exposure_kind": "bus",
            "first_exposure_at": "2022-11-18 08:00",
            "last_exposure_at": "2022-11-18 08:40",
            "case_row": 4,
            "contact_row": "6",
        }),
    )
    .await
    .unwrap();
    assert_eq!(contact.status(), 200);
    let contact: Value = contact.json().await.unwrap();
    assert_eq!(contact["category"], "close", "{contact}");
    assert!(contact["reason"].as_str().unwrap().contains("相距2排"));

    // A secondary contact through a close contact that is not the case's.
    let wrong_via = post(
        &format!("/api/cases/{id}/contacts"),
        json!({
            "via_contact_id": 999999,
            "id_number": residents[2].1,
            "exposure_kind": "shared_home",
            "first_exposure_at": "2022-11-18 20:00",
            "last_exposure_at": "2022-11-19 07:00",
        }),
    )
    .await
    .unwrap();
    assert_eq!(wrong_via.status(), 422);
    let missing_case = post(
        "/api/cases/999999/contacts",
        json!({
            "id_number": residents[2].1,
            "exposure_kind": "shared_home",
            "first_exposure_at": "2022-11-18 20:00",
            "last_exposure_at": "2022-11-19 07:00",
        }),
    )
    .await
    .unwrap();
    assert_eq!(missing_case.status(), 404);
    let missing_case: Value = missing_case.json().await.unwrap();
    assert_eq!(missing_case["error"], "not_found");

    let get = |path: &str| api.get(server.url(path)).bearer_auth(&token).send();
    let detail: Value = get(&format!("/api/cases/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["case"]["kind"], "asymptomatic");
    assert_eq!(detail["contacts"].as_array().unwrap().len(), 1);
    assert!(!detail.to_string().contains(&residents[0].1), "masked");
    let rows: Value = get("/api/cases?kind=asymptomatic")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["id"], id);
    let none: Value = get(&format!("/api/cases?before={id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none, json!([]));
    let chains: Value = get("/api/chains").await.unwrap().json().await.unwrap();
    assert_eq!(chains["cases"], 1);
    assert_eq!(chains["layout"]["cases"].as_array().unwrap().len(), 1);

    // A lab may not see investigations, in pages or API; a commander may see but not edit.
    let lab = server.login("lab").await;
    let (status, body) = server.get_text(&lab, "/cases").await;
    assert_eq!(status, 403);
    assert!(body.contains("无权"), "{body}");
    for path in [
        "/chains",
        "/chains.svg",
        "/contacts",
        "/cases/bulletin",
        "/cases/new",
    ] {
        let (status, _) = server.get_text(&lab, path).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = server.get_text(&lab, "/api/cases").await;
    assert_eq!(status, 403);
    let gw = server.login("gw").await;
    let (status, _) = server.get_text(&gw, &format!("/cases/{id}")).await;
    assert_eq!(status, 403, "a grid worker has no investigation pages");
}

#[tokio::test]
async fn the_regime_is_switched_at_province_level_only() {
    let server = start().await;
    let commander = server.login("commander").await;
    let (status, cases) = server.get_text(&commander, "/cases").await;
    assert_eq!(status, 200);
    assert!(cases.contains("id=\"regime-form\""));
    let csrf = csrf_of(&cases);
    let (status, _, refused) = post_to(
        &server,
        &commander,
        "/cases/regime",
        &csrf,
        &[("regime", "twenty")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused.contains("防控方案版本由省级指挥部切换"),
        "{refused}"
    );
    assert!(refused.contains("<option value=\"twenty\" selected>"));

    let admin = server.login("admin").await;
    let (_, cases) = server.get_text(&admin, "/cases").await;
    let (status, location, _) = post_to(
        &server,
        &admin,
        "/cases/regime",
        &csrf_of(&cases),
        &[("regime", "twenty")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, cases) = server.get_text(&admin, &location).await;
    assert!(cases.contains("已切换为二十条优化措施"));
    assert!(cases.contains("<b id=\"regime\">二十条优化措施</b>"));
    let (status, _, _) = post_to(
        &server,
        &admin,
        "/cases/regime",
        "forged",
        &[("regime", "ninth")],
    )
    .await;
    assert_eq!(status, 422, "the CSRF check refuses a forged form");
}

#[tokio::test]
async fn the_directory_pages_on_and_stays_within_the_jurisdiction() {
    let server = start().await;
    server.add_user("epi", Role::Epidemiologist, "130109").await;
    let other = server.other_township.clone();
    server
        .add_user("epi_other", Role::Epidemiologist, &other)
        .await;
    let residents = people_in(&server, &server.own_grid[..9], 120).await;
    assert!(residents.len() > 51);
    let api = support::client();
    let session: Value = api
        .post(server.url("/api/session"))
        .json(&json!({"username": "epi", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for (i, (_, id_number)) in residents.iter().take(51).enumerate() {
        let opened: Value = api
            .post(server.url("/api/cases"))
            .bearer_auth(&token)
            .json(&json!({
                "kind": "initial_screen_positive",
                "id_number": id_number,
                "first_positive_at": "2022-11-20 06:00",
                "found_by": "mass_testing",
                "case_key": format!("page-{i}"),
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(opened["id"].as_i64().expect("opened"));
    }
    let epi = server.login("epi").await;
    let (_, first) = server
        .get_text(&epi, "/cases?kind=initial_screen_positive")
        .await;
    let newest = *ids.last().unwrap();
    let oldest = ids[0];
    assert!(first.contains(&format!("href=\"/cases/{newest}\"")));
    assert!(!first.contains(&format!("href=\"/cases/{oldest}\"")));
    let next = support::links(&first, "/cases?kind=")
        .into_iter()
        .find(|l| l.contains("before="))
        .expect("a next-page link");
    let (status, second) = server
        .get_text(&epi, &next.replace("&#38;", "&").replace("&amp;", "&"))
        .await;
    assert_eq!(status, 200);
    assert!(
        second.contains(&format!("href=\"/cases/{oldest}\"")),
        "{next} {ids:?} {second}"
    );
    assert!(!second.contains("id=\"next-page\""), "the last page");
    let (status, _) = server.get_text(&epi, "/cases?before=abc").await;
    assert_eq!(status, 422);

    // An epidemiologist of another township sees none of them.
    let stranger = server.login("epi_other").await;
    let (status, body) = server
        .get_text(&stranger, &format!("/cases/{oldest}"))
        .await;
    // A foreign case answers like a missing one.
    assert_eq!(status, 404);
    assert!(body.contains("没有找到该病例"), "{body}");
    let (_, list) = server.get_text(&stranger, "/cases").await;
    assert!(list.contains("没有符合条件的病例"));
    let (_, chains) = server.get_text(&stranger, "/chains").await;
    assert!(chains.contains("辖区内还没有病例"));
    let (status, _) = server
        .get_text(&stranger, &format!("/api/cases/{oldest}"))
        .await;
    assert_eq!(status, 404);

    // A confirmed case cannot be excluded: the page says why.
    let (_, page) = server.get_text(&epi, &format!("/cases/{oldest}")).await;
    assert!(
        page.contains("id=\"exclude-form\""),
        "an initial screen can be excluded"
    );
    let csrf = csrf_of(&page);
    let (status, _, _) = post_to(
        &server,
        &epi,
        &format!("/cases/{oldest}/actions"),
        &csrf,
        &[("action", "reclassify"), ("kind", "confirmed")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = server.get_text(&epi, &format!("/cases/{oldest}")).await;
    assert!(!page.contains("id=\"exclude-form\""));
    let (status, _, refused) = post_to(
        &server,
        &epi,
        &format!("/cases/{oldest}/actions"),
        &csrf,
        &[("action", "exclude")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        refused.contains("确诊病例和无症状感染者不能排除"),
        "{refused}"
    );
    let (status, location, _) = post_to(
        &server,
        &epi,
        &format!("/cases/{oldest}/actions"),
        &csrf,
        &[("action", "discharge")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = server.get_text(&epi, &location).await;
    assert!(page.contains("已登记出院") && page.contains("该病例已结案"));
    let (_, discharged) = server.get_text(&epi, "/cases?status=discharged").await;
    assert!(discharged.contains(&format!("href=\"/cases/{oldest}\"")));
}

#[tokio::test]
async fn a_contact_list_is_imported_row_by_row_and_a_second_import_adds_nobody() {
    let server = start().await;
    let client = epidemiologist(&server).await;
    let people = people(&server, 6).await;
    let case = open_case(&server, &client, &people[0].1).await;
    let (_, page) = server.get_text(&client, &format!("/cases/{case}")).await;
    let csrf = csrf_of(&page);
    let (status, template) = server
        .get_text(&client, "/cases/contacts-template.csv")
        .await;
    assert_eq!(status, 200);
    assert!(template.contains("末次接触时间"), "{template}");
    let csv = format!(
        "姓名,证件号码,接触方式,首次接触时间,末次接触时间,病例排号,本人排号\n\
         {},{},同住家庭成员,2022-11-19 08:00,2022-11-19 20:00,,\n\
         {},{},同乘飞机,2022-11-19 08:00,2022-11-19 10:00,12,30\n\
         错号,{},同住家庭成员,2022-11-19 08:00,2022-11-19 20:00,,\n\
         ,{},不认识的方式,2022-11-19 08:00,2022-11-19 20:00,,\n",
        people[1].0,
        people[1].1,
        people[2].0,
        people[2].1,
        wrong_check_digit(&people[3].1),
        people[4].1,
    );
    let upload = |csv: String| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("乘客名单.csv"),
            )
    };
    let response = client
        .post(server.url(&format!("/cases/{case}/contacts/import")))
        .multipart(upload(csv.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"imported-close\">1<"), "{html}");
    assert!(html.contains("id=\"problem-count\">2<"), "{html}");
    assert!(html.contains("校验位"), "{html}");
    assert!(html.contains("接触方式"), "{html}");
    // The household contact is coded once the import ends; the plane row is a general contact.
    let facts = server
        .app
        .store_for_tools()
        .facts_of(&fangkong_app::records::CodePerson {
            id_type: "mainland_id".into(),
            id_number: people[1].1.as_str().into(),
        })
        .await
        .unwrap();
    assert!(
        facts
            .iter()
            .any(|f| f.kind == fangkong_domain::health_code::FactKind::CloseContact),
        "{facts:?}"
    );
    // All of them are on the case's page.
    let (_, case_page) = server.get_text(&client, &format!("/cases/{case}")).await;
    assert!(case_page.contains("一般接触者"), "{case_page}");
    // The same list again: both good rows are already recorded, nothing doubles.
    let again = client
        .post(server.url(&format!("/cases/{case}/contacts/import")))
        .multipart(upload(csv))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("id=\"already-recorded\">2<"), "{again}");
    assert!(again.contains("id=\"imported-close\">0<"), "{again}");
    let contacts = server
        .app
        .store_for_tools()
        .contacts_of_case(case, 100)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 2);
}
