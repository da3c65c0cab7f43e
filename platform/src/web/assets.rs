//! Static assets (the stylesheet, the logo): embedded in the binary, replaced or added by the
//! operator's `theme_dir/static/`, served at `/static/<name>` with a strong `ETag` and a version
//! in the URL pages use ([`Assets::url`]), so browsers keep them for a year and fetch a new one
//! when it changes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// Assets a crate ships: (name, bytes), embedded with `include_bytes!`.
pub type Sources = &'static [(&'static str, &'static [u8])];

/// The platform's own assets.
pub const ASSETS: Sources = &[
    ("hub.css", include_bytes!("../../static/hub.css")),
    ("logo.svg", include_bytes!("../../static/logo.svg")),
];

/// Largest file taken from the theme directory.
const MAX_THEME_FILE: u64 = 2 << 20;

struct Asset {
    bytes: Cow<'static, [u8]>,
    content_type: &'static str,
    etag: String,
    version: String,
}

/// The assets, by name.
pub struct Assets {
    by_name: HashMap<String, Asset>,
}

impl std::fmt::Debug for Assets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assets")
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn asset(bytes: Cow<'static, [u8]>, name: &str) -> Asset {
    let digest = guomi::sm3(&bytes);
    let version = hex::encode(&digest[..6]);
    Asset {
        etag: format!("\"{version}\""),
        version,
        content_type: content_type(name),
        bytes,
    }
}

/// A name safe to serve: plain file names and sub-directories, no `..`, no hidden files.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.'))
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

impl Assets {
    /// The embedded `sources`, with `theme_dir/static/` first.
    pub fn new(sources: &[Sources], theme_dir: Option<&Path>) -> std::io::Result<Assets> {
        let mut by_name = HashMap::new();
        for list in sources {
            for (name, bytes) in list.iter() {
                by_name.insert((*name).to_owned(), asset(Cow::Borrowed(bytes), name));
            }
        }
        if let Some(dir) = theme_dir.map(|d| d.join("static"))
            && dir.is_dir()
        {
            let mut stack = vec![dir.clone()];
            while let Some(d) = stack.pop() {
                for entry in std::fs::read_dir(&d)? {
                    let path = entry?.path();
                    if path.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let rel = path
                        .strip_prefix(&dir)
                        .map(|p| p.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    if !safe_name(&rel) || std::fs::metadata(&path)?.len() > MAX_THEME_FILE {
                        continue;
                    }
                    let bytes = std::fs::read(&path)?;
                    by_name.insert(rel.clone(), asset(Cow::Owned(bytes), &rel));
                }
            }
        }
        Ok(Assets { by_name })
    }

    /// The URL of an asset with its version (`/static/hub.css?v=…`); the bare path for an
    /// unknown name.
    pub fn url(&self, name: &str) -> String {
        match self.by_name.get(name) {
            Some(a) => format!("/static/{name}?v={}", a.version),
            None => format!("/static/{name}"),
        }
    }

    /// The response to `GET /static/<name>`.
    pub fn respond(&self, name: &str, headers: &HeaderMap) -> Response {
        let Some(a) = self.by_name.get(name).filter(|_| safe_name(name)) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
        let etag = HeaderValue::from_str(&a.etag).unwrap_or(HeaderValue::from_static("\"0\""));
        let fresh = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag));
        if fresh {
            return (
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
            )
                .into_response();
        }
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache),
            ],
            a.bytes.to_vec(),
        )
            .into_response()
    }
}

/// `GET /static/{*name}`.
pub async fn serve(
    State(assets): State<Arc<Assets>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    assets.respond(&name, &headers)
}

/// The route of the assets.
pub fn routes(assets: Arc<Assets>) -> axum::Router {
    axum::Router::new()
        .route("/static/{*name}", axum::routing::get(serve))
        .with_state(assets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_directory() {
        assert!(safe_name("hub.css") && safe_name("img/logo.png"));
        for bad in ["", "../x", "a/../b", ".env", "a//b", "a b", "%2e%2e/x"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_theme_replaces_an_asset_and_the_version_follows() {
        const A: Sources = &[("hub.css", b"body{}")];
        let built_in = Assets::new(&[A], None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("static")).unwrap();
        std::fs::write(dir.path().join("static/hub.css"), "body{color:red}").unwrap();
        let themed = Assets::new(&[A], Some(dir.path())).unwrap();
        assert_ne!(built_in.url("hub.css"), themed.url("hub.css"));
        let res = themed.respond("hub.css", &HeaderMap::new());
        assert_eq!(res.status(), StatusCode::OK);
        let etag = res.headers()[header::ETAG].clone();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(
            themed.respond("hub.css", &h).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            themed.respond("../secret", &HeaderMap::new()).status(),
            StatusCode::NOT_FOUND
        );
    }
}
