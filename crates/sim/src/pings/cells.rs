//! The cell plan: where the villages, markets, workplaces and schools of the simulated district lie
//! on the 800 m grid of the location pings.
//!
//! `cell_id = row·10000 + col` with rows from [`ROW0`] and columns from [`COL0`] (analytics.md §2:
//! `(3200+row)·10000 + (4300+col)`); the district sits in the middle of a 64 × 64 block when it has
//! up to about 20 townships and grows outwards when it has more. The district seat (the township
//! with the most communities) is the centre: its communities are packed into a dense core, several
//! to a cell, its hospital is there and an industrial park lies to its east. The other townships
//! are spread around it on a sunflower spiral (even spacing whatever their number), each with its
//! villages clustered around the township's centre, where the market, the school and the
//! township's own workplaces are.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::VillageRef;
use crate::rng::Rng;

/// The first grid row of the plan (analytics.md §2).
pub const ROW0: i64 = 3200;
/// The first grid column of the plan (analytics.md §2).
pub const COL0: i64 = 4300;
/// The district seat's centre, relative to [`ROW0`] / [`COL0`]: the middle of a 64 × 64 block.
const CENTRE: (i64, i64) = (32, 32);

/// The id of the cell at a grid position relative to [`ROW0`] / [`COL0`].
pub(crate) fn cell_of(row: i64, col: i64) -> i64 {
    (ROW0 + row) * 10_000 + (COL0 + col)
}

/// The grid position of a cell relative to [`ROW0`] / [`COL0`].
pub(crate) fn row_col(cell: i64) -> (i64, i64) {
    (
        cell.div_euclid(10_000) - ROW0,
        cell.rem_euclid(10_000) - COL0,
    )
}

/// Cells of one township.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Township {
    centre: (i64, i64),
    market: i64,
    school: i64,
    work: i64,
}

/// Where everything of the simulated district lies on the grid. Deterministic by seed.
#[derive(Debug, Clone, Default)]
pub struct CellPlan {
    /// Village or community code → its cells (the first is its centre).
    villages: HashMap<String, Vec<i64>>,
    village_township: HashMap<String, String>,
    townships: BTreeMap<String, Township>,
    seat: Option<String>,
    park: Vec<i64>,
    hospital: i64,
    isolation: i64,
    /// (min row, max row, min col, max col), absolute, inclusive.
    bounds: (i64, i64, i64, i64),
}

/// Residents above which a village covers a second, third, fourth cell.
const CELL_SIZES: [u64; 3] = [3_000, 6_000, 10_000];
/// Communities of the seat per core cell: the town is dense.
const COMMUNITIES_PER_CELL: usize = 3;
/// Cells of the district's industrial park.
const PARK_CELLS: usize = 6;
/// Margin of cells around everything placed, for commutes and the plan's bounds.
const MARGIN: i64 = 2;

impl CellPlan {
    /// Places `villages` on the grid. `residents[i]` is the number of residents of `villages[i]`
    /// (a village of more than 3 000, 6 000, 10 000 covers 2, 3, 4 adjacent cells); when the slice
    /// is shorter, the missing sizes are drawn (most villages 1 cell, a few up to 4). Villages with
    /// a township code of their own make up the townships; the seat is the township with the most
    /// communities (the first by code on a tie, or the first township when none has any).
    pub fn new(villages: &[VillageRef], residents: &[u64], seed: u64) -> CellPlan {
        let mut rng = Rng::new(seed, 0x00CE_11CE);
        let mut by_township: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, v) in villages.iter().enumerate() {
            by_township.entry(&v.township_code).or_default().push(i);
        }
        for members in by_township.values_mut() {
            members.sort_by(|&a, &b| villages[a].code.cmp(&villages[b].code));
        }
        let communities = |t: &&str| {
            by_township[*t]
                .iter()
                .filter(|&&i| villages[i].is_community)
                .count()
        };
        let seat: Option<&str> = by_township
            .keys()
            .copied()
            .max_by(|a, b| communities(a).cmp(&communities(b)).then(b.cmp(a)));
        let mut plan = CellPlan {
            seat: seat.map(str::to_string),
            ..CellPlan::default()
        };
        let mut taken: HashSet<(i64, i64)> = HashSet::new();
        let mut used: Vec<(i64, i64)> = vec![CENTRE];

        // Township centres: the seat in the middle, the others on a sunflower spiral around it.
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let mut others = 0u32;
        for &t in by_township.keys() {
            let centre = if Some(t) == seat {
                CENTRE
            } else {
                others += 1;
                let k = f64::from(others);
                let radius = 6.0 + 2.6 * k.sqrt() + 0.6 * rng.unit();
                let angle = k * golden + 0.25 * rng.unit();
                (
                    CENTRE.0 + (radius * angle.sin()).round() as i64,
                    CENTRE.1 + (radius * angle.cos()).round() as i64,
                )
            };
            plan.townships.insert(
                t.to_string(),
                Township {
                    centre,
                    market: cell_of(centre.0, centre.1),
                    school: 0,
                    work: 0,
                },
            );
        }

        // The seat's communities: packed into the cells nearest the centre, several to a cell.
        if let Some(seat) = seat {
            let members: Vec<usize> = by_township[seat]
                .iter()
                .copied()
                .filter(|&i| villages[i].is_community)
                .collect();
            let core_len = members.len().div_ceil(COMMUNITIES_PER_CELL).max(1);
            let core = nearest_cells(CENTRE, core_len, |_| true);
            for (k, &i) in members.iter().enumerate() {
                // Neighbouring codes land in different cells, as a town's communities do.
                let at = core[(k * 7 + rng.below(2) as usize) % core.len()];
                plan.add_village(&villages[i], vec![cell_of(at.0, at.1)]);
                used.push(at);
            }
            taken.extend(core);
        }

        // Villages (and the communities of the other townships): around their township's centre,
        // one village per cell, larger ones over adjacent cells. The first village of a township
        // (by code, usually the township's seat village) takes the centre and the market.
        for (&t, members) in &by_township {
            let centre = plan.townships[t].centre;
            let rural: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| !(Some(t) == seat && villages[i].is_community))
                .collect();
            let spread = 0.7 + 0.4 * (rural.len() as f64).sqrt();
            for (k, &i) in rural.iter().enumerate() {
                let target = if k == 0 && Some(t) != seat {
                    centre
                } else {
                    (
                        centre.0 + (spread * rng.normal()).round() as i64,
                        centre.1 + (spread * rng.normal()).round() as i64,
                    )
                };
                let at = nearest_cells(target, 1, |c| !taken.contains(&c))[0];
                taken.insert(at);
                let size = residents.get(i).copied().unwrap_or_else(|| {
                    // Unknown: most villages are small.
                    [
                        1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 4_000, 4_000, 7_000,
                        12_000,
                    ][rng.below(11) as usize]
                });
                let extra = CELL_SIZES.iter().filter(|&&s| size > s).count();
                let mut cells = vec![at];
                for n in neighbours(at, &mut rng) {
                    if cells.len() > extra {
                        break;
                    }
                    if !taken.contains(&n) {
                        taken.insert(n);
                        cells.push(n);
                    }
                }
                used.extend(cells.iter().copied());
                let ids = cells.into_iter().map(|(r, c)| cell_of(r, c)).collect();
                plan.add_village(&villages[i], ids);
            }
        }

        // The school and the township's workplaces: next to the centre (in the town, a cell of
        // its own when one is free).
        for township in plan.townships.values_mut() {
            let (r, c) = township.centre;
            let near = nearest_cells((r, c + 1), 2, |x| x != (r, c) && !taken.contains(&x));
            township.school = cell_of(near[0].0, near[0].1);
            township.work = cell_of(near[1].0, near[1].1);
            taken.extend(near.iter().copied());
            used.extend(near);
        }
        // The seat's industrial park to the east, its hospital in the centre, the isolation site
        // (a requisitioned hotel) on the outskirts to the south-west.
        let park = nearest_cells((CENTRE.0, CENTRE.1 + 6), PARK_CELLS, |x| {
            !taken.contains(&x)
        });
        taken.extend(park.iter().copied());
        used.extend(park.iter().copied());
        plan.park = park.into_iter().map(|(r, c)| cell_of(r, c)).collect();
        plan.hospital = cell_of(CENTRE.0, CENTRE.1);
        let site = nearest_cells((CENTRE.0 + 5, CENTRE.1 - 5), 1, |x| !taken.contains(&x))[0];
        used.push(site);
        plan.isolation = cell_of(site.0, site.1);

        let rows = used.iter().map(|p| p.0);
        let cols = used.iter().map(|p| p.1);
        plan.bounds = (
            ROW0 + rows.clone().min().unwrap_or(0) - MARGIN,
            ROW0 + rows.max().unwrap_or(0) + MARGIN,
            COL0 + cols.clone().min().unwrap_or(0) - MARGIN,
            COL0 + cols.max().unwrap_or(0) + MARGIN,
        );
        plan
    }

    fn add_village(&mut self, village: &VillageRef, cells: Vec<i64>) {
        self.villages.insert(village.code.clone(), cells);
        self.village_township
            .insert(village.code.clone(), village.township_code.clone());
    }

    /// The cells a village or community covers (its centre first).
    pub fn cells_of_village(&self, code: &str) -> Option<&[i64]> {
        self.villages.get(code).map(Vec::as_slice)
    }

    /// The centre cell of a village or community.
    pub fn cell_of_village(&self, code: &str) -> Option<i64> {
        self.cells_of_village(code).and_then(|c| c.first().copied())
    }

    /// The township a placed village belongs to.
    pub fn township_of_village(&self, code: &str) -> Option<&str> {
        self.village_township.get(code).map(String::as_str)
    }

    /// The township's market (at its centre).
    pub fn market_cell_of_township(&self, township: &str) -> Option<i64> {
        self.townships.get(township).map(|t| t.market)
    }

    /// The township's school (next to its centre).
    pub fn school_cell_of_township(&self, township: &str) -> Option<i64> {
        self.townships.get(township).map(|t| t.school)
    }

    /// The township's own workplaces (next to its centre).
    pub fn work_cell_of_township(&self, township: &str) -> Option<i64> {
        self.townships.get(township).map(|t| t.work)
    }

    /// The district seat's township code.
    pub fn seat_township(&self) -> Option<&str> {
        self.seat.as_deref()
    }

    /// The industrial park of the district seat: the workplaces that draw from every township.
    pub fn park_cells(&self) -> &[i64] {
        &self.park
    }

    /// The designated hospital (cases found are taken there).
    pub fn hospital_cell(&self) -> i64 {
        self.hospital
    }

    /// The centralised isolation site (close contacts placed are taken there).
    pub fn isolation_cell(&self) -> i64 {
        self.isolation
    }

    /// Whether a cell lies inside the plan's rectangle (everything placed plus a margin); every
    /// ping of the movements does.
    pub fn contains(&self, cell: i64) -> bool {
        let (r0, r1, c0, c1) = self.bounds;
        let (row, col) = (cell.div_euclid(10_000), cell.rem_euclid(10_000));
        (r0..=r1).contains(&row) && (c0..=c1).contains(&col)
    }

    /// The cell map for `fangkong_pings::cells::read_cell_map`: `(cell_id, region_code)`, one row
    /// per cell and village or community covering it, sorted. A cell of the seat's core carries
    /// several communities (several rows); a cell covered by none (a road, a field, the park, the
    /// isolation site) is absent.
    pub fn cell_map_rows(&self) -> Vec<(i64, String)> {
        let mut rows: Vec<(i64, String)> = self
            .villages
            .iter()
            .flat_map(|(code, cells)| cells.iter().map(move |&c| (c, code.clone())))
            .collect();
        rows.sort();
        rows.dedup();
        rows
    }
}

/// The `n` cells nearest `target` (by distance, then row, then column) that pass `free`.
fn nearest_cells(
    target: (i64, i64),
    n: usize,
    free: impl Fn((i64, i64)) -> bool,
) -> Vec<(i64, i64)> {
    let mut found: Vec<(i64, (i64, i64))> = Vec::new();
    if n == 0 {
        return Vec::new();
    }
    let mut ring = 0i64;
    // Rings outwards until n are found and no nearer cell can remain in the next ring.
    loop {
        for dr in -ring..=ring {
            for dc in -ring..=ring {
                if dr.abs().max(dc.abs()) != ring {
                    continue;
                }
                let cell = (target.0 + dr, target.1 + dc);
                if free(cell) {
                    found.push((dr * dr + dc * dc, cell));
                }
            }
        }
        found.sort();
        if found.len() >= n && found.get(n - 1).is_some_and(|f| f.0 <= ring * ring) || ring > 4_000
        {
            break;
        }
        ring += 1;
    }
    found.truncate(n);
    found.into_iter().map(|f| f.1).collect()
}

/// The 8 neighbours of a position in a seeded order.
fn neighbours(at: (i64, i64), rng: &mut Rng) -> [(i64, i64); 8] {
    let mut out = [
        (0, 1),
        (1, 0),
        (0, -1),
        (-1, 0),
        (1, 1),
        (-1, -1),
        (1, -1),
        (-1, 1),
    ]
    .map(|(dr, dc)| (at.0 + dr, at.1 + dc));
    // The four edge neighbours first (a village grows along its streets), each half shuffled.
    for half in [0, 4] {
        for i in (1..4).rev() {
            let j = rng.below(i as u32 + 1) as usize;
            out.swap(half + i, half + j);
        }
    }
    out
}
