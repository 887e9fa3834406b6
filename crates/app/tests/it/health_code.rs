//! Health-code stories of the application layer, each on SQLite and (when FANGKONG_TEST_POSTGRES is
//! set) on a brand-new PostgreSQL database: codes fed by mass testing and by people, the signed QR
//! at checkpoints, risk areas stepping down, venues and itineraries, appeals, and a policy switch.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::checkpoints::{CheckpointForm, CheckpointScan, VenueForm};
use fangkong_app::health_code::FactForm;
use fangkong_app::lab_results::ResultInput;
use fangkong_app::mass_testing::{RoundForm, SamplingBatch, ScanAction, ScanInput, SiteForm};
use fangkong_app::risk_areas::RiskAreaForm;
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::health_code::CodeColour;
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::region::RegionCode;
use fangkong_domain::risk_area::AreaTier;
use fangkong_domain::role::Role;
use fangkong_signed_code::{TrustList, verify_code};

story!(
    codes_follow_mass_testing_and_hand_entered_facts,
    codes_story_sqlite,
    codes_story_postgres
);
story!(
    signed_codes_are_checked_at_checkpoints,
    checkpoint_story_sqlite,
    checkpoint_story_postgres
);
story!(
    risk_areas_step_down_by_the_rules,
    risk_area_story_sqlite,
    risk_area_story_postgres
);
story!(
    venues_appeals_untested_and_a_policy_switch,
    venues_story_sqlite,
    venues_story_postgres
);

/// The extra staff these stories need, all of 藁城区.
struct Staff {
    commander: Actor,
    epidemiologist: Actor,
    checkpoint: Actor,
}

async fn staff(app: &App) -> Staff {
    for (username, name, role) in [
        ("commander", "藁城区指挥部", Role::Commander),
        ("epi", "藁城区流调队", Role::Epidemiologist),
        ("kakou", "藁城区卡口", Role::Checkpoint),
    ] {
        app.create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: name.into(),
                role,
                jurisdiction: RegionCode::parse(COUNTY).unwrap(),
                password: PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
    }
    Staff {
        commander: login(app, "commander").await,
        epidemiologist: login(app, "epi").await,
        checkpoint: login(app, "kakou").await,
    }
}

fn person_in(grid: &str) -> Vec<Row> {
    population()
        .into_iter()
        .filter(|r| r.grid == grid)
        .collect()
}

fn fact(id_number: &str, kind: &str, anchor: &str) -> FactForm {
    FactForm {
        id_type: String::new(),
        id_number: id_number.into(),
        kind: kind.into(),
        anchor: anchor.into(),
        colour: String::new(),
        note: String::new(),
    }
}

/// "YYYY-MM-DD HH:MM" Beijing time of the clock `days` from now.
fn beijing(app: &App, offset: Duration) -> String {
    (app.now() + offset)
        .with_timezone(&fangkong_app::china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

static KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn check(code: &str) -> CheckpointScan {
    CheckpointScan {
        passage_key: format!(
            "k-{}",
            KEY.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
        code: code.into(),
        ..Default::default()
    }
}

async fn colour_of(app: &App, actor: &Actor, id_number: &str) -> String {
    app.person_code(actor, "", id_number)
        .await
        .expect("person code")
        .code
        .colour
}

async fn codes_follow_mass_testing_and_hand_entered_facts(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let a1 = person_in(GRID_A1);

    // A 5-in-1 pool of grid A1 comes back positive: the five turn red at once, and say why.
    let round = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: "廉州镇第1轮".into(),
                kind: "whole".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "5".into(),
                tubes: "20".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let view = app.round(&world.commander_a, round).await.unwrap();
    let first = TubeBarcode::parse(&view.tube_ranges[0].0).unwrap().serial();
    let tube = |n: u64| TubeBarcode::from_serial(first + n).unwrap().to_string();
    let site = app
        .create_site(
            &world.commander_a,
            round,
            &SiteForm {
                region_code: VILLAGE_A1.into(),
                name: "西城街采样点".into(),
                tables: "1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let scan = |tube: String, id: &str, purpose: Option<&str>| ScanInput {
        scan_id: format!(
            "s-{}",
            KEY.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
        tube,
        action: if id.is_empty() {
            ScanAction::Close
        } else {
            ScanAction::Bind
        },
        purpose: purpose.map(str::to_string),
        id_type: String::new(),
        id_number: id.to_string(),
        name: String::new(),
        scanned_at: None,
        occurred_at: String::new(),
    };
    let batch = |scans: Vec<ScanInput>| SamplingBatch {
        round_id: round,
        site_id: site,
        table_no: 1,
        scans,
    };
    let pooled: Vec<ScanInput> = a1
        .iter()
        .take(5)
        .map(|r| scan(tube(0), &r.id_number, None))
        .collect();
    let results = app
        .submit_scans(&world.sampler_a, &batch(pooled))
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    app.submit_lab_results(
        &world.lab,
        &[ResultInput {
            tube: tube(0),
            result: "positive".into(),
            tested_at: None,
        }],
    )
    .await
    .unwrap();
    // The upload fed the codes itself (no background pass needed).
    let wang = &a1[0].id_number;
    let code = app.person_code(&staff.commander, "", wang).await.unwrap();
    assert_eq!(code.code.colour, "red", "{:?}", code.code);
    assert!(code.code.summary.contains("混管"), "{}", code.code.summary);
    assert!(code.code.waits_for_test || code.code.turns_green_at.is_none());
    assert_eq!(code.changes.len(), 1);
    assert_eq!(code.changes[0].from_colour, CodeColour::Green);
    assert_eq!(code.changes[0].to_colour, CodeColour::Red);
    // The sixth of the grid was not in the pool: still green.
    assert_eq!(
        colour_of(&app, &staff.commander, &a1[5].id_number).await,
        "green"
    );
    let overview = app.code_overview(&staff.commander, None).await.unwrap();
    assert_eq!(overview.red, 5);
    // A second pass over the same events adds nothing.
    app.sync_code_events().await.unwrap();
    assert_eq!(
        app.person_code(&staff.commander, "", wang)
            .await
            .unwrap()
            .changes
            .len(),
        1
    );

    // Wang's single-tube recheck comes back negative: green again, with the change on record.
    let results = app
        .submit_scans(
            &world.sampler_a,
            &batch(vec![scan(tube(1), wang, Some("recheck"))]),
        )
        .await
        .unwrap();
    assert!(results[0].ok, "{results:?}");
    app.submit_lab_results(
        &world.lab,
        &[ResultInput {
            tube: tube(1),
            result: "negative".into(),
            tested_at: None,
        }],
    )
    .await
    .unwrap();
    let code = app.person_code(&staff.commander, "", wang).await.unwrap();
    assert_eq!(code.code.colour, "green", "{:?}", code.code);
    assert_eq!(code.changes[0].to_colour, CodeColour::Green);
    assert_eq!(
        colour_of(&app, &staff.commander, &a1[1].id_number).await,
        "red"
    );

    // An epidemiologist names a close contact last exposed 2 days ago: red for 7 days from the
    // exposure, then yellow to day 10, then green only after a negative test.
    let contact = &a1[5].id_number;
    let written = app
        .add_code_fact(
            &staff.epidemiologist,
            &fact(contact, "close_contact", &beijing(&app, Duration::days(-2))),
        )
        .await
        .unwrap();
    assert_eq!(written.colour, CodeColour::Red);
    let code = app
        .person_code(&staff.commander, "", contact)
        .await
        .unwrap();
    assert!(
        code.code.reasons.iter().any(|r| r.words.contains("密接")),
        "{:?}",
        code.code.reasons
    );
    assert_eq!(code.facts.len(), 1);
    assert_eq!(code.facts[0].kind_label, "密接");
    // Facts in the future are refused, and unknown kinds.
    let future = app
        .add_code_fact(
            &staff.epidemiologist,
            &fact(contact, "close_contact", &beijing(&app, Duration::days(2))),
        )
        .await;
    assert!(matches!(future, Err(AppError::Invalid(m)) if m.contains("将来")));
    let unknown = app
        .add_code_fact(&staff.epidemiologist, &fact(contact, "zombie", ""))
        .await;
    assert!(matches!(unknown, Err(AppError::Invalid(_))));
    // A grid worker may look but not assign; a township commander may not touch township B.
    let denied = app
        .add_code_fact(&world.worker_a, &fact(contact, "close_contact", ""))
        .await;
    assert!(matches!(denied, Err(AppError::Forbidden { .. })));
    let b1 = person_in(GRID_B1);
    let outside = app
        .add_code_fact(
            &world.commander_a,
            &fact(&b1[0].id_number, "close_contact", ""),
        )
        .await;
    assert!(
        matches!(outside, Err(AppError::OutsideJurisdiction)),
        "{outside:?}"
    );

    // Time passes: day 6 red; the daily pass turns it yellow on day 8 without any new fact.
    let clock = &guard.clock;
    clock.advance(Duration::days(6));
    assert!(app.refresh_due_codes().await.unwrap() >= 1);
    assert_eq!(colour_of(&app, &staff.commander, contact).await, "yellow");
    let overview = app
        .code_overview(&staff.commander, Some("yellow"))
        .await
        .unwrap();
    assert!(
        overview
            .people
            .rows
            .iter()
            .any(|p| p.id_number_masked == masked_id(contact))
    );
    // The list's count is the whole list's: every yellow code, the same as the colour's count.
    assert_eq!(overview.people.total, overview.yellow);

    // A manual override needs a reason, wins over the rules, and is audited.
    let mut override_form = fact(contact, "manual_override", "");
    override_form.colour = "green".into();
    let refused = app.add_code_fact(&staff.commander, &override_form).await;
    assert!(matches!(refused, Err(AppError::Invalid(m)) if m.contains("理由")));
    override_form.note = "经区指挥部核实为误判".into();
    let written = app
        .add_code_fact(&staff.commander, &override_form)
        .await
        .unwrap();
    assert_eq!(written.colour, CodeColour::Green);
    let code = app
        .person_code(&staff.commander, "", contact)
        .await
        .unwrap();
    let override_fact = code
        .facts
        .iter()
        .find(|f| f.kind == "manual_override")
        .unwrap();
    app.end_code_fact(&staff.commander, override_fact.id, "撤销误操作")
        .await
        .unwrap();
    assert_eq!(colour_of(&app, &staff.commander, contact).await, "yellow");
    let again = app
        .end_code_fact(&staff.commander, override_fact.id, "再撤销")
        .await;
    assert!(matches!(again, Err(AppError::Conflict(_))));

    // Another province's red is mirrored until that province clears it.
    let b = &a1[4].id_number;
    let mut other = fact(b, "other_province", "");
    other.colour = "red".into();
    other.note = "北京市来函京协〔2022〕12号".into();
    app.add_code_fact(&staff.commander, &other).await.unwrap();
    let code = app.person_code(&staff.commander, "", b).await.unwrap();
    assert_eq!(code.code.colour, "red");
    let mirrored = code
        .facts
        .iter()
        .find(|f| f.kind == "other_province")
        .unwrap()
        .id;
    app.end_code_fact(&staff.commander, mirrored, "北京市已转绿并报国家平台")
        .await
        .unwrap();
    // Still red from the first pool (no recheck yet) — the province's clearance ends only its own.
    let code = app.person_code(&staff.commander, "", b).await.unwrap();
    assert_eq!(code.code.colour, "red");
    assert!(code.code.summary.contains("混管"));
}

async fn signed_codes_are_checked_at_checkpoints(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let a1 = person_in(GRID_A1);
    let wang = &a1[0];
    let wang_id = resident_id(&app, &world.admin, &wang.id_number).await;
    app.link_resident_login(&world.admin, world.resident_user.user_id, wang_id)
        .await
        .unwrap();

    // The resident's page: green, a QR text that verifies offline with only the trust list.
    let mine = app.my_code(&world.resident_user).await.unwrap();
    assert_eq!(mine.code.colour, "green");
    assert!(mine.token.starts_with("FK1:"), "{}", mine.token);
    assert!(
        !mine.token.contains(&wang.id_number[6..14]),
        "no ID number inside the code"
    );
    let trust = TrustList::from_json(&app.trust_list_json().await.unwrap()).unwrap();
    let claims = verify_code(&trust, &mine.token, app.now_unix()).expect("offline verification");
    assert_eq!(claims.colour.code(), "green");
    // Past its expiry a screenshot fails offline.
    assert_eq!(
        verify_code(&trust, &mine.token, mine.token_expires_at + 1)
            .unwrap_err()
            .code(),
        "expired"
    );

    // A railway station on the province's border line.
    let station = app
        .create_checkpoint(
            &staff.commander,
            &CheckpointForm {
                name: "石家庄北站出站口".into(),
                kind: "railway_station".into(),
                line: String::new(),
                region_code: COUNTY.into(),
            },
        )
        .await
        .unwrap();
    let refused = app
        .create_checkpoint(
            &staff.commander,
            &CheckpointForm {
                name: "无名".into(),
                kind: "spaceport".into(),
                line: String::new(),
                region_code: COUNTY.into(),
            },
        )
        .await;
    assert!(matches!(refused, Err(AppError::Invalid(_))));

    // The QR at the station: green, but no negative test on record → test on the spot.
    let mut scan = check(&mine.token);
    scan.temperature = "36.5".into();
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &scan)
        .await
        .unwrap();
    assert_eq!(outcome.method, "qr");
    assert_eq!(outcome.colour.as_deref(), Some("green"));
    assert!(!outcome.repeated);
    assert_eq!(outcome.id_number_masked, masked_id(&wang.id_number));
    // The same check sent again (a retry) is answered from the log, not logged twice.
    let again = app
        .verify_at_checkpoint(&staff.checkpoint, station, &scan)
        .await
        .unwrap();
    assert!(again.repeated);
    assert_eq!(again.decision, outcome.decision);
    let (passages, _) = app
        .checkpoint_passages(&staff.checkpoint, station, 50)
        .await
        .unwrap();
    assert_eq!(passages.len(), 1);

    // An altered QR (one character changed) is refused with the reason and logged.
    let mut altered: Vec<char> = mine.token.chars().collect();
    let at = altered.len() / 2;
    altered[at] = if altered[at] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &check(&altered))
        .await
        .unwrap();
    assert_eq!(outcome.decision, "rejected");
    assert!(!outcome.reasons.is_empty());
    // A code shown for someone else: the ID card swiped does not match.
    let mut mismatch = check(&mine.token);
    mismatch.id_number = a1[1].id_number.clone();
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &mismatch)
        .await
        .unwrap();
    assert_eq!(outcome.decision, "rejected");
    assert!(
        outcome.reasons[0].contains("人码不符"),
        "{:?}",
        outcome.reasons
    );
    // Not a code at all: a clear error. An impossible temperature: refused in words and logged as a
    // rejected check (never stored as a reading).
    let junk = app
        .verify_at_checkpoint(&staff.checkpoint, station, &check("hello"))
        .await;
    assert!(matches!(junk, Err(AppError::Invalid(m)) if m.contains("身份证")));
    let mut hot = check(&wang.id_number);
    hot.temperature = "52".into();
    let impossible = app
        .verify_at_checkpoint(&staff.checkpoint, station, &hot)
        .await;
    assert!(
        matches!(&impossible, Err(AppError::Invalid(m)) if m.contains("52")),
        "{impossible:?}"
    );
    let (passages, _) = app
        .checkpoint_passages(&staff.checkpoint, station, 50)
        .await
        .unwrap();
    assert_eq!(
        passages.len(),
        4,
        "the impossible temperature is logged as rejected"
    );

    // A fever goes to the fever clinic.
    hot.temperature = "38.4".into();
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &hot)
        .await
        .unwrap();
    assert_eq!(outcome.decision, "fever_clinic");

    // Typed ID of a red person (a close contact): refused.
    let contact = &a1[1].id_number;
    app.add_code_fact(&staff.epidemiologist, &fact(contact, "close_contact", ""))
        .await
        .unwrap();
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &check(contact))
        .await
        .unwrap();
    assert_eq!(outcome.method, "id");
    assert_eq!(outcome.colour.as_deref(), Some("red"));
    assert_eq!(outcome.decision, "refuse");

    // An arrival from a county with a high-risk area: landing test and a code assigned (赋码).
    let high = app
        .designate_risk_area(
            &staff.commander,
            &RiskAreaForm {
                scheme: String::new(),
                tier: "high".into(),
                unit: "village".into(),
                region_code: VILLAGE_B1.into(),
                place_name: String::new(),
                reason: "病例居住地".into(),
                occurred_at: String::new(),
            },
        )
        .await
        .unwrap();
    assert!(high > 0);
    let arriving = &a1[2].id_number;
    let mut arrival = check(arriving);
    arrival.from_region = COUNTY.into();
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &arrival)
        .await
        .unwrap();
    assert!(outcome.assign_code, "{outcome:?}");
    assert_eq!(outcome.decision, "test_on_spot");
    let code = app
        .person_code(&staff.commander, "", arriving)
        .await
        .unwrap();
    assert_eq!(code.code.colour, "red");
    assert!(code.facts.iter().any(|f| f.kind == "left_high_risk_area"));
    let bad_region = {
        let mut s = check(arriving);
        s.from_region = "北京".into();
        app.verify_at_checkpoint(&staff.checkpoint, station, &s)
            .await
    };
    assert!(matches!(bad_region, Err(AppError::Invalid(_))));

    // Wang's QR after his code changed: the online check uses the current colour.
    app.add_code_fact(
        &staff.epidemiologist,
        &fact(&wang.id_number, "secondary_contact", ""),
    )
    .await
    .unwrap();
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &check(&mine.token))
        .await
        .unwrap();
    assert_eq!(outcome.colour.as_deref(), Some("red"), "{outcome:?}");
    assert_eq!(outcome.decision, "refuse");

    // Expired: four minutes later the same screenshot is refused.
    guard.clock.advance(Duration::minutes(4));
    let outcome = app
        .verify_at_checkpoint(&staff.checkpoint, station, &check(&mine.token))
        .await
        .unwrap();
    assert_eq!(outcome.decision, "rejected");
    assert!(outcome.reasons[0].contains("过期"), "{:?}", outcome.reasons);

    // Roles: a grid worker cannot check at a checkpoint; the township commander cannot create
    // one outside the township.
    let denied = app
        .verify_at_checkpoint(&world.worker_a, station, &check(contact))
        .await;
    assert!(matches!(denied, Err(AppError::Forbidden { .. })));
    let outside = app
        .create_checkpoint(
            &world.commander_a,
            &CheckpointForm {
                name: "增村卡口".into(),
                kind: "community_gate".into(),
                line: String::new(),
                region_code: VILLAGE_B1.into(),
            },
        )
        .await;
    assert!(matches!(
        outside,
        Err(AppError::Forbidden { .. }) | Err(AppError::OutsideJurisdiction)
    ));
}

async fn risk_areas_step_down_by_the_rules(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let form = |tier: &str, unit: &str, region: &str, place: &str| RiskAreaForm {
        scheme: String::new(),
        tier: tier.into(),
        unit: unit.into(),
        region_code: region.into(),
        place_name: place.into(),
        reason: "病例居住地".into(),
        occurred_at: String::new(),
    };

    // Mistakes are refused in words: a village unit on a township code; a building without a name;
    // a tier of another scheme.
    let wrong_level = app
        .designate_risk_area(&staff.commander, &form("high", "village", TOWNSHIP_A, ""))
        .await;
    assert!(
        matches!(&wrong_level, Err(AppError::Invalid(m)) if m.contains("村社区")),
        "{wrong_level:?}"
    );
    let no_name = app
        .designate_risk_area(&staff.commander, &form("high", "building", VILLAGE_A1, ""))
        .await;
    assert!(matches!(no_name, Err(AppError::Invalid(m)) if m.contains("名称")));
    let mut mixed = form("sealed", "village", VILLAGE_A1, "");
    mixed.scheme = "ninth".into();
    assert!(matches!(
        app.designate_risk_area(&staff.commander, &mixed).await,
        Err(AppError::Invalid(_))
    ));
    let denied = app
        .designate_risk_area(&world.worker_a, &form("high", "village", VILLAGE_A1, ""))
        .await;
    assert!(matches!(denied, Err(AppError::Forbidden { .. })));

    let high = app
        .designate_risk_area(&staff.commander, &form("high", "village", VILLAGE_A1, ""))
        .await
        .unwrap();
    app.designate_risk_area(
        &staff.commander,
        &form("medium", "building", VILLAGE_A2, "文源小区3号楼"),
    )
    .await
    .unwrap();

    // Anyone may read the public list; highest tier first.
    let public = app.public_risk_areas().await.unwrap();
    assert_eq!(public.len(), 2);
    assert_eq!(public[0].tier, "high");
    assert!(public[1].place.contains("文源小区3号楼"), "{:?}", public[1]);

    // Day 0: the next step (to medium) is not ready; confirming is refused with what is missing.
    let areas = app.risk_areas(&staff.commander, false).await.unwrap();
    let view = areas.iter().find(|a| a.area.id == high).unwrap();
    let next = view.next.as_ref().expect("a high area has a next step");
    assert_eq!(next.to_code, "medium");
    assert!(!next.ready);
    let early = app
        .confirm_area_step(&staff.commander, high, "medium")
        .await;
    assert!(
        matches!(&early, Err(AppError::Invalid(m)) if m.contains("还不能")),
        "{early:?}"
    );

    // A round in the area opened now takes single tubes there (high risk), 5-in-1 in the medium one.
    let round = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: "廉州镇区域核酸".into(),
                kind: "area".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "10".into(),
                tubes: "10".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let round_view = app.round(&world.commander_a, round).await.unwrap();
    let area_pool = |code: &str| {
        round_view
            .areas
            .iter()
            .find(|a| a.region_code.as_str() == code)
            .map(|a| a.pool_size)
    };
    assert_eq!(area_pool(VILLAGE_A1), Some(1));
    assert_eq!(area_pool(VILLAGE_A2), Some(5));

    // Seven clean days and an all-negative round on day 7: ready, confirmed → medium.
    let clock = &guard.clock;
    clock.advance(Duration::days(7) + Duration::hours(1));
    app.record_area_round(
        &staff.commander,
        high,
        None,
        &beijing(&app, Duration::hours(-1)),
    )
    .await
    .unwrap();
    let detail = app.risk_area(&staff.commander, high).await.unwrap();
    let next = detail.view.next.clone().unwrap();
    assert!(next.ready, "{next:?}");
    let stale = app
        .confirm_area_step(&staff.commander, high, "lifted")
        .await;
    assert!(matches!(stale, Err(AppError::Conflict(_))));
    app.confirm_area_step(&staff.commander, high, "medium")
        .await
        .unwrap();
    let detail = app.risk_area(&staff.commander, high).await.unwrap();
    assert_eq!(detail.view.area.tier, AreaTier::Medium);
    assert!(detail.steps.len() >= 2);

    // A new infection inside resets the count: the step to low is days away again.
    clock.advance(Duration::days(2));
    let touched = app
        .store_for_tools()
        .record_area_infection(GRID_A1, app.now_unix(), "区域内发现核酸阳性")
        .await
        .unwrap();
    assert_eq!(touched, vec![high]);
    let detail = app.risk_area(&staff.commander, high).await.unwrap();
    let next = detail.view.next.unwrap();
    assert!(!next.ready);
    assert!(next.conditions.iter().any(|(_, met)| !met));
}

async fn venues_appeals_untested_and_a_policy_switch(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let a1 = person_in(GRID_A1);
    let wang = &a1[0];
    let wang_id = resident_id(&app, &world.admin, &wang.id_number).await;
    app.link_resident_login(&world.admin, world.resident_user.user_id, wang_id)
        .await
        .unwrap();

    // A venue code, scanned by a resident: the visit is the itinerary tracing queries.
    let venue = app
        .create_venue(
            &staff.commander,
            &VenueForm {
                name: "西城街菜市场".into(),
                kind: "农贸市场".into(),
                address: "廉州镇西城街18号".into(),
                region_code: VILLAGE_A1.into(),
            },
        )
        .await
        .unwrap();
    let poster = app.venue(&staff.commander, venue).await.unwrap();
    assert!(poster.code_text.starts_with("FKV1:"));
    let visit = app
        .check_in_venue(&world.resident_user, &poster.code_text, "v1")
        .await
        .unwrap();
    assert_eq!(visit.colour, "green");
    assert!(!visit.repeated);
    assert!(
        app.check_in_venue(&world.resident_user, &poster.code_text, "v1")
            .await
            .unwrap()
            .repeated
    );
    let forged = poster
        .code_text
        .replace(&format!("FKV1:{venue}:"), &format!("FKV1:{}:", venue + 1));
    assert!(matches!(
        app.check_in_venue(&world.resident_user, &forged, "v2")
            .await,
        Err(AppError::Invalid(_))
    ));
    let from = beijing(&app, Duration::hours(-1));
    let to = beijing(&app, Duration::hours(1));
    let who = app
        .who_was_at(&staff.epidemiologist, "venue", venue, &from, &to)
        .await
        .unwrap();
    assert_eq!(who.len(), 1);
    assert_eq!(who[0].id_number_masked, masked_id(&wang.id_number));
    let trail = app
        .itinerary_of(&staff.epidemiologist, "", &wang.id_number, &from, &to)
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].place_name, "西城街菜市场");
    let denied = app
        .who_was_at(&world.worker_a, "venue", venue, &from, &to)
        .await;
    assert!(matches!(denied, Err(AppError::Forbidden { .. })));

    // An appeal: a close contact by mistake. One open appeal at a time; accepted → green, audited.
    app.add_code_fact(
        &staff.epidemiologist,
        &fact(&wang.id_number, "close_contact", ""),
    )
    .await
    .unwrap();
    assert_eq!(
        app.my_code(&world.resident_user).await.unwrap().code.colour,
        "red"
    );
    let short = app.file_appeal(&world.resident_user, "错").await;
    assert!(matches!(short, Err(AppError::Invalid(_))));
    let appeal = app
        .file_appeal(&world.resident_user, "那天我不在现场，有单位考勤为证")
        .await
        .unwrap();
    let twice = app
        .file_appeal(&world.resident_user, "再申诉一次试试看")
        .await;
    assert!(matches!(twice, Err(AppError::Conflict(_))));
    let open = app.appeals(&staff.commander, Some("open")).await.unwrap();
    assert_eq!((open.rows.len(), open.total), (1, 1));
    let no_words = app.decide_appeal(&staff.commander, appeal, true, " ").await;
    assert!(matches!(no_words, Err(AppError::Invalid(_))));
    app.decide_appeal(&staff.commander, appeal, true, "流调核实不在现场")
        .await
        .unwrap();
    let mine = app.my_code(&world.resident_user).await.unwrap();
    assert_eq!(mine.code.colour, "green");
    assert_eq!(mine.appeals[0].status, "accepted");
    assert!(matches!(
        app.decide_appeal(&staff.commander, appeal, false, "重复处理")
            .await,
        Err(AppError::Conflict(_))
    ));

    // 应检未检: after the deadline of a round, everyone without a swab gets a pop-up (Hebei).
    let round = app
        .open_round(
            &staff.commander,
            &RoundForm {
                name: "廉州镇第2轮".into(),
                kind: "whole".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "10".into(),
                tubes: "10".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let early = app.mark_round_untested(&staff.commander, round).await;
    assert!(matches!(early, Err(AppError::Invalid(m)) if m.contains("还没到")));
    guard.clock.advance(Duration::days(3));
    let marked = app
        .mark_round_untested(&staff.commander, round)
        .await
        .unwrap();
    assert_eq!(marked, 8, "township A's register, nobody swabbed");
    assert_eq!(
        app.mark_round_untested(&staff.commander, round)
            .await
            .unwrap(),
        0,
        "once per person"
    );
    let code = app
        .person_code(&staff.commander, "", &a1[3].id_number)
        .await
        .unwrap();
    assert!(code.code.popup.is_some(), "{:?}", code.code);

    // A policy switch recomputes everyone with a fact: a secondary contact is red in Hebei (within
    // 7 days) and yellow in Shanghai's April-2022 table.
    let secondary = &a1[4].id_number;
    app.add_code_fact(
        &staff.epidemiologist,
        &fact(secondary, "secondary_contact", ""),
    )
    .await
    .unwrap();
    assert_eq!(colour_of(&app, &staff.commander, secondary).await, "red");
    let county_only = app
        .set_code_policy(&world.commander_a, "shanghai-2022-04")
        .await;
    assert!(matches!(
        county_only,
        Err(AppError::Invalid(_)) | Err(AppError::Forbidden { .. })
    ));
    let province = {
        app.create_user_unchecked(
            &NewUser {
                username: "province".into(),
                display_name: "省指挥部".into(),
                role: Role::Commander,
                jurisdiction: RegionCode::parse("13").unwrap(),
                password: PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
        login(&app, "province").await
    };
    let unknown = app.set_code_policy(&province, "mars-2099").await;
    assert!(matches!(unknown, Err(AppError::Invalid(_))));
    let report = app
        .set_code_policy(&province, "shanghai-2022-04")
        .await
        .unwrap();
    assert_eq!(
        report.people, 8,
        "township A's eight all have a fact: {report:?}"
    );
    assert!(report.changed >= 1, "{report:?}");
    let code = app
        .person_code(&staff.commander, "", secondary)
        .await
        .unwrap();
    assert_eq!(code.code.colour, "yellow", "{:?}", code.code);
    assert!(code.changes.iter().any(|c| c.cause.contains("赋码规则")));
    // Nothing to change a second time.
    let report = app.recompute_all_codes("test").await.unwrap();
    assert_eq!(report.changed, 0, "{report:?}");
}
