//! The few HTML pages the hub itself shows people (in Simplified Chinese): sign-in failures,
//! the logout confirmation and the signed-out notice. Every value printed is escaped.

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

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} · 龙岩普惠金融平台</title></head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    )
}

/// What a person should do about a failure, by error code.
fn advice(code: &str) -> &'static str {
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

/// Asks before signing out (a link must not sign anyone out: the form posts, with a token).
pub fn logout_confirm(csrf: &str, return_to: &str) -> String {
    page(
        "退出登录",
        &format!(
            "<main>\n<h1>退出登录</h1>\n<p>确定要退出龙岩普惠金融平台吗？已通过省统一身份认证平台登录的，将同时退出该平台。</p>\n<form method=\"post\" action=\"/sso/logout\">\n<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n<input type=\"hidden\" name=\"return_to\" value=\"{}\">\n<button type=\"submit\">确定退出</button>\n</form>\n<p><a href=\"{}\">取消</a></p>\n</main>",
            escape(csrf),
            escape(return_to),
            escape(return_to)
        ),
    )
}

/// `/go/{code}` for a connector that is unknown, disabled or not configured yet.
pub fn connector_unavailable(name: Option<&str>, unconfigured: bool, request_id: &str) -> String {
    let (title, text) = match (name, unconfigured) {
        (Some(n), true) => (
            format!("{n}暂未开通"),
            "该服务的访问地址尚待平台管理员配置，开通后即可从“网上办事”页面进入。".to_owned(),
        ),
        (Some(n), false) => (
            format!("{n}已停用"),
            "该服务已暂停提供，请稍后再试或联系平台运营方。".to_owned(),
        ),
        (None, _) => (
            "未找到该服务".to_owned(),
            "您访问的服务不存在，请从“网上办事”页面重新选择。".to_owned(),
        ),
    };
    page(
        &title,
        &format!(
            "<main>\n<h1>{}</h1>\n<p>{}</p>\n<p>错误代码：<code>connectors.unavailable</code><br>请求编号：<code>{}</code></p>\n<p><a href=\"/\">返回首页</a></p>\n</main>",
            escape(&title),
            escape(&text),
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

/// Before a jump to a platform that failed its last health check: says so, and still offers
/// the link (some platforms time out from some networks only).
pub fn connector_interstitial(
    name: &str,
    code: &str,
    checked_at: Option<crate::clock::Millis>,
    notice: Option<&str>,
) -> String {
    let when = checked_at
        .map(|t| format!("（最近一次检测：{} 北京时间）", beijing_time(t)))
        .unwrap_or_default();
    let notice = notice
        .map(|n| format!("<p>{}</p>\n", escape(n)))
        .unwrap_or_default();
    let href = format!("/go/{}?proceed=1", escape(code));
    page(
        &format!("{name}暂时无法访问"),
        &format!(
            "<main>\n<h1>{} 可能暂时无法访问</h1>\n<p>平台检测到该网站当前无法连接{}。这通常是对方网站繁忙、维护或您所在的网络无法访问所致，您仍可以尝试前往。</p>\n{notice}<p><a href=\"{href}\" rel=\"noopener noreferrer\">仍然前往 {}</a></p>\n<p><a href=\"/\">返回首页</a></p>\n</main>",
            escape(name),
            escape(&when),
            escape(name)
        ),
    )
}

pub fn signed_out() -> String {
    page(
        "已退出",
        "<main>\n<h1>您已退出登录</h1>\n<p><a href=\"/\">返回首页</a></p>\n</main>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let p = error("<script>", "x\"y", "r'1");
        assert!(!p.contains("<script>") && p.contains("&lt;script&gt;"));
        assert!(p.contains("x&quot;y") && p.contains("r&#39;1"));
        assert!(logout_confirm("t", "/a\"b").contains("/a&quot;b"));
        let p = connector_interstitial("<b>", "x\"", None, Some("<i>"));
        assert!(!p.contains("<b>") && !p.contains("<i>") && p.contains("/go/x&quot;?proceed=1"));
        assert!(!connector_unavailable(Some("<b>"), true, "<r>").contains("<b>"));
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
