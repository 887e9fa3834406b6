//! The day-file layout: round trip, pruning, and files that are not what they claim.

use crate::common;

use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use fangkong_pings::layout::{
    DayReader, Prune, Want, day_start, list_days, read_all, read_day, write_day, write_day_grouped,
};
use fangkong_pings::visitors::{AreaWindow, risk_area_visitors};
use fangkong_pings::{Ping, PingsError};

const T0: i64 = 1_608_393_600; // 2020-12-20 00:00 +08

fn ping(person_id: i64, ts: i64, cell_id: i64) -> Ping {
    Ping {
        person_id,
        ts,
        cell_id,
    }
}

fn unreadable_why(r: Result<impl std::fmt::Debug, PingsError>) -> (String, String) {
    match r {
        Err(PingsError::Unreadable { file, why }) => (file, why),
        other => panic!("expected Unreadable, got {other:?}"),
    }
}

#[test]
fn a_day_round_trips_sorted_and_without_duplicates() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut pings = vec![
        ping(3, T0 + 50, 20),
        ping(1, T0 + 10, 30),
        ping(2, T0 + 5, 20),
        ping(3, T0 + 50, 20),
    ];
    let day = write_day(tmp.path(), T0, &mut pings).expect("write");
    assert_eq!(day.rows, 3);
    assert_eq!(
        day.path.file_name().and_then(|n| n.to_str()),
        Some("pings-2020-12-20.parquet")
    );
    let back = read_all(&day.path).expect("read");
    assert_eq!(
        back,
        vec![
            ping(2, T0 + 5, 20),
            ping(3, T0 + 50, 20),
            ping(1, T0 + 10, 30)
        ]
    );
    // Other files in the directory are ignored; days come back in order.
    std::fs::write(tmp.path().join("notes.txt"), "x").expect("notes");
    write_day(tmp.path(), T0 - 86_400, &mut vec![ping(9, T0 - 1, 1)]).expect("write");
    let days = list_days(tmp.path()).expect("list");
    assert_eq!(
        days.iter().map(|d| d.day_start).collect::<Vec<_>>(),
        vec![T0 - 86_400, T0]
    );
    // A ping of another day is refused, not filed in the wrong day.
    let wrong = write_day(tmp.path(), T0, &mut vec![ping(1, T0 + 86_400, 1)]);
    assert!(
        matches!(wrong, Err(PingsError::Invalid(ref why)) if why.contains("不属于")),
        "{wrong:?}"
    );
    // Rewriting a day replaces it, and leaves no temp file behind.
    write_day(tmp.path(), T0, &mut vec![ping(5, T0, 5)]).expect("rewrite");
    assert_eq!(read_all(&day.path).expect("read"), vec![ping(5, T0, 5)]);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn statistics_and_the_page_index_prune() {
    let tmp = tempfile::tempdir().expect("tmp");
    // 400 cells × 500 people: 200 000 pings, row groups of 50 000 rows (100 cells), pages of
    // about 20 000 rows (the writer's page limit, in steps of its 1 024-row batches).
    let mut pings = Vec::new();
    for cell in 0..400i64 {
        for person in 0..500i64 {
            pings.push(ping(
                person,
                T0 + (person * 37 + cell) % 86_400,
                1_000_000 + cell,
            ));
        }
    }
    let all = pings.clone();
    let day = write_day_grouped(tmp.path(), T0, &mut pings, 50_000).expect("write");
    assert_eq!(day.row_groups, 4);
    let r = DayReader::open(&day.path).expect("open");
    assert_eq!(r.row_groups(), 4);
    // Cells 1 000 005 and 1 000 006 live in the first row group only.
    let cells = vec![1_000_005, 1_000_006];
    let groups = r.prune(&Prune {
        ts: None,
        cells: Some(cells.clone()),
    });
    assert_eq!(groups, vec![0]);
    // A window before every ping prunes everything.
    assert!(
        r.prune(&Prune {
            ts: Some((T0 - 100, T0 - 1)),
            cells: None
        })
        .is_empty()
    );
    // The page index narrows the row group further than its statistics.
    let mut decoded = 0;
    r.scan(&groups, Want::ALL, Some(&cells), &mut |b| {
        decoded += b.len();
        Ok(())
    })
    .expect("scan");
    assert!(
        decoded <= 25_000,
        "page index should skip pages, decoded {decoded}"
    );
    assert!(decoded >= 1_000);
    // And the query that uses both still returns every visitor.
    let area = AreaWindow {
        cells: cells.clone(),
        from: T0,
        to: T0 + 86_400,
    };
    let (rows, stats) = risk_area_visitors(tmp.path(), &area).expect("visitors");
    assert_eq!(rows, common::visitors_reference(&all, &area));
    assert_eq!(rows.len(), 500);
    assert_eq!((stats.row_groups_total, stats.row_groups_read), (4, 1));
    // read_day with a ts window keeps the row groups the statistics allow, in file order.
    let (cols, st) = read_day(&day.path, None).expect("read day");
    assert_eq!(cols.len(), 200_000);
    assert_eq!(st.row_groups_read, 4);
    assert!(cols.cell_id.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_file_that_is_not_parquet_is_named_and_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("pings-2020-12-20.parquet");
    std::fs::write(&path, "person_id,ts,cell_id\n1,2,3\n").expect("write");
    let (file, why) = unreadable_why(DayReader::open(&path).map(|_| ()));
    assert!(file.ends_with("pings-2020-12-20.parquet"));
    assert!(why.contains("不是 Parquet"), "{why}");
    // A directory scan names it too, rather than skipping it silently.
    let (_, why) = unreadable_why(list_days(tmp.path()));
    assert!(why.contains("不是 Parquet"));
    let empty = tmp.path().join("empty.parquet");
    std::fs::write(&empty, b"").expect("write");
    assert!(
        unreadable_why(DayReader::open(&empty).map(|_| ()))
            .1
            .contains("不是 Parquet")
    );
}

#[test]
fn a_truncated_file_is_named_and_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let day = write_day(
        tmp.path(),
        T0,
        &mut (0..5_000).map(|i| ping(i, T0 + i, i % 50)).collect(),
    )
    .expect("write");
    let bytes = std::fs::read(&day.path).expect("read");
    for cut in [bytes.len() - 1, bytes.len() / 2, 10] {
        std::fs::write(&day.path, &bytes[..cut]).expect("cut");
        let (_, why) = unreadable_why(read_day(&day.path, None).map(|_| ()));
        assert!(
            why.contains("截断") || why.contains("不完整"),
            "cut at {cut}: {why}"
        );
    }
    // Footer intact but a page damaged: a decode error that names the file, never a panic.
    let mut broken = bytes.clone();
    for b in broken.iter_mut().skip(8).take(2_000) {
        *b = 0xA5;
    }
    std::fs::write(&day.path, &broken).expect("damage");
    let (file, _) = unreadable_why(read_day(&day.path, None).map(|_| ()));
    assert!(file.ends_with("pings-2020-12-20.parquet"));
}

fn write_batch(path: &std::path::Path, fields: Vec<Field>, cols: Vec<ArrayRef>) {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols).expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

#[test]
fn a_missing_or_wrongly_typed_column_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let wrong = tmp.path().join("wrong.parquet");
    write_batch(
        &wrong,
        vec![
            Field::new("person_id", DataType::Int64, false),
            Field::new("ts", DataType::Int32, false),
            Field::new("cell_id", DataType::Int64, false),
        ],
        vec![
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![1])),
        ],
    );
    let (_, why) = unreadable_why(DayReader::open(&wrong).map(|_| ()));
    assert!(why.contains("列 ts") && why.contains("INT64"), "{why}");
    let missing = tmp.path().join("missing.parquet");
    write_batch(
        &missing,
        vec![
            Field::new("person_id", DataType::Int64, false),
            Field::new("ts", DataType::Int64, false),
        ],
        vec![
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            Arc::new(Int64Array::from(vec![1])),
        ],
    );
    let (_, why) = unreadable_why(DayReader::open(&missing).map(|_| ()));
    assert!(why.contains("缺少列 cell_id"), "{why}");
    // Empty values in a nullable column are refused by name, not read as zero.
    let nulls = tmp.path().join("nulls.parquet");
    write_batch(
        &nulls,
        vec![
            Field::new("person_id", DataType::Int64, true),
            Field::new("ts", DataType::Int64, false),
            Field::new("cell_id", DataType::Int64, false),
        ],
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            Arc::new(Int64Array::from(vec![T0, T0])),
            Arc::new(Int64Array::from(vec![1, 2])),
        ],
    );
    let (_, why) = unreadable_why(read_day(&nulls, None).map(|_| ()));
    assert!(why.contains("空值"), "{why}");
}

#[test]
fn beijing_midnight_is_the_day_boundary() {
    assert_eq!(day_start(T0 + 86_399), T0);
    assert_eq!(day_start(T0 + 86_400), T0 + 86_400);
}

#[test]
fn a_person_filter_returns_only_those_people() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut pings: Vec<Ping> = (0..30_000)
        .map(|i| ping(i % 1_000, T0 + i, 1_000 + i % 77))
        .collect();
    let day = write_day_grouped(tmp.path(), T0, &mut pings, 10_000).expect("write");
    let r = DayReader::open(&day.path).expect("open");
    let keep: fangkong_pings::layout::Keep = Arc::new(|p| p == 7 || p == 500);
    let mut got = Vec::new();
    r.scan_people(&[0, 1, 2], Want::ALL, &keep, &mut |b| {
        for i in 0..b.len() {
            got.push(ping(b.person_id[i], b.ts[i], b.cell_id[i]));
        }
        Ok(())
    })
    .expect("scan");
    let mut want: Vec<Ping> = pings
        .iter()
        .copied()
        .filter(|p| p.person_id == 7 || p.person_id == 500)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), 60);
    assert_eq!(got, want);
}

#[test]
fn the_cell_map_counts_bad_lines_and_keeps_the_good() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("cells.csv");
    let long = "1".repeat(2_000);
    std::fs::write(
        &path,
        format!("cell_id,region_code\n32324332,130109001001\nabc,130109001002\n32324333\n32324332,130109001003\n{long},1\n32324334,130109001004\n"),
    )
    .expect("write");
    let map = fangkong_pings::cells::read_cell_map_report(&path).expect("read");
    assert_eq!(
        map.rows,
        vec![
            (32_324_332, "130109001001".to_string()),
            (32_324_334, "130109001004".to_string())
        ]
    );
    assert_eq!(map.bad_lines, 4);
    let words: Vec<&str> = map.first_problems.iter().map(|(_, w)| w.as_str()).collect();
    assert!(words.iter().any(|w| w.contains("不是整数")), "{words:?}");
    assert!(words.iter().any(|w| w.contains("重复")));
    assert!(words.iter().any(|w| w.contains("太长")));
    assert_eq!(map.first_problems[0].0, 3, "line numbers count the header");
}
