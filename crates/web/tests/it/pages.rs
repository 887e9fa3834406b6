//! The web shell over real HTTP: login, drill-down, search, reveal, jurisdiction, import, the API.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support;

use support::{csrf_of, links, start};

#[tokio::test]
async fn a_wrong_password_is_refused_in_chinese_and_sets_no_session() {
    let server = start().await;
    let client = support::client();
    let response = client
        .post(server.url("/login"))
        .form(&[("username", "commander"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("set-cookie").is_none());
    assert!(response.text().await.unwrap().contains("用户名或密码错误"));
    let (status, _) = server.get_text(&client, "/regions").await;
    assert_eq!(
        status, 303,
        "without a session pages redirect to the login page"
    );
}

#[tokio::test]
async fn a_training_instance_says_so_on_every_page_with_its_simulated_time() {
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2021, 1, 6, 1, 30, 0).unwrap();
    let server =
        support::start_on(Default::default(), fangkong_app::FixedClock::simulated(at)).await;
    let client = server.login("commander").await;
    let (status, home) = server.get_text(&client, "/").await;
    assert_eq!(status, 200);
    assert!(
        home.contains("培训演练环境") && home.contains("北京时间 2021-01-06 09:30"),
        "the band names the simulated Beijing time"
    );
    server.clock.advance(chrono::Duration::hours(2));
    let (status, later) = server.get_text(&client, "/me/password").await;
    assert_eq!(status, 200);
    assert!(later.contains("北京时间 2021-01-06 11:30"));

    let real = start().await;
    let client = real.login("commander").await;
    let (_, home) = real.get_text(&client, "/").await;
    assert!(!home.contains("sim-clock"), "a real instance shows no band");
}

#[tokio::test]
async fn a_commander_drills_down_from_the_county_to_a_grid_and_its_households() {
    let server = start().await;
    let client = server.login("commander").await;
    let (status, county) = server.get_text(&client, "/regions/130109").await;
    assert_eq!(status, 200);
    assert!(county.contains("藁城区") && county.contains("增村镇") && county.contains("廉州镇"));
    assert!(
        county.contains("<b id=\"total-residents\">3,000</b>"),
        "county total is the generated population"
    );

    let township = links(&county, "/regions/130109110")
        .into_iter()
        .next()
        .expect("link to 增村镇");
    let (_, township_page) = server.get_text(&client, &township).await;
    let village = links(&township_page, "/regions/130109110")
        .into_iter()
        .find(|l| l.len() == "/regions/".len() + 12)
        .unwrap();
    let (_, village_page) = server.get_text(&client, &village).await;
    let grid = links(&village_page, "/regions/130109110")
        .into_iter()
        .find(|l| l.len() == "/regions/".len() + 15)
        .unwrap();
    let (status, grid_page) = server.get_text(&client, &grid).await;
    assert_eq!(status, 200);
    assert!(grid_page.contains("网格员") && grid_page.contains("id=\"households\""));
    let household = links(&grid_page, "/households/")
        .into_iter()
        .next()
        .expect("a household link");
    let (status, household_page) = server.get_text(&client, &household).await;
    assert_eq!(status, 200);
    assert!(
        household_page.contains("家庭成员") && household_page.contains("********"),
        "IDs masked"
    );
}

#[tokio::test]
async fn a_search_shows_masked_numbers_and_a_reveal_needs_the_csrf_token_and_is_audited() {
    let server = start().await;
    let client = server.login("commander").await;
    let (lower, upper) = ("130109".to_string(), "130109:".to_string());
    let person = server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 1)
        .await
        .unwrap()
        .remove(0);

    let (status, results) = server
        .get_text(
            &client,
            &format!("/residents?q={}", person.id_number.as_str()),
        )
        .await;
    assert_eq!(status, 200);
    // The search box keeps what the user typed; the result table is what must be masked.
    let results = &results[results.find("id=\"results\"").expect("a result table")..];
    assert!(results.contains(person.name.as_str()));
    assert!(
        !results.contains(&person.id_number[6..14]),
        "the birth-date digits are masked"
    );
    assert!(results.contains(&format!(
        "{}********{}",
        &person.id_number[..6],
        &person.id_number[14..]
    )));

    let path = format!("/residents/{}/reveal", person.id);
    let forged = server
        .post_form(&client, &path, "forged", &[("reason", "x")])
        .await;
    assert_eq!(forged.status(), 422);
    assert!(forged.text().await.unwrap().contains("安全校验未通过"));

    let (_, page) = server
        .get_text(&client, &format!("/residents/{}", person.id))
        .await;
    let without_reason = server
        .post_form(&client, &path, &csrf_of(&page), &[("reason", "  ")])
        .await;
    assert_eq!(without_reason.status(), 422);
    assert!(
        without_reason
            .text()
            .await
            .unwrap()
            .contains("请填写查看原因")
    );
    let revealed = server
        .post_form(
            &client,
            &path,
            &csrf_of(&page),
            &[("reason", "电话通知复检")],
        )
        .await;
    assert_eq!(revealed.status(), 200);
    assert!(
        revealed
            .text()
            .await
            .unwrap()
            .contains(person.id_number.as_str())
    );
    let admin = server.login("admin").await;
    let (_, audit) = server.get_text(&admin, "/audit?action=reveal").await;
    assert!(
        audit.contains(&format!("居民 #{}", person.id))
            && audit.contains("<td>查看完整个人信息</td>")
            && audit.contains("电话通知复检")
    );
}

#[tokio::test]
async fn an_expired_session_sends_the_user_to_log_in_again_with_the_reason() {
    let server = start().await;
    let client = server.login("commander").await;
    server.clock.advance(chrono::Duration::hours(13));
    let response = client
        .get(server.url("/regions/130109"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/login?reason=expired");
    let (_, login) = server.get_text(&client, &location).await;
    assert!(login.contains("登录已过期，请重新登录"));
}

#[tokio::test]
async fn a_grid_worker_is_refused_outside_the_grid_in_pages_and_in_the_api() {
    let server = start().await;
    let client = server.login("gw").await;
    let (status, page) = server
        .get_text(&client, &format!("/regions/{}", server.other_township))
        .await;
    assert_eq!(status, 403);
    assert!(page.contains("该记录不在您的管辖范围内"));
    let (status, _) = server
        .get_text(&client, &format!("/regions/{}", server.own_grid))
        .await;
    assert_eq!(status, 200);
    let response = client
        .get(server.url(&format!("/api/regions/{}", server.other_grid)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "outside_jurisdiction");
    let (_, ledger) = server
        .get_text(&client, &format!("/door-ledger/{}", server.other_grid))
        .await;
    assert!(ledger.contains("该记录不在您的管辖范围内"));
}

#[tokio::test]
async fn the_api_answers_with_structured_errors_and_accepts_a_bearer_token() {
    let server = start().await;
    let anonymous = support::client();
    let response = anonymous
        .get(server.url("/api/residents?q=张"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_logged_in");
    assert_eq!(body["message"], "请先登录");

    let session: serde_json::Value = anonymous
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": "lab", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    // A lab does not browse the register; a commander asking for a missing resident gets 404.
    let commander: serde_json::Value = anonymous
        .post(server.url("/api/session"))
        .json(&serde_json::json!({"username": "commander", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let missing = anonymous
        .get(server.url("/api/residents/999999999"))
        .bearer_auth(commander["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let region: serde_json::Value = anonymous
        .get(server.url("/api/regions/130109"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(region["residents"], 3000);
    let reveal = anonymous
        .post(server.url("/api/residents/1/reveal"))
        .bearer_auth(token)
        .json(&serde_json::json!({"reason": "查看"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reveal.status(), 403, "a lab may not reveal personal data");
}

/// The `/api` routes the router serves, as (method, path), read from `src/`: the calls in
/// `lib.rs`'s `.nest("/api", …)`, each followed to its function and its `.route(…)` lines. Reading
/// the source is the only way to list an axum router's routes; a shape this reader does not know
/// (a `.nest` inside the API, a function it cannot find) fails loudly instead of being skipped.
fn routed_api_routes() -> std::collections::BTreeSet<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let nest = &lib[lib
        .find(".nest(\n            \"/api\"")
        .expect("lib.rs nests the API under /api")..];
    let mut routes = std::collections::BTreeSet::new();
    for (module, function) in called_functions(parenthesised(nest)) {
        routes_of(&src, &module, &function, &mut routes);
    }
    routes
}

/// The text of the call whose parenthesis is the first one in `text`.
fn parenthesised(text: &str) -> &str {
    let open = text.find('(').unwrap();
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 1 => return &text[open + 1..open + i],
            ')' => depth -= 1,
            _ => {}
        }
    }
    panic!("unbalanced parentheses");
}

/// `module::function(` calls in `text`.
fn called_functions(text: &str) -> Vec<(String, String)> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut calls = Vec::new();
    for (at, _) in text.match_indices("::") {
        let module: String = text[..at].chars().rev().take_while(|c| word(*c)).collect();
        let module: String = module.chars().rev().collect();
        let rest = &text[at + 2..];
        let function: String = rest.chars().take_while(|c| word(*c)).collect();
        if !module.is_empty() && rest[function.len()..].starts_with('(') {
            calls.push((module, function));
        }
    }
    calls
}

fn routes_of(
    src: &std::path::Path,
    module: &str,
    function: &str,
    routes: &mut std::collections::BTreeSet<(String, String)>,
) {
    // A module merged by a capability folder's `mod.rs` is its sub-area file (`warning/pharmacies.rs`).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let file = [
        src.join(format!("{module}.rs")),
        src.join(module).join("mod.rs"),
        root.join(format!("{module}.rs")),
        root.join(module).join("mod.rs"),
    ]
    .into_iter()
    .find(|f| f.exists())
    .unwrap_or_else(|| panic!("cannot find module {module} of the API router"));
    let text = std::fs::read_to_string(&file).unwrap();
    let at = text
        .find(&format!("fn {function}("))
        .unwrap_or_else(|| panic!("cannot find fn {function} in {}", file.display()));
    let body = &text[at..];
    let body = &body[..body.find("\n}").unwrap()];
    assert!(
        !body.contains(".nest("),
        "{module}::{function}: teach this test `.nest`"
    );
    for (at, _) in body.match_indices(".merge(") {
        for (m, f) in called_functions(parenthesised(&body[at..])) {
            routes_of(file.parent().unwrap_or(src), &m, &f, routes);
        }
    }
    for (at, _) in body.match_indices(".route(") {
        let call = parenthesised(&body[at..]);
        let path = call.split('"').nth(1).unwrap();
        let mut found = 0;
        for method in ["get", "post", "put", "patch", "delete"] {
            for (i, _) in call.match_indices(&format!("{method}(")) {
                let before = call[..i].chars().next_back();
                if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    routes.insert((method.to_string(), format!("/api{path}")));
                    found += 1;
                }
            }
        }
        assert!(
            found > 0,
            "{module}::{function}: no method in .route({call})"
        );
    }
}

/// The one test of the API's description: every routed `/api` route is in `openapi.json` and every
/// documented one is routed, answers an anonymous caller as it should (JSON 401 unless public) and
/// a commander with something other than the router's empty 404.
#[tokio::test]
async fn every_api_route_is_documented_and_every_documented_route_is_routed_and_answers() {
    let server = start().await;
    let anonymous = support::client();
    let doc: serde_json::Value = anonymous
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|method| (method.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();

    let routed = routed_api_routes();
    assert!(
        routed.len() > 40,
        "the router's routes were found: {routed:?}"
    );
    for (method, path) in &routed {
        assert!(
            documented.contains(&(method.clone(), path.clone())),
            "{method} {path} is routed but not in openapi.json"
        );
    }
    for (method, path) in &documented {
        assert!(
            routed.contains(&(method.clone(), path.clone())),
            "{method} {path} is in openapi.json but not routed"
        );
    }

    // The routes each module's tests named, with how they answer an anonymous caller.
    for (method, path, answer) in [
        ("post", "/api/session", None),
        ("get", "/api/regions/{code}", Some(401)),
        ("get", "/api/residents", Some(401)),
        ("get", "/api/residents/{id}", Some(401)),
        ("post", "/api/residents/{id}/reveal", Some(401)),
        ("get", "/api/households/{number}", Some(401)),
        ("post", "/api/households/{number}/visits", Some(401)),
        ("get", "/api/grids/{code}/door-ledger", Some(401)),
        ("post", "/api/imports", Some(401)),
        ("get", "/api/openapi.json", Some(200)),
        ("post", "/api/sampling/scans", Some(401)),
        ("get", "/api/rounds", Some(401)),
        ("post", "/api/rounds", Some(401)),
        ("get", "/api/rounds/{id}", Some(401)),
        ("get", "/api/rounds/{id}/grids/{grid}", Some(401)),
        ("post", "/api/sites/{id}/boxes", Some(401)),
        ("post", "/api/boxes/{code}/pickup", Some(401)),
        ("post", "/api/boxes/{code}/receive", Some(401)),
        ("post", "/api/lab/results", Some(401)),
        ("post", "/api/lab/fhir", Some(401)),
        ("post", "/api/lab/uploads", Some(401)),
        ("get", "/api/rechecks", Some(401)),
        ("get", "/api/me/results", Some(401)),
        ("post", "/api/antigen", Some(401)),
        ("post", "/api/checkpoints/{id}/verify", Some(401)),
        ("get", "/api/me/code", Some(401)),
        ("get", "/api/public/risk-areas", Some(200)),
        ("get", "/api/trust-list", Some(200)),
        ("get", "/api/leads", Some(401)),
        ("post", "/api/leads", Some(401)),
        ("get", "/api/leads/overdue", Some(401)),
        ("get", "/api/leads/overview", Some(401)),
        ("get", "/api/leads/{id}", Some(401)),
        ("post", "/api/leads/{id}/outcome", Some(401)),
        ("get", "/api/isolation/overview", Some(401)),
        ("post", "/api/home-monitoring/check-ins", Some(401)),
        ("post", "/api/home-monitoring/alarms", Some(401)),
        ("post", "/api/transfers/{id}/status", Some(401)),
        ("post", "/api/isolation/measures/{id}/reveal", Some(401)),
    ] {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is documented"
        );
        if let Some(status) = answer {
            let response = call(&anonymous, &server, method, path).await;
            assert_eq!(response.status(), status, "anonymous {method} {path}");
        }
    }
    // Every other documented route is closed to anonymous callers too.
    let public = [
        "/api/session",
        "/api/openapi.json",
        "/api/public/risk-areas",
        "/api/public/bulletins",
        "/api/trust-list",
    ];
    for (method, path) in documented
        .iter()
        .filter(|(_, p)| !public.contains(&p.as_str()))
    {
        let response = call(&anonymous, &server, method, path).await;
        assert_eq!(response.status(), 401, "anonymous {method} {path}");
    }
    assert!(
        doc["paths"]["/api/checkpoints/{id}/verify"]["post"]["responses"]
            .get("503")
            .is_some()
    );

    let commander = server.login("commander").await;
    for (method, path) in &documented {
        let response = call(&commander, &server, method, path).await;
        // A route the router does not know answers 404 with an empty body; ours answer JSON.
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            !(status == 404 && body.is_empty()),
            "{method} {path} is routed"
        );
    }
}

/// Calls a documented route with its parameters filled in (a POST carries an empty JSON object).
async fn call(
    client: &reqwest::Client,
    server: &support::TestServer,
    method: &str,
    path: &str,
) -> reqwest::Response {
    let concrete = path
        .replace("{grid}", "130109110001001")
        .replace("{code}", "130109")
        .replace("{id}", "1")
        .replace("{number}", "x");
    let url = server.url(&concrete);
    let request = match method {
        "get" => client.get(url),
        "post" => client.post(url).json(&serde_json::json!({})),
        "delete" => client.delete(url),
        other => panic!("teach `call` the method {other}"),
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn pages_load_nothing_from_outside_the_server() {
    let server = start().await;
    let client = server.login("admin").await;
    for path in [
        "/",
        "/regions/130109",
        "/residents?q=王",
        "/import",
        "/audit",
        "/users",
        "/modules/mass_testing",
        "/assets/app.css",
    ] {
        let (status, body) = server.get_text(&client, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} references an outside host"
        );
    }
    let (_, home) = server.get_text(&client, "/").await;
    for capability in [
        "全员/区域核酸检测",
        "健康码、场所码与卡口查验",
        "流调溯源",
        "风险区域与大数据",
        "隔离、转运与救治",
        "物资保障与民生",
        "指挥调度与值班报送",
    ] {
        assert!(home.contains(capability), "navigation shows {capability}");
    }
    let (_, module) = server.get_text(&client, "/modules/mass_testing").await;
    assert!(module.contains("建设中"));
}

#[tokio::test]
async fn an_upload_lands_the_good_rows_and_offers_the_problem_rows_for_download() {
    let server = start().await;
    let client = server.login("gw").await;
    let (_, page) = server.get_text(&client, "/import").await;
    let csrf = csrf_of(&page);
    let header = fangkong_domain::resident_row::COLUMNS.join(",");
    let good_id = "13010919900307002"; // the check digit is appended below
    let check = fangkong_domain::ids::gb11643_check_digit(good_id).unwrap();
    let csv = format!(
        "{header}\n王小明,居民身份证,{good_id}{check},,,13911112222,测试地址1号,T-1,户主,{grid},\n李错,居民身份证,130109199003070021,,,,测试地址1号,T-1,配偶,{grid},\n",
        grid = server.own_grid
    );
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("名单.csv"),
    );
    let response = client
        .post(server.url("/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report = response.text().await.unwrap();
    assert!(report.contains("<b id=\"inserted\">1</b>"));
    assert!(report.contains("<b id=\"problem-rows\">1</b>"));
    assert!(
        report.contains("校验"),
        "the check-digit problem is explained"
    );
    let download = links(&report, "/imports/")
        .into_iter()
        .next()
        .expect("problem download link");
    let (status, problems) = server.get_text(&client, &download).await;
    assert_eq!(status, 200);
    assert!(
        problems.contains("问题说明") && problems.contains("李错") && problems.contains("第3行")
    );
}

#[tokio::test]
async fn a_sheet_declaring_a1_to_xfd1048576_is_read_by_its_cells_under_its_title_row() {
    // The security review's C1 file: cells at A1 and XFD1048576 made calamine allocate 512 GiB and
    // the server abort. Here the sheet also has a title row above the header.
    let server = start().await;
    let client = server.login("gw").await;
    let (_, page) = server.get_text(&client, "/import").await;
    let csrf = csrf_of(&page);
    let first17 = "13010919900307003";
    let check = fangkong_domain::ids::gb11643_check_digit(first17).unwrap();
    let row = [
        "稀疏表".to_string(),
        "居民身份证".into(),
        format!("{first17}{check}"),
        String::new(),
        String::new(),
        "13911113333".into(),
        "测试地址2号".into(),
        "T-2".into(),
        "户主".into(),
        server.own_grid.clone(),
        String::new(),
    ];
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "廉州镇居民花名册").unwrap();
    for (column, header) in fangkong_domain::resident_row::COLUMNS.iter().enumerate() {
        sheet.write_string(1, column as u16, *header).unwrap();
        sheet.write_string(2, column as u16, &row[column]).unwrap();
    }
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    assert!(bytes.len() < 10_000);
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("稀疏.xlsx"),
    );
    let response = client
        .post(server.url("/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report = response.text().await.unwrap();
    assert!(report.contains("<b id=\"inserted\">1</b>"), "{report}");
    assert!(report.contains("<b id=\"problem-rows\">0</b>"));
    assert!(
        report.contains("表头在第2行"),
        "the skipped title row is said"
    );
}

#[tokio::test]
async fn a_door_visit_saved_from_the_household_page_leaves_the_grid_ledger() {
    let server = start().await;
    let client = server.login("gw").await;
    let household = server.first_unvisited_household(&client).await;
    let (_, page) = server.get_text(&client, &household).await;
    let response = server
        .post_form(
            &client,
            &format!("{household}/visits"),
            &csrf_of(&page),
            &[("present_count", "2"), ("arrivals_count", "0")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, after) = server
        .get_text(&client, &format!("/door-ledger/{}", server.own_grid))
        .await;
    assert!(
        !after.contains(&format!("href=\"{household}\"")),
        "the visited household left the ledger"
    );
    let refused = server
        .post_form(
            &client,
            &format!("{household}/visits"),
            &csrf_of(&page),
            &[("arrivals_count", "1")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("来自何处"));
}

#[tokio::test]
async fn every_page_and_api_route_refuses_a_grid_worker_outside_the_grid_with_a_chinese_message() {
    let server = start().await;
    let (lower, upper) = (
        server.other_township.clone(),
        format!("{}:", server.other_township),
    );
    let stranger = server
        .app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 1)
        .await
        .unwrap()
        .remove(0);
    let client = server.login("gw").await;
    let (_, own_page) = server.get_text(&client, "/residents").await;
    let csrf = csrf_of(&own_page);
    let household = stranger.household_number.clone();
    // Regions are public names: a foreign one is refused as outside the jurisdiction (403).
    let reads = [
        format!("/regions/{}", server.other_township),
        format!("/regions/{}", server.other_grid),
        format!("/door-ledger/{}", server.other_grid),
        format!("/api/regions/{}", server.other_grid),
        format!("/api/grids/{}/door-ledger", server.other_grid),
    ];
    for path in &reads {
        let (status, body) = server.get_text(&client, path).await;
        assert_eq!(status, 403, "GET {path}");
        assert!(
            body.contains("该记录不在您的管辖范围内"),
            "GET {path}: {body}"
        );
    }
    // A foreign person or household looked up by id answers exactly like a missing one (404), so
    // ids cannot be enumerated.
    let lookups = [
        (
            format!("/residents/{}", stranger.id),
            "/residents/999999999",
        ),
        (
            format!("/households/{household}"),
            "/households/1301099999999999999",
        ),
        (
            format!("/api/residents/{}", stranger.id),
            "/api/residents/999999999",
        ),
        (
            format!("/api/households/{household}"),
            "/api/households/1301099999999999999",
        ),
    ];
    for (path, missing) in &lookups {
        let (status, body) = server.get_text(&client, path).await;
        let (missing_status, missing_body) = server.get_text(&client, missing).await;
        assert_eq!(status, 404, "GET {path}");
        assert_eq!(missing_status, 404, "GET {missing}");
        assert!(body.contains("没有找到"), "GET {path}: {body}");
        assert!(!body.contains("管辖范围"), "GET {path}: {body}");
        if path.starts_with("/api/") {
            assert_eq!(body, missing_body, "GET {path} answers like {missing}");
        }
    }
    let writes = [
        (
            format!("/residents/{}/reveal", stranger.id),
            vec![("csrf", csrf.clone()), ("reason", "核查".to_string())],
        ),
        (
            format!("/households/{household}/visits"),
            vec![("csrf", csrf.clone()), ("present_count", "1".to_string())],
        ),
    ];
    for (path, form) in &writes {
        let response = client
            .post(server.url(path))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "POST {path}");
    }
    let api_reveal = client
        .post(server.url(&format!("/api/residents/{}/reveal", stranger.id)))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"reason": "核查"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api_reveal.status(), 404);
    let (status, results) = server
        .get_text(
            &client,
            &format!("/residents?q={}", stranger.id_number.as_str()),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        results.contains("找到 0 人"),
        "a search outside the grid finds nobody"
    );
    let audit_reveals = server
        .app
        .store_for_tools()
        .audit_page("reveal", i64::MAX, 10)
        .await
        .unwrap();
    assert!(audit_reveals.is_empty(), "no reveal happened");
}

#[tokio::test]
async fn a_grid_worker_registers_a_new_household_member_and_a_mistake_keeps_what_was_typed() {
    let server = start().await;
    let client = server.login("gw").await;
    let household = server.first_unvisited_household(&client).await;
    let (_, household_page) = server.get_text(&client, &household).await;
    let form_link = links(&household_page, "/residents/new")
        .into_iter()
        .next()
        .expect("register link");
    let (status, form_page) = server
        .get_text(&client, &form_link.replace("&amp;", "&"))
        .await;
    assert_eq!(status, 200);
    let number = household.trim_start_matches("/households/");
    assert!(
        form_page.contains(&format!("value=\"{number}\"")),
        "the household number is filled in"
    );
    let csrf = csrf_of(&form_page);
    let first17 = "13010920000101123";
    let check = fangkong_domain::ids::gb11643_check_digit(first17).unwrap();
    let wrong = if check == '0' { '1' } else { '0' };
    let mut fields = vec![
        ("csrf", csrf.clone()),
        ("name", "返乡人员".to_string()),
        ("id_type", "mainland_id".to_string()),
        ("id_number", format!("{first17}{wrong}")),
        ("household_number", number.to_string()),
        ("relation", "子女".to_string()),
        ("grid_code", server.own_grid.clone()),
    ];
    let refused = client
        .post(server.url("/residents/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("校验"), "the check digit is explained");
    assert!(
        refused.contains("value=\"返乡人员\""),
        "what was typed is still there"
    );

    fields[3] = ("id_number", format!("{first17}{check}"));
    let saved = client
        .post(server.url("/residents/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let resident = saved.headers()["location"].to_str().unwrap().to_string();
    let (_, resident_page) = server.get_text(&client, &resident).await;
    assert!(resident_page.contains("返乡人员") && resident_page.contains("130109********"));
    let (_, household_after) = server.get_text(&client, &household).await;
    assert!(
        household_after.contains("返乡人员"),
        "the household lists its new member"
    );
    let admin = server.login("admin").await;
    let (_, audit) = server.get_text(&admin, "/audit?action=create").await;
    assert!(
        audit.contains(resident.trim_start_matches("/residents/")),
        "the registration is audited"
    );
}

#[tokio::test]
async fn a_run_cut_short_by_a_crash_shows_as_interrupted_with_its_counts() {
    // Security finding L4: a resident import and a lead push import that committed a chunk and
    // then died stayed "unfinished" forever. Past the staleness bound the pass marks them 已中断,
    // and the history shows the counts they had committed.
    let server = start().await;
    let app = &server.app;
    let started = app.now_unix();
    let import = app
        .store_for_tools()
        .create_import("gw", "中断的名单.csv", "csv", started)
        .await
        .unwrap();
    app.store_for_tools()
        .record_import_progress(import, &[], Default::default(), None, started + 2)
        .await
        .unwrap();
    let push = app
        .store_for_tools()
        .create_lead_import("gw", "中断的推送.csv", started)
        .await
        .unwrap();
    app.store_for_tools()
        .record_lead_import_progress(push, &[], 2_000, 1_987, 5, 8, None, started + 3)
        .await
        .unwrap();
    let client = server.login("gw").await;
    let (_, page) = server.get_text(&client, "/import").await;
    assert!(!page.contains("已中断"));

    server.clock.advance(chrono::Duration::seconds(
        fangkong_app::runs::RUN_STALE_AFTER_SECONDS + 60,
    ));
    assert_eq!(app.mark_interrupted_runs().await.unwrap(), 2);

    let (_, page) = server.get_text(&client, "/import").await;
    assert!(page.contains("中断的名单.csv"));
    assert!(page.contains("已中断"), "the import history says 已中断");
    let (_, page) = server.get_text(&client, "/leads/import").await;
    assert!(
        page.contains("已中断"),
        "the lead import history says 已中断"
    );
    let (_, report) = server
        .get_text(&client, &format!("/leads/import?report={push}"))
        .await;
    assert!(report.contains("id=\"push-interrupted\""));
    assert!(report.contains("<b id=\"push-inserted\">1987</b>"));
    assert!(report.contains("<b id=\"push-problems\">8</b>"));
}
