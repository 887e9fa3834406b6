//! Trajectories (轨迹): a case's stops typed on its page, or pulled from the itinerary.

use super::*;

/// A trajectory stop as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct StopInput {
    pub place_kind: String,
    pub place_name: String,
    pub address: String,
    pub from_at: String,
    pub to_at: String,
    pub public: String,
    pub key: String,
}

impl StopInput {
    pub(super) fn to_form(&self) -> StopForm {
        StopForm {
            place_kind: self.place_kind.clone(),
            place_name: self.place_name.clone(),
            address: self.address.clone(),
            from_at: self.from_at.clone(),
            to_at: self.to_at.clone(),
            public: !self.public.is_empty(),
            key: self.key.clone(),
        }
    }
}

pub(super) async fn stop_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<StopInput>,
) -> PageResult {
    let next = state
        .app
        .add_case_stop(&page.user.actor, id, &f.to_form())
        .await
        .map(|()| format!("/cases/{id}?saved=stop#stops"));
    let forms = CaseForms {
        stop: f,
        ..CaseForms::fresh("")
    };
    case_form_page(&state, &page, id, forms, next).await
}

pub(super) async fn itinerary_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let next = state
        .app
        .pull_case_itinerary(&page.user.actor, id)
        .await
        .map(|added| format!("/cases/{id}?saved=itinerary&pulled={added}#stops"));
    case_form_page(&state, &page, id, CaseForms::fresh(""), next).await
}
