//! File uploads (`multipart/form-data`): the only requests allowed a large body
//! ([`crate::UPLOAD_LIMIT_BYTES`]), and only once the caller is known to be allowed to send one.
//!
//! The order is the point: the session is resolved from the request head (`PageUser` / `ApiUser`),
//! then the role's permission is checked, then — for a browser session — the form token must be the
//! **first** field of the form (every upload form puts its hidden `csrf` input first). Only then is a
//! file part read and spooled to disk. A caller without the permission or without the token is
//! answered before a single byte of the file is read, so nobody can make the server write large
//! temporary files it will refuse anyway.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use fangkong_app::AppError;
use fangkong_domain::role::Permission;

use crate::AppState;
use crate::session::LoggedIn;

/// The form token is 32 hex characters; anything longer is not a token.
const CSRF_FIELD_MAX_BYTES: usize = 256;

fn multipart_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(format!(
            "上传的文件太大：最大 {} MB",
            crate::UPLOAD_LIMIT_BYTES / (1024 * 1024)
        ))
    } else {
        AppError::Invalid("上传内容无法读取，请重新选择文件后再上传".into())
    }
}

/// A short text field, read only up to `max` bytes (a longer one is refused without reading on).
async fn read_short_text(field: &mut Field<'_>, max: usize) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > max {
            return Ok(String::new());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8(bytes).unwrap_or_default())
}

/// Reads an upload for `user`, who must hold `permission`: returns the file's name and its spooled
/// copy (`None` when the form had no `file` field). Browser sessions must send the form token as the
/// first field; bearer-token clients (the API) need none. Refusals come before any file part is read.
pub(crate) async fn read_upload(
    state: &AppState,
    user: &LoggedIn,
    permission: Permission,
    multipart: &mut Multipart,
) -> Result<Option<(String, tempfile::NamedTempFile)>, AppError> {
    user.actor.require(permission)?;
    check_first_field_token(user, multipart).await?;
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() == Some("file") {
            let file_name = field.file_name().unwrap_or("upload.csv").to_string();
            let temp = save_upload(state, &mut field).await?;
            upload = Some((file_name, temp));
        }
    }
    Ok(upload)
}

/// For a browser session, reads the first field of a multipart form, which must be the form token
/// (`csrf`, read only up to a few hundred bytes), and checks it; a missing or wrong token is refused
/// before anything else of the body is read. Bearer-token clients (the API) send no token.
pub(crate) async fn check_first_field_token(
    user: &LoggedIn,
    multipart: &mut Multipart,
) -> Result<(), AppError> {
    if user.bearer {
        return Ok(());
    }
    let submitted = match multipart.next_field().await.map_err(multipart_error)? {
        Some(mut field) if field.name() == Some("csrf") => {
            read_short_text(&mut field, CSRF_FIELD_MAX_BYTES).await?
        }
        _ => String::new(),
    };
    user.check_csrf(&submitted)
}

/// Saves an uploaded file field to a temporary file, chunk by chunk (never whole in memory).
async fn save_upload(
    state: &AppState,
    field: &mut Field<'_>,
) -> Result<tempfile::NamedTempFile, AppError> {
    use tokio::io::AsyncWriteExt;
    let temp = match &state.config.upload_dir {
        Some(dir) => tempfile::NamedTempFile::new_in(dir),
        None => tempfile::NamedTempFile::new(),
    }
    .map_err(|e| AppError::internal_in("temp file", e))?;
    let mut file = tokio::fs::File::create(temp.path())
        .await
        .map_err(|e| AppError::internal_in("temp file", e))?;
    while let Some(chunk) = field.chunk().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            multipart_error(e)
        } else {
            AppError::Invalid("文件上传中断，请重新上传".into())
        }
    })? {
        file.write_all(&chunk)
            .await
            .map_err(|e| AppError::internal_in("temp write", e))?;
    }
    file.flush()
        .await
        .map_err(|e| AppError::internal_in("temp flush", e))?;
    Ok(temp)
}
