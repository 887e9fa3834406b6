//! Who a person belongs to, over real HTTP: no take-over of a resident registered elsewhere (page and
//! API), the move-in request from filing to approval, and the register closed to labs.

use crate::support;

use fangkong_domain::role::Role;
use support::{TestServer, csrf_of, links, start};

/// The first resident of a grid, as stored.
async fn someone_in(server: &TestServer, grid: &str) -> fangkong_app::records::ResidentRecord {
    server
        .app
        .store_for_tools()
        .residents_in_grid(grid, 0, 1)
        .await
        .unwrap()
        .remove(0)
}

fn id_type_label(code: &str) -> &'static str {
    fangkong_domain::ids::IdType::parse(code)
        .unwrap()
        .label_zh()
}

#[tokio::test]
async fn a_grid_worker_cannot_take_over_a_resident_of_another_township_by_page_or_api() {
    let server = start().await;
    let client = server.login("gw").await;
    let victim = someone_in(&server, &server.other_grid).await;
    let (_, form_page) = server.get_text(&client, "/residents/new").await;
    let fields = [
        ("csrf", csrf_of(&form_page)),
        ("name", "某某".to_string()),
        ("id_type", victim.id_type.clone()),
        ("id_number", victim.id_number.to_string()),
        ("sex", String::new()),
        ("birth_date", victim.birth_date.clone()),
        ("address", "小果庄村".to_string()),
        ("household_number", format!("{}9999", server.own_grid)),
        ("relation", "其他".to_string()),
        ("grid_code", server.own_grid.clone()),
    ];
    let refused = client
        .post(server.url("/residents/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    let page = refused.text().await.unwrap();
    assert!(page.contains("此证件号码已登记在其他辖区"), "{page}");
    assert!(page.contains("迁入申请"));
    assert!(
        !page.contains(&server.other_grid) && !page.contains(victim.address.as_str()),
        "the refusal does not say where the person lives"
    );
    assert!(page.contains("value=\"某某\""), "what was typed stays");

    let api = client
        .post(server.url("/api/residents"))
        .header("x-csrf-token", csrf_of(&form_page))
        .json(&serde_json::json!({
            "name": "某某",
            "id_type": id_type_label(&victim.id_type),
            "id_number": victim.id_number,
            "birth_date": victim.birth_date,
            "address": "小果庄村",
            "household_number": format!("{}9999", server.own_grid),
            "relation": "其他",
            "grid_code": server.own_grid,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 409);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["error"], "conflict");
    let after = server
        .app
        .store_for_tools()
        .resident(victim.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, victim, "the person is untouched");
    let (status, _) = server
        .get_text(&client, &format!("/residents/{}", victim.id))
        .await;
    assert_eq!(status, 404, "a foreign resident answers like a missing one");
}

#[tokio::test]
async fn a_move_in_request_is_filed_by_the_new_grid_and_approved_by_the_old_one() {
    let server = start().await;
    server
        .add_user("gw_old", Role::GridWorker, &server.other_grid)
        .await;
    let requester = server.login("gw").await;
    let person = someone_in(&server, &server.other_grid).await;

    let (status, form) = server.get_text(&requester, "/residents/move-ins/new").await;
    assert_eq!(status, 200);
    assert!(form.contains("提交迁入申请"));
    let household = format!("{}8888", server.own_grid);
    let filed = server
        .post_form(
            &requester,
            "/residents/move-ins/new",
            &csrf_of(&form),
            &[
                ("name", person.name.as_str()),
                ("id_type", person.id_type.as_str()),
                ("id_number", person.id_number.as_str()),
                ("grid_code", server.own_grid.as_str()),
                ("household_number", household.as_str()),
                ("address", "新家1号"),
                ("relation", "户主"),
                ("reason", "购房入住"),
            ],
        )
        .await;
    assert_eq!(filed.status(), 303);
    let detail = filed.headers()["location"].to_str().unwrap().to_string();
    let (_, page) = server.get_text(&requester, &detail).await;
    assert!(page.contains("待原辖区审批"));
    assert!(
        !page.contains(&server.other_grid) && !page.contains(person.address.as_str()),
        "the requester sees nothing of the register before approval"
    );
    assert!(!page.contains("id=\"approve\""));

    // The old grid's worker has it in the inbox and approves it.
    let old = server.login("gw_old").await;
    let (_, inbox) = server.get_text(&old, "/residents/move-ins").await;
    assert!(links(&inbox, "/residents/move-ins/").contains(&detail));
    let (_, to_decide) = server.get_text(&old, &detail).await;
    assert!(to_decide.contains("id=\"approve\"") && to_decide.contains(&server.other_grid));
    let approved = server
        .post_form(
            &old,
            &format!("{detail}/decide"),
            &csrf_of(&to_decide),
            &[("decision", "approve"), ("reason", "")],
        )
        .await;
    assert_eq!(approved.status(), 200);
    assert!(approved.text().await.unwrap().contains("已同意"));

    // The person is now the requester's; the old grid no longer sees them.
    let moved: serde_json::Value = requester
        .get(server.url(&format!("/api/residents/{}", person.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(moved["grid_code"], server.own_grid.as_str());
    assert_eq!(moved["household_number"], household.as_str());
    let (status, _) = server
        .get_text(&old, &format!("/residents/{}", person.id))
        .await;
    assert_eq!(
        status, 404,
        "the person has left the old grid's jurisdiction"
    );
    let api: serde_json::Value = requester
        .get(server.url("/api/move-ins"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["sent"][0]["status"], "approved");
    let admin = server.login("admin").await;
    let (_, audit) = server
        .get_text(&admin, "/audit?action=move_in_approve")
        .await;
    assert!(audit.contains(&server.other_grid) && audit.contains(&server.own_grid));
}

#[tokio::test]
async fn labs_checkpoints_and_samplers_get_403_on_the_register_and_a_grid_worker_sees_their_grid() {
    let server = start().await;
    server.add_user("chk", Role::Checkpoint, "130109").await;
    server.add_user("smp", Role::Sampler, "130109").await;
    let own = someone_in(&server, &server.own_grid).await;
    let surname: String = own.name.chars().take(1).collect();
    for username in ["lab", "chk", "smp"] {
        let client = server.login(username).await;
        let (status, page) = server
            .get_text(&client, &format!("/residents?q={surname}"))
            .await;
        assert_eq!(status, 403, "{username} searches the register");
        assert!(page.contains("无权"), "{page}");
        let response = client
            .get(server.url(&format!("/api/residents?q={surname}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{username} via the API");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "forbidden");
        let (status, _) = server
            .get_text(&client, &format!("/residents/{}", own.id))
            .await;
        assert_eq!(status, 403);
        let (_, home) = server.get_text(&client, "/").await;
        assert!(
            !home.contains("href=\"/residents\""),
            "{username}'s navigation offers no register search"
        );
    }
    let gw = server.login("gw").await;
    let found: Vec<serde_json::Value> = gw
        .get(server.url(&format!("/api/residents?q={surname}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|r| r["grid_code"] == server.own_grid.as_str()),
        "only the grid worker's own grid"
    );
}
