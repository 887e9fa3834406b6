//! The JSON API: the same data as the pages, for devices and other systems. Errors are structured:
//! `{"error": "<code>", "message": "<Chinese message>"}` with the matching HTTP status.

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::door_visits::{DoorLedger, DoorVisitForm};
use fangkong_app::import::ImportReport;
use fangkong_app::population::{
    GridMoveForm, HouseholdView, MoveInForm, MoveInLists, MoveInView, ResidentView,
};
use fangkong_app::regions::RegionOverview;
use fangkong_domain::resident_row::RawResidentRow;
use serde::{Deserialize, Serialize};

use crate::nav::{NavEntries, Section, plain_link};
use crate::pages::read_upload;
use crate::population::parse_since;
use crate::session::ApiUser;
use crate::{AppState, log_if_internal, status_of};

/// The OpenAPI 3.1 description of this API, served as is.
pub const OPENAPI_DOCUMENT: &str = include_str!("openapi.json");

/// The API's document (接口), for everyone.
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[plain_link(
        Section::Api,
        "OpenAPI 文档",
        "/api/openapi.json",
        |_| true,
    )],
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route(
            "/session",
            post(create_session)
                .delete(delete_session)
                .layer(DefaultBodyLimit::max(crate::LOGIN_LIMIT_BYTES)),
        )
        .route("/regions/{code}", get(region))
        .route("/residents", get(search_residents).post(save_resident))
        .route("/residents/{id}", get(resident))
        .route("/residents/{id}/reveal", post(reveal_resident))
        .route("/residents/{id}/move", post(move_resident))
        .route("/move-ins", get(move_ins).post(file_move_in))
        .route("/move-ins/{id}", get(move_in))
        .route("/move-ins/{id}/decision", post(decide_move_in))
        .route("/households/{number}", get(household))
        .route("/households/{number}/visits", post(record_visit))
        .route("/grids/{code}/door-ledger", get(door_ledger))
        .route(
            "/imports",
            post(import).layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
        )
}

pub struct ApiError(pub AppError);

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_if_internal(&self.0);
        let body = ErrorBody {
            error: self.0.code(),
            message: self.0.to_string(),
        };
        (status_of(&self.0), Json(body)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

/// What a JSON handler answers: the body, or an error in words (`ApiError`).
pub(crate) type ApiResult<T> = Result<Json<T>, ApiError>;

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI_DOCUMENT,
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct SessionResponse {
    token: String,
    username: String,
    role: &'static str,
    jurisdiction: String,
    expires_in_seconds: i64,
}

async fn create_session(
    State(state): State<AppState>,
    crate::session::ClientAddr(addr): crate::session::ClientAddr,
    Json(request): Json<LoginRequest>,
) -> ApiResult<SessionResponse> {
    let session = state
        .app
        .login(&request.username, &request.password, &addr)
        .await?;
    Ok(Json(SessionResponse {
        token: session.token,
        username: session.actor.username,
        role: session.actor.role.code(),
        jurisdiction: session.actor.jurisdiction.as_str().to_string(),
        expires_in_seconds: fangkong_app::auth::SESSION_SECONDS,
    }))
}

/// `DELETE /api/session`: revokes the bearer token (or the cookie session) it is called with.
async fn delete_session(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Response, ApiError> {
    state.app.logout(&user.token, &user.actor).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

async fn region(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
) -> ApiResult<RegionOverview> {
    Ok(Json(state.app.region_overview(&user.actor, &code).await?))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search_residents(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(query): Query<SearchQuery>,
) -> ApiResult<Vec<ResidentView>> {
    Ok(Json(
        state.app.search_residents(&user.actor, &query.q).await?,
    ))
}

async fn resident(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<ResidentView> {
    Ok(Json(state.app.resident(&user.actor, id).await?))
}

#[derive(Deserialize)]
struct RevealRequest {
    reason: String,
}

async fn reveal_resident(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(request): Json<RevealRequest>,
) -> ApiResult<ResidentView> {
    Ok(Json(
        state
            .app
            .reveal_resident(&user.actor, id, &request.reason)
            .await?,
    ))
}

/// A resident to add or change, with the import columns' meaning.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ResidentInput {
    name: String,
    id_type: String,
    id_number: String,
    sex: String,
    birth_date: String,
    phone: String,
    address: String,
    household_number: String,
    relation: String,
    grid_code: String,
    key_groups: String,
}

#[derive(Serialize)]
struct SavedResident {
    id: i64,
    outcome: &'static str,
}

async fn save_resident(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(input): Json<ResidentInput>,
) -> Result<Response, ApiError> {
    let raw = RawResidentRow {
        name: input.name,
        id_type: input.id_type,
        id_number: input.id_number,
        sex: input.sex,
        birth_date: input.birth_date,
        phone: input.phone,
        address: input.address,
        household_number: input.household_number,
        relation: input.relation,
        grid_code: input.grid_code,
        key_groups: input.key_groups,
    };
    let (id, outcome) = state.app.save_resident(&user.actor, &raw).await?;
    let (status, outcome) = match outcome {
        fangkong_app::records::RowOutcome::Inserted => {
            (axum::http::StatusCode::CREATED, "inserted")
        }
        fangkong_app::records::RowOutcome::Updated => (axum::http::StatusCode::OK, "updated"),
        _ => (axum::http::StatusCode::OK, "unchanged"),
    };
    Ok((status, Json(SavedResident { id, outcome })).into_response())
}

/// Moves a resident to another grid of the jurisdiction (迁移网格), audited.
async fn move_resident(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(form): Json<GridMoveForm>,
) -> ApiResult<ResidentView> {
    Ok(Json(
        state.app.move_resident_grid(&user.actor, id, &form).await?,
    ))
}

async fn move_ins(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<MoveInLists> {
    Ok(Json(state.app.move_ins(&user.actor).await?))
}

#[derive(Serialize)]
struct FiledMoveIn {
    id: i64,
}

async fn file_move_in(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(form): Json<MoveInForm>,
) -> Result<Response, ApiError> {
    let id = state.app.file_move_in(&user.actor, &form).await?;
    Ok((axum::http::StatusCode::CREATED, Json(FiledMoveIn { id })).into_response())
}

async fn move_in(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<MoveInView> {
    Ok(Json(state.app.move_in(&user.actor, id).await?))
}

#[derive(Deserialize)]
struct MoveInDecision {
    approve: bool,
    #[serde(default)]
    reason: String,
}

async fn decide_move_in(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(decision): Json<MoveInDecision>,
) -> ApiResult<MoveInView> {
    Ok(Json(
        state
            .app
            .decide_move_in(&user.actor, id, decision.approve, &decision.reason)
            .await?,
    ))
}

async fn household(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(number): Path<String>,
) -> ApiResult<HouseholdView> {
    Ok(Json(state.app.household(&user.actor, &number).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VisitInput {
    present_count: i64,
    away_count: i64,
    arrivals_count: i64,
    arrivals_note: String,
    untested_count: i64,
    unvaccinated_count: i64,
    note: String,
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn record_visit(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(number): Path<String>,
    Json(input): Json<VisitInput>,
) -> ApiResult<Created> {
    let form = DoorVisitForm {
        present_count: input.present_count.to_string(),
        away_count: input.away_count.to_string(),
        arrivals_count: input.arrivals_count.to_string(),
        arrivals_note: input.arrivals_note,
        untested_count: input.untested_count.to_string(),
        unvaccinated_count: input.unvaccinated_count.to_string(),
        note: input.note,
    };
    let id = state
        .app
        .record_door_visit(&user.actor, &number, &form)
        .await?;
    Ok(Json(Created { id }))
}

#[derive(Deserialize)]
struct SinceQuery {
    since: Option<String>,
}

async fn door_ledger(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
    Query(query): Query<SinceQuery>,
) -> ApiResult<DoorLedger> {
    let since = parse_since(query.since.as_deref(), state.app.today())?;
    Ok(Json(
        state.app.door_ledger(&user.actor, &code, since).await?,
    ))
}

async fn import(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    mut multipart: Multipart,
) -> ApiResult<ImportReport> {
    let upload = read_upload(
        &state,
        &user,
        fangkong_domain::role::Permission::ImportPopulation,
        &mut multipart,
    )
    .await?;
    let (name, temp) =
        upload.ok_or_else(|| AppError::Invalid("请在 file 字段上传 CSV 或 XLSX 文件".into()))?;
    Ok(Json(
        state
            .app
            .import_residents(&user.actor, temp.path(), &name)
            .await?,
    ))
}
