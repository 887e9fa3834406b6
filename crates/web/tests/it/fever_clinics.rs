//! Fever clinics (发热门诊) over real HTTP (SQLite): the pages render for the roles the navigation
//! shows them to and refuse the others; a commander registers a clinic; the clinic's staff
//! register a patient without a valid ID (accepted by name and phone, flagged), move the visit
//! through the loop, and a release before the PCR result is refused with its reason and nothing
//! written; another township's clinic staff are refused; the JSON API does the same.

use crate::support;

use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::role::{Permission, Role};
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

const OWN: &str = "130109110"; // 增村镇
const OTHER: &str = "130109100"; // 廉州镇

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn step(
    server: &TestServer,
    client: &reqwest::Client,
    board: &str,
    visit: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    server
        .submit_form(
            client,
            board,
            &format!("/warning/clinics/visits/{visit}"),
            fields,
        )
        .await
}

#[tokio::test]
async fn clinic_pages_render_for_the_roles_the_navigation_shows_them_to() {
    let server = start().await;
    for role in Role::ALL {
        let username = format!("u_{}", role.code());
        let client = server.login_as(&username, role, "130109").await;
        let (_, home) = server.get_text(&client, "/").await;
        let shown = role.allows(Permission::RunFeverClinic) || role.allows(Permission::ViewWarning);
        assert_eq!(
            home.contains("href=\"/warning/clinics\""),
            shown,
            "{role:?}"
        );
        let (status, body) = server.get_text(&client, "/warning/clinics").await;
        if shown {
            assert_eq!(status, 200, "{role:?}: {body}");
            assert!(body.contains("name=\"viewport\""));
        } else {
            assert_eq!(status, 403, "{role:?}: {body}");
            assert!(body.contains("无权"));
        }
    }
}

#[tokio::test]
async fn a_clinic_registers_everyone_and_keeps_a_patient_until_the_result() {
    let server = start().await;
    let commander = server.login("commander").await;
    let added = server
        .submit_form(
            &commander,
            "/warning/clinics",
            "/warning/clinics",
            &[
                ("name", "增村镇卫生院发热诊室"),
                ("kind", "room"),
                ("region_code", OWN),
                ("risk", "high"),
                ("hospital", "石家庄市第五医院"),
                ("site_id", ""),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let board = location(&added).split('?').next().unwrap().to_string();
    let clinic_id = board.rsplit('/').next().unwrap().to_string();
    // A bad form comes back with the field named.
    let bad = server
        .submit_form(
            &commander,
            "/warning/clinics",
            "/warning/clinics",
            &[
                ("name", "某诊室"),
                ("kind", "room"),
                ("region_code", OWN),
                ("risk", "medium"),
                ("hospital", "某医院"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("风险等级"));

    server.add_user("zc_clinic", Role::Clinic, OWN).await;
    let staff = server.login("zc_clinic").await;
    let (status, page) = server.get_text(&staff, &board).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"viewport\"") && page.contains("id=\"patient-form\""));

    // An invalid ID: registered by name and phone (首诊负责制), flagged, never refused.
    let key = "web-test-1";
    let registered = server
        .submit_form(
            &staff,
            &board,
            &format!("/warning/clinics/{clinic_id}/patients"),
            &[
                ("request_key", key),
                ("id_type", "mainland_id"),
                ("id_number", "130109199001011230"),
                ("name", "无证患者"),
                ("phone", "13912345678"),
                ("temperature", "38.7"),
                ("green_code", "1"),
            ],
        )
        .await;
    assert_eq!(registered.status(), 303);
    let to = location(&registered);
    assert!(to.contains("saved=patient_flagged"), "{to}");
    let visit = to.split("visit=").nth(1).unwrap().to_string();
    let (_, page) = server.get_text(&staff, &to).await;
    assert!(page.contains("无有效证件"), "flagged on the board");
    assert!(
        page.contains("139****5678") && !page.contains("13912345678"),
        "phone masked"
    );
    // Without a phone, a patient without a valid ID comes back with the field named.
    let no_phone = server
        .submit_form(
            &staff,
            &board,
            &format!("/warning/clinics/{clinic_id}/patients"),
            &[
                ("request_key", "web-test-2"),
                ("id_number", "1234"),
                ("name", "某"),
            ],
        )
        .await;
    assert_eq!(no_phone.status(), 422);
    assert!(no_phone.text().await.unwrap().contains("联系电话"));

    for action in ["receive", "screen"] {
        let r = step(&server, &staff, &board, &visit, &[("action", action)]).await;
        assert_eq!(r.status(), 303, "{action}");
    }
    let tube = TubeBarcode::from_serial(13_010_911_001)
        .unwrap()
        .to_string();
    let r = step(
        &server,
        &staff,
        &board,
        &visit,
        &[("action", "pcr_taken"), ("tube", &tube)],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = step(&server, &staff, &board, &visit, &[("action", "observe")]).await;
    assert_eq!(r.status(), 303);

    // Release before the result at a high-risk clinic: refused with the reason, nothing written.
    let audits = fangkong_testkit::world::audit_rows(&server.app).await.len();
    let refused = step(&server, &staff, &board, &visit, &[("action", "release")]).await;
    assert_eq!(refused.status(), 409);
    let body = refused.text().await.unwrap();
    assert!(body.contains("须留观至核酸结果"), "{body}");
    assert_eq!(
        fangkong_testkit::world::audit_rows(&server.app).await.len(),
        audits
    );
    let (_, page) = server.get_text(&staff, &board).await;
    let observation = page.split("id=\"stage-observation\"").nth(1).unwrap();
    let observation = observation.split("id=\"stage-referred\"").next().unwrap();
    assert!(
        observation.contains(&format!("id=\"visit-{visit}\"")),
        "still in observation"
    );

    // The clinic types the result of a tube outside the lab flow; then the patient leaves.
    let r = step(
        &server,
        &staff,
        &board,
        &visit,
        &[("action", "pcr_result"), ("result", "negative")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = step(&server, &staff, &board, &visit, &[("action", "release")]).await;
    assert_eq!(r.status(), 303);

    // Another township's clinic staff: not found, nothing written.
    server.add_user("lz_clinic", Role::Clinic, OTHER).await;
    let stranger = server.login("lz_clinic").await;
    let (status, _) = server.get_text(&stranger, &board).await;
    assert_eq!(status, 404);
    let (_, own_list) = server.get_text(&stranger, "/warning/clinics").await;
    let csrf = csrf_of(&own_list);
    let audits = fangkong_testkit::world::audit_rows(&server.app).await.len();
    let r = server
        .post_form(
            &stranger,
            &format!("/warning/clinics/visits/{visit}"),
            &csrf,
            &[("action", "refer")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = server
        .post_form(
            &stranger,
            &format!("/warning/clinics/{clinic_id}/patients"),
            &csrf,
            &[
                ("request_key", "x-1"),
                ("name", "某"),
                ("phone", "13912345678"),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        fangkong_testkit::world::audit_rows(&server.app).await.len(),
        audits
    );

    // The commanders' list shows the day's figures.
    let (_, list) = server.get_text(&commander, "/warning/clinics").await;
    assert!(list.contains("增村镇卫生院发热诊室"));
    assert!(list.contains("离院 1"), "{list}");
}

#[tokio::test]
async fn the_api_mirrors_the_pages() {
    let server = start().await;
    let client = support::client();
    let token = |username: &'static str| {
        let client = client.clone();
        let url = server.url("/api/session");
        async move {
            let session: Value = client
                .post(url)
                .json(&json!({"username": username, "password": support::PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            session["token"].as_str().unwrap().to_string()
        }
    };
    let commander = token("commander").await;
    let added: Value = client
        .post(server.url("/api/warning/clinics"))
        .bearer_auth(&commander)
        .json(
            &json!({"name": "藁城区人民医院发热门诊", "kind": "clinic", "region_code": "130109",
            "risk": "low", "hospital": "石家庄市第五医院"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = added["id"].as_i64().expect("created");
    server.add_user("gc_clinic", Role::Clinic, "130109").await;
    let staff = token("gc_clinic").await;
    let post = |path: String, body: Value| {
        client
            .post(server.url(&path))
            .bearer_auth(&staff)
            .json(&body)
            .send()
    };
    let registered = post(
        format!("/api/warning/clinics/{id}/patients"),
        json!({"request_key": "api-1", "name": "某", "phone": "13912345678", "green_code": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(registered.status(), 200);
    let registered: Value = registered.json().await.unwrap();
    assert_eq!(registered["created"], true);
    let visit = registered["visit_id"].as_i64().unwrap();
    for action in ["receive", "screen"] {
        let r = post(
            format!("/api/warning/clinics/visits/{visit}"),
            json!({"action": action}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Release before the swab: refused with the reason as JSON.
    let refused = post(
        format!("/api/warning/clinics/visits/{visit}"),
        json!({"action": "release"}),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 409);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("尚未采集核酸"),
        "{error}"
    );
    let bad = post(
        format!("/api/warning/clinics/visits/{visit}"),
        json!({"action": "antigen", "result": "maybe"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);
    let board: Value = client
        .get(server.url(&format!("/api/warning/clinics/{id}")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let screening = board["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "screening")
        .unwrap();
    assert_eq!(screening["visits"].as_array().unwrap().len(), 1);
    let list: Value = client
        .get(server.url("/api/warning/clinics"))
        .bearer_auth(&commander)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"]["visits"], 1);
}
