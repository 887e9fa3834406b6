//! Kill -9 of `fangkong import` in the middle of a first (bulk) load: every committed chunk is there
//! after the restart, the dropped lookup indexes come back, and importing the file again completes it
//! with no duplicate.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fangkong_app::auth::NewUser;
use fangkong_app::{App, Store, SystemClock};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

const RESIDENTS: u64 = 150_000;

async fn open(dir: &std::path::Path) -> App {
    App::new(
        Store::open_sqlite_dir(dir).await.unwrap(),
        Arc::new(SystemClock),
    )
}

#[tokio::test]
async fn an_import_killed_midway_keeps_its_committed_rows_and_a_retry_adds_only_the_rest() {
    if !crate::slow_suites_enabled() {
        return;
    }
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    {
        let app = open(dir.path()).await;
        app.load_divisions().await.unwrap();
        let county = RegionCode::parse("130109").unwrap();
        let (plan, names) = fangkong_seed::plan_grids(&app, &county, RESIDENTS, 3)
            .await
            .unwrap();
        fangkong_seed::create_grids(&app, &plan, &names)
            .await
            .unwrap();
        let households = fangkong_sim::PopulationGenerator::new(&plan, &names, app.today(), 3);
        let file = std::fs::File::create(&csv).unwrap();
        assert_eq!(
            fangkong_sim::write_csv(std::io::BufWriter::new(file), households).unwrap(),
            RESIDENTS
        );
        app.create_user_unchecked(
            &NewUser {
                username: "op".into(),
                display_name: "操作员".into(),
                role: Role::Administrator,
                jurisdiction: RegionCode::parse("13").unwrap(),
                password: "operator-password".into(),
            },
            "test",
        )
        .await
        .unwrap();
        app.store_for_tools().close().await;
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_fangkong"))
        .args([
            "import",
            csv.to_str().unwrap(),
            "--as",
            "op",
            "--database",
            dir.path().to_str().unwrap(),
        ])
        .env("RUST_LOG", "error")
        .spawn()
        .unwrap();
    // Wait (bounded) until at least one chunk is committed, then kill the process without warning.
    let watcher = open(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let committed = watcher
            .store_for_tools()
            .import_run(1)
            .await
            .unwrap()
            .map(|run| run.inserted)
            .unwrap_or(0);
        if committed > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no chunk was committed in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    watcher.store_for_tools().close().await;

    let app = open(dir.path()).await;
    let everything = ("130109".to_string(), "130109:".to_string());
    let survived = app
        .store_for_tools()
        .count_residents_by_scan((&everything.0, &everything.1))
        .await
        .unwrap();
    let run = app.store_for_tools().import_run(1).await.unwrap().unwrap();
    assert!(
        survived >= run.inserted,
        "every acknowledged chunk survived: {survived} < {}",
        run.inserted
    );
    assert!(survived < RESIDENTS as i64, "the kill came before the end");
    let counts = app
        .store_for_tools()
        .subtree_counts("130109", (&everything.0, &everything.1))
        .await
        .unwrap();
    assert_eq!(
        counts.residents, survived,
        "per-grid counts moved in the same transactions as the rows"
    );

    let operator = fangkong_seed::seed_actor();
    let retry = app
        .import_residents(&operator, &csv, "people.csv")
        .await
        .unwrap();
    assert_eq!(retry.problem_rows, 0);
    assert_eq!(retry.inserted + retry.unchanged, RESIDENTS as i64);
    assert_eq!(
        retry.unchanged, survived,
        "rows that landed before the kill are recognised"
    );
    let total = app
        .store_for_tools()
        .count_residents_by_scan((&everything.0, &everything.1))
        .await
        .unwrap();
    assert_eq!(total, RESIDENTS as i64, "no duplicate, nothing missing");
    let again = app
        .import_residents(&operator, &csv, "people.csv")
        .await
        .unwrap();
    assert_eq!((again.inserted, again.updated), (0, 0));
}
