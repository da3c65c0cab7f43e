//! `hub demo`: demonstration administrators and tokens on a throw-away embedded store, and the
//! banner that tells a newcomer where to look. Never used by `hub serve`.

use std::path::Path;

use crate::admin::{AdminError, IssuedCredentials, Role};
use crate::app::AppState;
use crate::context::RequestContext;

pub struct Seeded {
    pub admins: Vec<IssuedCredentials>,
    pub tokens: Vec<(Role, String)>,
}

const DEMO_ADMINS: [(&str, &str, Role); 3] = [
    ("sysadmin", "系统管理员（演示）", Role::SystemAdmin),
    ("secadmin", "安全管理员（演示）", Role::SecurityAdmin),
    ("auditor", "审计管理员（演示）", Role::AuditAdmin),
];

/// One administrator and one day-long API token per role. Existing demo administrators get
/// fresh credentials, so the banner is always right.
pub async fn seed(state: &AppState) -> Result<Seeded, AdminError> {
    let ctx = RequestContext::system();
    let admins = &state.admins;
    let mut issued = Vec::new();
    let mut tokens = Vec::new();
    for (username, display, role) in DEMO_ADMINS {
        let creds = match admins.find_by_username(username).await? {
            Some(existing) => admins.reset_credentials(None, &existing.id, &ctx).await?,
            None => admins.create(None, username, display, role, &ctx).await?,
        };
        issued.push(creds);
        let t = admins
            .create_token(
                None,
                "demo",
                role,
                Some(std::time::Duration::from_secs(86_400)),
                &ctx,
            )
            .await?;
        tokens.push((role, t.token));
    }
    Ok(Seeded {
        admins: issued,
        tokens,
    })
}

pub fn banner(addr: &str, data_dir: &Path, s: &Seeded) -> String {
    let mut out = String::new();
    out.push_str("\n龙岩普惠金融平台 · 身份联邦与集成枢纽 — 演示模式 (demo)\n\n");
    out.push_str(&format!("  Open:        http://{addr}/\n"));
    out.push_str(&format!(
        "  API (OpenAPI 3.1): http://{addr}/openapi.json\n"
    ));
    out.push_str(&format!(
        "  Ready:       http://{addr}/readyz    Metrics: http://{addr}/metrics\n"
    ));
    out.push_str(&format!(
        "  Data:        {} (embedded SQLite; delete it to start afresh)\n\n",
        data_dir.display()
    ));
    out.push_str(
        "  Demo administrators (password + TOTP; the password must be changed at first sign-in):\n",
    );
    for c in &s.admins {
        out.push_str(&format!(
            "    {:<9} {:<15} password {}  TOTP secret {}\n",
            c.admin.username,
            c.admin.role.as_str(),
            c.password,
            c.totp_secret
        ));
    }
    out.push_str("\n  API tokens (valid 24 h):\n");
    for (role, token) in &s.tokens {
        out.push_str(&format!("    {:<15} {token}\n", role.as_str()));
    }
    if let Some((_, audit_token)) = s.tokens.iter().find(|(r, _)| *r == Role::AuditAdmin) {
        out.push_str(&format!(
            "\n  Try:  curl -s -H 'Authorization: Bearer {audit_token}' http://{addr}/api/admin/audit | head -c 600\n"
        ));
    }
    out
}
