//! The supply whitelist and passes over real HTTP (SQLite): the county's supply office whitelists
//! an enterprise with its vehicle and driver and issues a vehicle pass (the A4 green page with its
//! QR, personal data masked); checkpoint staff check vehicles on their phone page and through the
//! API — through, and refused for a wrong plate, a wrong route and a forged number; bad input
//! refused in words; another township's office does not see the enterprise.

use crate::support;

use fangkong_app::checkpoints::CheckpointForm;
use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, start};

const COUNTY: &str = "130109";

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

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The id at the end of a redirect's path (before any query).
fn id_in(location: &str) -> i64 {
    location
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_county_issues_a_pass_and_the_checkpoint_checks_vehicles_on_the_phone_and_api() {
    let server = start().await;
    let township = server.own_grid[..9].to_string();
    let supply = server.login_as("bg", Role::Supply, COUNTY).await;
    let (status, page) = server.get_text(&supply, "/supplies/passes").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/supplies/passes\""), "nav link");
    let csrf = csrf_of(&page);

    // The whitelist: an enterprise, its lorry (tractor plate), its driver with a negative report.
    let registered = server
        .post_form(
            &supply,
            "/supplies/passes/enterprises",
            &csrf,
            &[
                ("name", "增村镇蔬菜配送中心"),
                ("kind", "distribution_centre"),
                ("region_code", &township),
                ("credit_code", "91130109MA0ABCDE1X"),
                ("certificate_no", "保供-001"),
                ("contact_phone", "13912345678"),
            ],
        )
        .await;
    assert_eq!(registered.status(), 303);
    let enterprise = id_in(&location(&registered));
    let base = format!("/supplies/passes/enterprises/{enterprise}");
    let vehicle = server
        .post_form(
            &supply,
            &format!("{base}/vehicles"),
            &csrf,
            &[
                ("plate", "冀A·D1234"),
                ("kind", "articulated"),
                ("licence_no", "XSZ-1"),
            ],
        )
        .await;
    assert_eq!(vehicle.status(), 303);
    let tested = (server.app.now() - chrono::Duration::hours(6))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let driver = server
        .post_form(
            &supply,
            &format!("{base}/people"),
            &csrf,
            &[
                ("role", "driver"),
                ("name", "王建国"),
                ("id_number", "130109198001011237"),
                ("phone", "13812345678"),
                ("document_no", "JSZ-1"),
                ("negative_at", &tested),
            ],
        )
        .await;
    assert_eq!(driver.status(), 303);
    let (_, detail) = server.get_text(&supply, &base).await;
    assert!(detail.contains("冀AD1234"));
    assert!(!detail.contains("130109198001011237"), "the ID is masked");
    let ids: Vec<&str> = ["vehicles", "people"]
        .iter()
        .map(|table| {
            let at = detail.find(&format!("id=\"{table}\"")).unwrap();
            let row = detail[at..].find("<tr><td>").unwrap() + at + "<tr><td>".len();
            detail[row..].split('<').next().unwrap()
        })
        .collect();
    let today = server.app.today();
    let until = (today + chrono::Duration::days(3)).to_string();
    let today = today.to_string();
    let issue = |origin: &'static str| {
        vec![
            ("kind", "vehicle"),
            ("vehicle_id", ids[0]),
            ("person_ids", ids[1]),
            ("goods", "living"),
            ("origin", origin),
            ("destination", "110115"),
            ("valid_from", today.as_str()),
            ("valid_until", until.as_str()),
        ]
    };
    // A bad route comes back with the form and the reason.
    let bad = server
        .post_form(&supply, &format!("{base}/passes"), &csrf, &{
            let mut f = issue("130109");
            f[4] = ("origin", "130109110");
            f
        })
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("县"));
    let issued = server
        .post_form(&supply, &format!("{base}/passes"), &csrf, &issue("130109"))
        .await;
    assert_eq!(issued.status(), 303);
    let pass = id_in(&location(&issued));
    let other_route = server
        .post_form(&supply, &format!("{base}/passes"), &csrf, &issue("130102"))
        .await;
    assert_eq!(other_route.status(), 303);
    let (status, print) = server
        .get_text(&supply, &format!("/supplies/passes/{pass}"))
        .await;
    assert_eq!(status, 200);
    assert!(print.contains("130109000000"), "the number");
    assert!(print.contains("#80ff80"), "green, C50 Y50 K0");
    assert!(print.contains("size: A4"));
    assert!(print.contains("<svg"), "the electronic pass's QR");
    assert!(!print.contains("130109198001011237"));

    // Another township's office does not see the enterprise.
    let stranger = server
        .login_as("bg2", Role::Supply, &server.other_township)
        .await;
    let (status, _) = server.get_text(&stranger, &base).await;
    assert_eq!(status, 404);

    // The 环京 checkpoint of the county; its staff check on the phone page.
    let ring = server
        .app
        .create_checkpoint(
            &fangkong_seed::seed_actor(),
            &CheckpointForm {
                name: "G4京港澳高速环京检查站".into(),
                kind: "beijing_ring".into(),
                line: String::new(),
                region_code: COUNTY.into(),
            },
        )
        .await
        .unwrap();
    let kakou = server.login_as("kk", Role::Checkpoint, COUNTY).await;
    let (status, check) = server
        .get_text(&kakou, &format!("/checkpoints/{ring}"))
        .await;
    assert_eq!(status, 200);
    assert!(check.contains(&format!("/checkpoints/{ring}/vehicles")));
    let path = format!("/checkpoints/{ring}/vehicles");
    let (status, form) = server.get_text(&kakou, &path).await;
    assert_eq!(status, 200);
    let key = |html: &str| {
        let marker = "name=\"passage_key\" value=\"";
        let at = html.find(marker).unwrap() + marker.len();
        html[at..].split('"').next().unwrap().to_string()
    };
    let through = server
        .post_form(
            &kakou,
            &path,
            &csrf_of(&form),
            &[
                ("passage_key", &key(&form)),
                ("pass", "130109000000"),
                ("plate", "冀AD1234"),
                ("temperature", "36.4"),
            ],
        )
        .await;
    assert_eq!(through.status(), 200);
    let through = through.text().await.unwrap();
    assert!(through.contains("decision ok"), "{through}");
    assert!(through.contains("两码一证有效"));
    let wrong_plate = server
        .post_form(
            &kakou,
            &path,
            &csrf_of(&through),
            &[
                ("passage_key", &key(&through)),
                ("pass", "130109000000"),
                ("plate", "冀AD9999"),
                ("temperature", "36.4"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(wrong_plate.contains("车证不符"));
    // A typo is answered in words, with the form as typed.
    let typo = server
        .post_form(
            &kakou,
            &path,
            &csrf_of(&wrong_plate),
            &[
                ("passage_key", &key(&wrong_plate)),
                ("pass", "13010900"),
                ("plate", "冀AD1234"),
            ],
        )
        .await;
    assert_eq!(typo.status(), 422);
    assert!(typo.text().await.unwrap().contains("12位"));

    // The API: the QR as the pass API gives it; the other pass's route misses the county.
    let bearer = token(&server, "kk").await;
    let office = token(&server, "bg").await;
    let detail: Value = support::client()
        .get(server.url(&format!("/api/supplies/passes/{pass}")))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let qr = detail["qr_text"].as_str().unwrap().to_string();
    assert!(qr.starts_with("FP1:"));
    let api = |body: Value| {
        let bearer = bearer.clone();
        let url = server.url(&format!("/api/checkpoints/{ring}/vehicles"));
        async move {
            let response = support::client()
                .post(url)
                .bearer_auth(&bearer)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, ok) =
        api(json!({"passage_key": "a1", "pass": qr, "plate": "冀AD1234", "temperature": "36.6"}))
            .await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["decision"], "pass", "{ok}");
    let (_, route) = api(json!({"passage_key": "a2", "pass": "130109000001", "plate": "冀AD1234", "temperature": "36.6"})).await;
    assert_eq!(route["decision"], "refuse");
    assert!(route["reasons"].to_string().contains("线路不符"), "{route}");
    let (_, forged) = api(json!({"passage_key": "a3", "pass": "130109123456", "plate": "冀AD1234", "temperature": "36.6"})).await;
    assert_eq!(forged["decision"], "refuse");
    assert!(forged["reasons"].to_string().contains("伪造"));
    let (status, _) =
        api(json!({"passage_key": "a4", "pass": "FP1:???", "plate": "不是车牌"})).await;
    assert_eq!(status, 422);
    let list: Value = support::client()
        .get(server.url("/api/supplies/passes"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
}
