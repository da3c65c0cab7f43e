//! The simulators' responses: small HTML pages in Simplified Chinese (no scripts, no styles, so
//! the hub's strict Content-Security-Policy suits them), redirects and JSON. Every value a page
//! prints goes through [`escape`]; no response may be cached, since URLs carry tickets.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A page with an escaped `title` and a `body` of already-escaped HTML.
pub(crate) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let title = escape(title);
    let page = format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n\
         <hr><p><small>沙箱环境：仅供开发与测试，所有身份均为虚构。</small></p>\n</body>\n</html>\n"
    );
    let mut res = (status, page).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The simulated platforms are other parties with policies of their own: their forms end at
    // the hub's callback, which in production is another site. (The hub's default policy, which
    // it gives any response without one, allows forms to its own origin only.)
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    no_store(&mut res);
    res
}

/// An error page: `message` is plain text.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    html(
        status,
        "请求无法处理（沙箱）",
        &format!("<p>{}</p>", escape(message)),
    )
}

/// A request the simulator refuses: an error page with this status and plain-text message.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.status, &self.message)
    }
}

/// `302 Found` to `location`, optionally setting a cookie. A location that cannot be a header
/// value (control characters) gets an error page instead.
pub(crate) fn redirect(location: &str, set_cookie: Option<&str>) -> Response {
    let Ok(value) = HeaderValue::from_str(location) else {
        return error(StatusCode::BAD_REQUEST, "回调地址无效。");
    };
    let mut res = StatusCode::FOUND.into_response();
    res.headers_mut().insert(header::LOCATION, value);
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(c).ok()) {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    no_store(&mut res);
    res
}

/// JSON, as the back channels answer.
pub(crate) fn json(value: &serde_json::Value) -> Response {
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        )],
        value.to_string(),
    )
        .into_response();
    no_store(&mut res);
    res
}

fn no_store(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// A certificate number shown on a page: first four and last four characters only.
pub(crate) fn masked(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("张三"), "张三");
    }

    #[test]
    fn masking() {
        assert_eq!(masked("350802199003070029"), "3508**********0029");
        assert_eq!(masked("1234"), "****");
    }

    #[tokio::test]
    async fn pages_are_escaped_and_not_cached() {
        let res = error(StatusCode::BAD_REQUEST, "<script>");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("&lt;script&gt;"));
        assert!(!body.contains("<script>"));
        assert!(!body.contains("style"));
    }

    #[test]
    fn redirect_refuses_header_breaking_locations() {
        assert_eq!(
            redirect("/a\r\nX: y", None).status(),
            StatusCode::BAD_REQUEST
        );
        let res = redirect("/a?b=c", Some("k=v; Path=/"));
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(res.headers()[header::LOCATION], "/a?b=c");
        assert_eq!(res.headers()[header::SET_COOKIE], "k=v; Path=/");
    }
}
