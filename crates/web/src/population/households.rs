//! Households (户) and the door-to-door ledger (入户走访) of a grid.

use super::*;

#[derive(Template)]
#[template(path = "household.html")]
pub(super) struct HouseholdPage {
    layout: Layout,
    h: HouseholdView,
    /// The status badges of each member, in the order of `h.members`.
    member_badges: Vec<Vec<BadgeView>>,
    visits: Vec<(String, DoorVisitRecord)>,
    can_visit: bool,
    can_register: bool,
}

#[derive(Deserialize)]
pub(super) struct SavedQuery {
    saved: Option<String>,
}

pub(super) async fn household_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(number): Path<String>,
    Query(saved): Query<SavedQuery>,
) -> PageResult {
    let h = state
        .app
        .household(&page.user.actor, &number)
        .await
        .map_err(|e| page.error(e))?;
    let mut badges = state
        .app
        .household_badges(&page.user.actor, &number)
        .await
        .map_err(|e| page.error(e))?;
    let member_badges = h
        .members
        .iter()
        .map(|m| badges.remove(&m.id).unwrap_or_default())
        .collect();
    let visits = h
        .visits
        .iter()
        .map(|v| (beijing_time(v.visited_at), v.clone()))
        .collect();
    let mut layout = page.layout("regions");
    if saved.saved.is_some() {
        layout.flash = Some(Flash {
            kind: "ok",
            text: "走访记录已保存".into(),
        });
    }
    Ok(render(&HouseholdPage {
        layout,
        h,
        member_badges,
        visits,
        can_visit: page.can(Permission::RecordDoorVisit),
        can_register: page.can(Permission::ImportPopulation),
    }))
}

#[derive(Deserialize)]
pub(super) struct VisitForm {
    #[serde(default)]
    present_count: String,
    #[serde(default)]
    away_count: String,
    #[serde(default)]
    arrivals_count: String,
    #[serde(default)]
    arrivals_note: String,
    #[serde(default)]
    untested_count: String,
    #[serde(default)]
    unvaccinated_count: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn household_visit(
    State(state): State<AppState>,
    page: PageUser,
    Path(number): Path<String>,
    CsrfForm(form): CsrfForm<VisitForm>,
) -> PageResult {
    let visit = DoorVisitForm {
        present_count: form.present_count,
        away_count: form.away_count,
        arrivals_count: form.arrivals_count,
        arrivals_note: form.arrivals_note,
        untested_count: form.untested_count,
        unvaccinated_count: form.unvaccinated_count,
        note: form.note,
    };
    state
        .app
        .record_door_visit(&page.user.actor, &number, &visit)
        .await
        .map_err(|e| page.error(e))?;
    Ok(Redirect::to(&format!("/households/{number}?saved=1")).into_response())
}

#[derive(Template)]
#[template(path = "door_ledger.html")]
pub(super) struct DoorLedgerPage {
    layout: Layout,
    l: DoorLedger,
    unvisited: Vec<(UnvisitedHousehold, String)>,
}

#[derive(Deserialize)]
pub(super) struct SinceQuery {
    since: Option<String>,
}

/// The ledger starts 7 days back unless the user picks the day the current door-to-door action began.
pub(crate) fn parse_since(raw: Option<&str>, today: NaiveDate) -> Result<NaiveDate, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today - chrono::Duration::days(7)),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            AppError::Invalid(format!(
                "日期“{text}”格式不对，应为 2022-11-20 这样的年-月-日"
            ))
        }),
    }
}

pub(super) async fn door_ledger_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(grid): Path<String>,
    Query(query): Query<SinceQuery>,
) -> PageResult {
    let since =
        parse_since(query.since.as_deref(), state.app.today()).map_err(|e| page.error(e))?;
    let l = state
        .app
        .door_ledger(&page.user.actor, &grid, since)
        .await
        .map_err(|e| page.error(e))?;
    let unvisited = l
        .unvisited
        .iter()
        .map(|u| {
            (
                u.clone(),
                u.last_visited_at
                    .map(beijing_time)
                    .unwrap_or_else(|| "从未走访".into()),
            )
        })
        .collect();
    Ok(render(&DoorLedgerPage {
        layout: page.layout("regions"),
        l,
        unvisited,
    }))
}
