//! The pages of a jump that cannot go ahead at once (in Simplified Chinese): a connector that is
//! unknown, disabled or not configured, and the notice before a platform that failed its last
//! health check. Every value printed is escaped.

use platform::clock::Millis;
use platform::pages::{beijing_time, escape, page};

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

/// Before a jump to a platform that failed its last health check: says so, and still offers
/// the link (some platforms time out from some networks only).
pub fn connector_interstitial(
    name: &str,
    code: &str,
    checked_at: Option<Millis>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let p = connector_interstitial("<b>", "x\"", None, Some("<i>"));
        assert!(!p.contains("<b>") && !p.contains("<i>") && p.contains("/go/x&quot;?proceed=1"));
        assert!(!connector_unavailable(Some("<b>"), true, "<r>").contains("<b>"));
    }
}
