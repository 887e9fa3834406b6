//! The itinerary query (行程查询): one person's passages and venue visits over a period.

use super::*;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ItineraryInput {
    /// "place" or "person": which of the two forms was sent.
    pub ask: String,
    pub place_kind: String,
    pub place_id: String,
    pub id_type: String,
    pub id_number: String,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "health_code/itinerary.html")]
pub(super) struct ItineraryPage {
    layout: Layout,
    f: ItineraryInput,
    rows: Option<Vec<ItineraryRow>>,
    id_types: Vec<(&'static str, &'static str)>,
}

fn itinerary_page_with(
    page: &PageUser,
    f: ItineraryInput,
    rows: Option<Vec<ItineraryRow>>,
    flash: Option<Flash>,
) -> Response {
    let mut layout = page.layout("itinerary");
    layout.flash = flash;
    render(&ItineraryPage {
        layout,
        f,
        rows,
        id_types: id_types(),
    })
}

pub(super) async fn itinerary_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    if !page.can(Permission::QueryItinerary) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let today = state.app.today();
    let f = ItineraryInput {
        place_kind: "checkpoint".into(),
        from: format!("{} 00:00", today - chrono::Duration::days(1)),
        to: format!("{} 23:59", today),
        ..ItineraryInput::default()
    };
    Ok(itinerary_page_with(&page, f, None, None))
}

pub(super) async fn itinerary_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<ItineraryInput>,
) -> PageResult {
    let actor = &page.user.actor;
    let result = if f.ask == "person" {
        state
            .app
            .itinerary_of(actor, &f.id_type, &f.id_number, &f.from, &f.to)
            .await
    } else {
        match f.place_id.trim().parse::<i64>() {
            Ok(place_id) => {
                state
                    .app
                    .who_was_at(actor, f.place_kind.trim(), place_id, &f.from, &f.to)
                    .await
            }
            Err(_) => Err(AppError::Invalid(
                "请填写卡口或场所的编号（见卡口、场所码列表）".into(),
            )),
        }
    };
    match result {
        Ok(rows) => Ok(itinerary_page_with(&page, f, Some(rows), None)),
        Err(e) => {
            form_page(&page, Err(e), |flash| async {
                Ok(itinerary_page_with(&page, f, None, flash))
            })
            .await
        }
    }
}
