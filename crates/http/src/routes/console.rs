//! `/app`: the web console compiled into the binary. The page is served
//! with `no-cache` from `/app` and every client-side route under it; its
//! scripts and styles from `/app/assets/<content hash>/`, cached for a year.
//! Every response under `/app` carries a strict Content-Security-Policy.

mod assets;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Compress, DefaultHeaders};
use actix_web::{HttpRequest, HttpResponse, get, web};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use assets::CONSOLE;
pub use assets::{ASSETS, Asset};

/// The policy of every `/app` response: only this server's own scripts,
/// styles, images and connections; no inline script, no eval, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PAGE_CACHE: &str = "no-cache";
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// The current asset directory, `/app/assets/<hash>` (what the page links).
pub fn assets_path() -> String {
    format!("/app/assets/{}", CONSOLE.hash)
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// True when the client already holds the representation tagged `etag`.
fn fresh(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

fn cached(
    req: &HttpRequest,
    etag: &str,
    cache: &'static str,
    content_type: &'static str,
    body: &'static [u8],
) -> HttpResponse {
    let not_modified = fresh(req, etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((header::CACHE_CONTROL, cache));
    // Weak: the same tag names the gzip and the identity encodings.
    if let Ok(value) = HeaderValue::from_str(&format!("W/{etag}")) {
        response.insert_header((header::ETAG, value));
    }
    if not_modified {
        response.finish()
    } else {
        response.content_type(content_type).body(body)
    }
}

fn page(req: &HttpRequest) -> HttpResponse {
    let console = &*CONSOLE;
    cached(
        req,
        &console.page_etag,
        PAGE_CACHE,
        "text/html; charset=utf-8",
        console.page.as_bytes(),
    )
}

/// The console page (HTML).
#[utoipa::path(
    tag = "console",
    responses(
        (status = 200, description = "The web console page (HTML, `Cache-Control: no-cache`)", content_type = "text/html"),
        (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
    )
)]
#[get("")]
async fn console_page(req: HttpRequest) -> HttpResponse {
    page(&req)
}

/// The console page again, for every client-side route under `/app/`
/// (`/app/c/{conversation}`, `/app/usage`, ...), so a reload or a shared
/// link lands on the same screen. Paths under `/app/assets/` that name no
/// current asset are 404.
#[utoipa::path(
    tag = "console",
    params(("route" = String, Path, description = "A client-side route of the console")),
    responses(
        (status = 200, description = "The web console page (HTML, `Cache-Control: no-cache`)", content_type = "text/html"),
        (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
        (status = 404, body = ErrorEnvelope, description = "under `/app/assets/`: no such asset"),
    )
)]
#[get("/{route:.*}")]
async fn console_route(req: HttpRequest, route: web::Path<String>) -> ApiResult<HttpResponse> {
    if route.starts_with("assets/") || route.as_str() == "assets" {
        return Err(missing_asset());
    }
    Ok(page(&req))
}

fn missing_asset() -> ApiError {
    ApiError::not_found("No such console asset; reload the page to get the current version.")
}

/// One script, style sheet or image of the console, named by the content
/// hash of them all: immutable, cached for a year. An old hash (a page from
/// before an upgrade) is 404, so a stale page never mixes versions.
#[utoipa::path(
    tag = "console",
    params(
        ("hash" = String, Path, description = "Content hash of the console's assets"),
        ("file" = String, Path, description = "File name, e.g. `app.js`"),
    ),
    responses(
        (status = 200, description = "The file (`Cache-Control: public, max-age=31536000, immutable`)",
            content(("text/javascript"), ("text/css"), ("image/svg+xml"))),
        (status = 304, description = "Not modified (`If-None-Match` matched the ETag)"),
        (status = 404, body = ErrorEnvelope, description = "no such asset under this hash"),
    )
)]
#[get("/assets/{hash}/{file}")]
async fn console_asset(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (hash, file) = path.into_inner();
    let console = &*CONSOLE;
    let asset = console.asset(&hash, &file).ok_or_else(missing_asset)?;
    let etag = format!("\"{}\"", console.hash);
    Ok(cached(
        &req,
        &etag,
        ASSET_CACHE,
        asset.content_type,
        asset.bytes,
    ))
}

/// Mounts `/app`.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/app")
            .wrap(Compress::default())
            .wrap(security_headers())
            .service(console_asset)
            .service(console_page)
            .service(console_route),
    );
}
