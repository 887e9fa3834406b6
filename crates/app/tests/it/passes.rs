//! The supply whitelist and passes (保供白名单与通行证): enterprises, vehicles and people registered
//! with their documents; vehicle passes numbered county code + serial from 000000 without gaps or
//! duplicates under concurrency, the people on board with a 48 h negative at issue; staff passes;
//! the vehicle check at a 环京 checkpoint ("两码一证") — through, and refused for a wrong route, a
//! wrong plate, a revoked, forged or expired pass — logged; the invariant.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::checkpoints::{CheckpointForm, VehicleScan};
use fangkong_app::supplies::passes::{
    EnterpriseForm, NegativeForm, PassForm, RevokeForm, SupplyPersonForm, VehicleForm,
};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_county_issues_passes_and_the_ring_checkpoint_checks_them,
    passes_story_sqlite,
    passes_story_postgres
);

async fn user(app: &App, username: &str, role: Role, office: &str) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: username.into(),
            role,
            jurisdiction: RegionCode::parse(office).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, username).await
}

fn day(app: &App, offset: i64) -> String {
    (app.today() + Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn scan(key: &str, pass: &str, plate: &str) -> VehicleScan {
    VehicleScan {
        passage_key: key.into(),
        pass: pass.into(),
        plate: plate.into(),
        temperature: "36.5".into(),
    }
}

async fn a_county_issues_passes_and_the_ring_checkpoint_checks_them(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let supply = user(&app, "supply_county", Role::Supply, COUNTY).await;
    let supply_town = user(&app, "supply_town", Role::Supply, TOWNSHIP_A).await;
    let commander = user(&app, "cmd_county", Role::Commander, COUNTY).await;
    let checker = user(&app, "checker", Role::Checkpoint, COUNTY).await;

    // The whitelist: an enterprise once by its credit code; a bad code refused in words.
    let form = EnterpriseForm {
        name: "藁城区农产品批发市场".into(),
        kind: "wholesale_market".into(),
        region_code: VILLAGE_A1.into(),
        credit_code: "91130109MA0ABCDE1X".into(),
        certificate_no: "GC保供-2022-001".into(),
        contact_phone: "13912345678".into(),
    };
    let market = app
        .register_supply_enterprise(&supply, &form)
        .await
        .unwrap();
    assert!(matches!(
        app.register_supply_enterprise(&supply, &form).await,
        Err(AppError::Conflict(_))
    ));
    let bad = app
        .register_supply_enterprise(
            &supply,
            &EnterpriseForm {
                credit_code: "123".into(),
                ..form.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("18位"), "{bad}");
    assert!(matches!(
        app.register_supply_enterprise(&world.worker_a, &form).await,
        Err(AppError::Forbidden { .. })
    ));

    // Its vehicles (the plate normalised, once in the whitelist) and people.
    let vehicle = |plate: &str| VehicleForm {
        plate: plate.into(),
        kind: "articulated".into(),
        licence_no: "XSZ-001".into(),
    };
    let lorry = app
        .add_supply_vehicle(&supply, market, &vehicle("冀a·d1234"))
        .await
        .unwrap();
    assert!(matches!(
        app.add_supply_vehicle(&supply, market, &vehicle("冀AD1234"))
            .await,
        Err(AppError::Conflict(_))
    ));
    let van = app
        .add_supply_vehicle(&supply, market, &vehicle("冀AD5678"))
        .await
        .unwrap();
    let now = app.now();
    let recent = (now - Duration::hours(10))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let person = |role: &str, name: &str, id: &str, negative: &str| SupplyPersonForm {
        role: role.into(),
        name: name.into(),
        id_type: String::new(),
        id_number: id.into(),
        phone: "13812345678".into(),
        document_no: "JSZ-1".into(),
        negative_at: negative.into(),
    };
    let driver = app
        .add_supply_person(
            &supply,
            market,
            &person("driver", "王建国", "130109198001011237", &recent),
        )
        .await
        .unwrap();
    let staff = app
        .add_supply_person(
            &supply,
            market,
            &person("staff", "李梅", "130109199002020025", ""),
        )
        .await
        .unwrap();
    let detail = app.supply_enterprise(&supply, market).await.unwrap();
    assert_eq!(detail.vehicles.len(), 2);
    assert_eq!(detail.vehicles[0].plate, "冀AD1234");
    assert!(
        detail
            .people
            .iter()
            .all(|p| !p.id_masked.contains("19800101"))
    );

    // A vehicle pass: the county's code and serial 000000, then 000001; a route to the county.
    let pass_form = |vehicle: i64, origin: &str, destination: &str| PassForm {
        kind: "vehicle".into(),
        vehicle_id: vehicle.to_string(),
        person_ids: driver.to_string(),
        goods: "living".into(),
        origin: origin.into(),
        via: String::new(),
        destination: destination.into(),
        valid_from: day(&app, 0),
        valid_until: day(&app, 2),
    };
    let first = app
        .issue_supply_pass(&supply, market, &pass_form(lorry, COUNTY, "110115"))
        .await
        .unwrap();
    assert_eq!(first.number, "130109000000");
    assert_eq!(first.route, ["130109", "110115"]);
    let elsewhere = app
        .issue_supply_pass(&supply, market, &pass_form(van, "130102", "110115"))
        .await
        .unwrap();
    assert_eq!(elsewhere.number, "130109000001");
    // Issued by the county only; a township's office is not the issuer.
    let by_town = app
        .issue_supply_pass(&supply_town, market, &pass_form(lorry, COUNTY, "110115"))
        .await;
    assert!(by_town.is_err());
    // A route to a township is refused: origin and destination to county level.
    let to_town = app
        .issue_supply_pass(&supply, market, &pass_form(lorry, TOWNSHIP_A, "110115"))
        .await
        .unwrap_err();
    assert!(to_town.to_string().contains("县"), "{to_town}");
    // A staff pass for someone without a 48 h negative is refused; with one registered, issued.
    let staff_form = PassForm {
        kind: "staff".into(),
        person_ids: staff.to_string(),
        valid_from: day(&app, 0),
        valid_until: day(&app, 6),
        ..Default::default()
    };
    let refused = app
        .issue_supply_pass(&supply, market, &staff_form)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("48小时"), "{refused}");
    app.record_supply_person_negative(
        &supply,
        staff,
        &NegativeForm {
            negative_at: recent.clone(),
        },
    )
    .await
    .unwrap();
    let staff_pass = app
        .issue_supply_pass(&supply, market, &staff_form)
        .await
        .unwrap();
    assert_eq!(staff_pass.number, "130109000002");

    // Concurrent issues: every serial once, no gap.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let app = app.clone();
        let supply = supply.clone();
        let form = pass_form(van, COUNTY, "110115");
        tasks.spawn(async move { app.issue_supply_pass(&supply, market, &form).await });
    }
    let mut numbers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        numbers.push(done.unwrap().unwrap().number);
    }
    numbers.sort();
    let expected: Vec<String> = (3..9).map(|n| format!("130109{n:06}")).collect();
    assert_eq!(numbers, expected);
    let listed = app.supply_passes(&supply, 0).await.unwrap();
    assert_eq!(listed.total, 9);

    // The 环京 checkpoint of the county.
    let ring = app
        .create_checkpoint(
            &commander,
            &CheckpointForm {
                name: "G4京港澳高速环京检查站".into(),
                kind: "beijing_ring".into(),
                line: String::new(),
                region_code: COUNTY.into(),
            },
        )
        .await
        .unwrap();
    let detail = app.supply_pass(&supply, first.id).await.unwrap();
    assert!(detail.qr_text.starts_with("FP1:"));
    assert_eq!(detail.people.len(), 1);

    // Through: the QR, this plate, the county on the route, the driver green and tested.
    let ok = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v1", &detail.qr_text, "冀AD1234"))
        .await
        .unwrap();
    assert_eq!(ok.decision, "pass", "{:?}", ok.reasons);
    assert_eq!(ok.people.len(), 1);
    // A retry of the same check is answered from the log.
    let again = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v1", &detail.qr_text, "冀AD1234"))
        .await
        .unwrap();
    assert!(again.repeated);
    // Typed with the plate: the same.
    let typed = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v2", "130109 000000", "冀AD1234"))
        .await
        .unwrap();
    assert_eq!(typed.decision, "pass", "{:?}", typed.reasons);
    // The driver on board is a passage of the checkpoint like everyone checked there: tracing's
    // question "who passed here" finds them (once per check, a retry adds nothing).
    let day = app.today();
    let passed = app
        .who_was_at(
            &commander,
            "checkpoint",
            ring,
            &day.to_string(),
            &(day + chrono::Duration::days(1)).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(
        passed.len(),
        2,
        "the driver at the QR check and the typed one"
    );
    // Another vehicle showing this pass: one vehicle, one pass.
    let plate = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v3", &detail.qr_text, "冀AD5678"))
        .await
        .unwrap();
    assert_eq!(plate.decision, "refuse");
    assert!(plate.reasons.iter().any(|r| r.contains("车证不符")));
    // The wrong route: the county is not on 130102 → 110115.
    let route = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v4", &elsewhere.number, "冀AD5678"))
        .await
        .unwrap();
    assert_eq!(route.decision, "refuse");
    assert!(
        route.reasons.iter().any(|r| r.contains("线路不符")),
        "{:?}",
        route.reasons
    );
    assert!(
        route.reasons.iter().any(|r| r.contains("藁城区（130109）")),
        "the counties by name: {:?}",
        route.reasons
    );
    // A staff pass is no vehicle pass.
    let staff_check = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v5", &staff_pass.number, "冀AD1234"))
        .await
        .unwrap();
    assert_eq!(staff_check.decision, "refuse");
    // A forged QR (a key not on the trust list) and a number nobody issued.
    let forger = fangkong_signed_code::CodeSigner::from_secret("CN-13", &[9u8; 32]);
    let forged_claims = fangkong_signed_code::verify_pass(
        &fangkong_signed_code::TrustList::new(vec![forger.trusted_key()]).unwrap(),
        &forger.sign_pass(&fangkong_signed_code::PassClaims {
            issuer: "CN-13".into(),
            number: "130109000000".into(),
            kind: "vehicle".into(),
            plate: "冀AD1234".into(),
            route: vec!["130109".into()],
            valid_from: app.now_unix() - 60,
            valid_until: app.now_unix() + 86_400,
            goods: "living".into(),
            people: 1,
            issued_at: app.now_unix() - 60,
        }),
        app.now_unix(),
    )
    .unwrap();
    let forged_text = forger.sign_pass(&forged_claims);
    let forged = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v6", &forged_text, "冀AD1234"))
        .await
        .unwrap();
    assert_eq!(forged.decision, "refuse");
    assert!(forged.reasons[0].contains("伪造"), "{:?}", forged.reasons);
    let unknown = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v7", "130109999999", "冀AD1234"))
        .await
        .unwrap();
    assert!(unknown.reasons[0].contains("查无"));
    // Bad input is refused in words before anything is logged.
    assert!(matches!(
        app.check_vehicle_at_checkpoint(&checker, ring, &scan("v8", "12345", "冀AD1234"))
            .await,
        Err(AppError::Invalid(_))
    ));
    // A fever on board.
    let fever = app
        .check_vehicle_at_checkpoint(
            &checker,
            ring,
            &VehicleScan {
                temperature: "37.8".into(),
                ..scan("v9", &first.number, "冀AD1234")
            },
        )
        .await
        .unwrap();
    assert_eq!(fever.decision, "refuse");

    // Revoked: refused with the reason.
    app.revoke_supply_pass(
        &supply,
        elsewhere.id,
        &RevokeForm {
            reason: "车辆改派".into(),
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        app.revoke_supply_pass(
            &supply,
            elsewhere.id,
            &RevokeForm {
                reason: "再撤".into()
            }
        )
        .await,
        Err(AppError::Conflict(_))
    ));
    let revoked = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v10", &elsewhere.number, "冀AD5678"))
        .await
        .unwrap();
    assert!(revoked.reasons.iter().any(|r| r.contains("撤销")));

    // Two days on, the driver's test is stale; after the validity, the pass has expired.
    guard.clock.advance(Duration::hours(40));
    let stale = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v11", &first.number, "冀AD1234"))
        .await
        .unwrap();
    assert!(
        stale.reasons.iter().any(|r| r.contains("48小时")),
        "{:?}",
        stale.reasons
    );
    guard.clock.advance(Duration::days(3));
    let expired = app
        .check_vehicle_at_checkpoint(&checker, ring, &scan("v12", &detail.qr_text, "冀AD1234"))
        .await
        .unwrap();
    assert_eq!(expired.decision, "refuse");
    assert!(
        expired.reasons[0].contains("已过期"),
        "{:?}",
        expired.reasons
    );

    // The log and the invariant.
    let log = app.vehicle_passages(&checker, ring, 50).await.unwrap();
    assert_eq!(log.len(), 11);
    assert_eq!(log.iter().filter(|p| p.decision_label == "放行").count(), 2);
    let report = app.check_consistency(Duration::zero()).await.unwrap();
    let invariant = report
        .results
        .iter()
        .find(|r| r.key == "supply_passes_numbered_and_checked")
        .unwrap();
    assert_eq!(
        invariant.violations.count, 0,
        "{:?}",
        invariant.violations.examples
    );
}
