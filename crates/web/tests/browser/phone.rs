//! Phones are first-class: the pages of the roles that work on phones (grid worker, sampler,
//! checkpoint officer, resident, the duty officer after hours, fever clinic and pharmacy staff)
//! fit 360-, 390- and 414-pixel-wide screens without sideways scrolling, their buttons and fields
//! are at least 44 px high, and the menu folds behind a button.

use crate::support;

use fangkong_domain::role::Role;
use support::webdriver::Driver;

/// The page's content width beyond the window's, in CSS pixels (0 when it fits).
const OVERFLOW: &str = "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth;";

/// The visible buttons, fields and header links lower than 44 px, as "tag text height".
const SMALL_TARGETS: &str = "return Array.from(document.querySelectorAll(\
    'button, select, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), header.top a, .nav-button'))\
    .filter(e => e.offsetParent !== null)\
    .map(e => [e.tagName + ' ' + (e.textContent || e.name || '').trim().slice(0, 12), e.getBoundingClientRect().height])\
    .filter(([_, h]) => h < 43.5)\
    .map(([t, h]) => t + ' ' + Math.round(h));";

/// Whether the side navigation is shown.
const MENU_SHOWN: &str =
    "return getComputedStyle(document.querySelector('nav.side')).display !== 'none';";

#[tokio::test]
async fn in_chromium_the_phone_roles_pages_fit_phone_screens_with_44_pixel_targets() {
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
    // The duty officer answers spot checks and reads the picture on the phone after hours.
    server
        .add_user("phone-duty", Role::DutyOfficer, &grid[..6])
        .await;
    // The sentinels report from the counter: a fever clinic's staff, a pharmacy's.
    server
        .add_user("phone-clinic", Role::Clinic, &grid[..6])
        .await;
    server
        .add_user("phone-pharmacy", Role::Pharmacy, &grid[..9])
        .await;
    // A township's vaccination point types doses at the table.
    server
        .add_user("phone-vaccinator", Role::Vaccinator, &grid[..9])
        .await;
    let driver = Driver::start().await;
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
    let pages: [(&str, Vec<&str>); 8] = [
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
                "/supplies",
                "/supplies/deliveries",
                "/supplies/gatherings",
                "/supplies/vaccination/elderly",
            ],
        ),
        ("phone-sampler", vec!["/", "/testing", "/me/password"]),
        (
            "phone-kakou",
            vec!["/", "/checkpoints/offline", "/me/password"],
        ),
        (
            "phone-resident",
            vec![
                "/",
                "/me/code",
                "/me/antigen",
                "/me/results",
                "/supplies/deliveries",
                "/supplies/gatherings",
            ],
        ),
        (
            "phone-duty",
            vec![
                "/",
                "/command",
                "/command/late",
                "/warning/alerts",
                "/warning/emergency",
            ],
        ),
        ("phone-clinic", vec!["/", "/warning/clinics"]),
        ("phone-pharmacy", vec!["/", "/warning/pharmacies"]),
        ("phone-vaccinator", vec!["/", "/supplies/vaccination"]),
    ];
    let mut too_wide = Vec::new();
    let mut too_small = Vec::new();
    for width in [360, 390, 414] {
        driver.set_window(width, 800).await;
        for (username, paths) in &pages {
            let username = *username;
            driver.goto(&server.url("/logout")).await;
            driver.goto(&server.url("/login")).await;
            driver.type_into("#username", username).await;
            driver.type_into("#password", support::PASSWORD).await;
            driver.click("#login").await;
            driver.text_when("#who", |t| !t.is_empty()).await;
            for path in paths.iter().copied() {
                driver.goto(&server.url(path)).await;
                let viewport = driver.script("return window.innerWidth;").await;
                assert!(
                    viewport.as_i64().is_some_and(|w| w <= i64::from(width)),
                    "a phone-sized viewport: {viewport}"
                );
                let overflow = driver.script(OVERFLOW).await.as_i64().unwrap_or(i64::MAX);
                if overflow > 0 {
                    too_wide.push(format!(
                        "{username} {path} at {width} px: {overflow} px too wide"
                    ));
                }
                let small = driver.script(SMALL_TARGETS).await;
                if small.as_array().is_some_and(|s| !s.is_empty()) {
                    too_small.push(format!("{username} {path} at {width} px: {small}"));
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
    }
    assert!(
        too_wide.is_empty(),
        "pages wider than a phone: {too_wide:#?}"
    );
    assert!(
        too_small.is_empty(),
        "tap targets under 44 px: {too_small:#?}"
    );

    // The check does see the controls: on a desktop, where the 44 px rule does not apply, the
    // same page has smaller ones.
    driver.set_window(1280, 800).await;
    driver.goto(&server.url("/leads")).await;
    assert!(
        driver
            .script(SMALL_TARGETS)
            .await
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "the tap-target check finds the page's controls"
    );

    // The menu is folded on a phone and opens with its button.
    driver.set_window(390, 800).await;
    driver.goto(&server.url("/leads")).await;
    assert_eq!(driver.script(MENU_SHOWN).await.as_bool(), Some(false));
    driver.click("#nav-button").await;
    assert_eq!(driver.script(MENU_SHOWN).await.as_bool(), Some(true));
}
