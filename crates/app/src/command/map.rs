//! The map (专题图): the child regions of a region coloured by a measure — infections reported
//! today, people under control, the current testing round's coverage — with the risk areas marked.
//! Each figure is read through the module that owns it: the curve's counters (`case_day_counts`),
//! isolation's people per status (`measure_status_counts`, the overview's own), mass testing's
//! per-grid progress (`round_progress`, with the round page's own per-mille rule). A province or
//! a city is drawn with the county boundaries (`domain::command::map`); a county and below as tiles.

use std::collections::HashMap;

use fangkong_domain::command::map::{
    BBox, CLASSES, MapMeasure, Projection, centre, class_labels, colour_class, shapes_within,
    tile_at, tile_grid, tile_label,
};
use fangkong_domain::mass_testing::RoundKind;
use fangkong_domain::region::RegionLevel;
use fangkong_domain::risk_area::AreaTier;

use super::*;
use crate::mass_testing::CoverageLine;

/// The widest and tallest a boundary map is drawn (view-box units).
const MAP_MAX: f64 = 1000.0;
/// A tile's side and the gap between tiles (view-box units).
pub const TILE: f64 = 100.0;
pub const TILE_GAP: f64 = 6.0;
/// Points closer than this to the last one kept are dropped from a boundary (view-box units).
const SIMPLIFY: f64 = 1.2;

/// The tiers marked on the map (where people may not move freely).
const MARKED_TIERS: [AreaTier; 4] = [
    AreaTier::High,
    AreaTier::Medium,
    AreaTier::Sealed,
    AreaTier::Controlled,
];

/// One child region on the map.
#[derive(Debug, Clone, Serialize)]
pub struct MapRegion {
    pub code: String,
    pub name: String,
    /// The name as a tile writes it (at most four characters).
    pub label: String,
    /// The measure's value; None when it has none (no round over it).
    pub value: Option<i64>,
    pub value_label: String,
    /// The colour class, 0 (nothing) … 4 (worst); None without a value.
    pub class: Option<usize>,
    /// Risk areas (high, medium, sealed, controlled) inside it, and the highest tier's label.
    pub risk_areas: usize,
    pub risk_label: Option<&'static str>,
    /// Its boundary rings in view-box units (a province or a city); empty when drawn as a tile or
    /// when no boundary exists (a development zone).
    #[serde(skip)]
    pub rings: Vec<Vec<(f64, f64)>>,
    /// Where a badge or a label goes (view-box units).
    #[serde(skip)]
    pub anchor: Option<(f64, f64)>,
    /// The tile's column and row (a county and below).
    #[serde(skip)]
    pub tile: Option<(usize, usize)>,
}

/// A risk area marked on the map and listed below it.
#[derive(Debug, Clone, Serialize)]
pub struct MapRiskArea {
    pub tier: &'static str,
    pub tier_label: &'static str,
    pub place: String,
    pub region_code: String,
    /// The child region it lies in; None when it covers the whole region or more.
    pub child_code: Option<String>,
}

/// How the children are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MapStyle {
    /// County boundaries (a province: counties grouped by city; a city: its counties).
    Boundaries,
    /// One square per child, rows sorted by code (a county, a township, a village).
    Tiles,
    /// A grid has no children.
    None,
}

/// The map of one region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionMap {
    pub region_code: String,
    pub region_name: String,
    pub measure: MapMeasure,
    pub measure_label: &'static str,
    pub style: MapStyle,
    /// The view box (width, height).
    pub width: f64,
    pub height: f64,
    pub regions: Vec<MapRegion>,
    /// The region's own figure (the sum of its children and what is kept at its own code).
    pub total: Option<i64>,
    pub total_label: String,
    /// New cases kept at the region's own code (a reporting region), on no child.
    pub unplaced: i64,
    /// The largest child value (the scale's top for counts).
    pub max: i64,
    pub class_labels: [String; CLASSES],
    /// The round whose coverage colours the map ("" for the other measures or without a round).
    pub round_name: String,
    pub risk_areas: Vec<MapRiskArea>,
    pub path: Vec<RegionLink>,
}

/// The measure a page or the API asked for: empty = new cases today.
pub fn parse_measure(text: &str) -> AppResult<MapMeasure> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(MapMeasure::NewCases);
    }
    MapMeasure::from_code(text).ok_or_else(|| {
        AppError::field(
            "指标",
            "请选择“今日新增感染者”“在管控人数”或“本轮核酸覆盖率”",
        )
    })
}

impl App {
    /// The map of `region` (empty = the jurisdiction) coloured by `measure`. Commanders, duty
    /// officers and administrators (`ViewCommand`); a region outside the jurisdiction is refused.
    pub async fn region_map(
        &self,
        actor: &Actor,
        region: &str,
        measure: MapMeasure,
    ) -> AppResult<RegionMap> {
        let place = self.command_place(actor, region).await?;
        let code = place.code.clone();
        let (lower, upper) = code.subtree_range();
        let range = (lower.as_str(), upper.as_str());
        let child_len = code.level().child().map(|l| l.code_len()).unwrap_or(0);
        let own = code.as_str().to_string();

        // The figure per child code, and the region's own.
        let mut values: HashMap<String, i64> = HashMap::new();
        let mut total: Option<i64> = Some(0);
        let mut unplaced = 0;
        let mut round_name = String::new();
        match measure {
            MapMeasure::NewCases => {
                let today = self.today().format("%Y-%m-%d").to_string();
                let len = child_len.max(own.len()) as i64;
                for (c, n) in self
                    .store
                    .infections_on_day_by_child(range, len, "report", &today)
                    .await?
                {
                    *total.get_or_insert(0) += n;
                    if c.len() == child_len {
                        *values.entry(c).or_default() += n;
                    } else {
                        unplaced += n;
                    }
                }
            }
            MapMeasure::UnderControl => {
                let len = child_len.max(own.len()) as i64;
                for c in self.store.measure_status_counts(range, len).await? {
                    if !c.status.is_open() {
                        continue;
                    }
                    *total.get_or_insert(0) += c.people;
                    if c.code.len() == child_len {
                        *values.entry(c.code).or_default() += c.people;
                    }
                }
            }
            MapMeasure::Coverage => {
                total = None;
                let round = self
                    .store
                    .rounds_touching(code.as_str(), range)
                    .await?
                    .into_iter()
                    .find(|r| r.closed_at.is_none() && r.kind != RoundKind::Routine);
                if let Some(round) = round {
                    round_name = round.name.clone();
                    let line = |code: &str| CoverageLine {
                        code: code.to_string(),
                        name: String::new(),
                        target: 0,
                        exempt: 0,
                        sampled: 0,
                        outside: 0,
                        walk_ins: 0,
                        per_mille: 0,
                    };
                    let mut whole = line(&own);
                    let mut lines: HashMap<String, CoverageLine> = HashMap::new();
                    for row in self.store.round_progress(round.id, range).await? {
                        whole.add(&row);
                        if let Some(prefix) =
                            row.grid_code.get(..child_len).filter(|_| child_len > 0)
                        {
                            lines
                                .entry(prefix.to_string())
                                .or_insert_with(|| line(prefix))
                                .add(&row);
                        }
                    }
                    for (c, mut l) in lines {
                        if l.target > 0 || l.sampled > 0 || l.walk_ins > 0 {
                            l.finish();
                            values.insert(c, l.per_mille);
                        }
                    }
                    if whole.target > 0 || whole.sampled > 0 || whole.walk_ins > 0 {
                        whole.finish();
                        total = Some(whole.per_mille);
                    }
                }
            }
        }

        // Risk areas, marked on the child they lie in.
        let names: HashMap<&str, &str> = place
            .children
            .iter()
            .map(|c| (c.code.as_str(), c.name.as_str()))
            .collect();
        let mut risk_areas = Vec::new();
        for area in self.store.risk_areas(range, false).await? {
            let tier = area.tier;
            if !MARKED_TIERS.contains(&tier) {
                continue;
            }
            let child_code = area
                .region_code
                .as_str()
                .get(..child_len)
                .filter(|c| child_len > 0 && names.contains_key(c))
                .map(str::to_string);
            let place_name = if area.place_name.trim().is_empty() {
                self.store
                    .region(area.region_code.as_str())
                    .await?
                    .map(|r| r.name)
                    .unwrap_or_else(|| area.region_code.to_string())
            } else {
                area.place_name.clone()
            };
            risk_areas.push(MapRiskArea {
                tier: tier.code(),
                tier_label: tier.label_zh(),
                place: place_name,
                region_code: area.region_code.to_string(),
                child_code,
            });
        }
        // Highest tier first (the table's order: high, medium, …).
        risk_areas.sort_by_key(|a| {
            MARKED_TIERS
                .iter()
                .position(|t| t.code() == a.tier)
                .unwrap_or(9)
        });

        let max = place
            .children
            .iter()
            .filter_map(|c| values.get(&c.code))
            .copied()
            .max()
            .unwrap_or(0);
        let mut regions: Vec<MapRegion> = place
            .children
            .iter()
            .map(|c| {
                let value = match measure {
                    MapMeasure::Coverage => values.get(&c.code).copied(),
                    _ => Some(values.get(&c.code).copied().unwrap_or(0)),
                };
                let in_child: Vec<&MapRiskArea> = risk_areas
                    .iter()
                    .filter(|a| a.child_code.as_deref() == Some(c.code.as_str()))
                    .collect();
                MapRegion {
                    code: c.code.clone(),
                    name: c.name.clone(),
                    label: tile_label(&c.name),
                    value,
                    value_label: value
                        .map(|v| measure.value_label(v))
                        .unwrap_or_else(|| "不在本轮范围".into()),
                    class: value.map(|v| colour_class(measure, v, max)),
                    risk_areas: in_child.len(),
                    risk_label: in_child.first().map(|a| a.tier_label),
                    rings: Vec::new(),
                    anchor: None,
                    tile: None,
                }
            })
            .collect();

        let (style, width, height) = match code.level() {
            RegionLevel::Province | RegionLevel::City => {
                let shapes = shapes_within(code.as_str());
                match BBox::around(shapes.iter().copied()) {
                    Some(bbox) => {
                        let projection = Projection::fit(bbox, MAP_MAX, MAP_MAX, 8.0);
                        for region in &mut regions {
                            for shape in shapes.iter().filter(|s| s.code.starts_with(&region.code))
                            {
                                region
                                    .rings
                                    .extend(projection.project_rings(shape, SIMPLIFY));
                            }
                            region.anchor = centre(&region.rings);
                        }
                        (MapStyle::Boundaries, projection.width, projection.height)
                    }
                    None => tiles(&mut regions),
                }
            }
            RegionLevel::Grid => (MapStyle::None, 0.0, 0.0),
            _ => tiles(&mut regions),
        };

        Ok(RegionMap {
            region_code: own,
            region_name: place.name,
            measure,
            measure_label: measure.label_zh(),
            style,
            width,
            height,
            regions,
            total_label: total
                .map(|t| measure.value_label(t))
                .unwrap_or_else(|| "当前没有进行中的核酸检测轮次".into()),
            total,
            unplaced,
            max,
            class_labels: class_labels(measure, max),
            round_name,
            risk_areas,
            path: place.path,
        })
    }
}

/// Lays the regions (sorted by code) out as tiles; returns the style and the view box.
fn tiles(regions: &mut [MapRegion]) -> (MapStyle, f64, f64) {
    regions.sort_by(|a, b| a.code.cmp(&b.code));
    let (cols, rows) = tile_grid(regions.len());
    for (i, region) in regions.iter_mut().enumerate() {
        let (col, row) = tile_at(i, cols);
        region.tile = Some((col, row));
        region.anchor = Some((
            col as f64 * (TILE + TILE_GAP) + TILE / 2.0,
            row as f64 * (TILE + TILE_GAP) + TILE / 2.0,
        ));
    }
    let side = |n: usize| (n as f64 * (TILE + TILE_GAP) - TILE_GAP).max(TILE);
    (MapStyle::Tiles, side(cols), side(rows))
}
