//! The map (专题图): the page, its JSON and [`map_svg`], the server-drawn map the situation picture
//! embeds too — county boundaries for a province or a city, tiles below — each region linking one
//! level down.

use std::fmt::Write as _;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use fangkong_app::command::map::{MapStyle, TILE, parse_measure};
use fangkong_app::command::{MapRegion, RegionMap};
use fangkong_domain::command::map::MapMeasure;
use serde::Deserialize;

use super::push_escaped;
use crate::AppState;
use crate::api::ApiError;
use crate::pages::{Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

/// Colour classes 0 (nothing) … 4 (worst), and the colour of a region without a value.
pub(crate) const CLASS_COLOURS: [&str; 5] = ["#f1f3f5", "#fcd9c0", "#f7a26f", "#e5603b", "#a8231b"];
const NO_VALUE: &str = "#d9d9d9";

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MapQuery {
    region: String,
    measure: String,
}

#[derive(Template)]
#[template(path = "command/map.html")]
struct MapPage {
    layout: Layout,
    m: RegionMap,
    svg: String,
    measures: Vec<(&'static str, &'static str, bool)>,
    legend: Vec<(&'static str, String)>,
}

pub(crate) async fn map_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<MapQuery>,
) -> PageResult {
    let m = async {
        let measure = parse_measure(&q.measure)?;
        state
            .app
            .region_map(&page.user.actor, &q.region, measure)
            .await
    }
    .await
    .map_err(|e| page.error(e))?;
    let svg = map_svg(&m, "/command/map");
    let measures = MapMeasure::ALL
        .iter()
        .map(|x| (x.code(), x.label_zh(), *x == m.measure))
        .collect();
    let legend = CLASS_COLOURS
        .iter()
        .copied()
        .zip(m.class_labels.iter().cloned())
        .filter(|(_, label)| !label.is_empty())
        .collect();
    Ok(render(&MapPage {
        layout: page.layout("command_map"),
        m,
        svg,
        measures,
        legend,
    }))
}

pub(crate) async fn api_map(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<MapQuery>,
) -> Result<Json<RegionMap>, ApiError> {
    let measure = parse_measure(&q.measure)?;
    Ok(Json(
        state
            .app
            .region_map(&user.actor, &q.region, measure)
            .await?,
    ))
}

fn fill_of(region: &MapRegion) -> &'static str {
    region
        .class
        .and_then(|c| CLASS_COLOURS.get(c).copied())
        .unwrap_or(NO_VALUE)
}

fn push_title(s: &mut String, region: &MapRegion) {
    s.push_str("<title>");
    push_escaped(s, &region.name);
    s.push('：');
    push_escaped(s, &region.value_label);
    if let Some(tier) = region.risk_label {
        let _ = write!(s, "；{tier}等风险区 {} 个", region.risk_areas);
    }
    s.push_str("</title>");
}

fn push_link(s: &mut String, base: &str, map: &RegionMap, region: &MapRegion) {
    let _ = write!(
        s,
        "<a href=\"{base}?measure={}&amp;region={}\">",
        map.measure.code(),
        region.code
    );
}

/// The map as an SVG drawn at 100% of its container's width: each child region a `<path>` (its
/// county boundaries) or a square tile, filled by its colour class ([`CLASS_COLOURS`]), its value
/// in its `<title>`, a red dot where risk areas lie, and a link to `base?measure=…&region=<child>`
/// (one level down). No script, no outside asset.
pub(crate) fn map_svg(map: &RegionMap, base: &str) -> String {
    let mut s = String::with_capacity(64 * 1024);
    if map.style == MapStyle::None || map.regions.is_empty() {
        return s;
    }
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"region-map\" viewBox=\"0 0 {} {}\" \
         width=\"100%\" role=\"img\" font-family=\"sans-serif\"><title>",
        map.width, map.height
    );
    push_escaped(&mut s, &map.region_name);
    let _ = write!(s, "：{}</title>", map.measure_label);
    match map.style {
        MapStyle::Boundaries => {
            for region in map.regions.iter().filter(|r| !r.rings.is_empty()) {
                push_link(&mut s, base, map, region);
                let _ = write!(
                    s,
                    "<path class=\"county\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1.2\" \
                     fill-rule=\"evenodd\" d=\"",
                    fill_of(region)
                );
                for ring in &region.rings {
                    for (i, (x, y)) in ring.iter().enumerate() {
                        let _ = write!(s, "{}{x:.1} {y:.1}", if i == 0 { 'M' } else { 'L' });
                    }
                    s.push('Z');
                }
                s.push_str("\">");
                push_title(&mut s, region);
                s.push_str("</path></a>");
            }
            for region in map.regions.iter().filter(|r| !r.rings.is_empty()) {
                if let Some((x, y)) = region.anchor {
                    let colour = if region.class.unwrap_or(0) >= 3 {
                        "#fff"
                    } else {
                        "#222"
                    };
                    let _ = write!(
                        s,
                        "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"15\" text-anchor=\"middle\" \
                         fill=\"{colour}\" pointer-events=\"none\">"
                    );
                    push_escaped(&mut s, &region.label);
                    s.push_str("</text>");
                }
            }
        }
        MapStyle::Tiles => {
            for region in &map.regions {
                let (Some((x, y)), Some(_)) = (region.anchor, region.tile) else {
                    continue;
                };
                let (x0, y0) = (x - TILE / 2.0, y - TILE / 2.0);
                let colour = if region.class.unwrap_or(0) >= 3 {
                    "#fff"
                } else {
                    "#222"
                };
                push_link(&mut s, base, map, region);
                let _ = write!(
                    s,
                    "<rect class=\"tile\" x=\"{x0}\" y=\"{y0}\" width=\"{TILE}\" height=\"{TILE}\" \
                     rx=\"6\" fill=\"{}\" stroke=\"#bbb\">",
                    fill_of(region)
                );
                push_title(&mut s, region);
                let _ = write!(
                    s,
                    "</rect><text x=\"{x}\" y=\"{:.1}\" font-size=\"20\" text-anchor=\"middle\" \
                     fill=\"{colour}\" pointer-events=\"none\">",
                    y - 6.0
                );
                push_escaped(&mut s, &region.label);
                let _ = write!(
                    s,
                    "</text><text x=\"{x}\" y=\"{:.1}\" font-size=\"18\" text-anchor=\"middle\" \
                     fill=\"{colour}\" pointer-events=\"none\">",
                    y + 22.0
                );
                push_escaped(&mut s, &region.value_label);
                s.push_str("</text></a>");
            }
        }
        MapStyle::None => {}
    }
    // Risk areas: a red dot with the count on the region they lie in.
    for region in map.regions.iter().filter(|r| r.risk_areas > 0) {
        let Some((x, y)) = region.anchor else {
            continue;
        };
        let (cx, cy) = match map.style {
            MapStyle::Tiles => (x + TILE / 2.0 - 14.0, y - TILE / 2.0 + 14.0),
            _ => (x, y + 14.0),
        };
        let _ = write!(
            s,
            "<g class=\"risk-badge\"><circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"11\" fill=\"#d50000\" \
             stroke=\"#fff\" stroke-width=\"2\"><title>"
        );
        push_escaped(&mut s, &region.name);
        let _ = write!(
            s,
            "：{} 个风险区（最高{}）</title></circle><text x=\"{cx:.1}\" y=\"{:.1}\" font-size=\"13\" \
             text-anchor=\"middle\" fill=\"#fff\" pointer-events=\"none\">{}</text></g>",
            region.risk_areas,
            region.risk_label.unwrap_or("风险区"),
            cy + 4.5,
            region.risk_areas
        );
    }
    s.push_str("</svg>");
    s
}
