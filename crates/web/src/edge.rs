//! What every response passes on its way out: axum's own refusals (a form or JSON body that does not
//! deserialize, a path id that is not a number, a query that does not parse, a body over its limit, a
//! wrong content type, an unknown route or method) become the Chinese error page — or, under `/api/`,
//! the API's `{"error", "message"}` — and every response gets the security headers.
//!
//! Every request runs inside a tracing span `request` with a request id (also sent back as
//! `x-request-id`, so a user reporting a failure can quote it), the method, the path without its
//! query (queries can carry ID numbers) and, once the session is known, the user's id — ids only,
//! never names or personal data.
//!
//! An axum rejection is recognised by what it is: a 4xx `text/plain` answer in English (or an empty
//! 404/405 from the router). fangkong's own errors are Chinese (`AppError`'s `Display`) or JSON, so they
//! pass untouched. Doing it here, once, means no handler and no future route can leak axum's text.

use askama::Template;
use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// Rejection texts are a line or two; anything longer is not one.
const REJECTION_MAX_BYTES: u64 = 16 * 1024;

#[derive(Template)]
#[template(path = "error_bare.html")]
struct BareErrorPage {
    message: String,
}

/// The middleware: map rejections, then add the headers.
pub(crate) async fn finish(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let request_id = format!(
        "{:x}-{}",
        std::process::id(),
        REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    );
    let path = request.uri().path().to_string();
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %request.method(),
        path = %path,
        user_id = tracing::field::Empty,
    );
    async move {
        let response = next.run(request).await;
        let response = if looks_like_rejection(&response) {
            translate(response, &path).await
        } else {
            response
        };
        let mut response = with_security_headers(response);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        response
    }
    .instrument(span)
    .await
}

fn looks_like_rejection(response: &Response) -> bool {
    let status = response.status();
    if !status.is_client_error() {
        return false;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= REJECTION_MAX_BYTES);
    small && (content_type.is_empty() || content_type.starts_with("text/plain"))
}

async fn translate(response: Response, path: &str) -> Response {
    let status = response.status();
    let bytes = match axum::body::to_bytes(response.into_body(), REJECTION_MAX_BYTES as usize).await
    {
        Ok(bytes) => bytes,
        Err(_) => axum::body::Bytes::new(),
    };
    let text = String::from_utf8_lossy(&bytes).to_string();
    if !text.is_ascii() {
        // Our own Chinese message: keep it as it was.
        return (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response();
    }
    let (code, message) = chinese(status, &text, path);
    if path.starts_with("/api/") {
        let body = serde_json::json!({"error": code, "message": message});
        (status, axum::Json(body)).into_response()
    } else {
        match (BareErrorPage {
            message: message.clone(),
        })
        .render()
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

/// The stable code and the Chinese words for one of axum's refusals.
fn chinese(status: StatusCode, text: &str, path: &str) -> (&'static str, String) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = if path == "/login" || path == "/api/session" {
                format!("（登录最多 {} KB）", crate::LOGIN_LIMIT_BYTES / 1024)
            } else {
                String::new()
            };
            (
                "too_large",
                format!(
                    "提交的内容太大，超过了此处允许的上限{limit}；请精简内容后再提交，文件请分批上传"
                ),
            )
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            if text.contains("application/json") {
                (
                    "invalid_input",
                    "请求格式不对：请以 JSON 发送，并带上请求头 Content-Type: application/json"
                        .into(),
                )
            } else if text.contains("multipart") {
                (
                    "invalid_input",
                    "请求格式不对：上传文件请用 multipart/form-data 表单".into(),
                )
            } else {
                ("invalid_input", "请求格式不对：请用页面上的表单提交".into())
            }
        }
        StatusCode::NOT_FOUND => ("not_found", "没有找到该页面或接口，请检查网址".into()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "此地址不支持这种请求方式（例如该用 POST 提交却用了 GET）".into(),
        ),
        _ if text.contains("Invalid URL") || text.contains("path") && text.contains("parse") => (
            "invalid_input",
            "网址中的编号或代码不对（应为数字或规定格式），请从页面上的链接进入".into(),
        ),
        _ if text.contains("query string") => (
            "invalid_input",
            "网址中的查询条件不对（例如页码不是数字或过大），请从页面上的链接进入".into(),
        ),
        _ if text.contains("JSON") => {
            let detail = missing_field(text)
                .map(|f| format!("：缺少字段 {f}"))
                .or_else(|| {
                    (text.contains("syntax") || text.contains("parse the request body"))
                        .then(|| "：不是有效的 JSON".to_string())
                })
                .unwrap_or_else(|| "：有字段缺少或类型不对".to_string());
            ("invalid_input", format!("请求内容不符合接口要求{detail}"))
        }
        _ if text.contains("multipart") => (
            "invalid_input",
            "上传内容无法读取，请重新选择文件后再上传".into(),
        ),
        _ if text.contains("form") => {
            let detail = missing_field(text)
                .map(|f| format!("（缺少 {f}）"))
                .unwrap_or_default();
            (
                "invalid_input",
                format!("表单内容不完整或格式不对{detail}，请刷新页面后重新填写"),
            )
        }
        _ => ("invalid_input", "请求无法处理，请刷新页面后重试".into()),
    }
}

/// `missing field `region`` → `region` (an ASCII field name, safe to echo).
fn missing_field(text: &str) -> Option<&str> {
    let start = text.find("missing field `")? + "missing field `".len();
    let rest = &text[start..];
    let name = &rest[..rest.find('`')?];
    (name.len() <= 40 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(name)
}

/// Anti-framing, no sniffing, and no caching (pages and API answers carry personal data; a shared
/// office computer's cache must not keep them) unless a handler chose a cache policy for something
/// public (the static assets, the trust list).
fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let csp = match headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    {
        Some(existing) if existing.contains("frame-ancestors") => existing.to_string(),
        Some(existing) => format!("{existing}; frame-ancestors 'none'"),
        None => "frame-ancestors 'none'".to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
