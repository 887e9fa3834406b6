//! Transmission chains (传播链): `/chains` and `/chains.svg`, and their API.
//!
//! The chain picture is drawn by the server as one SVG string (`chain_svg`): no template per node,
//! so 20,000 cases stay a few megabytes written in milliseconds; the `viewBox` lets the browser zoom.

use super::*;

/// Pixels per layout unit across (leaves of a chain sit two units apart).
const X_PX: i64 = 14;

/// Pixels per generation (row) down.
const Y_PX: i64 = 60;

/// Margin around the picture.
const PAD: i64 = 16;

/// Radius of a case's circle.
const NODE_R: i64 = 6;

/// The short label under a node: the tail of the case number ("藁城-00012" → "12").
fn short_number(case_number: &str) -> &str {
    let tail = case_number.rsplit('-').next().unwrap_or(case_number);
    let trimmed = tail.trim_start_matches('0');
    if trimmed.is_empty() { tail } else { trimmed }
}

/// The SVG class of a case's circle (its colour), by kind.
fn kind_class(kind: Option<CaseKind>) -> &'static str {
    match kind {
        Some(CaseKind::Confirmed) => "kc",
        Some(CaseKind::Asymptomatic) => "ka",
        Some(CaseKind::Suspected) => "ks",
        Some(CaseKind::InitialScreenPositive) => "ki",
        None => "ko",
    }
}

fn node_centre(x: i64, y: i64) -> (i64, i64) {
    (PAD + x * X_PX + X_PX / 2, PAD + y * Y_PX + 20)
}

/// Draws the transmission-chain picture as SVG: chain boxes, infector → infectee edges (one path),
/// one circle per case coloured by kind with its number below and its active contacts above.
/// `standalone` adds the XML namespace a `.svg` file needs (inline SVG in HTML needs none).
pub(crate) fn chain_svg(p: &ChainPicture, standalone: bool) -> String {
    let layout = &p.layout;
    let width = layout.width.max(1) * X_PX + 2 * PAD;
    let height = layout.height.max(1) * Y_PX + 2 * PAD;
    let mut s = String::with_capacity(1_024 + layout.cases.len() * 240 + layout.chains.len() * 120);
    let _ = write!(
        s,
        "<svg {}id=\"chain-picture\" class=\"chains\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"传播链：{} 例病例，{} 条传播链\">",
        if standalone {
            "xmlns=\"http://www.w3.org/2000/svg\" "
        } else {
            ""
        },
        p.cases,
        layout.chains.len()
    );
    s.push_str(
        "<style>.cb{fill:#f6f8fa;stroke:#d0d7de}.ce{fill:none;stroke:#8c959f;stroke-width:1.2}\
         .ct{font:10px sans-serif;fill:#57606a}.cn circle{stroke:#fff;stroke-width:1}\
         .cn text{font:9px sans-serif;fill:#24292f;text-anchor:middle}\
         .cn text.c{font-size:8px;fill:#57606a;text-anchor:start}.kc{fill:#c62828}.ka{fill:#ef6c00}\
         .ks{fill:#7b1fa2}.ki{fill:#1565c0}.ko{fill:#607d8b}</style>",
    );
    s.push_str("<g class=\"boxes\">");
    for (i, b) in layout.chains.iter().enumerate() {
        let (x, y) = (PAD + b.x * X_PX, PAD + b.y * Y_PX);
        let _ = write!(
            s,
            "<rect class=\"cb\" x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\"><title>传播链{}：{}例，{}代</title></rect><text class=\"ct\" x=\"{}\" y=\"{}\">链{} {}例</text>",
            y + 2,
            (b.width * X_PX).max(X_PX),
            (b.height * Y_PX - 4).max(Y_PX - 4),
            i + 1,
            b.size,
            b.depth + 1,
            x + 3,
            y + 11,
            i + 1,
            b.size
        );
    }
    s.push_str("</g><path class=\"ce\" d=\"");
    for case in &layout.cases {
        if let Some(parent) = case.parent.and_then(|i| layout.cases.get(i)) {
            let (px, py) = node_centre(parent.x, parent.y);
            let (cx, cy) = node_centre(case.x, case.y);
            // From below the infector's label down to the infectee's circle.
            let top = py + NODE_R + 12;
            let mid = (top + cy - NODE_R) / 2;
            let _ = write!(s, "M{px} {top}V{mid}H{cx}V{}", cy - NODE_R);
        }
    }
    s.push_str("\"/><g class=\"cn\">");
    for (i, case) in layout.cases.iter().enumerate() {
        let (number, kind, contacts) = match p.labels.get(i) {
            Some((n, k, c)) => (n.as_str(), k.as_str(), *c),
            None => ("", "", 0),
        };
        let kind = CaseKind::from_code(kind);
        let (cx, cy) = node_centre(case.x, case.y);
        let _ = write!(
            s,
            "<a href=\"/cases/{}\"><circle class=\"{}\" cx=\"{cx}\" cy=\"{cy}\" r=\"{NODE_R}\"><title>",
            case.case_id,
            kind_class(kind)
        );
        push_escaped(&mut s, number);
        let _ = write!(
            s,
            " {} 第{}代 密接{}</title></circle><text x=\"{cx}\" y=\"{}\">",
            kind.map(|k| k.label_zh()).unwrap_or("病例"),
            case.depth + 1,
            contacts,
            cy + NODE_R + 10
        );
        push_escaped(&mut s, short_number(number));
        s.push_str("</text>");
        if contacts > 0 {
            let _ = write!(
                s,
                "<text class=\"c\" x=\"{}\" y=\"{}\">{contacts}</text>",
                cx + NODE_R - 1,
                cy - NODE_R + 1
            );
        }
        s.push_str("</a>");
    }
    s.push_str("</g></svg>");
    s
}

#[derive(Template)]
#[template(path = "investigation/chains.html")]
pub(super) struct ChainsPage {
    layout: Layout,
    cases: usize,
    contacts: i64,
    chains: usize,
    linked: usize,
    layout_ms: u128,
    draw_ms: u128,
    svg: String,
    kinds: Vec<(&'static str, &'static str)>,
}

pub(super) async fn chains_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let p = state
        .app
        .transmission_chains(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let started = std::time::Instant::now();
    let svg = chain_svg(&p, false);
    Ok(render(&ChainsPage {
        layout: page.layout("chains"),
        cases: p.cases,
        contacts: p.contacts,
        chains: p.layout.chains.len(),
        linked: p.layout.chains.iter().map(|c| c.size).sum(),
        layout_ms: p.millis,
        draw_ms: started.elapsed().as_millis(),
        svg,
        kinds: case_kinds(),
    }))
}

pub(super) async fn chains_svg(State(state): State<AppState>, page: PageUser) -> PageResult {
    let p = state
        .app
        .transmission_chains(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        chain_svg(&p, true),
    )
        .into_response())
}

pub(super) async fn api_chains(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<ChainPicture> {
    Ok(Json(state.app.transmission_chains(&user.actor).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fangkong_domain::investigation::{ChainCase, layout_chains};

    /// 20,000 cases: chains of ten (each case infected by the one before within its chain, some
    /// branching) and a third without a known source.
    fn big_picture() -> ChainPicture {
        let mut cases = Vec::new();
        for id in 1..=20_000i64 {
            let infector = if id % 3 == 0 || id % 10 == 1 {
                None
            } else {
                Some(id - 1 - (id % 2))
            };
            cases.push(ChainCase {
                case_id: id,
                infector: infector.filter(|i| *i >= 1),
            });
        }
        let layout = layout_chains(&cases, 240);
        let labels = layout
            .cases
            .iter()
            .map(|c| (format!("藁城-{:05}", c.case_id), "confirmed".to_string(), 2))
            .collect();
        ChainPicture {
            layout,
            labels,
            cases: 20_000,
            contacts: 40_000,
            millis: 0,
        }
    }

    #[test]
    fn the_chain_picture_of_twenty_thousand_cases_is_one_quick_svg() {
        let picture = big_picture();
        let started = std::time::Instant::now();
        let svg = chain_svg(&picture, true);
        let took = started.elapsed();
        assert!(
            took.as_millis() < 2_000,
            "drawing 20,000 cases took {took:?}"
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" "));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 20_000);
        assert!(svg.contains("藁城-19999"));
        assert!(
            svg.len() < 6_000_000,
            "the picture stays a few megabytes: {}",
            svg.len()
        );
        let inline = chain_svg(&picture, false);
        assert!(
            !inline.contains("http://"),
            "inline SVG names no outside host"
        );
    }

    #[test]
    fn labels_are_escaped_and_shortened() {
        let mut out = String::new();
        push_escaped(&mut out, "a<b>&\"c\"");
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&quot;");
        assert_eq!(short_number("藁城-00012"), "12");
        assert_eq!(short_number("藁城-00000"), "00000");
        assert_eq!(short_number("X"), "X");
    }
}
