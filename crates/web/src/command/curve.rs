//! The epidemic curve (疫情曲线): the page, its JSON and [`curve_svg`], the server-drawn stacked
//! bars that the situation picture embeds too.

use std::fmt::Write as _;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use fangkong_app::command::Curve;
use fangkong_app::command::curve::parse_basis;
use fangkong_domain::command::curve::CurveBasis;
use serde::Deserialize;

use super::push_escaped;
use crate::AppState;
use crate::api::ApiError;
use crate::pages::{Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

/// The colours of the stack, in `domain::command::curve::STACK_ORDER` (确诊, 无症状, 初筛阳性, 疑似).
pub(crate) const KIND_COLOURS: [&str; 4] = ["#c62828", "#ef8f00", "#7e57c2", "#9e9e9e"];

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CurveQuery {
    region: String,
    basis: String,
}

#[derive(Template)]
#[template(path = "command/curve.html")]
struct CurvePage {
    layout: Layout,
    c: Curve,
    svg: String,
    bases: Vec<(&'static str, &'static str, bool)>,
}

pub(crate) async fn curve_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<CurveQuery>,
) -> PageResult {
    let c = async {
        let basis = parse_basis(&q.basis)?;
        state
            .app
            .epidemic_curve(&page.user.actor, &q.region, basis)
            .await
    }
    .await
    .map_err(|e| page.error(e))?;
    let svg = curve_svg(&c, 720, 300);
    let bases = CurveBasis::ALL
        .iter()
        .map(|b| (b.code(), b.label_zh(), *b == c.basis))
        .collect();
    Ok(render(&CurvePage {
        layout: page.layout("command_curve"),
        c,
        svg,
        bases,
    }))
}

pub(crate) async fn api_curve(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<CurveQuery>,
) -> Result<Json<Curve>, ApiError> {
    let basis = parse_basis(&q.basis)?;
    Ok(Json(
        state
            .app
            .epidemic_curve(&user.actor, &q.region, basis)
            .await?,
    ))
}

/// A round top for the axis and its step: 1, 2 or 5 × 10ⁿ per step, four steps or fewer.
fn axis_top(peak: i64) -> (i64, i64) {
    let peak = peak.max(1);
    let mut unit = 1;
    loop {
        for step in [unit, 2 * unit, 5 * unit] {
            if step * 4 >= peak {
                return ((peak + step - 1) / step * step, step);
            }
        }
        unit *= 10;
    }
}

/// The curve as an SVG of `width` × `height` view-box units, drawn at 100% of its container's
/// width: stacked bars per day (colours [`KIND_COLOURS`]), the axis with dates (M/D, thinned to fit)
/// and counts, the legend in Chinese, each bar segment's count in its `<title>` (shown on hover).
/// No script, no outside asset; the text scales with the box, so keep `width` near the width it
/// is shown at (720 on a page, 360 for a small one on the situation picture).
pub(crate) fn curve_svg(curve: &Curve, width: u32, height: u32) -> String {
    let (w, h) = (f64::from(width.max(200)), f64::from(height.max(120)));
    let (left, right, top, bottom) = (34.0, 8.0, 26.0, 22.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let mut s = String::with_capacity(4096 + curve.days.len() * 300);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"epi-curve\" viewBox=\"0 0 {w} {h}\" \
         width=\"100%\" role=\"img\" font-size=\"11\" font-family=\"sans-serif\"><title>"
    );
    push_escaped(&mut s, &curve.region_name);
    let _ = write!(
        s,
        "疫情曲线（{}），共 {} 例</title>",
        curve.basis_label, curve.total
    );
    // Legend.
    let mut x = left;
    for (kind, colour) in curve.kinds.iter().zip(KIND_COLOURS) {
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"15\">{}</text>",
            x + 13.0,
            kind.label
        );
        x += 13.0 + kind.label.chars().count() as f64 * 11.0 + 10.0;
    }
    if curve.days.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">暂无病例</text></svg>",
            w / 2.0,
            top + plot_h / 2.0
        );
        return s;
    }
    let (max, step) = axis_top(curve.peak());
    let y_of = |v: i64| top + plot_h - plot_h * v as f64 / max as f64;
    // Horizontal grid lines and counts.
    let mut v = 0;
    while v <= max {
        let y = y_of(v);
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{v}</text>",
            w - right,
            left - 4.0,
            y + 4.0
        );
        v += step;
    }
    let n = curve.days.len() as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.8).max(0.5);
    // Thin the date labels so they do not overlap (a label is about 30 units wide).
    let every = ((30.0 / slot).ceil() as usize).max(1);
    for (i, day) in curve.days.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let total = day.total();
        let mut base = 0;
        for ((count, kind), colour) in day.counts.iter().zip(&curve.kinds).zip(KIND_COLOURS) {
            if *count == 0 {
                continue;
            }
            let (y0, y1) = (y_of(base + count), y_of(base));
            let _ = write!(
                s,
                "<rect x=\"{x:.2}\" y=\"{y0:.2}\" width=\"{bar:.2}\" height=\"{:.2}\" fill=\"{colour}\">\
                 <title>{} {} {} 例（当日共 {} 例）</title></rect>",
                y1 - y0,
                day.day.format("%-m月%-d日"),
                kind.label,
                count,
                total
            );
            base += count;
        }
        if i % every == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
                x + bar / 2.0,
                h - 6.0,
                day.axis_label()
            );
        }
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#333\"/></svg>",
        w - right,
        top + plot_h,
        top + plot_h
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use fangkong_app::command::curve::CurveKind;
    use fangkong_domain::command::curve::CurveDay;

    fn curve(days: Vec<CurveDay>) -> Curve {
        let kinds = fangkong_domain::command::curve::STACK_ORDER
            .iter()
            .enumerate()
            .map(|(i, k)| CurveKind {
                code: k.code(),
                label: k.label_zh(),
                total: days.iter().map(|d| d.counts[i]).sum(),
            })
            .collect::<Vec<_>>();
        Curve {
            region_code: "130109".into(),
            region_name: "藁城区<测试>".into(),
            basis: CurveBasis::Onset,
            basis_label: CurveBasis::Onset.label_zh(),
            total: kinds.iter().map(|k| k.total).sum(),
            kinds,
            days,
            cut: false,
            path: Vec::new(),
            children: Vec::new(),
        }
    }

    #[test]
    fn bars_stack_by_kind_with_counts_on_hover_and_dates_on_the_axis() {
        let day = |d: u32, counts| CurveDay {
            day: chrono::NaiveDate::from_ymd_opt(2022, 3, d).unwrap(),
            counts,
        };
        let svg = curve_svg(
            &curve(vec![
                day(1, [2, 1, 0, 0]),
                day(2, [0, 0, 0, 0]),
                day(3, [0, 0, 1, 0]),
            ]),
            360,
            200,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("viewBox=\"0 0 360 200\" width=\"100%\""));
        // One rect per non-empty segment plus four legend swatches.
        assert_eq!(svg.matches("<rect").count(), 3 + 4);
        assert!(svg.contains("<title>3月1日 确诊病例 2 例（当日共 3 例）</title>"));
        assert!(svg.contains("<title>3月1日 无症状感染者 1 例（当日共 3 例）</title>"));
        assert!(svg.contains(">3/1</text>") && svg.contains(">3/3</text>"));
        assert!(svg.contains("藁城区&lt;测试&gt;"), "names are escaped");
        assert!(!svg.contains("<script"));
        let empty = curve_svg(&curve(Vec::new()), 360, 200);
        assert!(empty.contains("暂无病例"));
    }

    #[test]
    fn the_axis_top_is_round_and_above_the_peak() {
        assert_eq!(axis_top(0), (1, 1));
        assert_eq!(axis_top(3), (3, 1));
        assert_eq!(axis_top(7), (8, 2));
        assert_eq!(axis_top(17), (20, 5));
        assert_eq!(axis_top(230), (300, 100));
    }
}
