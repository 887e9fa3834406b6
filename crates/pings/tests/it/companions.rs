//! The companion kernel against a brute-force transcription of analytics.md §3 Q2's SQL, on small
//! generated day files with the awkward cases: pings at the same second, gaps longer than the cap,
//! runs of one cell, a case that is another case's companion, a case with no pings, clipped
//! infectious windows, row groups of a few rows, and files that are not sorted.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use fangkong_pings::PingsError;
use fangkong_pings::companions::{
    CaseWindow, CompanionRow, CompanionRule, CompanionRun, companions, companions_sweeping_everyone,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

/// 2020-12-20 00:00 in Beijing.
const T0: i64 = 1_608_393_600;
const DAY: i64 = 86_400;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough for test data, and deterministic.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Writes the pings as Beijing day files, sorted by (cell, ts, person) unless `shuffle`.
fn write_days(dir: &Path, pings: &[(i64, i64, i64)], rows_per_group: usize, shuffle: bool) {
    let mut by_day: BTreeMap<i64, Vec<(i64, i64, i64)>> = BTreeMap::new();
    for &(p, t, c) in pings {
        by_day
            .entry((t + 8 * 3600).div_euclid(DAY))
            .or_default()
            .push((c, t, p));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("ts", DataType::Int64, false),
        Field::new("cell_id", DataType::Int64, false),
    ]));
    let mut rng = Rng(99);
    for (day, mut rows) in by_day {
        rows.sort_unstable();
        if shuffle {
            for i in (1..rows.len()).rev() {
                rows.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        let (y, m, d) = civil(day);
        let path = dir.join(format!("pings-{y:04}-{m:02}-{d:02}.parquet"));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(rows_per_group))
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let file = File::create(&path).expect("create day file");
        let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props)).expect("writer");
        let col = |f: fn(&(i64, i64, i64)) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![col(|r| r.2), col(|r| r.1), col(|r| r.0)],
        )
        .expect("batch");
        w.write(&batch).expect("write");
        w.close().expect("close");
    }
}

/// A small population over `days` days: people move between a few cells, with ties, long gaps and
/// long stays.
fn generate(seed: u64, people: i64, cells: i64, days: i64) -> Vec<(i64, i64, i64)> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Vec::new();
    for k in 0..people {
        let pid = 13_800_000_000 + k * 7_919;
        let home = 32_004_300 + rng.below(cells as u64) as i64;
        let mut cell = home;
        let mut t = T0 + rng.below(7_200) as i64;
        while t < T0 + days * DAY {
            out.push((pid, t, cell));
            if rng.chance(4) {
                // Another ping at the same second, here or next door.
                let other = if rng.chance(50) {
                    cell
                } else {
                    32_004_300 + rng.below(cells as u64) as i64
                };
                out.push((pid, t, other));
            }
            t += match rng.below(20) {
                0 => 3_600,
                1 => 3_601,
                2 => 4_000 + rng.below(20_000) as i64,
                3 => 0,
                _ => 60 + rng.below(2_400) as i64,
            };
            if rng.chance(15) {
                cell = if rng.chance(40) {
                    home
                } else {
                    32_004_300 + rng.below(cells as u64) as i64
                };
            }
        }
    }
    out
}

/// analytics.md §3 Q2 transcribed: runs by window functions, the band join as a nested loop, the
/// aggregate, the 30-hour test; the case's window clips each episode.
fn reference(
    pings: &[(i64, i64, i64)],
    cases: &[CaseWindow],
    window: (i64, i64),
    rule: &CompanionRule,
) -> Vec<CompanionRow> {
    let mut by_person: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for &(p, t, c) in pings {
        if t >= window.0 && t < window.1 {
            by_person.entry(p).or_default().push((t, c));
        }
    }
    // runs: (person, cell, start, end)
    let mut runs = Vec::new();
    for (&p, seq) in by_person.iter_mut() {
        seq.sort_unstable(); // ORDER BY ts, cell_id
        let mut run_id = 0;
        let mut cur: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new(); // run_id -> (cell, min ts, max end)
        for i in 0..seq.len() {
            let (ts, cell) = seq[i];
            let next_ts = seq.get(i + 1).map(|x| x.0);
            let brk = match i.checked_sub(1).map(|j| seq[j]) {
                Some((pt, pc)) => !(pc == cell && ts - pt <= rule.cap_s),
                None => true,
            };
            if brk {
                run_id += 1;
            }
            let piece_end = next_ts.unwrap_or(ts).min(ts + rule.cap_s);
            let e = cur.entry(run_id).or_insert((cell, ts, piece_end));
            e.1 = e.1.min(ts);
            e.2 = e.2.max(piece_end);
        }
        for (_, (cell, s, e)) in cur {
            runs.push((p, cell, s, e));
        }
    }
    let mut stay: HashMap<(i64, i64), i64> = HashMap::new();
    for &(p, c, s, e) in &runs {
        *stay.entry((p, c)).or_default() += e - s;
    }
    let window_of: HashMap<i64, &CaseWindow> = cases.iter().map(|c| (c.person_id, c)).collect();
    let mut agg: BTreeMap<(i64, i64, i64), (i64, i64, i64)> = BTreeMap::new();
    for &(cp, cc, cs, ce) in &runs {
        let Some(w) = window_of.get(&cp) else {
            continue;
        };
        for &(pp, pc, ps, pe) in &runs {
            if pc != cc || pp == cp || !(ps < ce && cs < pe) {
                continue;
            }
            let (gs, le) = (ps.max(cs), pe.min(ce));
            let (a, b) = (gs.max(w.from), le.min(w.to));
            if !(a < b || (gs == le && gs >= w.from && gs < w.to)) {
                continue;
            }
            let len = (b - a).max(0);
            let e = agg.entry((pp, cp, pc)).or_insert((0, 0, i64::MAX));
            e.0 += len;
            e.1 = e.1.max(len);
            e.2 = e.2.min(a);
        }
    }
    agg.into_iter()
        .filter(|&((p, c, cell), (total, max, _))| {
            let co = if rule.continuous { max } else { total };
            co > rule.min_costay_s
                && (stay.get(&(p, cell)).copied().unwrap_or(0) > rule.min_cell_stay_s
                    || stay.get(&(c, cell)).copied().unwrap_or(0) > rule.min_cell_stay_s)
        })
        .map(|((p, c, cell), (total, max, first))| CompanionRow {
            person_id: p,
            case_id: c,
            cell_id: cell,
            total_ov_s: total,
            max_ov_s: max,
            first_ov_start: first,
        })
        .collect()
}

/// Runs the job both ways (candidates first, as the daily job does; everyone swept, as the full
/// job does) and checks they agree.
fn run(dir: &Path, cases: &[CaseWindow], window: (i64, i64), rule: &CompanionRule) -> CompanionRun {
    let got = companions(dir, cases, window, rule).expect("the job runs");
    let all = companions_sweeping_everyone(dir, cases, window, rule).expect("the job runs");
    assert_eq!(got.rows, all.rows, "candidates first vs everyone swept");
    assert_eq!(got.cases_without_pings, all.cases_without_pings);
    got
}

const SMALL_RULE: CompanionRule = CompanionRule {
    cap_s: 3_600,
    min_costay_s: 600,
    continuous: false,
    min_cell_stay_s: 8 * 3_600,
};

fn pick_cases(pings: &[(i64, i64, i64)], n: usize, rng: &mut Rng) -> Vec<i64> {
    let mut ids: Vec<i64> = pings.iter().map(|p| p.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    while out.len() < n.min(ids.len()) {
        let id = ids[rng.below(ids.len() as u64) as usize];
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[test]
fn equals_the_sql_on_generated_days() {
    for seed in 1..=6u64 {
        let days = 3;
        let pings = generate(seed, 40, 3 + 2 * seed as i64, days);
        let dir = tempfile::tempdir().expect("tempdir");
        write_days(dir.path(), &pings, 37 + seed as usize * 11, seed % 3 == 0);
        let mut rng = Rng(seed + 1000);
        let ids = pick_cases(&pings, 6, &mut rng);
        let window = (T0, T0 + days * DAY);
        // The full job: every case's window covers the whole window.
        let mut cases: Vec<CaseWindow> = ids
            .iter()
            .map(|&p| CaseWindow {
                person_id: p,
                from: window.0 - DAY,
                to: window.1 + DAY,
            })
            .collect();
        // A case with no pings at all.
        cases.push(CaseWindow {
            person_id: 19_999_999_999,
            from: window.0,
            to: window.1,
        });
        for rule in [
            SMALL_RULE,
            CompanionRule {
                continuous: true,
                ..SMALL_RULE
            },
            CompanionRule {
                cap_s: 1_800,
                min_costay_s: 0,
                continuous: false,
                min_cell_stay_s: 0,
            },
            CompanionRule::CHENGDU_2021,
        ] {
            let got = run(dir.path(), &cases, window, &rule);
            let want = reference(&pings, &cases, window, &rule);
            assert_eq!(got.rows, want, "seed {seed}, rule {rule:?}");
            assert_eq!(got.cases_without_pings, vec![19_999_999_999]);
            if rule.min_cell_stay_s == 0 {
                assert!(
                    !want.is_empty(),
                    "seed {seed}: the data must give companions"
                );
                // A case can be another case's companion.
                assert!(
                    want.iter().any(|r| ids.contains(&r.person_id)),
                    "seed {seed}"
                );
            }
        }
        // Clipped windows (the daily job): each case its own few hours to days.
        for c in cases.iter_mut() {
            let from = T0 + rng.below((days * DAY) as u64) as i64;
            c.from = from;
            c.to = from + 1 + rng.below(DAY as u64 * 2) as i64;
        }
        // And a window that starts after the first day: runs are built from the window's pings only.
        for window in [window, (T0 + DAY / 2, T0 + days * DAY - 3_000)] {
            for rule in [
                SMALL_RULE,
                CompanionRule {
                    min_costay_s: 0,
                    min_cell_stay_s: 0,
                    ..SMALL_RULE
                },
            ] {
                let got = run(dir.path(), &cases, window, &rule);
                let want = reference(&pings, &cases, window, &rule);
                assert_eq!(got.rows, want, "seed {seed}, clipped, window {window:?}");
            }
        }
    }
}

#[test]
fn hand_made_runs_give_the_expected_row() {
    // Case 1 pings in cell 10 at 0, 1000, 2000 (then nothing): run [0, 2000) — the last ping is
    // zero-length. Person 2 pings in cell 10 at 500, 1500, then at 9000 (gap > cap, same cell),
    // then in cell 11 at 9100: runs [500, 5100) and [9000, 9100).
    let base = T0;
    let pings = vec![
        (1, base, 10),
        (1, base + 1_000, 10),
        (1, base + 2_000, 10),
        (2, base + 500, 10),
        (2, base + 1_500, 10),
        (2, base + 9_000, 10),
        (2, base + 9_100, 11),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    write_days(dir.path(), &pings, 1_000, false);
    let rule = CompanionRule {
        cap_s: 3_600,
        min_costay_s: 600,
        continuous: false,
        min_cell_stay_s: 1_000,
    };
    let window = (T0, T0 + DAY);
    let case = |from, to| CaseWindow {
        person_id: 1,
        from,
        to,
    };
    let got = run(dir.path(), &[case(T0, T0 + DAY)], window, &rule);
    assert_eq!(
        got.rows,
        vec![CompanionRow {
            person_id: 2,
            case_id: 1,
            cell_id: 10,
            total_ov_s: 1_500,
            max_ov_s: 1_500,
            first_ov_start: base + 500,
        }]
    );
    assert!(got.cases_without_pings.is_empty());
    assert_eq!(got.stats.files, 1);
    // Clipped to [1200, 1700): 500 s, not more than 600: no row; to [1000, 1700): 700 s.
    let got = run(
        dir.path(),
        &[case(base + 1_200, base + 1_700)],
        window,
        &rule,
    );
    assert!(got.rows.is_empty());
    let got = run(
        dir.path(),
        &[case(base + 1_000, base + 1_700)],
        window,
        &rule,
    );
    assert_eq!(got.rows.len(), 1);
    assert_eq!(
        (got.rows[0].total_ov_s, got.rows[0].first_ov_start),
        (700, base + 1_000)
    );
}

#[test]
fn bad_jobs_and_files_are_refused_in_plain_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let window = (T0, T0 + DAY);
    let case = CaseWindow {
        person_id: 1,
        from: T0,
        to: T0 + DAY,
    };
    let rule = CompanionRule::CHENGDU_2021;
    // No day files.
    let err = companions(dir.path(), &[case], window, &rule).expect_err("no files");
    assert!(
        matches!(err, PingsError::Invalid(ref m) if m.contains("没有")),
        "{err}"
    );
    // No cases, an empty window, a case twice, an empty infectious window.
    write_days(dir.path(), &[(1, T0 + 5, 10)], 10, false);
    assert!(matches!(
        companions(dir.path(), &[], window, &rule),
        Err(PingsError::Invalid(_))
    ));
    assert!(matches!(
        companions(dir.path(), &[case], (T0, T0), &rule),
        Err(PingsError::Invalid(_))
    ));
    assert!(matches!(
        companions(dir.path(), &[case, case], window, &rule),
        Err(PingsError::Invalid(m)) if m.contains("不止一次")
    ));
    let empty = CaseWindow { to: T0, ..case };
    assert!(matches!(
        companions(dir.path(), &[empty], window, &rule),
        Err(PingsError::Invalid(_))
    ));
    // A day file that is not Parquet, and one that is truncated: named in the error.
    std::fs::write(
        dir.path().join("pings-2020-12-21.parquet"),
        b"person_id,ts,cell_id\n",
    )
    .expect("write");
    let err = companions(dir.path(), &[case], (T0, T0 + 2 * DAY), &rule).expect_err("not parquet");
    assert!(
        matches!(err, PingsError::Unreadable { ref file, .. } if file.contains("2020-12-21")),
        "{err}"
    );
    let good = std::fs::read(dir.path().join("pings-2020-12-20.parquet")).expect("read");
    std::fs::write(
        dir.path().join("pings-2020-12-21.parquet"),
        &good[..good.len() / 2],
    )
    .expect("write");
    let err = companions(dir.path(), &[case], (T0, T0 + 2 * DAY), &rule).expect_err("truncated");
    assert!(err.to_string().contains("无法读取"), "{err}");
    // Files outside the window are not even opened.
    let got = companions(dir.path(), &[case], window, &rule).expect("day one alone");
    assert_eq!(got.stats.files, 1);
    assert!(got.rows.is_empty());
}
