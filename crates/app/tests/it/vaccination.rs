//! Vaccination (疫苗接种): doses typed and imported (CSV and XLSX), checked by the interval rules
//! (a dose before its interval refused with the reason, or a problem row), retries writing
//! nothing, contraindications kept as reasons, coverage by age band and region, the push list of
//! the elderly not yet vaccinated, and the invariant over the doses.

use crate::support::*;
use fangkong_app::auth::NewUser;
use fangkong_app::supplies::vaccination::{ContraindicationForm, DoseForm};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    doses_keep_their_intervals_and_the_elderly_not_yet_vaccinated_are_listed,
    vaccination_story_sqlite,
    vaccination_story_postgres
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

fn dose(id_number: &str, kind: &str, on: &str) -> DoseForm {
    DoseForm {
        id_number: id_number.into(),
        product: "国药北京生物".into(),
        dose_kind: kind.into(),
        given_on: on.into(),
        site: "增村镇卫生院接种门诊".into(),
        ..Default::default()
    }
}

fn refused(result: Result<impl std::fmt::Debug, AppError>, words: &str) {
    match result {
        Err(AppError::Invalid(why)) => assert!(why.contains(words), "{why}"),
        other => panic!("expected a refusal with “{words}”, got {other:?}"),
    }
}

async fn doses_keep_their_intervals_and_the_elderly_not_yet_vaccinated_are_listed(
    backend: Backend,
) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    // Three elderly people of grid B1: 84, 77 and 72 years old on 2022-11-20.
    let elderly = [
        Row::person("张老汉", "19380305", 121, "", "B1-0003", "户主", GRID_B1),
        Row::person("李奶奶", "19450607", 132, "", "B1-0004", "户主", GRID_B1),
        Row::person("陈大爷", "19500909", 141, "", "B1-0005", "户主", GRID_B1),
    ];
    let path = guard.path("elderly.csv");
    write_csv(&path, &elderly);
    let imported = app
        .import_residents(&world.admin, &path, "elderly.csv")
        .await
        .unwrap();
    assert_eq!(imported.inserted, 3, "{:?}", imported.problems);
    let point = user(&app, "vaccinator_b", Role::Vaccinator, TOWNSHIP_B).await;
    let county = user(&app, "county_cmd", Role::Commander, COUNTY).await;
    let b: Vec<Row> = population_in(TOWNSHIP_B);
    let (wang, sun, zhou) = (&b[0].id_number, &b[1].id_number, &b[2].id_number);

    // Typed: a first dose, its retry (nothing written), a second dose too early (the reason
    // names the earliest day), then in time; a booster too early, then in time.
    let first = app
        .record_dose(&point, &dose(wang, "第一剂", "2022-05-01"))
        .await
        .unwrap();
    assert_eq!(first.status, "recorded");
    let again = app
        .record_dose(&point, &dose(wang, "第一剂", "2022-05-01"))
        .await
        .unwrap();
    assert_eq!(again.status, "already_recorded");
    assert!(again.dose_id.is_none());
    refused(
        app.record_dose(&point, &dose(wang, "第一剂", "2022-05-03"))
            .await,
        "已登记第一剂",
    );
    refused(
        app.record_dose(&point, &dose(wang, "第二剂", "2022-05-15"))
            .await,
        "最早 2022-05-22",
    );
    app.record_dose(&point, &dose(wang, "2", "2022-05-22"))
        .await
        .unwrap();
    refused(
        app.record_dose(&point, &dose(wang, "加强针", "2022-08-21"))
            .await,
        "满3个月",
    );
    app.record_dose(&point, &dose(wang, "加强针", "2022-08-22"))
        .await
        .unwrap();
    refused(
        app.record_dose(&point, &dose(sun, "第二剂", "2022-06-01"))
            .await,
        "尚无第一剂",
    );
    refused(
        app.record_dose(&point, &dose(sun, "第一剂", "2022-11-21"))
            .await,
        "晚于今天",
    );
    // Someone of another township is not the point's to record; a grid worker records nothing.
    let a1 = &population_in(TOWNSHIP_A)[0].id_number;
    refused(
        app.record_dose(&point, &dose(a1, "第一剂", "2022-05-01"))
            .await,
        "未在您辖区",
    );
    assert!(matches!(
        app.record_dose(&world.worker_b, &dose(sun, "第一剂", "2022-05-01"))
            .await,
        Err(AppError::Forbidden { .. })
    ));

    // A sheet as Excel writes it: a date cell, a retried row, a second dose too early, an
    // unknown product, an ID Excel stored as a number.
    let sheet = guard.path("接种记录.xlsx");
    {
        use rust_xlsxwriter::{Format, Workbook};
        let mut book = Workbook::new();
        let s = book.add_worksheet();
        let head = ["姓名", "证件号码", "疫苗", "剂次", "接种日期", "接种单位"];
        for (c, h) in head.iter().enumerate() {
            s.write_string(0, c as u16, *h).unwrap();
        }
        let rows = [
            [
                "孙丽",
                sun.as_str(),
                "北京科兴",
                "第一剂",
                "2022-06-01",
                "增村镇卫生院",
            ],
            [
                "孙丽",
                sun.as_str(),
                "北京科兴",
                "第二剂",
                "2022-06-10",
                "增村镇卫生院",
            ],
            [
                "王大力",
                wang.as_str(),
                "国药北京生物",
                "1",
                "2022-05-01",
                "增村镇卫生院",
            ],
            [
                "周杰",
                zhou.as_str(),
                "辉瑞",
                "1",
                "2022-06-01",
                "增村镇卫生院",
            ],
            [
                "张老汉",
                elderly[0].id_number.as_str(),
                "康希诺",
                "第一剂",
                "",
                "增村镇卫生院",
            ],
            [
                "陈大爷",
                elderly[2].id_number.as_str(),
                "国药北京生物",
                "1",
                "2022-07-01",
                "",
            ],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                s.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
        // Row 6 (张老汉): the date as a real Excel date cell (44866 = 2022-11-01).
        let date = Format::new().set_num_format("yyyy-mm-dd");
        s.write_number_with_format(5, 4, 44866.0, &date).unwrap();
        // Row 7 (陈大爷): the ID typed into a General cell: Excel keeps a number, digits lost.
        s.write_number(6, 1, elderly[2].id_number[..17].parse::<f64>().unwrap())
            .unwrap();
        book.save(&sheet).unwrap();
    }
    let report = app
        .import_doses(&point, &sheet, "接种记录.xlsx")
        .await
        .unwrap();
    assert_eq!(report.rows, 6, "{report:?}");
    assert_eq!(report.recorded, 2, "{report:?}");
    assert_eq!(report.already_recorded, 1, "{report:?}");
    let rows: Vec<(i64, &str)> = report
        .problems
        .iter()
        .map(|p| (p.row_number, p.column.as_str()))
        .collect();
    assert_eq!(
        rows,
        [(3, "接种日期"), (5, "疫苗"), (7, "证件号码")],
        "{report:?}"
    );
    assert!(report.problems[0].message.contains("21天"));
    // The same sheet again writes nothing new.
    let again = app
        .import_doses(&point, &sheet, "接种记录.xlsx")
        .await
        .unwrap();
    assert_eq!(
        (again.recorded, again.already_recorded),
        (0, 3),
        "{again:?}"
    );
    // A CSV with the header in other words, as a clinic's system exports it (GBK or UTF-8).
    let csv = guard.path("doses.csv");
    std::fs::write(
        &csv,
        format!("\u{feff}受种者,身份证号,疫苗名称,针次,接种时间,接种门诊\n孙丽,{sun},北京科兴,第二剂,2022-06-22,增村镇卫生院\n"),
    )
    .unwrap();
    let report = app.import_doses(&point, &csv, "doses.csv").await.unwrap();
    assert_eq!(report.recorded, 1, "{report:?}");

    // Contraindications: a postponement needs its end; kept as the reason on the list.
    refused(
        app.record_contraindication(
            &point,
            &ContraindicationForm {
                id_number: elderly[1].id_number.clone(),
                reason: "acute_fever".into(),
                ..Default::default()
            },
        )
        .await,
        "暂缓",
    );
    app.record_contraindication(
        &point,
        &ContraindicationForm {
            id_number: elderly[1].id_number.clone(),
            reason: "acute_fever".into(),
            until: "2022-12-01".into(),
            note: "发热38.5℃".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // The push list of the grid worker: 60 and over with no dose, oldest first, with reasons.
    let list = app
        .vaccination_push_list(&world.worker_b, "", 0)
        .await
        .unwrap();
    let names: Vec<&str> = list.rows.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["李奶奶", "陈大爷", "周杰"], "{list:?}");
    assert_eq!(list.total, 3);
    assert_eq!(list.rows[0].age, 77);
    assert!(list.rows[0].reasons[0].contains("急性发热"), "{list:?}");
    assert!(list.rows[0].reasons[0].contains("2022-12-01"));
    assert!(list.rows[1].reasons.is_empty());
    assert!(!list.rows[2].id_masked.contains(zhou.as_str()));
    // Another township's worker asks for this one: refused.
    assert!(matches!(
        app.vaccination_push_list(&world.worker_a, TOWNSHIP_B, 0)
            .await,
        Err(AppError::OutsideJurisdiction)
    ));

    // Coverage by band: 18–59 (王大力 full and boosted, 孙丽 full), 60–79 (none of three), 80+
    // (张老汉: one dose of Ad5 is the full course).
    let cover = app.vaccination_coverage(&county, TOWNSHIP_B).await.unwrap();
    let band = |label: &str| {
        cover
            .bands
            .iter()
            .find(|b| b.band == label)
            .unwrap()
            .clone()
    };
    let adult = band("18—59岁");
    assert_eq!(
        (
            adult.people,
            adult.first_dose,
            adult.full_course,
            adult.booster
        ),
        (2, 2, 2, 1)
    );
    assert_eq!(adult.booster_rate, "50.0%");
    let senior = band("60—79岁");
    assert_eq!((senior.people, senior.first_dose), (3, 0));
    let oldest = band("80岁及以上");
    assert_eq!(
        (oldest.people, oldest.first_dose, oldest.full_course),
        (1, 1, 1)
    );
    assert_eq!(cover.all.people, 6);
    assert_eq!(cover.children.len(), 1);
    assert_eq!(cover.children[0].code, VILLAGE_B1);

    // The dose rules hold over every dose written.
    let check = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    let r = check
        .results
        .iter()
        .find(|r| r.key == "vaccine_doses_keep_intervals")
        .unwrap();
    assert_eq!(r.violations.count, 0, "{:?}", r.violations);
}
