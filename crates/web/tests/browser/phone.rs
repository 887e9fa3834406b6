//! Phones are first-class: the pages of the roles that work on phones (grid worker, sampler,
//! checkpoint officer, resident) fit a 360-pixel-wide screen without sideways scrolling.

use crate::support;

use fangkong_domain::role::Role;
use support::webdriver::Driver;

/// The page's content width beyond the window's, in CSS pixels (0 when it fits).
const OVERFLOW: &str = "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth;";

#[tokio::test]
async fn in_chromium_the_phone_roles_pages_fit_a_360_pixel_screen() {
    if std::env::var_os("FANGKONG_TEST_BROWSER").is_none() {
        eprintln!("browser test not run: set FANGKONG_TEST_BROWSER=1 (CI does)");
        return;
    }
    let server = support::start().await;
    let grid = server.own_grid.clone();
    server.add_user("phone-gw", Role::GridWorker, &grid).await;
    server.add_user("phone-sampler", Role::Sampler, &grid).await;
    server
        .add_user("phone-kakou", Role::Checkpoint, &grid)
        .await;
    server
        .add_user("phone-resident", Role::Resident, &grid)
        .await;
    let driver = Driver::start().await;
    // The window is a little wider than the viewport; the check below reads the viewport itself.
    driver.set_window(360, 740).await;
    // A resident of the grid: their file (一人一档), household and grid are grid workers' pages too.
    let resident = server
        .app
        .store_for_tools()
        .residents_page((&grid, &format!("{grid}:")), 0, 1)
        .await
        .unwrap()
        .remove(0);
    let person_file = format!("/people/{}", resident.id);
    let household = format!("/households/{}", resident.household_number);
    let grid_page = format!("/regions/{grid}");
    let pages: [(&str, Vec<&str>); 4] = [
        (
            "phone-gw",
            vec![
                "/",
                "/residents",
                "/leads",
                "/home-monitoring",
                "/testing/antigen",
                "/me/password",
                &person_file,
                &household,
                &grid_page,
            ],
        ),
        ("phone-sampler", vec!["/", "/testing", "/me/password"]),
        (
            "phone-kakou",
            vec!["/", "/checkpoints/offline", "/me/password"],
        ),
        (
            "phone-resident",
            vec!["/", "/me/code", "/me/antigen", "/me/results"],
        ),
    ];
    let mut too_wide = Vec::new();
    for (username, paths) in pages {
        driver.goto(&server.url("/logout")).await;
        driver.goto(&server.url("/login")).await;
        driver.type_into("#username", username).await;
        driver.type_into("#password", support::PASSWORD).await;
        driver.click("#login").await;
        driver.text_when("#who", |t| !t.is_empty()).await;
        for path in paths {
            driver.goto(&server.url(path)).await;
            let viewport = driver.script("return window.innerWidth;").await;
            assert!(
                viewport.as_i64().is_some_and(|w| w <= 400),
                "a phone-sized viewport: {viewport}"
            );
            let overflow = driver.script(OVERFLOW).await.as_i64().unwrap_or(i64::MAX);
            if overflow > 0 {
                too_wide.push(format!("{username} {path}: {overflow} px too wide"));
            }
            // Fitting by squeezing the page into a sliver beside the menu is not fitting.
            let content = driver
                .script("return document.querySelector('main').clientWidth;")
                .await
                .as_i64()
                .unwrap_or(0);
            if content < 300 {
                too_wide.push(format!(
                    "{username} {path}: the page is only {content} px wide"
                ));
            }
        }
    }
    assert!(
        too_wide.is_empty(),
        "pages wider than a phone: {too_wide:#?}"
    );
}
