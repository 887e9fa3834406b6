//! One form pattern for pages: how a POST from a page is read and answered.
//!
//! - [`CsrfForm<T>`] is the last extractor of every page form handler: the caller's page session, then
//!   the urlencoded body parsed into `T`, then the form token (`csrf`) checked against the session's,
//!   all before the handler runs. The answers are the ones the hand-written checks gave: not logged in
//!   → the login page; a body that does not parse → `edge`'s Chinese page; a wrong or missing token →
//!   the error page with the user's frame (422, "表单已失效…"). Multipart uploads are read by
//!   `crate::upload` instead, which checks the token as the form's first field.
//! - [`form_page`] answers the command's result: 303 to the next page on success; a form mistake
//!   ([`is_form_mistake`]) shows the same page again with what was typed and the message, under the
//!   error's status (422 for a bad value, 409, 404, 403); anything else is the error page.
//! - `templates/_macros.html` writes the hidden token field and the flash message.

use std::future::Future;

use axum::Form;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use fangkong_app::AppError;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::pages::{Flash, PageResult, PageUser};
use crate::{AppState, log_if_internal, status_of};

/// A page form whose token has been checked, parsed into `T` (which needs no `csrf` field: the token
/// is read on its own). The session is the one `PageUser` resolved for this request when the handler
/// also takes a `PageUser` (which it puts first, so a caller without a session is sent to the login
/// page before anything else is looked at); otherwise it is resolved here.
pub(crate) struct CsrfForm<T>(pub T);

/// The form token, read from the same body as the form.
#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

/// A form that carries nothing but its token (buttons such as “退出登录” or “结束本轮”).
#[derive(Deserialize)]
pub(crate) struct NoFields {}

impl<T> FromRequest<AppState> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let page = PageUser::from_request_parts(&mut parts, state).await?;
        let (method, uri) = (parts.method.clone(), parts.uri.clone());
        let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
        // The body is read once (content type, then the route's size limit, as `Form` does) and
        // parsed twice, by axum's own `Form`, so a refusal is axum's (which `edge` puts in Chinese).
        let RawForm(bytes) = RawForm::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let again = || {
            let mut request = Request::new(Body::from(bytes.clone()));
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri.clone();
            if let Some(value) = &content_type {
                request
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, value.clone());
            }
            request
        };
        let Form(form) = Form::<T>::from_request(again(), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Form(token) = Form::<Token>::from_request(again(), state)
            .await
            .map_err(IntoResponse::into_response)?;
        page.user
            .check_csrf(&token.csrf)
            .map_err(|e| page.error(e).into_response())?;
        Ok(CsrfForm(form))
    }
}

/// Form mistakes come back to the form with the typed values; anything else is an error page.
pub(crate) fn is_form_mistake(error: &AppError) -> bool {
    matches!(
        error,
        AppError::Invalid(_)
            | AppError::Conflict(_)
            | AppError::NotFound(_)
            | AppError::OutsideJurisdiction
    )
}

/// A mistake in what was typed into a form about a record that exists: a missing record (`NotFound`)
/// is the error page instead, since the form's own page is gone too (a case, a resident, a grid move).
pub(crate) fn is_typed_mistake(error: &AppError) -> bool {
    is_form_mistake(error) && !matches!(error, AppError::NotFound(_))
}

/// How a page answers its form: `next` is where to go after the command (303), or its error. A form
/// mistake renders the page again through `again` (given the message; it keeps what was typed) under
/// the error's status; any other error is the error page.
pub(crate) async fn form_page<Fut: Future<Output = PageResult>>(
    page: &PageUser,
    next: Result<String, AppError>,
    again: impl FnOnce(Option<Flash>) -> Fut,
) -> PageResult {
    form_page_when(is_form_mistake, page, next, again).await
}

/// [`form_page`] with the caller's own rule for which errors bring the form back (e.g.
/// [`is_typed_mistake`]: a missing case or resident is the error page, not its form again).
pub(crate) async fn form_page_when<Fut: Future<Output = PageResult>>(
    comes_back: fn(&AppError) -> bool,
    page: &PageUser,
    next: Result<String, AppError>,
    again: impl FnOnce(Option<Flash>) -> Fut,
) -> PageResult {
    match next {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(error) if comes_back(&error) => {
            let status = status_of(&error);
            let body = again(Some(error_flash(&error))).await?;
            Ok((status, body).into_response())
        }
        Err(error) => Err(page.error(error)),
    }
}

/// The error message shown above a form that came back.
pub(crate) fn error_flash(error: &AppError) -> Flash {
    log_if_internal(error);
    Flash {
        kind: "error",
        text: error.to_string(),
    }
}

/// A success message, for a page shown after its form's 303.
pub(crate) fn ok_flash(text: impl Into<String>) -> Option<Flash> {
    Some(Flash {
        kind: "ok",
        text: text.into(),
    })
}
