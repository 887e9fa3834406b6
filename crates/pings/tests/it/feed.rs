//! Importing an operator's feed: bad rows counted with words, good rows merged, never a panic.

use std::io::Write;

use fangkong_pings::feed::{MAX_LINE, describe, import_feed};
use fangkong_pings::layout::{list_days, read_all, write_day};
use fangkong_pings::{Ping, PingsError};
use rustc_hash::FxHashSet;

const T0: i64 = 1_608_393_600; // 2020-12-20 00:00 +08

fn ping(person_id: i64, ts: i64, cell_id: i64) -> Ping {
    Ping {
        person_id,
        ts,
        cell_id,
    }
}

#[test]
fn a_csv_feed_counts_every_kind_of_bad_row_and_lands_the_good_ones() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("pings");
    // A day file exists already with one ping the feed repeats.
    write_day(
        &dir,
        T0,
        &mut vec![ping(13_000_000_001, T0 + 100, 32_324_332)],
    )
    .expect("seed day");
    let feed = tmp.path().join("feed.txt");
    let mut f = std::fs::File::create(&feed).expect("feed");
    let long = "9".repeat(MAX_LINE + 10);
    writeln!(
        f,
        "\u{feff}ts,person_id,cell_id\n\
         {t1},13000000001,32324332\n\
         {t0},13000000001,32324332\n\
         {t2},13000000002,32324333\n\
         {t2},13000000002,32324333\n\
         {t3},13000000003,99999999\n\
         {t4},13000000003,32324332\n\
         abc,13000000004,32324332\n\
         {t1},13000000004\n\
         {t1}000,13000000004,32324332\n\
         {long},1,1\n\
         \n\
         {t5},13000000005,32324332",
        t0 = T0 + 100,
        t1 = T0 + 200,
        t2 = T0 + 86_400 + 5,
        t3 = T0 + 300,
        t4 = T0 + 10 * 86_400,
        t5 = T0 + 400,
    )
    .expect("write");
    drop(f);
    let known: FxHashSet<i64> = [32_324_332, 32_324_333].into_iter().collect();
    let mut seen = Vec::new();
    let report = import_feed(
        &feed,
        &dir,
        Some(&known),
        Some((T0, T0 + 2 * 86_400)),
        &mut |p| seen.push(*p),
    )
    .expect("import");
    assert_eq!(report.rows_read, 11, "{report:?}");
    assert_eq!(report.unknown_cells, 1);
    assert_eq!(report.outside_window, 1);
    assert_eq!(
        report.malformed, 4,
        "not an integer, 2 columns, milliseconds, too long"
    );
    assert_eq!(
        report.out_of_order, 1,
        "T0+100 after T0+200 for the same number"
    );
    // 5 good rows: one already in the file and one twice in the feed are duplicates.
    assert_eq!(seen.len(), 5);
    assert_eq!(report.duplicates, 2);
    assert_eq!(report.written, 3);
    assert_eq!(report.days.len(), 2);
    let words: Vec<&str> = report
        .first_problems
        .iter()
        .map(|(_, w)| w.as_str())
        .collect();
    assert!(
        words.iter().any(|w| w.contains("不在网格清单")),
        "{words:?}"
    );
    assert!(words.iter().any(|w| w.contains("不在本次导入的时间范围")));
    assert!(words.iter().any(|w| w.contains("不是整数")));
    assert!(words.iter().any(|w| w.contains("应为 3 列")));
    assert!(words.iter().any(|w| w.contains("太长")));
    assert!(words.iter().any(|w| w.contains("顺序颠倒")));
    // Problems carry the file's line numbers (the header is line 1).
    assert!(
        report
            .first_problems
            .iter()
            .any(|(row, w)| *row == 6 && w.contains("网格 99999999"))
    );
    assert!(describe(&report).contains("写入 3 条"));
    let days = list_days(&dir).expect("days");
    let total: u64 = days.iter().map(|d| d.rows).sum();
    assert_eq!(total, 4);
    // Importing the same feed again writes nothing new.
    let again = import_feed(
        &feed,
        &dir,
        Some(&known),
        Some((T0, T0 + 2 * 86_400)),
        &mut |_| {},
    )
    .expect("again");
    assert_eq!(again.written, 0);
    assert_eq!(again.duplicates, 5);
}

#[test]
fn a_parquet_feed_is_told_by_its_bytes_not_its_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src_dir = tmp.path().join("operator");
    let day = write_day(
        &src_dir,
        T0,
        &mut (0..1_000)
            .map(|i| ping(13_000_000_000 + i % 37, T0 + i * 60, 32_324_332 + i % 3))
            .collect(),
    )
    .expect("operator file");
    let disguised = tmp.path().join("feed.csv");
    std::fs::copy(&day.path, &disguised).expect("copy");
    let dir = tmp.path().join("pings");
    let mut n = 0;
    let report = import_feed(&disguised, &dir, None, None, &mut |_| n += 1).expect("import");
    assert_eq!((report.rows_read, report.written, n), (1_000, 1_000, 1_000));
    assert_eq!(
        read_all(&report.days[0].path).expect("read"),
        read_all(&day.path).expect("read")
    );
}

#[test]
fn a_feed_that_is_neither_or_is_cut_short_is_refused_by_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("pings");
    let junk = tmp.path().join("feed.bin");
    std::fs::write(&junk, [0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, 0x13]).expect("junk");
    match import_feed(&junk, &dir, None, None, &mut |_| {}) {
        Err(PingsError::Unreadable { file, why }) => {
            assert!(file.ends_with("feed.bin"));
            assert!(why.contains("既不是 Parquet"), "{why}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let wrong_header = tmp.path().join("feed.csv");
    std::fs::write(&wrong_header, "号码,时间,网格\n1,2,3\n").expect("csv");
    assert!(matches!(
        import_feed(&wrong_header, &dir, None, None, &mut |_| {}),
        Err(PingsError::Unreadable { .. })
    ));
    let src_dir = tmp.path().join("operator");
    let day = write_day(
        &src_dir,
        T0,
        &mut (0..3_000)
            .map(|i| ping(13_000_000_000 + i, T0 + i, 1))
            .collect(),
    )
    .expect("file");
    let bytes = std::fs::read(&day.path).expect("read");
    let cut = tmp.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("cut");
    match import_feed(&cut, &dir, None, None, &mut |_| {}) {
        Err(PingsError::Unreadable { file, why }) => {
            assert!(file.ends_with("cut.parquet"));
            assert!(why.contains("截断"), "{why}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Nothing landed from the refused files.
    assert!(!dir.exists() || list_days(&dir).expect("days").is_empty());
}
