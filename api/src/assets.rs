//! The static files the browser pages need (the web console's scripts and styles, and a
//! vendored GraphiQL), built into the binary from `api/assets/` and served under
//! `/assets/`: nothing is fetched from the internet at run time.
//!
//! Each page is served with a Content-Security-Policy that allows scripts, styles and
//! requests from this server only. `SERIAL_LEDGER_ASSETS_DIR` (a directory laid out as
//! `api/assets/`) serves the files from disk instead, for working on the pages without
//! rebuilding.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Where the files are served.
pub const ASSETS_PREFIX: &str = "/assets/";

/// The console's policy: everything from this server, nothing inline, no framing.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'";

/// GraphiQL's: the same, but its editor sets styles inline.
const GRAPHIQL_CSP: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Declares the embedded files, each by its path under `api/assets/`.
macro_rules! embedded {
    ($($path:literal),* $(,)?) => {
        /// Every embedded file: its path under `api/assets/` and its bytes.
        pub const FILES: &[(&str, &[u8])] = &[
            $(($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path))),)*
        ];
    };
}

embedded![
    "console/index.html",
    "console/app.js",
    "console/api.js",
    "console/report-filters.js",
    "console/dom.js",
    "console/style.css",
    "console/pos.css",
    "console/reports.css",
    "console/lookup.css",
    "console/pages/sign-in.js",
    "console/pages/home.js",
    "console/pages/pos.js",
    "console/pages/fulfilment.js",
    "console/pages/sales.js",
    "console/pages/serials.js",
    "console/pages/products.js",
    "console/pages/settings.js",
    "graphiql/index.html",
    "graphiql/page.js",
    "graphiql/page.css",
    "graphiql/graphiql.min.js",
    "graphiql/graphiql.min.css",
    "graphiql/react.production.min.js",
    "graphiql/react-dom.production.min.js",
    "graphiql/LICENSES.md",
];

/// Whether `path` is one of the static files (public: they hold no data).
pub fn is_asset_path(path: &str) -> bool {
    path.starts_with(ASSETS_PREFIX)
}

/// `GET /assets/{*path}`.
pub fn routes() -> Router {
    Router::new().route("/assets/{*path}", get(asset))
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(bytes) = file(&path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    // Browsers revalidate on every page view (`no-cache`), so a new version shows on the
    // next reload; the ETag turns an unchanged file into a 304 without a body.
    let etag = match std::env::var_os("SERIAL_LEDGER_ASSETS_DIR") {
        Some(_) => entity_tag(&bytes),
        None => embedded_tags()
            .get(path.as_str())
            .cloned()
            .unwrap_or_else(|| entity_tag(&bytes)),
    };
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(&path))],
            bytes.into_owned(),
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// The embedded files' entity tags, computed once.
fn embedded_tags() -> &'static HashMap<&'static str, String> {
    static TAGS: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, bytes)| (*name, entity_tag(bytes)))
            .collect()
    })
}

/// A strong entity tag: the first 16 bytes of the file's SHA-256, hex, quoted.
fn entity_tag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The file at `path` (under `api/assets/`): from `SERIAL_LEDGER_ASSETS_DIR` when set,
/// else the copy built into the binary.
pub fn file(path: &str) -> Option<std::borrow::Cow<'static, [u8]>> {
    if let Some(dir) = std::env::var_os("SERIAL_LEDGER_ASSETS_DIR") {
        // Only names of embedded files: never a path the request made up.
        FILES.iter().find(|(name, _)| *name == path)?;
        return std::fs::read(std::path::Path::new(&dir).join(path))
            .ok()
            .map(Into::into);
    }
    FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| (*bytes).into())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// An HTML page from the assets, with its security headers.
pub fn page(path: &str, csp: &'static str) -> Response {
    let Some(bytes) = file(path) else {
        return (StatusCode::NOT_FOUND, "no such page").into_response();
    };
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        bytes.into_owned(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /graphql`: GraphiQL from the embedded files, with a field for the API token.
pub async fn graphiql() -> Response {
    page("graphiql/index.html", GRAPHIQL_CSP)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added under `api/assets/` but not listed in [`FILES`] would be missing from
    /// the binary (a page that loads it would break only when served).
    #[test]
    fn every_file_under_assets_is_built_into_the_binary() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("api/assets is readable") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let relative = path.strip_prefix(&root).expect("under assets");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(name, _)| name.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn no_page_loads_anything_from_another_server() {
        for (name, bytes) in FILES {
            if !(name.ends_with(".html") || name.starts_with("console/")) {
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            for attribute in [
                "src=\"http",
                "href=\"http",
                "src='http",
                "import 'http",
                "from 'http",
                "from \"http",
            ] {
                assert!(!text.contains(attribute), "{name} loads {attribute}…");
            }
        }
    }
}
