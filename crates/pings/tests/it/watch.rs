//! The ingest-time check: areas fire once per person, fences once per excursion, by the rule.

use fangkong_pings::Ping;
use fangkong_pings::cells::cell_of;
use fangkong_pings::fence::{FenceRule, HomeFence};
use fangkong_pings::visitors::AreaWindow;
use fangkong_pings::watch::{Watch, WatchHit};

const T0: i64 = 1_608_393_600;
const P: i64 = 13_000_000_001;

fn home() -> i64 {
    cell_of(3232, 4332)
}
fn next_door() -> i64 {
    cell_of(3233, 4332)
}
fn away() -> i64 {
    cell_of(3240, 4340)
}

fn fence() -> HomeFence {
    HomeFence {
        person_id: P,
        home_cell: home(),
        from: T0,
        to: T0 + 7 * 86_400,
    }
}

/// Feed (minutes after T0, cell) pings and return the minutes at which a breach fired.
fn breaches(rule: FenceRule, pings: &[(i64, i64)]) -> Vec<i64> {
    let mut w = Watch::new(vec![], vec![fence()], rule);
    pings
        .iter()
        .filter_map(|&(min, cell)| {
            match w.check(&Ping {
                person_id: P,
                ts: T0 + min * 60,
                cell_id: cell,
            }) {
                Some(WatchHit::FenceBreach {
                    ping,
                    home_cell,
                    at,
                }) => {
                    assert_eq!(home_cell, home());
                    assert!(ping.ts <= at.ts);
                    Some(min)
                }
                Some(other) => panic!("unexpected {other:?}"),
                None => None,
            }
        })
        .collect()
}

#[test]
fn strict_fires_once_per_excursion() {
    let pings = [
        (0, home()),
        (10, away()),
        (20, away()),
        (30, away()),
        (40, home()),
        (50, away()),
        (60, home()),
    ];
    assert_eq!(breaches(FenceRule::STRICT, &pings), vec![10, 50]);
}

#[test]
fn the_tolerance_ignores_a_single_ping_next_door_or_away() {
    let rule = FenceRule::DEFAULT; // 2 pings or 20 minutes out, neighbours are home
    // Hand-over to the next cell: never a breach.
    assert!(
        breaches(
            rule,
            &[
                (0, home()),
                (5, next_door()),
                (6, next_door()),
                (7, next_door())
            ]
        )
        .is_empty()
    );
    // One ping away, back 5 minutes later: noise.
    assert!(breaches(rule, &[(0, home()), (5, away()), (10, home())]).is_empty());
    // Two consecutive pings away: fires at the second, once.
    assert_eq!(
        breaches(
            rule,
            &[
                (0, home()),
                (5, away()),
                (8, away()),
                (9, away()),
                (30, home())
            ]
        ),
        vec![8]
    );
    // One ping away but 25 minutes until the next ping home: counts by time, when the ping home shows it.
    assert_eq!(
        breaches(rule, &[(0, home()), (5, away()), (30, home())]),
        vec![30]
    );
    // Two excursions, two alarms.
    assert_eq!(
        breaches(
            rule,
            &[
                (0, away()),
                (1, away()),
                (2, home()),
                (100, away()),
                (101, away())
            ]
        ),
        vec![1, 101]
    );
}

#[test]
fn outside_the_window_or_another_person_never_fires() {
    let mut w = Watch::new(vec![], vec![fence()], FenceRule::STRICT);
    assert_eq!(
        w.check(&Ping {
            person_id: P,
            ts: T0 - 1,
            cell_id: away()
        }),
        None
    );
    assert_eq!(
        w.check(&Ping {
            person_id: P,
            ts: T0 + 7 * 86_400,
            cell_id: away()
        }),
        None
    );
    assert_eq!(
        w.check(&Ping {
            person_id: P + 1,
            ts: T0 + 5,
            cell_id: away()
        }),
        None
    );
    assert!(
        w.check(&Ping {
            person_id: P,
            ts: T0 + 5,
            cell_id: away()
        })
        .is_some()
    );
    assert_eq!(w.out_now(), 1);
}

#[test]
fn an_area_visit_fires_once_per_person_and_area_inside_its_window() {
    let area = AreaWindow {
        cells: vec![away(), next_door()],
        from: T0,
        to: T0 + 86_400,
    };
    let empty = AreaWindow {
        cells: vec![],
        from: T0,
        to: T0 + 86_400,
    };
    let mut w = Watch::new(vec![(7, area), (8, empty)], vec![], FenceRule::STRICT);
    let p = |person_id, ts, cell_id| Ping {
        person_id,
        ts,
        cell_id,
    };
    assert_eq!(w.check(&p(P, T0 - 5, away())), None, "before the window");
    assert_eq!(w.check(&p(P, T0 + 5, home())), None, "another cell");
    assert_eq!(
        w.check(&p(P, T0 + 6, away())),
        Some(WatchHit::AreaVisit {
            area: 7,
            ping: p(P, T0 + 6, away())
        })
    );
    assert_eq!(w.check(&p(P, T0 + 7, next_door())), None, "once per person");
    assert!(
        w.check(&p(P + 1, T0 + 8, next_door())).is_some(),
        "another person fires"
    );
    // A fenced person entering an area raises both.
    let area = AreaWindow {
        cells: vec![away()],
        from: T0,
        to: T0 + 86_400,
    };
    let mut w = Watch::new(vec![(1, area)], vec![fence()], FenceRule::STRICT);
    let mut hits = Vec::new();
    w.check_all(&p(P, T0 + 9, away()), &mut hits);
    assert_eq!(hits.len(), 2);
}
