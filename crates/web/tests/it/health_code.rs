//! Health codes, checkpoints, venue codes and risk areas over real HTTP (SQLite): the public list
//! needs no login, a commander designates an area through the form, a resident's signed code is
//! verified at a checkpoint (and a forged one refused), retries are logged once, an overloaded
//! checkpoint API sheds load with 503, venue codes are printed and scanned, and every page renders
//! for the roles allowed and refuses the others.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support;

use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

/// Mainland ID numbers of residents of the grid worker's grid, in register order.
async fn grid_ids(server: &TestServer, count: i64) -> Vec<(i64, String)> {
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, count)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .map(|r| (r.id, r.id_number.into()))
        .collect()
}

/// A resident login linked to the first resident of the grid worker's grid; returns the client and
/// that resident's ID number.
async fn resident(server: &TestServer) -> (reqwest::Client, String) {
    let (resident_id, id_number) = grid_ids(server, 20).await.remove(0);
    let user = server
        .add_user("resident1", Role::Resident, &server.own_grid)
        .await;
    server
        .app
        .store_for_tools()
        .link_user_to_resident(user, resident_id)
        .await
        .unwrap();
    (server.login("resident1").await, id_number)
}

/// The commander registers a community gate over the county through the page form.
async fn create_checkpoint(server: &TestServer, commander: &reqwest::Client) -> i64 {
    let (status, page) = server.get_text(commander, "/checkpoints").await;
    assert_eq!(status, 200);
    assert!(page.contains("登记卡口"));
    let created = server
        .post_form(
            commander,
            "/checkpoints",
            &csrf_of(&page),
            &[
                ("name", "增村镇东口卡口"),
                ("kind", "community_gate"),
                ("line", ""),
                ("region_code", "130109"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "{}", created.text().await.unwrap());
    created.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/checkpoints/")
        .parse()
        .unwrap()
}

/// A checkpoint officer's session and the CSRF token of the checking page.
async fn checkpoint_officer(server: &TestServer, checkpoint: i64) -> (reqwest::Client, String) {
    let client = server.login_as("cp", Role::Checkpoint, "130109").await;
    let (status, page) = server
        .get_text(&client, &format!("/checkpoints/{checkpoint}"))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("/assets/checkpoint.js") && page.contains("autofocus"));
    let csrf = csrf_of(&page);
    (client, csrf)
}

async fn verify(
    server: &TestServer,
    client: &reqwest::Client,
    csrf: &str,
    checkpoint: i64,
    body: Value,
) -> (u16, Value) {
    let response = client
        .post(server.url(&format!("/api/checkpoints/{checkpoint}/verify")))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Rows of the recent-passages table on a checking page.
fn passage_rows(page: &str) -> usize {
    let table = &page[page.find("id=\"passages\"").expect("passages table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table.matches("<tr>").count() - 1 - usize::from(table.contains("还没有查验记录"))
}

#[tokio::test]
async fn the_public_risk_area_list_needs_no_login_and_shows_an_area_a_commander_designates() {
    let server = start().await;
    let anonymous = support::client();
    let (status, public) = server.get_text(&anonymous, "/public/risk-areas").await;
    assert_eq!(status, 200);
    assert!(public.contains("风险区域公布") && public.contains("目前没有风险区域"));
    assert!(!public.contains("https://"));
    let list: Value = anonymous
        .get(server.url("/api/public/risk-areas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    let trust = anonymous
        .get(server.url("/api/trust-list"))
        .send()
        .await
        .unwrap();
    assert_eq!(trust.status(), 200);
    let trust: Value = trust.json().await.unwrap();
    assert!(trust.is_object() || trust.is_array(), "{trust}");

    let commander = server.login("commander").await;
    let (status, page) = server.get_text(&commander, "/risk-areas").await;
    assert_eq!(status, 200);
    assert!(page.contains("划定风险区域") && page.contains("辖区内没有风险区域"));
    let village = server.own_grid[..12].to_string();

    // A village unit over a county code: refused in the form, with what was typed kept.
    let refused = server
        .post_form(
            &commander,
            "/risk-areas",
            &csrf_of(&page),
            &[
                ("scheme", "ninth"),
                ("tier", "high"),
                ("unit", "village"),
                ("region_code", "130109"),
                ("place_name", ""),
                ("reason", "病例居住地"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("区划应选"), "{refused}");
    assert!(refused.contains("value=\"病例居住地\"") && refused.contains("value=\"130109\""));
    assert!(refused.contains("<option value=\"high\" selected>"));

    let designated = server
        .post_form(
            &commander,
            "/risk-areas",
            &csrf_of(&page),
            &[
                ("scheme", "ninth"),
                ("tier", "high"),
                ("unit", "village"),
                ("region_code", village.as_str()),
                ("place_name", ""),
                ("reason", "病例居住地"),
            ],
        )
        .await;
    assert_eq!(designated.status(), 303);
    let location = designated.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let id: i64 = location
        .trim_start_matches("/risk-areas/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (status, detail) = server.get_text(&commander, &location).await;
    assert_eq!(status, 200);
    assert!(detail.contains("已划定风险区域") && detail.contains("高风险区"));
    assert!(detail.contains("id=\"next-step\"") && detail.contains("降为"));

    let (_, list_page) = server.get_text(&commander, "/risk-areas").await;
    assert!(list_page.contains(&format!("href=\"/risk-areas/{id}\"")));
    assert!(list_page.contains("✗"), "an unmet condition is marked");

    let (status, public) = server.get_text(&anonymous, "/public/risk-areas").await;
    assert_eq!(status, 200);
    assert!(public.contains("高风险区") && public.contains("足不出户"));
    assert!(!public.contains("目前没有风险区域"));
    let list: Value = anonymous
        .get(server.url("/api/public/risk-areas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["tier"], "high");

    // An all-negative round stated by the commander is listed; confirming a step too early is
    // refused on the page with the reason.
    let rounds = server
        .post_form(
            &commander,
            &format!("/risk-areas/{id}/rounds"),
            &csrf_of(&detail),
            &[("round_id", ""), ("finished", "2022-11-20 08:00")],
        )
        .await;
    assert_eq!(rounds.status(), 303);
    let (_, detail) = server
        .get_text(&commander, &format!("/risk-areas/{id}"))
        .await;
    let table = &detail[detail.find("id=\"area-rounds\"").unwrap()..];
    assert!(table.contains("2022-11-20 08:00") && table.contains("指挥部确认"));
    let to = detail
        .split("name=\"to\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let early = server
        .post_form(
            &commander,
            &format!("/risk-areas/{id}/step"),
            &csrf_of(&detail),
            &[("to", to.as_str())],
        )
        .await;
    assert_eq!(early.status(), 422);
    assert!(early.text().await.unwrap().contains("还不能"));
}

#[tokio::test]
async fn a_resident_code_passes_a_checkpoint_and_a_changed_or_retried_code_is_handled() {
    let server = start().await;
    let (resident, own_id) = resident(&server).await;
    let mine: Value = resident
        .get(server.url("/api/me/code"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = mine["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("FK1:"), "{token}");
    assert_eq!(mine["code"]["colour"], "green");
    assert!(mine["token_expires_at"].as_i64().unwrap() > server.app.now_unix());
    let (status, page) = server.get_text(&resident, "/me/code").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"code-card\"") && page.contains("绿码"));
    assert!(page.contains("<svg") && page.contains("http-equiv=\"refresh\""));
    assert!(!page.contains(&own_id), "the ID number is masked");

    let commander = server.login("commander").await;
    let checkpoint = create_checkpoint(&server, &commander).await;
    let (officer, csrf) = checkpoint_officer(&server, checkpoint).await;

    let check = |key: &str, code: &str| json!({"passage_key": key, "code": code, "temperature": "36.5", "plate": "冀A12345"});
    let (status, passed) = verify(&server, &officer, &csrf, checkpoint, check("k1", &token)).await;
    assert_eq!(status, 200, "{passed}");
    assert_eq!(passed["decision"], "pass", "{passed}");
    assert_eq!(passed["method"], "qr");
    assert_eq!(passed["repeated"], false);
    assert!(
        !passed["id_number_masked"]
            .as_str()
            .unwrap()
            .contains(&own_id)
    );

    // The same check sent again (a retry after a lost answer): the stored answer, logged once.
    let (status, again) = verify(&server, &officer, &csrf, checkpoint, check("k1", &token)).await;
    assert_eq!(status, 200);
    assert_eq!(again["repeated"], true);
    assert_eq!(again["decision"], "pass");

    // One character of the signed text changed: refused with the reason, and logged.
    let mut chars: Vec<char> = token.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    let (status, refused) =
        verify(&server, &officer, &csrf, checkpoint, check("k2", &forged)).await;
    assert_eq!(status, 200);
    assert_eq!(refused["decision"], "rejected", "{refused}");
    assert!(!refused["reasons"].as_array().unwrap().is_empty());

    // An ID number typed by hand.
    let other = grid_ids(&server, 20).await.remove(1).1;
    let (status, typed) = verify(&server, &officer, &csrf, checkpoint, check("k3", &other)).await;
    assert_eq!(status, 200, "{typed}");
    assert_eq!(typed["method"], "id");
    assert_eq!(typed["decision"], "pass");

    // An impossible temperature is a mistake of the device, answered in Chinese and not logged.
    let (status, fever) = verify(
        &server,
        &officer,
        &csrf,
        checkpoint,
        json!({"passage_key": "k4", "code": other, "temperature": "52"}),
    )
    .await;
    assert_eq!(status, 422, "{fever}");
    assert_eq!(fever["error"], "invalid_input");
    assert!(
        fever["message"].as_str().unwrap().contains("体温"),
        "{fever}"
    );

    // A grid worker may look codes up but not check at a post.
    let gw = server.login("gw").await;
    let (_, gw_home) = server.get_text(&gw, "/").await;
    let (status, forbidden) = verify(
        &server,
        &gw,
        &csrf_of(&gw_home),
        checkpoint,
        check("k5", &token),
    )
    .await;
    assert_eq!(status, 403, "{forbidden}");
    assert_eq!(forbidden["error"], "forbidden");

    // The checking page lists each check once (the retry is not a second row); the impossible
    // temperature is on record as a refusal.
    let (_, page) = server
        .get_text(&officer, &format!("/checkpoints/{checkpoint}"))
        .await;
    assert_eq!(passage_rows(&page), 4, "{page}");
    assert!(page.contains("通行") && page.contains("冀A12345"));
    assert!(page.contains("id=\"today-counts\""));

    // Without JavaScript: the plain form with the server's passage key.
    let key = page
        .split("name=\"passage_key\" id=\"passage-key\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(key.len(), 32);
    let form = server
        .post_form(
            &officer,
            &format!("/checkpoints/{checkpoint}"),
            &csrf_of(&page),
            &[
                ("passage_key", key.as_str()),
                ("code", other.as_str()),
                ("temperature", "36.6"),
                ("plate", "冀A12345"),
            ],
        )
        .await;
    assert_eq!(form.status(), 200);
    let answered = form.text().await.unwrap();
    let panel = &answered[answered.find("id=\"decision\"").unwrap()..];
    assert!(
        panel.starts_with("id=\"decision\" class=\"decision ok\""),
        "{panel}"
    );
    assert!(panel.contains("id=\"decision-label\">通行<"));
    assert_eq!(passage_rows(&answered), 5);
    assert!(
        !answered.contains(&format!("value=\"{key}\"")),
        "a fresh key for the next check"
    );
    // The plain form with an impossible temperature keeps what was typed.
    let mistyped = server
        .post_form(
            &officer,
            &format!("/checkpoints/{checkpoint}"),
            &csrf_of(&page),
            &[
                ("passage_key", "k6"),
                ("code", other.as_str()),
                ("temperature", "52"),
            ],
        )
        .await;
    assert_eq!(mistyped.status(), 422);
    let mistyped = mistyped.text().await.unwrap();
    assert!(mistyped.contains("value=\"52\"") && mistyped.contains("体温"));
}

#[tokio::test]
async fn an_overloaded_checkpoint_api_answers_503_with_retry_after_and_the_rest_succeed() {
    let server = support::start_with(fangkong_web::WebConfig {
        verify_concurrency_limit: 1,
        ..Default::default()
    })
    .await;
    let commander = server.login("commander").await;
    let checkpoint = create_checkpoint(&server, &commander).await;
    server.add_user("cp", Role::Checkpoint, "130109").await;
    let client = reqwest::Client::new();
    let session: Value = client
        .post(server.url("/api/session"))
        .json(&json!({"username": "cp", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let people = grid_ids(&server, 60).await;
    let requests = (0..50).map(|i| {
        let client = client.clone();
        let url = server.url(&format!("/api/checkpoints/{checkpoint}/verify"));
        let token = token.clone();
        let code = people[i % people.len()].1.clone();
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"passage_key": format!("load-{i}"), "code": code, "temperature": "36.4"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = response.json().await.unwrap();
            (status, retry, body)
        }
    });
    let answers = futures::future::join_all(requests).await;
    let shed: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    let done: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 200).collect();
    assert!(!shed.is_empty(), "some checks were shed");
    assert!(!done.is_empty(), "some checks went through");
    assert_eq!(shed.len() + done.len(), 50, "every answer is 200 or 503");
    for (_, retry, body) in &shed {
        assert_eq!(retry.as_deref(), Some("1"));
        assert_eq!(body["error"], "overloaded");
        assert_eq!(body["message"], "查验请求过多，请1秒后重试");
    }
    for (_, _, body) in &done {
        assert!(body["decision"].is_string(), "{body}");
    }
    // Shed checks wrote nothing; a retry of one goes through once the post is free.
    let first_shed = answers.iter().position(|(s, _, _)| *s == 503).unwrap();
    let retried = client
        .post(server.url(&format!("/api/checkpoints/{checkpoint}/verify")))
        .bearer_auth(&token)
        .json(&json!({"passage_key": format!("load-{first_shed}"), "code": people[first_shed % people.len()].1, "temperature": "36.4"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried["repeated"], false);
}

/// Security finding M6: one flooding device starved every checkpoint. Now each session token has
/// its own limit: the flooding token is shed, while another device's checks, sent one at a time
/// during the flood, all go through.
#[tokio::test]
async fn a_flooding_device_is_shed_while_another_device_keeps_checking() {
    let server = support::start_with(fangkong_web::WebConfig {
        verify_concurrency_limit: 64,
        verify_checkpoint_limit: 64,
        verify_client_limit: 1,
        ..Default::default()
    })
    .await;
    let commander = server.login("commander").await;
    let checkpoint = create_checkpoint(&server, &commander).await;
    server.add_user("cp", Role::Checkpoint, "130109").await;
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let session: Value = client
            .post(server.url("/api/session"))
            .json(&json!({"username": "cp", "password": support::PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(session["token"].as_str().unwrap().to_string());
    }
    let people = grid_ids(&server, 60).await;
    let url = server.url(&format!("/api/checkpoints/{checkpoint}/verify"));
    let check = |token: String, key: String, code: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"passage_key": key, "code": code, "temperature": "36.4"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = response.json().await.unwrap();
            (status, retry, body)
        }
    };
    let flood = futures::future::join_all((0..40).map(|i| {
        check(
            tokens[0].clone(),
            format!("flood-{i}"),
            people[i % people.len()].1.clone(),
        )
    }));
    let steady = async {
        let mut answers = Vec::new();
        for i in 0..8 {
            answers.push(
                check(
                    tokens[1].clone(),
                    format!("steady-{i}"),
                    people[i % people.len()].1.clone(),
                )
                .await,
            );
        }
        answers
    };
    let (flooded, steady) = tokio::join!(flood, steady);
    let shed: Vec<_> = flooded.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(!shed.is_empty(), "the flooding device was shed");
    assert!(
        flooded.iter().all(|(s, _, _)| *s == 200 || *s == 503),
        "every answer is 200 or 503"
    );
    for (_, retry, body) in &shed {
        assert_eq!(retry.as_deref(), Some("1"));
        assert_eq!(body["error"], "overloaded");
        assert_eq!(body["message"], "查验请求过多，请1秒后重试");
    }
    for (status, _, body) in &steady {
        assert_eq!(*status, 200, "the other device is never shed: {body}");
        assert!(body["decision"].is_string(), "{body}");
    }
    // Shed checks were not logged: the passages are the admitted checks and nothing else.
    let admitted = flooded.iter().filter(|(s, _, _)| *s == 200).count() + steady.len();
    let logged: i64 = server
        .app
        .store_for_tools()
        .passage_counts(checkpoint, 0)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(logged, admitted as i64);
}

#[tokio::test]
async fn a_venue_poster_is_scanned_by_a_resident_and_the_visit_shows_in_the_itinerary() {
    let server = start().await;
    let commander = server.login("commander").await;
    let (status, page) = server.get_text(&commander, "/venues").await;
    assert_eq!(status, 200);
    let created = server
        .post_form(
            &commander,
            "/venues",
            &csrf_of(&page),
            &[
                ("name", "藁城区惠民超市"),
                ("kind", "超市"),
                ("address", "廉州东路18号"),
                ("region_code", "130109"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let venue: i64 = location.trim_start_matches("/venues/").parse().unwrap();
    let (status, poster) = server.get_text(&commander, &location).await;
    assert_eq!(status, 200);
    assert!(poster.contains("藁城区惠民超市") && poster.contains("廉州东路18号"));
    assert!(poster.contains("<svg"));
    let code = poster
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_string();
    assert!(code.starts_with(&format!("FKV1:{venue}:")), "{code}");
    let host = server.base.trim_start_matches("http://");
    assert!(
        poster.contains(&format!("http://{host}/me/venue?c=FKV1%3A{venue}%3A")),
        "the poster's QR points at this server"
    );
    // An empty venue form comes back with a Chinese message and what was typed.
    let refused = server
        .post_form(
            &commander,
            "/venues",
            &csrf_of(&page),
            &[
                ("name", "农贸市场"),
                ("kind", ""),
                ("address", ""),
                ("region_code", "130109"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("都要填写") && refused.contains("value=\"农贸市场\""));

    let (resident, own_id) = resident(&server).await;
    let (status, door) = server
        .get_text(
            &resident,
            &format!("/me/venue?c={}", code.replace(':', "%3A")),
        )
        .await;
    assert_eq!(status, 200);
    assert!(door.contains("藁城区惠民超市") && door.contains("登记进入"));
    let visit_key = door
        .split("name=\"visit_key\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let form = [
        ("csrf", csrf_of(&door)),
        ("c", code.clone()),
        ("visit_key", visit_key),
    ];
    let checked = resident
        .post(server.url("/me/venue"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status(), 200);
    let checked = checked.text().await.unwrap();
    assert!(checked.contains("id=\"checked-in\"") && checked.contains("code-card green"));
    assert!(checked.contains("绿码") && checked.contains("已登记"));
    let again = resident
        .post(server.url("/me/venue"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("重复提交"));

    // A made-up venue code is refused.
    let (status, forged) = server
        .get_text(
            &resident,
            &format!("/me/venue?c=FKV1%3A{venue}%3A000000000000"),
        )
        .await;
    assert_eq!(status, 422);
    assert!(forged.contains("场所码校验失败"));

    // Tracing asks who was at the venue today: one visit, the ID masked.
    let (_, itinerary) = server.get_text(&commander, "/itinerary").await;
    let asked = server
        .post_form(
            &commander,
            "/itinerary",
            &csrf_of(&itinerary),
            &[
                ("ask", "place"),
                ("place_kind", "venue"),
                ("place_id", venue.to_string().as_str()),
                ("from", "2022-11-20 00:00"),
                ("to", "2022-11-20 23:59"),
            ],
        )
        .await;
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    let table = &asked[asked.find("id=\"itinerary\"").expect("results")..];
    assert!(table.contains("藁城区惠民超市") && !table.contains(&own_id));
    assert_eq!(
        table[..table.find("</table>").unwrap()]
            .matches("<tr>")
            .count(),
        2
    );
    let person = server
        .post_form(
            &commander,
            "/itinerary",
            &csrf_of(&itinerary),
            &[
                ("ask", "person"),
                ("id_type", "mainland_id"),
                ("id_number", own_id.as_str()),
                ("from", "2022-11-20 00:00"),
                ("to", "2022-11-20 23:59"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(person.contains("id=\"itinerary\"") && person.contains("藁城区惠民超市"));
    let bad_window = server
        .post_form(
            &commander,
            "/itinerary",
            &csrf_of(&itinerary),
            &[
                ("ask", "place"),
                ("place_kind", "venue"),
                ("place_id", venue.to_string().as_str()),
                ("from", "2022-11-21 00:00"),
                ("to", "2022-11-20 00:00"),
            ],
        )
        .await;
    assert_eq!(bad_window.status(), 422);
    assert!(
        bad_window
            .text()
            .await
            .unwrap()
            .contains("结束时间要晚于开始时间")
    );
}

#[tokio::test]
async fn a_close_contact_turns_red_the_resident_appeals_and_an_accepted_appeal_turns_green() {
    let server = start().await;
    let (resident, own_id) = resident(&server).await;
    let commander = server.login("commander").await;
    let lookup = format!("/codes/person?id_type=mainland_id&id_number={own_id}");
    let (status, person) = server.get_text(&commander, &lookup).await;
    assert_eq!(status, 200, "{person}");
    assert!(person.contains("绿码") && person.contains("id=\"add-fact\""));
    assert!(person.contains("密接") && person.contains("外省赋码"));
    let added = server
        .post_form(
            &commander,
            "/codes/facts",
            &csrf_of(&person),
            &[
                ("id_type", "mainland_id"),
                ("id_number", own_id.as_str()),
                ("kind", "close_contact"),
                ("anchor", "2022-11-20 08:00"),
                ("colour", ""),
                ("note", "流调判定密接"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let (_, person) = server
        .get_text(&commander, added.headers()["location"].to_str().unwrap())
        .await;
    assert!(
        person.contains("已赋码") && person.contains("红码"),
        "{person}"
    );
    assert!(person.contains("/end\""), "an open fact has its end button");
    // A fact with an unreadable time comes back with what was typed.
    let refused = server
        .post_form(
            &commander,
            "/codes/facts",
            &csrf_of(&person),
            &[
                ("id_type", "mainland_id"),
                ("id_number", own_id.as_str()),
                ("kind", "close_contact"),
                ("anchor", "昨天"),
                ("note", "再次判定"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("看不懂") && refused.contains("value=\"再次判定\""));

    let (_, overview) = server.get_text(&commander, "/codes").await;
    let counts = &overview[overview.find("id=\"code-counts\"").unwrap()..];
    assert!(counts.starts_with("id=\"code-counts\">\n<div class=\"card\"><b class=\"bad\">1</b>"));
    assert!(overview.contains("id=\"policy-form\"") && overview.contains("id=\"untested-form\""));
    let (_, red_only) = server.get_text(&commander, "/codes?colour=red").await;
    let people = &red_only[red_only.find("id=\"code-people\"").unwrap()..];
    assert!(people.contains("红码") && !people.contains(&own_id));

    let (_, mine) = server.get_text(&resident, "/me/code").await;
    assert!(mine.contains("code-card red") && mine.contains("id=\"code-reasons\""));
    let short = server
        .post_form(
            &resident,
            "/me/code/appeals",
            &csrf_of(&mine),
            &[("reason", "错")],
        )
        .await;
    assert_eq!(short.status(), 422);
    let filed = server
        .post_form(
            &resident,
            "/me/code/appeals",
            &csrf_of(&mine),
            &[("reason", "当天不在现场，行程有误")],
        )
        .await;
    assert_eq!(filed.status(), 303);
    let (_, mine) = server.get_text(&resident, "/me/code?appealed=1").await;
    assert!(mine.contains("申诉已提交") && mine.contains("处理中"));

    let (status, appeals) = server.get_text(&commander, "/codes/appeals").await;
    assert_eq!(status, 200);
    assert!(appeals.contains("当天不在现场，行程有误") && !appeals.contains(&own_id));
    let appeal_id = appeals
        .split("action=\"/codes/appeals/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let decided = server
        .post_form(
            &commander,
            &format!("/codes/appeals/{appeal_id}"),
            &csrf_of(&appeals),
            &[("decision", "经核实不在现场"), ("accept", "1")],
        )
        .await;
    assert_eq!(decided.status(), 303);
    let (_, mine) = server.get_text(&resident, "/me/code").await;
    assert!(mine.contains("code-card green"), "{mine}");
    assert!(mine.contains("经核实不在现场"));
}

#[tokio::test]
async fn every_health_code_page_renders_for_the_roles_allowed_and_refuses_the_others() {
    let server = start().await;
    let commander = server.login("commander").await;
    let checkpoint = create_checkpoint(&server, &commander).await;
    let venue = server
        .app
        .create_venue(
            &fangkong_seed::seed_actor(),
            &fangkong_app::checkpoints::VenueForm {
                name: "测试场所".into(),
                kind: "超市".into(),
                address: "测试路1号".into(),
                region_code: "130109".into(),
            },
        )
        .await
        .unwrap();
    let area = server
        .app
        .designate_risk_area(
            &fangkong_seed::seed_actor(),
            &fangkong_app::risk_areas::RiskAreaForm {
                scheme: "ninth".into(),
                tier: "medium".into(),
                unit: "village".into(),
                region_code: server.own_grid[..12].to_string(),
                place_name: String::new(),
                reason: "测试".into(),
                occurred_at: String::new(),
            },
        )
        .await
        .unwrap();
    let (_, someone) = grid_ids(&server, 5).await.remove(0);
    let (resident, _) = resident(&server).await;
    let (officer, _) = checkpoint_officer(&server, checkpoint).await;
    let gw = server.login("gw").await;
    let lab = server.login("lab").await;

    let person = format!("/codes/person?id_type=mainland_id&id_number={someone}");
    let checkpoint_page = format!("/checkpoints/{checkpoint}");
    let venue_page = format!("/venues/{venue}");
    let area_page = format!("/risk-areas/{area}");
    let staff_pages: [(&str, &str); 9] = [
        ("/risk-areas", "风险区域划定与调整"),
        (&area_page, "全员核酸阴性轮次"),
        ("/codes", "现行赋码规则"),
        (&person, "健康码变化"),
        ("/codes/appeals", "健康码申诉"),
        ("/checkpoints", "卡口查验"),
        (&checkpoint_page, "扫描健康码"),
        ("/venues", "生成场所码"),
        ("/itinerary", "个人行程"),
    ];
    for (path, text) in staff_pages {
        let (status, body) = server.get_text(&commander, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains(text), "{path} shows {text}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} references an outside host"
        );
    }
    let (status, poster) = server.get_text(&commander, &venue_page).await;
    assert_eq!(status, 200);
    assert!(poster.contains("进入请扫码登记"));
    let (_, home) = server.get_text(&commander, "/").await;
    for link in [
        "/codes",
        "/risk-areas",
        "/checkpoints",
        "/venues",
        "/itinerary",
        "/codes/appeals",
    ] {
        assert!(
            home.contains(&format!("href=\"{link}\"")),
            "commander nav has {link}"
        );
    }
    assert!(home.contains("健康码、场所码与卡口查验"));

    let (status, script) = server.get_text(&commander, "/assets/checkpoint.js").await;
    assert_eq!(status, 200);
    assert!(script.contains("/api/checkpoints/") && script.contains("getRandomValues"));

    // Residents: their own code and nothing of the staff's.
    let (_, home) = server.get_text(&resident, "/").await;
    assert!(home.contains("href=\"/me/code\""));
    assert!(!home.contains("href=\"/codes\""));
    let (status, _) = server.get_text(&resident, "/me/code").await;
    assert_eq!(status, 200);
    for path in [
        "/codes",
        "/codes/appeals",
        "/checkpoints",
        "/venues",
        "/itinerary",
        "/risk-areas",
        &person,
    ] {
        let (status, body) = server.get_text(&resident, path).await;
        assert_eq!(status, 403, "a resident is refused {path}");
        assert!(
            body.contains("无权") || body.contains("权限"),
            "{path}: {body}"
        );
    }

    // The checkpoint officer: the posts and code lookups, not the registry of venues or tracing.
    let (_, home) = server.get_text(&officer, "/").await;
    assert!(home.contains("href=\"/checkpoints\""));
    for path in [
        "/checkpoints",
        checkpoint_page.as_str(),
        "/codes",
        "/risk-areas",
    ] {
        let (status, _) = server.get_text(&officer, path).await;
        assert_eq!(status, 200, "the officer opens {path}");
    }
    for path in ["/venues", "/itinerary", "/me/code", venue_page.as_str()] {
        let (status, _) = server.get_text(&officer, path).await;
        assert_eq!(status, 403, "the officer is refused {path}");
    }

    // A grid worker looks codes up; a lab does not.
    for path in ["/codes", "/risk-areas", "/codes/appeals"] {
        let (status, _) = server.get_text(&gw, path).await;
        assert_eq!(status, 200, "the grid worker opens {path}");
    }
    for path in ["/checkpoints", "/venues", "/itinerary", "/me/code"] {
        let (status, _) = server.get_text(&gw, path).await;
        assert_eq!(status, 403, "the grid worker is refused {path}");
    }
    for path in ["/codes", "/checkpoints", "/venues"] {
        let (status, _) = server.get_text(&lab, path).await;
        assert_eq!(status, 403, "the lab is refused {path}");
    }

    // Not logged in: pages send to the login, the API answers 401; the public list is open.
    let anonymous = support::client();
    let response = anonymous.get(server.url("/codes")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let (status, _) = server.get_text(&anonymous, "/public/risk-areas").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_offline_checkpoint_page_and_its_script_are_served_to_checkpoint_staff_only() {
    let server = start().await;
    let commander = server.login("commander").await;
    let checkpoint = create_checkpoint(&server, &commander).await;
    let (officer, _) = checkpoint_officer(&server, checkpoint).await;
    let (_, checking) = server
        .get_text(&officer, &format!("/checkpoints/{checkpoint}"))
        .await;
    assert!(checking.contains("href=\"/checkpoints/offline\"") && checking.contains("离线查验"));

    let (status, page) = server.get_text(&officer, "/checkpoints/offline").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("/assets/offline_verify.js") && page.contains("id=\"scan\""));
    let dictionary: String = fangkong_app::health_code::FK1_DICTIONARY
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(page.contains(&format!("data-dictionary=\"{dictionary}\"")));
    assert!(page.contains(&format!("data-now=\"{}\"", server.app.now_unix())));

    let script = support::client()
        .get(server.url("/assets/offline_verify.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let script = script.text().await.unwrap();
    assert!(script.contains("inflateRaw") && script.contains("'Ed25519'"));
    assert!(
        !script.contains("/verify'"),
        "the script calls no verify API"
    );

    let (resident, _) = resident(&server).await;
    let (status, _) = server.get_text(&resident, "/checkpoints/offline").await;
    assert_eq!(status, 403);
    let anonymous = support::client()
        .get(server.url("/checkpoints/offline"))
        .send()
        .await
        .unwrap();
    assert_ne!(anonymous.status(), 200);
}

/// A commander enters a designation made days ago (补录) through the form: the field is on the
/// page, a time in the future comes back with the field named and what was typed kept, and the
/// time entered is the area's designation time, on its page and in the audit log.
#[tokio::test]
async fn a_risk_area_designated_days_ago_is_entered_through_the_form() {
    let server = start().await;
    let commander = server.login("commander").await;
    let (status, page) = server.get_text(&commander, "/risk-areas").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("实际划定时间（留空为现在）")
            && page.contains("type=\"datetime-local\" name=\"occurred_at\""),
        "{page}"
    );
    let village = server.own_grid[..12].to_string();
    let post = |occurred_at: &'static str| {
        commander
            .post(server.url("/risk-areas"))
            .form(&[
                ("csrf", csrf_of(&page).as_str()),
                ("scheme", "ninth"),
                ("tier", "high"),
                ("unit", "village"),
                ("region_code", village.as_str()),
                ("place_name", ""),
                ("reason", "病例居住地"),
                ("occurred_at", occurred_at),
            ])
            .send()
    };
    // The clock says 2022-11-20 10:00: the day after is refused, what was typed is kept.
    let refused = post("2022-11-21T09:00").await.unwrap();
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("划定时间：不能晚于现在"), "{refused}");
    assert!(refused.contains("value=\"2022-11-21T09:00\""), "{refused}");

    let designated = post("2022-11-18T08:30").await.unwrap();
    assert_eq!(designated.status(), 303);
    let location = designated.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, detail) = server.get_text(&commander, &location).await;
    assert_eq!(status, 200);
    assert!(detail.contains("11月18日 08:30"), "{detail}");
    let audit = server
        .app
        .store_for_tools()
        .audit_page("designate_risk_area", i64::MAX, 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(
        audit[0]
            .detail
            .ends_with("补录：实际时间 2022-11-18 08:30（北京时间）"),
        "{:?}",
        audit[0].detail
    );
}
