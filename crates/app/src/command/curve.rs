//! The epidemic curve (疫情曲线): cases per day by onset or by report date, stacked by kind, for
//! the jurisdiction or a region in it — read from the counters every case write moves
//! (`case_day_counts`), never by counting cases. The day rules are `domain::command::curve`.

use fangkong_domain::command::curve::{CurveBasis, CurveDay, STACK_ORDER, curve_days};

use super::*;

/// One kind of the stack, as the legend writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurveKind {
    pub code: &'static str,
    pub label: &'static str,
    /// Cases of this kind on the curve.
    pub total: i64,
}

/// The epidemic curve of one region.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    pub region_code: String,
    pub region_name: String,
    pub basis: CurveBasis,
    pub basis_label: &'static str,
    /// The kinds in stacking order (from the axis up), with their totals.
    pub kinds: Vec<CurveKind>,
    /// Every day from the first case to today, zeros filled; counts in the order of `kinds`.
    pub days: Vec<CurveDay>,
    /// Whether older days were left out (the curve shows at most 120 days).
    pub cut: bool,
    pub total: i64,
    /// From the jurisdiction down to the region.
    pub path: Vec<RegionLink>,
    /// The regions one level down (to choose).
    pub children: Vec<RegionLink>,
}

impl Curve {
    /// The most cases on one day (the axis' top).
    pub fn peak(&self) -> i64 {
        self.days.iter().map(CurveDay::total).max().unwrap_or(0)
    }
}

/// The basis a page or the API asked for: empty = by onset.
pub fn parse_basis(text: &str) -> AppResult<CurveBasis> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(CurveBasis::Onset);
    }
    CurveBasis::from_code(text)
        .ok_or_else(|| AppError::field("统计口径", "请选择“按发病日期”或“按报告日期”"))
}

impl App {
    /// The curve of `region` (empty = the jurisdiction) on `basis`. Commanders, duty officers and
    /// administrators (`ViewCommand`); a region outside the jurisdiction is refused.
    pub async fn epidemic_curve(
        &self,
        actor: &Actor,
        region: &str,
        basis: CurveBasis,
    ) -> AppResult<Curve> {
        let place = self.command_place(actor, region).await?;
        let (lower, upper) = place.code.subtree_range();
        let rows = self
            .store
            .curve_counts((&lower, &upper), basis.code())
            .await?;
        let (days, cut) = curve_days(&rows, self.today());
        let kinds: Vec<CurveKind> = STACK_ORDER
            .iter()
            .enumerate()
            .map(|(i, kind)| CurveKind {
                code: kind.code(),
                label: kind.label_zh(),
                total: days.iter().map(|d| d.counts[i]).sum(),
            })
            .collect();
        Ok(Curve {
            region_code: place.code.as_str().to_string(),
            region_name: place.name,
            basis,
            basis_label: basis.label_zh(),
            total: kinds.iter().map(|k| k.total).sum(),
            kinds,
            days,
            cut,
            path: place.path,
            children: place.children,
        })
    }
}
