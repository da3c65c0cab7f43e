//! The platform's own HTML: the escaper, the page frame and the error page browsers get for a
//! failed request (in Simplified Chinese, with what to do and the request id). Every value
//! printed is escaped.

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already HTML), titled `title` (text).
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} · 龙岩普惠金融平台</title></head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    )
}

/// What a person should do about a failure, by error code.
pub fn advice(code: &str) -> &'static str {
    match code {
        "sso.state_invalid" => "登录请求已失效或不是在本浏览器中发起的，请重新登录。",
        "sso.ticket_invalid" | "sso.ticket_replayed" | "sso.ticket_missing" => {
            "登录凭证无效、已使用或已过期，请重新登录。"
        }
        "sso.provider_unavailable" => "身份认证平台暂时无法访问，请稍后再试。",
        "sso.provider_refused" | "sso.identity_incomplete" | "sso.identity_invalid" => {
            "身份认证平台返回的信息不完整或有误，请稍后再试或联系平台运营方。"
        }
        "sso.signature_invalid"
        | "sso.timestamp_stale"
        | "sso.nonce_replayed"
        | "sso.entry_invalid" => "来自 e龙岩 的跳转已失效，请返回 e龙岩 重新进入。",
        "sso.target_not_allowed" => "跳转的目标地址不在允许范围内。",
        "sso.access_denied" => "您在认证平台取消了授权，或认证平台拒绝了本次登录。",
        "sso.account_not_linked" => "尚未找到与该身份关联的账号，请先通过福建省统一身份认证登录。",
        "request.rate_limited" => "请求过于频繁，请稍后再试。",
        "request.not_found" => "您访问的页面不存在或已被移除，请从首页重新进入。",
        "request.csrf_token_invalid" | "request.cross_origin" => {
            "表单已过期或不是从本站页面提交的，请返回上一页刷新后重新提交。"
        }
        "auth.unauthenticated" | "auth.session_expired" => "请先登录后再访问此页面。",
        "auth.forbidden" => "您的账号没有访问此页面的权限。",
        "request.method_not_allowed" => "不支持此访问方式，请从页面上的链接或按钮进入。",
        "request.timeout" | "store.unavailable" | "internal" => {
            "服务暂时无法完成请求，请稍后再试；如多次出现，请将下方的请求编号告知平台运营方。"
        }
        _ => "请重新登录；如果问题持续，请将下方的错误编号告知平台运营方。",
    }
}

/// The failure page of a browser sign-in.
pub fn error(title: &str, code: &str, request_id: &str) -> String {
    page(
        title,
        &format!(
            "<main>\n<h1>{}</h1>\n<p>{}</p>\n<p>错误代码：<code>{}</code><br>请求编号：<code>{}</code></p>\n<p><a href=\"/\">返回首页</a></p>\n</main>",
            escape(title),
            advice(code),
            escape(code),
            escape(request_id)
        ),
    )
}

/// A time as people in Fujian read it: Beijing time (UTC+8), to the minute.
pub fn beijing_time(at: crate::clock::Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(at.as_secs())
        .ok()
        .map(|t| t.to_offset(time::macros::offset!(+8)));
    t.and_then(|t| {
        t.format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .ok()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let p = error("<script>", "x\"y", "r'1");
        assert!(!p.contains("<script>") && p.contains("&lt;script&gt;"));
        assert!(p.contains("x&quot;y") && p.contains("r&#39;1"));
    }

    #[test]
    fn times_are_shown_in_beijing_time() {
        // 2026-11-22T00:30:00Z is 08:30 in Beijing.
        assert_eq!(
            beijing_time(crate::clock::Millis(1_795_307_400_000)),
            "2026-11-22 08:30"
        );
    }
}
