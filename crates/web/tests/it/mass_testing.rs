//! Mass testing over real HTTP: a commander opens a round over one village, a sampler binds tubes
//! through the sampling API, a lab uploads results, the pool's people become recheck tasks, the grid
//! page lists who is missing, boxes move, a resident sees their own results; every page renders.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support;

use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::role::Role;
use serde_json::{Value, json};
use support::{TestServer, csrf_of, links, start};

/// A person of the register, as the sampler's scanner reads them.
#[derive(Clone, Debug)]
struct Person {
    id: i64,
    id_type: String,
    id_number: String,
    name: String,
}

/// A round over the grid worker's village with one site of two tables.
struct Round {
    id: i64,
    site: i64,
    village: String,
    /// The first barcodes issued to the round, in order.
    tubes: Vec<String>,
}

/// Residents of the grid worker's grid, in register order.
async fn grid_people(server: &TestServer, count: i64) -> Vec<Person> {
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, count)
        .await
        .unwrap()
        .into_iter()
        .map(|r| Person {
            id: r.id,
            id_type: r.id_type,
            id_number: r.id_number.into(),
            name: r.name.into(),
        })
        .collect()
}

/// The commander opens a 5-in-1 area round over the grid worker's village through the page form and
/// sets up a sampling site there.
async fn open_round(server: &TestServer, commander: &reqwest::Client) -> Round {
    let (status, page) = server.get_text(commander, "/testing").await;
    assert_eq!(status, 200);
    assert!(page.contains("开启新一轮检测"));
    let village = server.own_grid[..12].to_string();
    let opened = server
        .post_form(
            commander,
            "/testing/rounds",
            &csrf_of(&page),
            &[
                ("name", "第1轮区域核酸检测"),
                ("kind", "area"),
                ("region_code", village.as_str()),
                ("pool_size", "5"),
                ("tubes", "200"),
            ],
        )
        .await;
    assert_eq!(opened.status(), 303, "{}", opened.text().await.unwrap());
    let location = opened.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location
        .trim_start_matches("/testing/rounds/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (status, round_page) = server.get_text(commander, &location).await;
    assert_eq!(status, 200);
    assert!(round_page.contains("第1轮区域核酸检测") && round_page.contains("已开启本轮检测"));
    let ranges = &round_page[round_page.find("id=\"tube-ranges\"").unwrap()..];
    let first = ranges
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    let serial = TubeBarcode::parse(first)
        .expect("an issued barcode")
        .serial();
    let tubes = (0..20)
        .map(|k| TubeBarcode::from_serial(serial + k).unwrap().to_string())
        .collect();

    let plan = format!("/testing/rounds/{id}/plan?region={village}");
    let (status, plan_page) = server.get_text(commander, &plan).await;
    assert_eq!(status, 200);
    assert!(plan_page.contains("建议采样台"));
    let created = server
        .post_form(
            commander,
            &format!("/testing/rounds/{id}/sites?region={village}"),
            &csrf_of(&plan_page),
            &[
                ("name", "村委会广场"),
                ("region_code", village.as_str()),
                ("tables", "2"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let site = location
        .split("site=")
        .nth(1)
        .unwrap()
        .parse()
        .expect("site id");
    Round {
        id,
        site,
        village,
        tubes,
    }
}

fn bind(scan_id: &str, tube: &str, person: &Person) -> Value {
    json!({
        "scan_id": scan_id,
        "tube": tube,
        "action": "bind",
        "purpose": "screen",
        "id_type": person.id_type,
        "id_number": person.id_number,
        "name": "",
        "scanned_at": null
    })
}

fn close(scan_id: &str, tube: &str) -> Value {
    json!({"scan_id": scan_id, "tube": tube, "action": "close"})
}

/// Posts scans from table 1 with the page's session and CSRF header, as the binding page does.
async fn post_scans(
    server: &TestServer,
    client: &reqwest::Client,
    csrf: &str,
    round: &Round,
    scans: Vec<Value>,
) -> (u16, Value) {
    let response = client
        .post(server.url("/api/sampling/scans"))
        .header("x-csrf-token", csrf)
        .json(&json!({
            "round_id": round.id,
            "site_id": round.site,
            "table_no": 1,
            "scans": scans
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The sampler's session and the CSRF token of the binding page.
async fn sampler(server: &TestServer, round: &Round) -> (reqwest::Client, String) {
    let client = server.login_as("sampler", Role::Sampler, "130109").await;
    let (status, page) = server
        .get_text(&client, &format!("/testing/sites/{}/tables/1", round.site))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("扫描试管条码") && page.contains("/assets/sampling.js"));
    // The page knows the round's pool size before the first swab (5-in-1 here).
    assert!(
        page.contains(r#"data-pool="5""#),
        "the binding page carries the pool size"
    );
    // A sampler typing in a paper backlog gives the swab time (补录), labelled in words.
    assert!(
        page.contains("实际采样时间（补录纸质登记时填写，留空为现在）")
            && page.contains(r#"<input type="datetime-local" id="occurred-at">"#),
        "the binding page offers the swab time of a backlog"
    );
    (client, csrf_of(&page))
}

/// Five people in the first (5-in-1) tube, which closes itself; two in the second, closed by hand.
async fn bind_two_tubes(
    server: &TestServer,
    client: &reqwest::Client,
    csrf: &str,
    round: &Round,
    people: &[Person],
) {
    let mut scans: Vec<Value> = people[..5]
        .iter()
        .enumerate()
        .map(|(i, p)| bind(&format!("t1-{i}"), &round.tubes[0], p))
        .collect();
    scans.push(bind("t2-0", &round.tubes[1], &people[5]));
    scans.push(bind("t2-1", &round.tubes[1], &people[6]));
    scans.push(close("t2-close", &round.tubes[1]));
    let (status, results) = post_scans(server, client, csrf, round, scans).await;
    assert_eq!(status, 200, "{results}");
    let outcomes: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "bound", "bound", "bound", "bound", "bound", "bound", "bound", "closed"
        ],
        "{results}"
    );
}

async fn grid_coverage(server: &TestServer, client: &reqwest::Client, round: &Round) -> Value {
    client
        .get(server.url(&format!(
            "/api/rounds/{}/grids/{}",
            round.id, server.own_grid
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sampler_binds_a_pooled_tube_and_every_mistake_is_answered_in_chinese() {
    let server = start().await;
    let commander = server.login("commander").await;
    let round = open_round(&server, &commander).await;
    let people = grid_people(&server, 8).await;
    let (client, csrf) = sampler(&server, &round).await;
    let before = grid_coverage(&server, &client, &round).await;
    assert_eq!(before["line"]["sampled"], 0);
    let target = before["line"]["target"].as_i64().unwrap();
    assert!(target >= 8, "the grid has people to sample");

    let tube = &round.tubes[0];
    let mut scans: Vec<Value> = people[..5]
        .iter()
        .enumerate()
        .map(|(i, p)| bind(&format!("s-{i}"), tube, p))
        .collect();
    // A typo in the barcode: one digit changed, so the check digit fails.
    let mut typo = tube.clone().into_bytes();
    typo[3] = if typo[3] == b'9' { b'0' } else { typo[3] + 1 };
    scans.push(bind(
        "s-typo",
        &String::from_utf8(typo).unwrap(),
        &people[5],
    ));
    // The first person again, into another tube.
    scans.push(bind("s-again", &round.tubes[1], &people[0]));
    let (status, results) = post_scans(&server, &client, &csrf, &round, scans.clone()).await;
    assert_eq!(status, 200, "{results}");
    let results = results.as_array().unwrap().clone();
    for (i, r) in results[..5].iter().enumerate() {
        assert_eq!(r["outcome"], "bound", "{r}");
        assert_eq!(r["ok"], true);
        assert_eq!(r["tube_members"], i as i64 + 1);
        assert_eq!(r["capacity"], 5);
        assert!(r["message"].as_str().unwrap().contains("已绑定"));
    }
    assert_eq!(results[3]["tube_closed"], false);
    assert_eq!(
        results[4]["tube_closed"], true,
        "the fifth person fills the 5-in-1 tube, which closes itself"
    );
    assert!(results[4]["message"].as_str().unwrap().contains("自动封管"));
    assert_eq!(results[5]["outcome"], "rejected");
    assert_eq!(results[5]["code"], "malformed_barcode");
    assert!(
        results[5]["message"]
            .as_str()
            .unwrap()
            .contains("校验不通过"),
        "{}",
        results[5]
    );
    assert_eq!(results[6]["code"], "already_sampled");
    assert!(
        results[6]["message"]
            .as_str()
            .unwrap()
            .contains("不要重复采样")
    );

    // The table lost the answer and sends the same scans again: nothing is bound twice.
    let (status, again) = post_scans(&server, &client, &csrf, &round, scans[..5].to_vec()).await;
    assert_eq!(status, 200);
    for r in again.as_array().unwrap() {
        assert_eq!(r["outcome"], "already_recorded", "{r}");
    }
    let after = grid_coverage(&server, &client, &round).await;
    assert_eq!(after["line"]["sampled"], 5, "five people, counted once");
    let missing: Vec<i64> = after["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["resident_id"].as_i64().unwrap())
        .collect();
    assert!(!missing.contains(&people[0].id) && missing.contains(&people[5].id));

    // A sixth person cannot join the full tube.
    let (_, full) = post_scans(
        &server,
        &client,
        &csrf,
        &round,
        vec![bind("s-full", tube, &people[5])],
    )
    .await;
    assert_eq!(full[0]["ok"], false);
    assert!(
        ["tube_full", "tube_closed"].contains(&full[0]["code"].as_str().unwrap()),
        "{full}"
    );

    // Without the page's CSRF token a cookie session cannot post scans.
    let forged = client
        .post(server.url("/api/sampling/scans"))
        .json(&json!({"round_id": round.id, "site_id": round.site, "table_no": 1, "scans": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 422);

    // The grid worker's jurisdiction is one grid; the site serves the whole village.
    let gw = server.login("gw").await;
    let (_, gw_page) = server.get_text(&gw, "/testing").await;
    let (status, refused) = post_scans(
        &server,
        &gw,
        &csrf_of(&gw_page),
        &round,
        vec![bind("gw-1", &round.tubes[2], &people[7])],
    )
    .await;
    // A site of another grid does not exist for the grid worker (404, like a missing site).
    assert_eq!(status, 404);
    assert_eq!(refused["error"], "not_found");
    assert_eq!(refused["message"], "没有找到该采样点");

    // The command view counts the swabs, by hour too.
    let overview: Value = commander
        .get(server.url(&format!(
            "/api/rounds/{}?region={}",
            round.id, round.village
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["totals"]["sampled"], 5);
    let hourly: i64 = overview["hourly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[1].as_i64().unwrap())
        .sum();
    assert_eq!(hourly, 5);
    let (_, round_page) = server
        .get_text(&commander, &format!("/testing/rounds/{}", round.id))
        .await;
    assert!(round_page.contains("<b id=\"sampled\">5</b>"));
    assert!(
        round_page.contains("id=\"hourly-chart\"") && round_page.contains("<rect"),
        "the server draws the swabs-per-hour chart"
    );
}

#[tokio::test]
async fn a_lab_upload_reports_a_positive_pool_an_unknown_tube_and_a_conflict_and_the_pool_is_rechecked()
 {
    let server = start().await;
    let commander = server.login("commander").await;
    let round = open_round(&server, &commander).await;
    let people = grid_people(&server, 7).await;
    let (client, csrf) = sampler(&server, &round).await;
    bind_two_tubes(&server, &client, &csrf, &round, &people).await;

    let lab = server.login("lab").await;
    let (status, page) = server.get_text(&lab, "/testing/results").await;
    assert_eq!(status, 200);
    let (status, template) = server.get_text(&lab, "/testing/results/template.csv").await;
    assert_eq!(status, 200);
    assert!(template.contains("管码,结果,检测时间,检测机构,CT值"));
    let never_used = round.tubes[19].clone();
    let csv = format!(
        "管码,结果,检测时间,检测机构\n{},阳性,2022-11-20 09:00,测试检测所\n{never_used},阴性,2022-11-20 09:00,测试检测所\n{},阴性,2022-11-20 09:05,测试检测所\n",
        round.tubes[0], round.tubes[1]
    );
    let upload = |csv: String, csrf: String| {
        reqwest::multipart::Form::new().text("csrf", csrf).part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("结果.csv"),
        )
    };
    let response = lab
        .post(server.url("/testing/results"))
        .multipart(upload(csv, csrf_of(&page)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report = response.text().await.unwrap();
    assert!(report.contains("<b id=\"rows-total\">3</b>"), "{report}");
    assert!(report.contains("<b id=\"applied\">2</b>"));
    assert!(report.contains("<b id=\"positives\" class=\"bad\">1</b>"));
    assert!(report.contains(&never_used) && report.contains("系统中没有这个管码"));

    // The same file again changes nothing; a different result for a tube is kept as a problem.
    let again = format!(
        "管码,结果,检测时间\n{},阳性,2022-11-20 09:00\n{},阳性,2022-11-20 09:30\n",
        round.tubes[0], round.tubes[1]
    );
    let response = lab
        .post(server.url("/testing/results"))
        .multipart(upload(again, csrf_of(&page)))
        .send()
        .await
        .unwrap();
    let report = response.text().await.unwrap();
    assert!(report.contains("<b id=\"unchanged\">1</b>"), "{report}");
    assert!(report.contains("<b id=\"applied\">0</b>"));
    assert!(report.contains("两者不一致"), "the conflict is explained");
    let upload_page = links(&report, "/testing/results/")
        .into_iter()
        .find(|l| {
            l.trim_start_matches("/testing/results/")
                .parse::<i64>()
                .is_ok()
        })
        .expect("a link to an upload");
    let (status, detail) = server.get_text(&lab, &upload_page).await;
    assert_eq!(status, 200);
    assert!(detail.contains("行号"));

    // The positive 5-in-1 pool: its five people owe a single-tube recheck.
    let (status, rechecks) = server
        .get_text(
            &commander,
            &format!("/testing/rechecks?region={}&status=pending", round.village),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        rechecks.contains("<b id=\"recheck-count\">5</b>"),
        "{rechecks}"
    );
    for p in &people[..5] {
        assert!(rechecks.contains(&format!("/residents/{}\">{}</a>", p.id, p.name)));
    }
    assert!(!rechecks.contains(&format!("/residents/{}\"", people[5].id)));
    let api: Value = commander
        .get(server.url(&format!(
            "/api/rechecks?region={}&status=pending",
            round.village
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api.as_array().unwrap().len(), 5);
    assert_eq!(api[0]["reason_label"], "混采阳性复核");

    // Rechecking one of them into a pooled tube is refused; a fresh single tube takes them.
    let (_, pooled) = post_scans(
        &server,
        &client,
        &csrf,
        &round,
        vec![bind("r-pool", &round.tubes[2], &people[0])],
    )
    .await;
    assert_eq!(pooled[0]["code"], "recheck_pending", "{pooled}");
    let mut recheck = bind("r-single", &round.tubes[3], &people[0]);
    recheck["purpose"] = json!("recheck");
    let (_, single) = post_scans(&server, &client, &csrf, &round, vec![recheck]).await;
    assert_eq!(single[0]["outcome"], "bound", "{single}");

    // Results also come as JSON rows and FHIR documents from a lab's system (bearer token).
    let session: Value = support::client()
        .post(server.url("/api/session"))
        .json(&json!({"username": "lab", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    let rows: Value = support::client()
        .post(server.url("/api/lab/results"))
        .bearer_auth(token)
        .json(
            &json!([{"tube": round.tubes[1], "result": "阳性"}, {"tube": "123", "result": "阴性"}]),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rows["upload"]["rows_total"], 2);
    assert_eq!(rows["upload"]["problems"], 2, "{rows}");
    let observation = json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
        "specimen": {"identifier": {"value": round.tubes[3]}},
        "effectiveDateTime": "2022-11-20 09:40:00",
        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260415000"}]}
    });
    let wrong_type = support::client()
        .post(server.url("/api/lab/fhir"))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body(observation.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 422);
    let fhir: Value = support::client()
        .post(server.url("/api/lab/fhir"))
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .body(observation.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fhir["upload"]["applied"], 1, "{fhir}");
    let (_, negative) = server
        .get_text(
            &commander,
            &format!("/testing/rechecks?region={}&status=negative", round.village),
        )
        .await;
    assert!(
        negative.contains(&format!("/residents/{}\"", people[0].id)),
        "the single-tube negative clears the recheck"
    );
}

#[tokio::test]
async fn the_grid_page_lists_who_is_missing_by_household_and_an_exemption_moves_them() {
    let server = start().await;
    let commander = server.login("commander").await;
    let round = open_round(&server, &commander).await;
    let people = grid_people(&server, 7).await;
    let (client, csrf) = sampler(&server, &round).await;
    bind_two_tubes(&server, &client, &csrf, &round, &people).await;

    let gw = server.login("gw").await;
    let path = format!("/testing/rounds/{}/grids/{}", round.id, server.own_grid);
    let (status, page) = server.get_text(&gw, &path).await;
    assert_eq!(status, 200);
    let missing =
        &page[page.find("id=\"missing-list\"").unwrap()..page.find("id=\"exempted\"").unwrap()];
    assert!(
        missing.contains("href=\"/households/"),
        "grouped by household"
    );
    assert!(!missing.contains(&format!("/residents/{}\"", people[0].id)));
    let (lower, upper) = (server.own_grid.clone(), format!("{}:", server.own_grid));
    let unsampled = server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), people[6].id, 1)
        .await
        .unwrap()
        .remove(0);
    assert!(missing.contains(&format!("/residents/{}\"", unsampled.id)));
    assert!(missing.contains(unsampled.name.as_str()));
    assert!(page.contains("打印未采样名单"));

    // Away without proof: refused, and what was chosen stays chosen.
    let refused = server
        .post_form(
            &gw,
            &format!("{path}/exemptions"),
            &csrf_of(&page),
            &[
                ("resident_id", unsampled.id.to_string().as_str()),
                ("kind", "away"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("须写明证明"));
    assert!(refused.contains("<option value=\"away\" selected>"));

    let saved = server
        .post_form(
            &gw,
            &format!("{path}/exemptions"),
            &csrf_of(&page),
            &[
                ("resident_id", unsampled.id.to_string().as_str()),
                ("kind", "bedridden"),
                ("note", "上门采样"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let (_, after) = server.get_text(&gw, &path).await;
    let exempted = &after[after.find("id=\"exempted\"").unwrap()..];
    let missing =
        &after[after.find("id=\"missing-list\"").unwrap()..after.find("id=\"exempted\"").unwrap()];
    assert!(exempted.contains(&format!("/residents/{}\"", unsampled.id)));
    assert!(exempted.contains("卧床"));
    assert!(!missing.contains(&format!("/residents/{}\"", unsampled.id)));
}

#[tokio::test]
async fn a_box_is_packed_at_the_site_picked_up_and_received_by_the_lab() {
    let server = start().await;
    let commander = server.login("commander").await;
    let round = open_round(&server, &commander).await;
    let people = grid_people(&server, 8).await;
    let (client, csrf) = sampler(&server, &round).await;
    bind_two_tubes(&server, &client, &csrf, &round, &people).await;
    // A third tube stays open.
    let (_, open) = post_scans(
        &server,
        &client,
        &csrf,
        &round,
        vec![bind("open-1", &round.tubes[2], &people[7])],
    )
    .await;
    assert_eq!(open[0]["outcome"], "bound");

    let packed: Value = client
        .post(server.url(&format!("/api/sites/{}/boxes", round.site)))
        .header("x-csrf-token", &csrf)
        .json(&json!({"box": "bx-0001", "tubes": [round.tubes[0], round.tubes[1], round.tubes[2]]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(packed["packed"], 2, "{packed}");
    assert!(
        packed["problems"][0]
            .as_str()
            .unwrap()
            .contains("还没有封管")
    );

    let picked = client
        .post(server.url("/api/boxes/BX-0001/pickup"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(picked.status(), 200);
    let picked: Value = picked.json().await.unwrap();
    assert!(picked["picked_up_at"].is_i64());
    let sampler_receive = client
        .post(server.url("/api/boxes/BX-0001/receive"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(sampler_receive.status(), 403, "only a lab signs for a box");

    let lab = server.login("lab").await;
    let (status, page) = server.get_text(&lab, "/testing/boxes").await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"receive\" checked"), "a lab receives");
    let unknown = server
        .post_form(
            &lab,
            "/testing/boxes",
            &csrf_of(&page),
            &[("code", "BX-9999"), ("mode", "receive")],
        )
        .await;
    assert_eq!(unknown.status(), 404);
    let unknown = unknown.text().await.unwrap();
    assert!(unknown.contains("没有找到该转运箱") && unknown.contains("value=\"BX-9999\""));
    let received = server
        .post_form(
            &lab,
            "/testing/boxes",
            &csrf_of(&page),
            &[("code", "bx-0001"), ("mode", "receive")],
        )
        .await;
    assert_eq!(received.status(), 200);
    assert!(received.text().await.unwrap().contains("已签收"));

    let overview: Value = commander
        .get(server.url(&format!("/api/rounds/{}", round.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        overview["chain"]["received_no_result"], 2,
        "{}",
        overview["chain"]
    );
    assert_eq!(overview["chain"]["open"], 1);
    assert!(overview["boxes_in_transit"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_resident_sees_their_results_and_the_recheck_they_owe_and_reports_an_antigen_test() {
    let server = start().await;
    let commander = server.login("commander").await;
    let round = open_round(&server, &commander).await;
    let people = grid_people(&server, 7).await;
    let (client, csrf) = sampler(&server, &round).await;
    bind_two_tubes(&server, &client, &csrf, &round, &people).await;
    let lab = server.login("lab").await;
    let (_, page) = server.get_text(&lab, "/testing/results").await;
    let csv = format!(
        "管码,结果\n{},阳性\n{},阴性\n",
        round.tubes[0], round.tubes[1]
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("r.csv"),
        );
    let uploaded = lab
        .post(server.url("/testing/results"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);

    let pooled = server
        .add_user("resident1", Role::Resident, &server.own_grid)
        .await;
    server
        .app
        .store_for_tools()
        .link_user_to_resident(pooled, people[0].id)
        .await
        .unwrap();
    let resident = server.login("resident1").await;
    let (status, home) = server.get_text(&resident, "/").await;
    assert_eq!(status, 200);
    assert!(home.contains("href=\"/me/results\""));
    let (status, mine) = server.get_text(&resident, "/me/results").await;
    assert_eq!(status, 200);
    assert!(mine.contains("管控中：请等待单管复采"), "{mine}");
    assert!(mine.contains(&round.tubes[0]) && mine.contains("阳性") && mine.contains("5混1"));
    let api: Value = resident
        .get(server.url("/api/me/results"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["pending_rechecks"], 1);
    let (status, _) = server.get_text(&resident, "/testing").await;
    assert_eq!(status, 403, "a resident sees no rounds");

    let (_, form_page) = server.get_text(&resident, "/me/antigen").await;
    let no_result = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&form_page))
        .text("result", "")
        .text("tested_at", "2022-11-20T09:30");
    let refused = resident
        .post(server.url("/me/antigen"))
        .multipart(no_result)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("请选择抗原结果") && refused.contains("value=\"2022-11-20T09:30\""));
    let report = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&form_page))
        .text("result", "negative")
        .text("tested_at", "2022-11-20T09:30")
        .part(
            "photo",
            reqwest::multipart::Part::bytes(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])
                .file_name("card.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let saved = resident
        .post(server.url("/me/antigen"))
        .multipart(report)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let (_, mine) = server.get_text(&resident, "/me/results").await;
    let antigen = &mine[mine.find("id=\"my-antigen\"").unwrap()..];
    assert!(antigen.contains("2022-11-20 09:30") && antigen.contains("阴性"));

    // A grid worker reports for a resident of the grid; the list shows it with the photo flag off.
    let gw = server.login("gw").await;
    let (_, gw_page) = server.get_text(&gw, "/testing/antigen").await;
    let created = gw
        .post(server.url("/api/antigen"))
        .header("x-csrf-token", csrf_of(&gw_page))
        .json(&json!({"resident_id": people[6].id.to_string(), "result": "positive"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let (_, list) = server.get_text(&gw, "/testing/antigen").await;
    let table = &list[list.find("id=\"antigen-reports\"").unwrap()..];
    assert!(table.contains(&format!("/residents/{}\"", people[6].id)) && table.contains("阳性"));
    assert!(
        list.contains("id=\"antigen-count\">共 2 份</small>"),
        "the heading counts the reports: {list}"
    );
}

#[tokio::test]
async fn every_mass_testing_page_renders_in_chinese_and_keeps_a_mistyped_form() {
    let server = start().await;
    let commander = server.login("commander").await;
    let round = open_round(&server, &commander).await;
    let township = &server.own_grid[..9];
    let pages = [
        ("/testing", "检测轮次"),
        (&*format!("/testing/rounds/{}", round.id), "样本流转"),
        (
            &*format!("/testing/rounds/{}?region={township}", round.id),
            "下级进度",
        ),
        (
            &*format!("/testing/rounds/{}?region={}", round.id, server.own_grid),
            "查看本网格未采样名单",
        ),
        (&*format!("/testing/rounds/{}/plan", round.id), "采样点规划"),
        (
            &*format!("/testing/rounds/{}/grids/{}", round.id, server.own_grid),
            "未采样人员",
        ),
        (&*format!("/testing/sites/{}", round.site), "装箱"),
        (
            &*format!("/testing/sites/{}/tables/2", round.site),
            "扫描试管条码",
        ),
        ("/testing/rechecks", "复核任务"),
        ("/testing/positives", "单管阳性"),
        ("/testing/results", "核酸检测结果上传"),
        ("/testing/boxes", "转运箱交接"),
        ("/testing/key-groups", "逾期未检"),
        ("/testing/key-groups?group=medical&schedule=1", "医务人员"),
        ("/testing/antigen", "抗原自测上报"),
        ("/assets/sampling.js", "/api/sampling/scans"),
    ];
    for (path, text) in pages {
        let (status, body) = server.get_text(&commander, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains(text), "{path} shows {text}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} references an outside host"
        );
    }
    let (_, home) = server.get_text(&commander, "/").await;
    assert!(home.contains("href=\"/testing\"") && home.contains("核酸检测"));

    // The planner with an impossible norm says so and keeps the number typed.
    let (status, plan) = server
        .get_text(
            &commander,
            &format!("/testing/rounds/{}/plan?people_per_table=5", round.id),
        )
        .await;
    assert_eq!(status, 200);
    assert!(plan.contains("每个采样台服务人数应在100到3000之间"));
    assert!(plan.contains("name=\"people_per_table\" value=\"5\""));

    // A round with an impossible pool size comes back with everything typed.
    let (_, list) = server.get_text(&commander, "/testing").await;
    let refused = server
        .post_form(
            &commander,
            "/testing/rounds",
            &csrf_of(&list),
            &[
                ("name", "第2轮全员检测"),
                ("kind", "whole"),
                ("region_code", "130109"),
                ("pool_size", "3"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("混采人数只能是"));
    assert!(refused.contains("value=\"第2轮全员检测\""));

    // Close the round from its page: binding is then refused for the whole batch.
    let (_, round_page) = server
        .get_text(&commander, &format!("/testing/rounds/{}", round.id))
        .await;
    let closed = server
        .post_form(
            &commander,
            &format!("/testing/rounds/{}/close", round.id),
            &csrf_of(&round_page),
            &[],
        )
        .await;
    assert_eq!(closed.status(), 303);
    let (_, round_page) = server
        .get_text(&commander, &format!("/testing/rounds/{}", round.id))
        .await;
    assert!(round_page.contains("已结束") && !round_page.contains("id=\"close-round\""));
}

/// `POST /api/rounds` with a bad `tubes` value is refused naming the field and leaves no round
/// behind; the same body with a good count opens exactly one round (issue 12).
#[tokio::test]
async fn a_round_with_a_bad_tube_count_is_refused_and_leaves_nothing_behind() {
    let server = start().await;
    let session: Value = support::client()
        .post(server.url("/api/session"))
        .json(&json!({"username": "commander", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let rounds = || async {
        let list: Value = support::client()
            .get(server.url("/api/rounds"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list.as_array().expect("a list of rounds").len()
    };
    let before = rounds().await;
    let body = |tubes: &str| {
        json!({"name": "藁城区第9轮全员核酸检测", "kind": "whole", "region_code": "130109",
               "pool_size": "10", "tubes": tubes})
    };
    for bad in ["十支", "-5", "50000001"] {
        let response = support::client()
            .post(server.url("/api/rounds"))
            .bearer_auth(&token)
            .json(&body(bad))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "{bad}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["message"].as_str().unwrap().contains("下发试管数"),
            "{bad}: {error}"
        );
        assert_eq!(rounds().await, before, "{bad}: no round was left behind");
    }
    let created = support::client()
        .post(server.url("/api/rounds"))
        .bearer_auth(&token)
        .json(&body("100"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(rounds().await, before + 1);
}
