//! The epidemic curve and the map (疫情曲线、专题地图) over real HTTP (SQLite): the pages draw an
//! SVG on the server — one boundary path per county for a city, one per city for the province,
//! tiles for a county — the curve with its axis and legend; the JSON API; a region outside the
//! jurisdiction is refused in words; roles without the permission are refused.

use crate::support;

use fangkong_domain::role::Role;
use serde_json::Value;
use support::{TestServer, start};

async fn page(server: &TestServer, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client.get(server.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn the_map_draws_counties_for_a_city_cities_for_the_province_and_tiles_for_a_county() {
    let server = start().await;
    // 石家庄市: its 22 counties with a boundary, each a path linking one level down.
    let city = server.login_as("zh_city", Role::Commander, "1301").await;
    let (status, body) = page(&server, &city, "/command/map").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<svg"), "{body}");
    assert_eq!(body.matches("<path class=\"county\"").count(), 22);
    assert!(
        body.contains("region=130109\""),
        "藁城区 links one level down"
    );
    assert!(body.contains("<title>藁城区：0人</title>"));
    assert!(!body.contains("<script"));
    // The province: the counties grouped by city, one path per city.
    let province = server
        .login_as("zh_province", Role::Administrator, "13")
        .await;
    let (status, body) = page(&server, &province, "/command/map?measure=under_control").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("<path class=\"county\"").count(), 11);
    assert!(body.contains("石家庄市"));
    // A county: tiles, one per township, no boundary.
    let county = server
        .login_as("zh_county", Role::DutyOfficer, "130109")
        .await;
    let (status, body) = page(&server, &county, "/command/map").await;
    assert_eq!(status, 200, "{body}");
    let townships = server
        .app
        .store_for_tools()
        .region_children("130109")
        .await
        .unwrap()
        .len();
    assert!(townships > 1);
    assert_eq!(body.matches("<rect class=\"tile\"").count(), townships);
    assert_eq!(body.matches("<path class=\"county\"").count(), 0);
    assert!(body.contains("廉州镇"));
    // A grid has nothing below it: said in words.
    let (status, body) = page(
        &server,
        &county,
        &format!("/command/map?region={}", server.own_grid),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("网格是最小的区划"));
    // A measure that does not exist is refused, naming the field.
    let (status, body) = page(&server, &county, "/command/map?measure=weather").await;
    assert_eq!(status, 422);
    assert!(body.contains("指标"));
    // The JSON.
    let json: Value = county
        .get(server.url("/api/command/map?measure=coverage&region=130109"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["style"], "tiles");
    assert_eq!(json["measure"], "coverage");
    assert_eq!(json["regions"].as_array().unwrap().len(), townships);
}

#[tokio::test]
async fn the_curve_is_an_svg_with_axis_and_legend_and_outside_regions_are_refused() {
    let server = start().await;
    let commander = server.login_as("zh_cmd", Role::Commander, "130109").await;
    for path in [
        "/command/curve",
        "/command/curve?basis=report&region=130109110",
    ] {
        let (status, body) = page(&server, &commander, path).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<svg"), "{body}");
        assert!(body.contains("viewBox=\"0 0 720 300\" width=\"100%\""));
        assert!(body.contains("确诊病例") && body.contains("无症状感染者"));
    }
    let (_, body) = page(&server, &commander, "/command/curve").await;
    assert!(body.contains("无症状感染者和初筛阳性没有发病日期，按首次阳性采样日期"));
    let json: Value = commander
        .get(server.url("/api/command/curve?basis=report"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["basis"], "report");
    assert_eq!(json["kinds"].as_array().unwrap().len(), 4);

    // Outside the jurisdiction: refused in words, on the page and in the API.
    let township = server
        .login_as("zh_duty_b", Role::DutyOfficer, &server.other_township)
        .await;
    let (status, body) = page(&server, &township, "/command/curve?region=130109").await;
    assert_eq!(status, 422);
    assert!(body.contains("不在您的管辖范围内"), "{body}");
    let response = township
        .get(server.url("/api/command/map?region=130109"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let error: Value = response.json().await.unwrap();
    assert!(error["message"].as_str().unwrap().contains("管辖范围"));
    // A role without the permission.
    let epi = server
        .login_as("zh_epi", Role::Epidemiologist, "130109")
        .await;
    let (status, _) = page(&server, &epi, "/command/curve").await;
    assert_eq!(status, 403);
}
