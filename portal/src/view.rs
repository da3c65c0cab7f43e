//! What the portal's pages share: the person looking ([`Viewer`]), the common context of a page
//! ([`base`]), the pager, the query of a list page, and the formatting of times, money and
//! statuses. Nothing here decides anything: it only shows what the core functions return.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use orgs::{Membership, OrgStatus, Paged};
use platform::clock::Millis;
use platform::http::cookie::cookie;
use platform::http::problem::ApiError;
use platform::sessions::{ActiveSession, SESSION_COOKIE, SessionError, csrf_token};
use platform::web::site::{Base, HeaderUser, portal_nav};
use serde::Serialize;

use crate::state::PortalState;

/// The person looking at a page: signed in or not.
pub struct Viewer(pub Option<Signed>, pub Ended);

/// Why nobody is signed in: no session cookie (or an unknown one), or a session that has ended
/// (idle or lifetime limit) — the JSON endpoints tell the two apart (`auth.session_expired`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    No,
    Expired,
}

/// A signed-in person, with the organisation they belong to (whatever its status).
pub struct Signed {
    pub session: Arc<ActiveSession>,
    /// The session cookie's value: the secret form tokens are bound to.
    pub cookie: String,
    pub membership: Option<Membership>,
}

impl Signed {
    pub fn account_id(&self) -> &str {
        &self.session.account.id
    }

    pub fn is_legal_person(&self) -> bool {
        self.session.account.kind == "legal_person"
    }

    /// What the header says this person is.
    pub fn role_label(&self) -> &'static str {
        match &self.membership {
            Some(m) => m.portal_role().label_zh(),
            None if self.is_legal_person() => "企业用户",
            None => "个人用户",
        }
    }

    /// The roles of `/api/me`: the kind of account, then the portal role if any.
    pub fn roles(&self) -> Vec<String> {
        let mut roles = vec![
            if self.is_legal_person() {
                "enterprise"
            } else {
                "individual"
            }
            .to_owned(),
        ];
        if let Some(m) = &self.membership {
            roles.push(m.portal_role().as_str().to_owned());
        }
        roles
    }
}

impl FromRequestParts<PortalState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        // Anonymous visitors cost nothing: no cookie, no query.
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Ok(Viewer(None, Ended::No));
        };
        match state.platform.sessions.current(value).await {
            Ok(session) => {
                let membership = state.orgs.membership_of(&session.account.id).await?;
                Ok(Viewer(
                    Some(Signed {
                        session,
                        cookie: value.to_owned(),
                        membership,
                    }),
                    Ended::No,
                ))
            }
            Err(SessionError::Missing) => Ok(Viewer(None, Ended::No)),
            Err(SessionError::Expired) => Ok(Viewer(None, Ended::Expired)),
            Err(e) => Err(e.into()),
        }
    }
}

/// The common context of a portal page titled `title` in the column at `current`.
pub fn base(state: &PortalState, title: &str, current: &str, viewer: &Viewer) -> Base {
    let mut b = state
        .platform
        .web
        .base(title, "portal", portal_nav(current));
    if let Some(s) = &viewer.0 {
        b.user = Some(HeaderUser {
            display_name: s.session.account.display_name.clone(),
            role_label: s.role_label().to_owned(),
        });
        b.csrf = Some(csrf_token(&state.platform.keys, &s.cookie));
    }
    b
}

/// The query of a list page, read leniently: a page link someone mistyped shows the first page
/// rather than an error.
#[derive(Debug, Default)]
pub struct ListQuery(pub HashMap<String, String>);

impl ListQuery {
    pub fn parse(query: Option<&str>) -> ListQuery {
        let mut m = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            m.entry(k.into_owned())
                .or_insert_with(|| v.trim().to_owned());
        }
        ListQuery(m)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `?page=N`, 1 when absent or not a number.
    pub fn page(&self, size: u32) -> orgs::Page {
        let n = self.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        orgs::Page::new(n, size)
    }
}

/// The pager of the templates (`ui.pager`).
#[derive(Debug, Serialize)]
pub struct Pager {
    pub number: u32,
    pub pages: u32,
    pub total: u64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

/// The pager of `paged`, whose pages are at `path` with the query `keep` (besides `page`).
pub fn pager<T>(paged: &Paged<T>, path: &str, keep: &[(&str, &str)]) -> Pager {
    let pages = paged.pages();
    let href = |n: u32| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in keep {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if n > 1 {
            q.append_pair("page", &n.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{q}")
        }
    };
    Pager {
        number: paged.page,
        pages,
        total: paged.total,
        prev_href: (paged.page > 1).then(|| href(paged.page - 1)),
        next_href: (paged.page < pages).then(|| href(paged.page + 1)),
    }
}

/// A time as people in Fujian read it (Beijing time, to the minute).
pub fn time(ms: i64) -> String {
    platform::pages::beijing_time(Millis(ms))
}

/// An RFC 3339 time (as the core's views carry them) in Beijing time; the text itself should it
/// not parse.
pub fn time_text(rfc3339: &str) -> String {
    platform::clock::Millis::parse_rfc3339(rfc3339)
        .map_or_else(|| rfc3339.to_owned(), |m| time(m.0))
}

/// One page of a list held in memory (the connectors' snapshot, the partners of the node).
pub fn page_of<T>(all: Vec<T>, page: orgs::Page) -> Paged<T> {
    let page = page.normalised();
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let size = usize::try_from(page.size).unwrap_or(1);
    let total = all.len() as u64;
    Paged {
        items: all.into_iter().skip(start).take(size).collect(),
        total,
        page: page.number,
        size: page.size,
    }
}

/// A date in Beijing time.
pub fn date(ms: i64) -> String {
    time(ms).chars().take(10).collect()
}

/// An amount of integer fen as yuan with thousands separators: `123456` → `1,234.56`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

/// The badge kind of an organisation's status.
pub fn org_status_kind(s: OrgStatus) -> &'static str {
    match s {
        OrgStatus::Approved => "ok",
        OrgStatus::Pending => "warn",
        OrgStatus::Rejected => "bad",
        OrgStatus::Disabled => "muted",
    }
}

/// `text` escaped for HTML with every occurrence of `q` (ignoring ASCII case) wrapped in
/// `<mark>`: the only HTML the portal builds outside templates.
pub fn highlight(text: &str, q: &str) -> String {
    use platform::pages::escape;
    let q = q.trim();
    if q.is_empty() {
        return escape(text);
    }
    let hay = text.to_lowercase();
    let needle = q.to_lowercase();
    // Lower-casing may change byte lengths outside ASCII; then mark nothing rather than
    // cut a character.
    if hay.len() != text.len() {
        return escape(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    while let Some(i) = hay[at..].find(&needle) {
        let start = at + i;
        let end = start + needle.len();
        out.push_str(&escape(&text[at..start]));
        out.push_str("<mark>");
        out.push_str(&escape(&text[start..end]));
        out.push_str("</mark>");
        at = end;
    }
    out.push_str(&escape(&text[at..]));
    out
}

/// The first `n` characters of `text`, with an ellipsis when cut.
pub fn excerpt(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
}

/// The column of a Chinese name, for list entries.
fn column_name(all: &[cms::Column], id: &str) -> String {
    all.iter()
        .find(|c| c.id == id)
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

/// A list entry as pages show it.
pub fn item(all: &[cms::Column], s: &cms::Summary) -> serde_json::Value {
    let columns: Vec<String> = s.columns.iter().map(|c| column_name(all, c)).collect();
    let mut meta = Vec::new();
    if let Some(d) = &s.department_name {
        meta.push(d.clone());
    } else if let Some(src) = &s.source {
        meta.push(src.clone());
    }
    if !columns.is_empty() {
        meta.push(columns.join("、"));
    }
    if let Some(p) = s.published_at {
        meta.push(date(p));
    }
    serde_json::json!({
        "id": s.id,
        "title": s.title,
        "href": format!("/articles/{}", s.id),
        "summary": excerpt(&s.summary, 120),
        "meta": meta.join(" · "),
        "column": columns.first().cloned().unwrap_or_default(),
        "date": s.published_at.map(date).unwrap_or_default(),
        "tags": s.tags,
    })
}

/// `yyyy-mm-dd` as the first millisecond of that day in Beijing time.
pub fn day_start(text: &str) -> Option<i64> {
    let d = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let t = d
        .with_hms(0, 0, 0)
        .ok()?
        .assume_offset(time::macros::offset!(+8));
    Some(t.unix_timestamp() * 1000)
}

/// The signed-in person, or 401: `auth.session_expired` when the session ended, else
/// `auth.unauthenticated`.
pub fn signed(viewer: Viewer) -> Result<Signed, ApiError> {
    match viewer {
        Viewer(Some(s), _) => Ok(s),
        Viewer(None, Ended::Expired) => Err(ApiError::new(
            platform::http::problem::ErrorCode::SessionExpired,
            "the session has ended; sign in again",
        )),
        Viewer(None, Ended::No) => Err(ApiError::new(
            platform::http::problem::ErrorCode::Unauthenticated,
            "sign in first: /sso/{provider}/login",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_integer_fen_shown_as_yuan() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(123_456), "1,234.56");
        assert_eq!(yuan(10_000_000_000), "100,000,000.00");
        assert_eq!(yuan(-100_000), "-1,000.00");
    }

    #[test]
    fn highlights_escape_and_mark() {
        assert_eq!(
            highlight("<b>龙岩</b>农商银行龙岩分行", "龙岩"),
            "&lt;b&gt;<mark>龙岩</mark>&lt;/b&gt;农商银行<mark>龙岩</mark>分行"
        );
        assert_eq!(highlight("Bank of X", "bank"), "<mark>Bank</mark> of X");
        assert_eq!(highlight("a<b", ""), "a&lt;b");
        assert_eq!(highlight("<script>", "<"), "<mark>&lt;</mark>script&gt;");
    }

    #[test]
    fn pager_links_keep_the_filters() {
        let p: Paged<()> = Paged {
            items: vec![],
            total: 45,
            page: 2,
            size: 20,
        };
        let v = pager(&p, "/institutions", &[("q", "龙岩 银行"), ("kind", "")]);
        assert_eq!(v.pages, 3);
        assert_eq!(
            v.prev_href.as_deref(),
            Some("/institutions?q=%E9%BE%99%E5%B2%A9+%E9%93%B6%E8%A1%8C")
        );
        assert_eq!(
            v.next_href.as_deref(),
            Some("/institutions?q=%E9%BE%99%E5%B2%A9+%E9%93%B6%E8%A1%8C&page=3")
        );
    }

    #[test]
    fn lists_in_memory_come_in_pages() {
        let all: Vec<u32> = (1..=45).collect();
        let p = page_of(all.clone(), orgs::Page::new(3, 20));
        assert_eq!(p.items, [41, 42, 43, 44, 45]);
        assert_eq!((p.total, p.pages()), (45, 3));
        assert!(page_of(all, orgs::Page::new(9, 20)).items.is_empty());
    }

    #[test]
    fn a_mistyped_page_is_the_first() {
        assert_eq!(ListQuery::parse(Some("page=abc")).page(20).number, 1);
        assert_eq!(ListQuery::parse(Some("page=0")).page(20).number, 1);
        assert_eq!(ListQuery::parse(Some("page=3")).page(20).number, 3);
    }
}
