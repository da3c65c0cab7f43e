//! `hub demo`: demonstration administrators and tokens on a throw-away embedded store, and the
//! banner that tells a newcomer where to look. Never used by `hub serve`.

use std::path::Path;

use crate::admin::{AdminError, IssuedCredentials, Role};
use crate::app::AppState;
use crate::context::RequestContext;

/// Writes the demo configuration (providers wired to the sandbox at `addr`) and returns its path.
pub fn write_config(
    data_dir: &Path,
    addr: std::net::SocketAddr,
) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let dir = data_dir.canonicalize()?;
    let sm4 = hex::encode(deploy::DEMO_ELONGYAN_SM4_KEY);
    let text = format!(
        r#"# Written by `hub demo` at each start: the demonstration settings, for reading.
# The sandbox simulators of the provincial platform and e-Longyan answer on the same port
# under /sandbox/ (demo mode only). Not for production: see deploy/hub.example.toml.

data_dir = "{dir}"

[server]
listen = "{addr}"
public_url = "http://{addr}"

[log]
format = "text"

[providers.fujian]
kind = "fujian"
display_name = "福建省统一身份认证（沙箱）"
base_url = "http://{addr}/sandbox/fujian/dataset"
caller_code = "{caller}"

[providers.elongyan]
kind = "elongyan"
display_name = "e龙岩（沙箱）"
app_id = "{app_id}"
signature = "hmac-sm3"
secret = "{secret}"
sm4_key = "{sm4}"
exchange_url = "http://{addr}/sandbox/elongyan/AppSerController/invokeservice.do"
exchange_caller_code = "{exchange}"

[connectors]
# Connectors without a known public entry lead to the sandbox platforms on this port
# (/sandbox/platforms/{{code}}); `mediation` demonstrates a signed hand-off (docs/HANDOFF.md).
allowed_hosts = ["{host}"]
sign_in_provider = "fujian"
"#,
        host = addr.ip(),
        dir = dir.display(),
        caller = deploy::DEMO_FUJIAN_CALLER_CODE,
        app_id = deploy::DEMO_ELONGYAN_APP_ID,
        secret = deploy::DEMO_ELONGYAN_SECRET,
        exchange = deploy::DEMO_ELONGYAN_EXCHANGE_CALLER_CODE,
    );
    let path = dir.join("hub.demo.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

pub struct Seeded {
    pub admins: Vec<IssuedCredentials>,
    pub tokens: Vec<(Role, String)>,
}

const DEMO_ADMINS: [(&str, &str, Role); 3] = [
    ("sysadmin", "系统管理员（演示）", Role::SystemAdmin),
    ("secadmin", "安全管理员（演示）", Role::SecurityAdmin),
    ("auditor", "审计管理员（演示）", Role::AuditAdmin),
];

/// Points the connectors that have no public entry yet at the sandbox platforms on `addr`
/// (once: a connector an administrator has configured is left alone), `mediation` with a
/// signed hand-off that its sandbox page verifies.
pub async fn connect_sandbox_platforms(
    state: &AppState,
    addr: &str,
) -> Result<(), crate::connectors::ConnectorError> {
    let ctx = RequestContext::system();
    let unconfigured: Vec<String> = state
        .connectors
        .snapshot()
        .entries
        .iter()
        .filter(|e| e.definition.url.is_none())
        .map(|e| e.definition.code.clone())
        .collect();
    for code in unconfigured {
        let signed = code == "mediation";
        let url = format!("http://{addr}{}/{code}", deploy::PLATFORMS_BASE);
        state
            .connectors
            .update(
                &code,
                |d| {
                    d.url = Some(url);
                    d.allow_http = true;
                    d.enabled = true;
                    if signed {
                        d.sign_in_required = true;
                        d.handoff = connectors::Handoff::Signed {
                            scheme: connectors::Scheme::HmacSm3,
                            params: connectors::Param::ALL.to_vec(),
                        };
                    }
                },
                signed.then(|| guomi::Secret::new(deploy::DEMO_HANDOFF_SECRET)),
                None,
                crate::audit::Actor::system(),
                &ctx,
            )
            .await?;
    }
    Ok(())
}

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
        "  Data:        {} (embedded SQLite; delete it to start afresh)\n",
        data_dir.display()
    ));
    out.push_str(&format!(
        "  Config:      {}\n\n",
        data_dir.join("hub.demo.toml").display()
    ));
    out.push_str(
        "  Sign in as a citizen or a company (sandbox personas personal-1, personal-2, legal-1):\n",
    );
    out.push_str(&format!(
        "    福建省统一身份认证  http://{addr}/sso/fujian/login?return_to=/api/me\n"
    ));
    out.push_str(&format!(
        "    e龙岩 portal        http://{addr}/sandbox/elongyan/\n\n"
    ));
    out.push_str("  Online services (connectors; every jump is audited):\n");
    out.push_str(&format!(
        "    list                http://{addr}/api/connectors\n"
    ));
    out.push_str(&format!(
        "    signed hand-off     http://{addr}/go/mediation   (sign in, then a sandbox platform verifies the signature)\n"
    ));
    out.push_str(&format!(
        "    public platform     http://{addr}/go/receivables\n\n"
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
