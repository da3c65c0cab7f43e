//! The pages' renderer: the compiled templates and the assets of every feature, the site's
//! name, and the responses a page answers with (a rendered page, a redirect after a form, the
//! error page in the layout).

use std::path::Path;
use std::sync::Arc;

use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::web::assets::{self, Assets};
use crate::web::site::{Base, Flash, NavItem};
use crate::web::templates::{self, TemplateError, Templates};

/// Why the pages cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error("cannot read the theme's static files")]
    Assets(#[source] std::io::Error),
}

/// Templates, assets and the site's name, shared by every page.
pub struct Web {
    templates: Templates,
    assets: Arc<Assets>,
    site_name: String,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("site_name", &self.site_name)
            .finish_non_exhaustive()
    }
}

impl Web {
    /// The platform's templates and assets, then each feature's, with `theme_dir` first.
    pub fn new(
        features: &[templates::Sources],
        feature_assets: &[assets::Sources],
        theme_dir: Option<&Path>,
        site_name: &str,
    ) -> Result<Web, WebError> {
        let mut t = vec![templates::TEMPLATES];
        t.extend_from_slice(features);
        let mut a = vec![assets::ASSETS];
        a.extend_from_slice(feature_assets);
        Ok(Web {
            templates: Templates::new(&t, theme_dir)?,
            assets: Arc::new(Assets::new(&a, theme_dir).map_err(WebError::Assets)?),
            site_name: site_name.to_owned(),
        })
    }

    pub fn assets(&self) -> Arc<Assets> {
        self.assets.clone()
    }

    pub fn site_name(&self) -> &str {
        &self.site_name
    }

    /// The common context of a page titled `title` in `area` (`portal` or `console`).
    pub fn base(&self, title: impl Into<String>, area: &'static str, nav: Vec<NavItem>) -> Base {
        Base {
            site_name: self.site_name.clone(),
            title: title.into(),
            area,
            nav,
            user: None,
            admin: None,
            csrf: None,
            flash: None,
            search_q: String::new(),
            css: self.assets.url("hub.css"),
            logo: self.assets.url("logo.svg"),
        }
    }

    /// Renders `template` with the common keys of `base` and the page's own `ctx` (an object;
    /// its keys win). The two are merged by reference, not copied into one map.
    pub fn render_to_string(
        &self,
        template: &str,
        base: &Base,
        ctx: impl Serialize,
    ) -> Result<String, TemplateError> {
        let ctx = minijinja::context! {
            ..minijinja::Value::from(minijinja::value::Serde(ctx)),
            ..minijinja::Value::from(minijinja::value::Serde(base)),
        };
        self.templates.render(template, ctx)
    }

    /// The page as a response with `status`; a template failure becomes the error page (and is
    /// logged with the template's name and line).
    pub fn page_status(
        &self,
        status: StatusCode,
        template: &str,
        base: &Base,
        ctx: impl Serialize,
    ) -> Response {
        match self.render_to_string(template, base, ctx) {
            Ok(html) => (status, no_store(), Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "a page could not be rendered");
                self.error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    base.area,
                    "页面暂时无法显示",
                    "服务出现内部错误，请稍后再试；如多次出现，请联系平台运营方。",
                    "internal",
                    None,
                )
            }
        }
    }

    /// The page with 200.
    pub fn page(&self, template: &str, base: &Base, ctx: impl Serialize) -> Response {
        self.page_status(StatusCode::OK, template, base, ctx)
    }

    /// The error page in the layout.
    pub fn error_page(
        &self,
        status: StatusCode,
        area: &'static str,
        heading: &str,
        advice: &str,
        code: &str,
        request_id: Option<&str>,
    ) -> Response {
        (
            status,
            no_store(),
            Html(self.error_document(area, heading, advice, code, request_id)),
        )
            .into_response()
    }

    /// The error page's HTML: in the layout, or a bare page should the layout itself fail (an
    /// operator's broken theme must not hide the error).
    pub fn error_document(
        &self,
        area: &'static str,
        heading: &str,
        advice: &str,
        code: &str,
        request_id: Option<&str>,
    ) -> String {
        let nav = if area == "console" {
            Vec::new()
        } else {
            crate::web::site::portal_nav("")
        };
        let base = self.base(heading, area, nav);
        let ctx = serde_json::json!({
            "heading": heading,
            "advice": advice,
            "code": code,
            "request_id": request_id,
            "back": { "label": "返回首页", "href": if area == "console" { "/console" } else { "/" } },
        });
        self.render_to_string("error.html", &base, ctx)
            .unwrap_or_else(|_| crate::pages::error(heading, code, request_id.unwrap_or("")))
    }
}

/// A page already rendered, as a response with `status` (not kept by browsers or proxies: pages
/// may show a signed-in person's data).
pub fn html(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (
        status,
        no_store(),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body.into(),
    )
        .into_response()
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

/// `303 See Other` to a local path, after a form: the browser then GETs the page.
pub fn see_other(path: &str) -> Response {
    let to = if path.starts_with('/') && !path.starts_with("//") {
        path
    } else {
        "/"
    };
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response()
}

/// The one-time notice carried over a redirect in the query (`?ok=…`): only known keys are
/// shown, so a link cannot put words in the site's mouth.
pub fn flash(
    key: Option<&str>,
    known: &[(&'static str, &'static str, &'static str)],
) -> Option<Flash> {
    let key = key?;
    known
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, kind, text)| Flash {
            kind,
            text: (*text).to_owned(),
        })
}
