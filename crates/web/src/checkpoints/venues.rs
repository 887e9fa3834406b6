//! Venue codes (场所码): the list, creating one, its poster; a resident's check-in by scanning it.

use super::*;

#[derive(Template)]
#[template(path = "health_code/venue_check_in.html")]
pub(super) struct VenueCheckInPage {
    layout: Layout,
    v: VenueView,
    visit_key: String,
}

#[derive(Template)]
#[template(path = "health_code/venue_checked_in.html")]
pub(super) struct VenueCheckedInPage {
    layout: Layout,
    c: VenueCheckIn,
    at: String,
    colour_class: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct VenueQuery {
    c: String,
}

pub(super) async fn venue_check_in_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<VenueQuery>,
) -> PageResult {
    let v = state
        .app
        .venue_of_code(&page.user.actor, &q.c)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&VenueCheckInPage {
        layout: page.layout("my_code"),
        v,
        visit_key: fresh_key(),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct VenueCheckInInput {
    c: String,
    visit_key: String,
}

pub(super) async fn venue_check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<VenueCheckInInput>,
) -> PageResult {
    let c = state
        .app
        .check_in_venue(&page.user.actor, &f.c, &f.visit_key)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&VenueCheckedInPage {
        layout: page.layout("my_code"),
        at: beijing_time(c.at),
        colour_class: if c.popup {
            "popup"
        } else {
            colour_class(&c.colour)
        },
        c,
    }))
}

/// The create-a-venue form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct VenueInput {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub region_code: String,
}

#[derive(Template)]
#[template(path = "health_code/venues.html")]
pub(super) struct VenuesPage {
    layout: Layout,
    venues: Vec<VenueView>,
    can_manage: bool,
    f: VenueInput,
}

async fn venues_page_with(
    state: &AppState,
    page: &PageUser,
    f: VenueInput,
    flash: Option<Flash>,
) -> PageResult {
    let venues = state
        .app
        .venues(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("venues");
    layout.flash = flash;
    Ok(render(&VenuesPage {
        layout,
        venues,
        can_manage: page.can(Permission::ManageCheckpoints),
        f,
    }))
}

pub(super) async fn venues_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let f = VenueInput {
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..VenueInput::default()
    };
    venues_page_with(&state, &page, f, None).await
}

pub(super) async fn create_venue_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<VenueInput>,
) -> PageResult {
    let form = VenueForm {
        name: f.name.clone(),
        kind: f.kind.clone(),
        address: f.address.clone(),
        region_code: f.region_code.clone(),
    };
    let next = state
        .app
        .create_venue(&page.user.actor, &form)
        .await
        .map(|id| format!("/venues/{id}"));
    form_page(&page, next, |flash| {
        venues_page_with(&state, &page, f, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "health_code/venue_poster.html")]
pub(super) struct VenuePosterPage {
    layout: Layout,
    v: VenueView,
    url: String,
    qr_svg: String,
}

pub(super) async fn venue_poster_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> PageResult {
    let v = state
        .app
        .venue(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    // The poster points at this very server, as the visitor's phone reaches it.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let url = format!("http://{host}/me/venue?c={}", encode(&v.code_text));
    Ok(render(&VenuePosterPage {
        layout: page.layout("venues"),
        qr_svg: qr_svg(&url),
        url,
        v,
    }))
}
