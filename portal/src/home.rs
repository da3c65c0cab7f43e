//! The home page.

use crate::state::PortalState;

/// The landing page: what this service is, how to sign in, where its interfaces are.
pub async fn index(
    axum::extract::State(state): axum::extract::State<PortalState>,
) -> axum::response::Html<String> {
    use platform::pages::escape;
    let mut links = String::new();
    for p in &state.federation.settings.providers {
        if p.starts_sign_in() {
            links.push_str(&format!(
                "<li><a href=\"/sso/{}/login?return_to=/api/me\">使用{}登录</a></li>\n",
                escape(&p.id),
                escape(&p.display_name)
            ));
        }
    }
    let signin = if links.is_empty() {
        String::new()
    } else {
        format!("<h2>登录</h2>\n<ul>\n{links}</ul>\n")
    };
    let mut services = String::new();
    for e in &state.connectors.snapshot().entries {
        let d = &e.definition;
        let status = e.status(state.connectors.config());
        let name = if status.jumpable() {
            let target = match d.open_mode {
                connectors::OpenMode::NewTab => " target=\"_blank\" rel=\"noopener noreferrer\"",
                connectors::OpenMode::SameTab => "",
            };
            format!(
                "<a href=\"/go/{}\"{target}>{}</a>",
                escape(&d.code),
                escape(&d.name)
            )
        } else {
            escape(&d.name)
        };
        services.push_str(&format!(
            "<li>{name}（{}，{}）</li>\n",
            escape(&d.category),
            status.label_zh()
        ));
    }
    let services = if services.is_empty() {
        String::new()
    } else {
        format!("<h2>网上办事</h2>\n<ul>\n{services}</ul>\n")
    };
    axum::response::Html(format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>龙岩普惠金融平台 · 身份联邦与集成枢纽</title></head>
<body>
<h1>龙岩普惠金融平台 · 身份联邦与集成枢纽</h1>
<p>本服务为平台提供统一身份认证、外部平台对接与数据交换能力。</p>
{signin}{services}<h2>接口</h2>
<ul>
<li><a href="/api/me">当前登录用户</a> · <a href="/sso/logout">退出登录</a></li>
<li><a href="/api/connectors">外部平台列表（网上办事）</a></li>
<li><a href="/openapi.json">接口说明（OpenAPI 3.1）</a></li>
<li><a href="/readyz">就绪状态</a> · <a href="/healthz">存活状态</a> · <a href="/metrics">运行指标</a></li>
</ul>
<p>管理接口位于 <code>/api/admin/</code>，需管理员登录（密码 + 动态口令）或访问令牌。</p>
</body>
</html>
"#
    ))
}
