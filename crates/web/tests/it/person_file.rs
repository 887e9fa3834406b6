//! One person, one file (一人一档) over real HTTP (SQLite): a case and a close contact in the grid
//! worker's grid; the contact's file renders every section with the badges and links to the case's
//! person, the household and the grid, and those pages link back with their badges; the JSON of the
//! file and the staff JSON of the code carry the same, masked; another township's person is not
//! found, and a role without the register search is refused.

use crate::support;

use fangkong_app::investigation::{CaseForm, ContactForm};
use serde_json::Value;
use support::{TestServer, links, start};

/// (id, name, ID number, household number) of residents of `grid` with a mainland ID.
async fn residents(server: &TestServer, grid: &str) -> Vec<(i64, String, String, String)> {
    server
        .app
        .store_for_tools()
        .residents_page((grid, &format!("{grid}:")), 0, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .map(|r| {
            (
                r.id,
                r.name.into(),
                r.id_number.into(),
                r.household_number.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_person_file_renders_every_section_links_its_people_and_answers_in_json() {
    let server = start().await;
    let people = residents(&server, &server.own_grid).await;
    let (case_id, case_name, case_number_id, _) = people[0].clone();
    let (contact_id, contact_name, contact_number_id, contact_household) = people[1].clone();
    let seed = fangkong_seed::seed_actor();
    let case = server
        .app
        .open_case(
            &seed,
            &CaseForm {
                kind: "confirmed".into(),
                id_type: "mainland_id".into(),
                id_number: case_number_id.clone(),
                onset_date: "2022-11-19".into(),
                found_by: "fever_clinic".into(),
                isolated_at: "2022-11-20 09:00".into(),
                ..CaseForm::default()
            },
        )
        .await
        .unwrap();
    server
        .app
        .add_contact(
            &seed,
            case,
            &ContactForm {
                id_type: "mainland_id".into(),
                id_number: contact_number_id.clone(),
                exposure_kind: "shared_home".into(),
                first_exposure_at: "2022-11-19 06:00".into(),
                last_exposure_at: "2022-11-19 08:00".into(),
                ..ContactForm::default()
            },
        )
        .await
        .unwrap();
    server.app.try_run_code_events().await.unwrap();
    server.app.try_run_event_passes().await.unwrap();
    server.app.try_run_code_events().await.unwrap();

    // The grid worker opens the contact's file: every section, badges, links.
    let gw = server.login("gw").await;
    let (status, page) = server.get_text(&gw, &format!("/people/{contact_id}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("一人一档") && page.contains(&contact_name));
    for section in [
        "id=\"register\"",
        "id=\"household-members\"",
        "id=\"code\"",
        "id=\"person-tests\"",
        "id=\"person-contacts\"",
        "id=\"person-leads\"",
        "id=\"measures\"",
        "id=\"person-passages\"",
        "id=\"person-visits\"",
        "id=\"person-appeals\"",
    ] {
        assert!(page.contains(section), "the file has {section}");
    }
    assert!(page.contains("class=\"badge warn\">密接</span>"), "{page}");
    assert!(page.contains("********"), "the ID number is masked");
    assert!(!page.contains(&contact_number_id), "no full ID number");
    // The case the contact met links to its person's file and to the case page.
    assert!(links(&page, "/people/").contains(&format!("/people/{case_id}")));
    assert!(links(&page, "/cases/").contains(&format!("/cases/{case}")));
    assert!(page.contains(&case_name));
    // The household and the grid, and back.
    assert!(links(&page, "/households/").contains(&format!("/households/{contact_household}")));
    let (status, household) = server
        .get_text(&gw, &format!("/households/{contact_household}"))
        .await;
    assert_eq!(status, 200);
    assert!(links(&household, "/people/").contains(&format!("/people/{contact_id}")));
    assert!(
        household.contains(">密接</span>"),
        "the members carry badges"
    );
    let (status, grid) = server
        .get_text(&gw, &format!("/regions/{}", server.own_grid))
        .await;
    assert_eq!(status, 200);
    assert!(
        grid.contains("id=\"watched\""),
        "the grid lists its people under watch"
    );
    let watched = links(&grid, "/people/");
    assert!(watched.contains(&format!("/people/{case_id}")));
    assert!(watched.contains(&format!("/people/{contact_id}")));
    assert!(grid.contains(">确诊</span>"));
    // The search results link to the file with badges too.
    let (_, search) = server
        .get_text(&gw, &format!("/residents?q={case_number_id}"))
        .await;
    assert!(links(&search, "/people/").contains(&format!("/people/{case_id}")));
    assert!(search.contains(">确诊</span>"));
    // The case's person's file, reached from the case page.
    let commander = server.login("commander").await;
    let (_, case_page) = server.get_text(&commander, &format!("/cases/{case}")).await;
    assert!(links(&case_page, "/people/").contains(&format!("/people/case-{case}")));
    let (status, case_file) = server
        .get_text(&commander, &format!("/people/case-{case}"))
        .await;
    assert_eq!(status, 200);
    assert!(case_file.contains(">确诊</span>") && case_file.contains(&case_name));

    // The JSON of the file: the same content, masked.
    let response = gw
        .get(server.url(&format!("/api/people/{contact_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert!(!body.contains(&contact_number_id), "no full ID number");
    let file: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(file["key"], contact_id.to_string());
    assert_eq!(file["person"]["name"], contact_name.as_str());
    assert!(
        file["badges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "close_contact")
    );
    assert_eq!(file["contacts"][0]["case"]["case_id"], case);
    assert!(!file["measures"].as_array().unwrap().is_empty());
    // The staff JSON of the case's person's code.
    let code: Value = gw
        .get(server.url(&format!("/api/people/{case_id}/code")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code["colour"], "red");
    assert!(!code["reasons"].as_array().unwrap().is_empty());
    assert!(code["since"].is_i64());

    // Another township's person is not found, on the page and in the API; so is a bad key.
    let stranger = residents(&server, &server.other_grid).await[0].0;
    let (status, page) = server.get_text(&gw, &format!("/people/{stranger}")).await;
    assert_eq!(status, 404, "{page}");
    let (status, _) = server.get_text(&gw, "/people/case-abc").await;
    assert_eq!(status, 404);
    let response = gw
        .get(server.url(&format!("/api/people/{stranger}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "not_found");
    // A lab may not open files.
    let lab = server.login("lab").await;
    let (status, _) = server
        .get_text(&lab, &format!("/people/{contact_id}"))
        .await;
    assert_eq!(status, 403);
}
