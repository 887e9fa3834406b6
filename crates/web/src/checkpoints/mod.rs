//! Checkpoints, venue codes and the itinerary (卡口查验、场所码与行程查询): the pages and the JSON
//! API over `app::checkpoints`. This file holds the route tables; the handlers live in one file per
//! sub-area, named as in `crates/app/src/checkpoints/`.
//!
//! The checking page (`/checkpoints/{id}`) is the one checkpoint staff live in: a single input a
//! scanner types into. It works as a plain form (the server puts a fresh passage key in a hidden
//! field); `assets/checkpoint.js` turns it into JSON calls to `POST /api/checkpoints/{id}/verify`
//! with a fresh key per check, so the page never reloads at a busy post. That API route sits behind
//! a load-shedding gate ([`VerifyGate`]): at most so many checks at once in all, per checkpoint and
//! per session token. A check over a limit is answered at once with 503 and `Retry-After: 1`
//! before its body is read, its session looked up or the database touched, rather than queued
//! until every device times out — so one flooding device or checkpoint cannot starve the others.

mod check;
mod gate;
mod itinerary;
mod registry;
mod vehicles;
mod venues;

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::checkpoints::{
    CheckOutcome, CheckpointForm, CheckpointScan, CheckpointView, ItineraryRow, PassageView,
    VenueCheckIn, VenueForm, VenueView,
};
use fangkong_domain::checkpoint::{CheckpointKind, DefenceLine};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiError;
use crate::forms::{CsrfForm, form_page};
use crate::health_code::{ApiResult, colour_class, decision_class, fresh_key};
use crate::mass_testing::{encode, id_types, qr_svg};
use crate::nav::{NavEntries, Section, link};
use crate::pages::options;
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, filters, render};
use crate::session::ApiUser;

use self::check::{
    VERIFY_BODY_LIMIT, api_trust_list, api_verify, checkpoint_check_submit, checkpoint_page,
    offline_checkpoint_page,
};
pub(crate) use self::check::{checkpoint_script, offline_verify_script};
pub(crate) use self::gate::VerifyGate;
use self::gate::verify_gate;
use self::itinerary::{itinerary_page, itinerary_submit};
use self::registry::{checkpoints_page, create_checkpoint_submit};
use self::vehicles::{api_vehicle_check, vehicles_page, vehicles_submit};
use self::venues::{
    create_venue_submit, venue_check_in_page, venue_check_in_submit, venue_poster_page, venues_page,
};

/// The checkpoint, venue-code and itinerary links of staff (under 健康码与卡口).
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[
        link(
            Section::Codes,
            "卡口",
            "/checkpoints",
            "checkpoints",
            |r| r.allows(Permission::VerifyAtCheckpoint) || r.allows(Permission::ManageCheckpoints),
        ),
        link(Section::Codes, "场所码", "/venues", "venues", |r| {
            r.allows(Permission::ManageCheckpoints) || r.allows(Permission::QueryItinerary)
        }),
        link(
            Section::Codes,
            "行程查询",
            "/itinerary",
            "itinerary",
            |r| r.allows(Permission::QueryItinerary),
        ),
    ],
};

/// Every form here is a few fields.
const FORM_BODY_LIMIT: usize = 64 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/me/venue",
            get(venue_check_in_page).post(venue_check_in_submit),
        )
        .route(
            "/checkpoints",
            get(checkpoints_page).post(create_checkpoint_submit),
        )
        .route("/checkpoints/offline", get(offline_checkpoint_page))
        .route(
            "/checkpoints/{id}",
            get(checkpoint_page).post(checkpoint_check_submit),
        )
        .route(
            "/checkpoints/{id}/vehicles",
            get(vehicles_page).post(vehicles_submit),
        )
        .route("/venues", get(venues_page).post(create_venue_submit))
        .route("/venues/{id}", get(venue_poster_page))
        .route("/itinerary", get(itinerary_page).post(itinerary_submit))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
}

/// The API routes; the verify route behind `gate` (see [`crate::WebConfig`]).
pub fn api(gate: Arc<VerifyGate>) -> Router<AppState> {
    Router::new()
        .route(
            "/checkpoints/{id}/verify",
            post(api_verify)
                .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(
                    gate,
                    verify_gate,
                ))
                .layer(DefaultBodyLimit::max(VERIFY_BODY_LIMIT)),
        )
        .route(
            "/checkpoints/{id}/vehicles",
            post(api_vehicle_check).layer(DefaultBodyLimit::max(VERIFY_BODY_LIMIT)),
        )
        .route("/trust-list", get(api_trust_list))
}
