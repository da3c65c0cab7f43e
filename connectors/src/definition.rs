//! What a connector is: the definition administrators edit, and the rules every definition must
//! pass before it is stored — https only (unless allowed for that connector), an allowlisted
//! host, no credentials or script schemes in links, a code users can type.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How the portal opens the platform.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenMode {
    SameTab,
    #[default]
    NewTab,
}

impl OpenMode {
    pub fn as_str(self) -> &'static str {
        match self {
            OpenMode::SameTab => "same-tab",
            OpenMode::NewTab => "new-tab",
        }
    }
}

/// The signature of a signed hand-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// HMAC-SM3 with a secret shared with the partner.
    HmacSm3,
    /// SM2 with SM3 (distinguishing ID `1234567812345678`); the partner holds the public key.
    Sm2,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::HmacSm3 => "hmac-sm3",
            Scheme::Sm2 => "sm2",
        }
    }

    /// The value of `hub_alg` in a signed link.
    pub fn algorithm(self) -> &'static str {
        match self {
            Scheme::HmacSm3 => "HMAC-SM3",
            Scheme::Sm2 => "SM2-SM3",
        }
    }
}

/// What a signed hand-off may tell the partner about the user. The list is closed: there is no
/// parameter for a certificate number, a mobile number or a session, so none can be configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    /// A pseudonymous account id, stable per connector (the partner cannot correlate it with
    /// another platform's).
    Sub,
    /// `personal` or `legal_person`.
    Kind,
    /// The person's name, or the company's name for a legal person.
    Name,
    /// Legal persons: the unified social credit code (a public registration number).
    Uscc,
    /// Legal persons: the name of the person acting for the company (经办人).
    Agent,
}

impl Param {
    pub const ALL: [Param; 5] = [
        Param::Sub,
        Param::Kind,
        Param::Name,
        Param::Uscc,
        Param::Agent,
    ];

    /// The query parameter carrying it.
    pub fn query_name(self) -> &'static str {
        match self {
            Param::Sub => "hub_sub",
            Param::Kind => "hub_kind",
            Param::Name => "hub_name",
            Param::Uscc => "hub_uscc",
            Param::Agent => "hub_agent",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Param::Sub => "sub",
            Param::Kind => "kind",
            Param::Name => "name",
            Param::Uscc => "uscc",
            Param::Agent => "agent",
        }
    }
}

/// Whether, and how, the user's identity travels with the jump.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Handoff {
    /// Nothing is appended to the link: the default, and the only mode for platforms that have
    /// not agreed to receive identity data.
    #[default]
    None,
    /// Allowlisted parameters, a timestamp, a nonce and a signature the partner verifies
    /// (docs/HANDOFF.md).
    Signed { scheme: Scheme, params: Vec<Param> },
}

impl Handoff {
    pub fn mode(&self) -> &'static str {
        match self {
            Handoff::None => "none",
            Handoff::Signed { .. } => "signed",
        }
    }

    pub fn scheme(&self) -> Option<Scheme> {
        match self {
            Handoff::None => None,
            Handoff::Signed { scheme, .. } => Some(*scheme),
        }
    }
}

/// A connector as administrators define it. Key material for signed hand-offs is kept apart
/// (see [`crate::HandoffKey`]): a definition can be shown, versioned and audited whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Lower-case letters, digits and single hyphens, 2–40 characters: `safe-forex`.
    pub code: String,
    /// The platform's name as users know it.
    pub name: String,
    /// Who runs the platform.
    #[serde(default)]
    pub operator: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
    /// The public entry; `None` until an administrator configures it (待配置).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    /// Order on the online-services page, ascending.
    #[serde(default)]
    pub position: i32,
    #[serde(default)]
    pub open_mode: OpenMode,
    /// Users must be signed in to the hub before they jump.
    #[serde(default)]
    pub sign_in_required: bool,
    /// Allows an `http:` link for this connector (some government platforms have no https entry).
    #[serde(default)]
    pub allow_http: bool,
    /// What the health probe requests; the link itself when absent.
    #[serde(default)]
    pub health_url: Option<String>,
    /// Shown on the page users see when the platform fails its health check.
    #[serde(default)]
    pub notice: Option<String>,
    #[serde(default)]
    pub handoff: Handoff,
}

impl Definition {
    /// The URL the health probe requests, if the connector has a link at all.
    pub fn probe_url(&self) -> Option<&str> {
        self.health_url.as_deref().or(self.url.as_deref())
    }
}

/// One rule a definition breaks, by field (`url`, `handoff.params`), said in English (the JSON
/// API's problem documents) and in Chinese (the console, next to the field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub message_zh: String,
}

impl FieldError {
    pub fn new(field: &str, refusal: Refusal) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: refusal.en,
            message_zh: refusal.zh,
        }
    }
}

/// Why a value is refused, in English and in Chinese.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub en: String,
    pub zh: String,
}

impl Refusal {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Refusal {
        Refusal {
            en: en.into(),
            zh: zh.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The hosts links may point to: exact names (`www.crcrfsp.com`, `127.0.0.1`) and subdomain
/// wildcards (`*.safe.gov.cn`, which does not match `safe.gov.cn` itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    exact: Vec<String>,
    suffixes: Vec<String>,
}

impl HostAllowlist {
    /// Parses patterns; the error names the first that is not a host name or wildcard.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        let mut list = HostAllowlist::default();
        for p in patterns {
            list.add(p.as_ref())?;
        }
        Ok(list)
    }

    pub fn add(&mut self, pattern: &str) -> Result<(), String> {
        let p = pattern.trim().to_ascii_lowercase();
        let (wild, host) = match p.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, p.clone()),
        };
        let valid = !host.is_empty()
            && host.len() <= 253
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']')
            })
            && !host.starts_with('.')
            && !host.ends_with('.');
        if !valid {
            return Err(format!(
                "`{pattern}` is not a host name (www.example.cn), an IP address or a wildcard (*.example.cn)"
            ));
        }
        let target = if wild {
            &mut self.suffixes
        } else {
            &mut self.exact
        };
        if !target.contains(&host) {
            target.push(host);
        }
        Ok(())
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.exact.contains(&host)
            || self.suffixes.iter().any(|s| {
                host.len() > s.len() + 1
                    && host.ends_with(s.as_str())
                    && host.as_bytes()[host.len() - s.len() - 1] == b'.'
            })
    }

    /// The patterns, for display.
    pub fn patterns(&self) -> Vec<String> {
        self.exact
            .iter()
            .cloned()
            .chain(self.suffixes.iter().map(|s| format!("*.{s}")))
            .collect()
    }
}

/// Longest link accepted; browsers and proxies cope with 2 KiB everywhere.
pub const MAX_URL_LEN: usize = 2048;

pub use platform::code::valid_code;

/// Checks a link: absolute, https (or http when `allow_http`), no user name or password, a
/// host on the allowlist, no reserved `hub_` parameters. Returns the parsed URL.
pub fn check_url(
    text: &str,
    allow_http: bool,
    allowlist: &HostAllowlist,
) -> Result<url::Url, Refusal> {
    if text.len() > MAX_URL_LEN {
        return Err(Refusal::new(
            format!("is longer than {MAX_URL_LEN} characters"),
            format!("链接不能超过 {MAX_URL_LEN} 个字符"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(Refusal::new(
            "must not contain spaces, control characters or backslashes",
            "链接不能包含空格、控制字符或反斜杠",
        ));
    }
    let url = url::Url::parse(text).map_err(|e| {
        Refusal::new(
            format!("is not an absolute URL ({e})"),
            "请填写完整的网址，以 https:// 开头",
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(Refusal::new(
                "must use https; set allow_http for this connector if the platform has no https entry",
                "链接须使用 https；该平台确无 https 入口时，可勾选“允许 http 链接”",
            ));
        }
        other => {
            return Err(Refusal::new(
                format!(
                    "scheme `{other}:` is not allowed: only https links (http when allow_http is set)"
                ),
                format!("不允许使用 {other}: 链接，只能使用 https 链接"),
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::new(
            "must not contain a user name or password",
            "链接中不能包含用户名或密码",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| Refusal::new("has no host", "链接缺少主机名"))?
        .to_owned();
    if !allowlist.allows(&host) {
        return Err(Refusal::new(
            format!(
                "host `{host}` is not on the allowlist (connectors.allowed_hosts in the configuration)"
            ),
            format!("主机 {host} 不在允许的主机名单中（配置项 connectors.allowed_hosts）"),
        ));
    }
    if url.query_pairs().any(|(k, _)| k.starts_with("hub_")) {
        return Err(Refusal::new(
            "must not carry parameters named hub_…: they are reserved for signed hand-offs",
            "链接不能带有以 hub_ 开头的参数，这些参数保留给签名跳转使用",
        ));
    }
    Ok(url)
}

fn check_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    value: &str,
    min: usize,
    max: usize,
) {
    let len = value.chars().count();
    let refusal = if len < min {
        Some(Refusal::new("must not be empty", format!("请填写{label}")))
    } else if len > max {
        Some(Refusal::new(
            format!("must be at most {max} characters"),
            format!("{label}不能超过 {max} 个字"),
        ))
    } else if value.chars().any(|c| c.is_control() && c != '\n') {
        Some(Refusal::new(
            "must not contain control characters",
            format!("{label}不能包含控制字符"),
        ))
    } else {
        None
    };
    if let Some(r) = refusal {
        errors.push(FieldError::new(field, r));
    }
}

/// Every rule `d` breaks (empty when it may be stored).
pub fn validate(d: &Definition, allowlist: &HostAllowlist) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut push = |field: &str, r: Refusal| errors.push(FieldError::new(field, r));
    if !valid_code(&d.code) {
        push(
            "code",
            Refusal::new(
                "must be 2–40 lower-case letters, digits and single hyphens, starting with a letter (e.g. safe-forex)",
                "代码须为 2 到 40 个小写字母、数字或单个连字符，以字母开头（例如 safe-forex）",
            ),
        );
    }
    match &d.url {
        Some(u) => {
            if let Err(r) = check_url(u, d.allow_http, allowlist) {
                push("url", r);
            }
        }
        None if d.enabled => push(
            "url",
            Refusal::new(
                "is required to enable the connector (it is still to be configured)",
                "启用前须先填写平台链接",
            ),
        ),
        None => {}
    }
    if let Some(h) = &d.health_url
        && let Err(r) = check_url(h, d.allow_http, allowlist)
    {
        push("health_url", r);
    }
    if !(-100_000..=100_000).contains(&d.position) {
        push(
            "position",
            Refusal::new(
                "must be between -100000 and 100000",
                "排序须在 -100000 到 100000 之间",
            ),
        );
    }
    if let Handoff::Signed { params, .. } = &d.handoff {
        if !d.sign_in_required {
            push(
                "handoff",
                Refusal::new(
                    "a signed hand-off carries the user's identity, so sign_in_required must be true",
                    "签名跳转会携带用户身份，须同时要求用户先登录",
                ),
            );
        }
        if params.is_empty() {
            push(
                "handoff.params",
                Refusal::new(
                    "must name at least one of sub, kind, name, uscc, agent",
                    "须至少选择一项传递的参数",
                ),
            );
        }
        let mut seen = params.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != params.len() {
            push(
                "handoff.params",
                Refusal::new("lists a parameter twice", "参数不能重复"),
            );
        }
    }
    check_text(&mut errors, "name", "平台名称", &d.name, 1, 64);
    check_text(&mut errors, "operator", "运营单位", &d.operator, 0, 64);
    check_text(&mut errors, "category", "分类", &d.category, 1, 32);
    check_text(&mut errors, "description", "简介", &d.description, 0, 500);
    if let Some(n) = &d.notice {
        check_text(&mut errors, "notice", "不可访问时的提示", n, 0, 300);
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow() -> HostAllowlist {
        HostAllowlist::new(&["www.crcrfsp.com", "*.safe.gov.cn", "127.0.0.1"]).unwrap()
    }

    fn def(url: &str) -> Definition {
        Definition {
            code: "receivables".into(),
            name: "中征应收账款融资服务平台".into(),
            operator: String::new(),
            category: "融资服务".into(),
            description: String::new(),
            url: Some(url.into()),
            enabled: true,
            position: 0,
            open_mode: OpenMode::NewTab,
            sign_in_required: false,
            allow_http: false,
            health_url: None,
            notice: None,
            handoff: Handoff::None,
        }
    }

    fn fields(d: &Definition) -> Vec<String> {
        validate(d, &allow()).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let a = allow();
        assert!(a.allows("zwfw.safe.gov.cn") && a.allows("ZWFW.SAFE.GOV.CN"));
        assert!(!a.allows("safe.gov.cn"));
        assert!(!a.allows("evilsafe.gov.cn"));
        assert!(!a.allows("www.crcrfsp.com.evil.cn"));
        assert!(a.allows("127.0.0.1") && !a.allows("127.0.0.2"));
        assert!(HostAllowlist::new(&["exa mple.cn"]).is_err());
        assert!(HostAllowlist::new(&["*."]).is_err());
    }

    #[test]
    fn links_must_be_https_on_an_allowed_host_without_credentials() {
        assert!(fields(&def("https://www.crcrfsp.com/")).is_empty());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "JAVASCRIPT:alert(1)",
            "http://www.crcrfsp.com/",
            "https://user:pw@www.crcrfsp.com/",
            "https://user@www.crcrfsp.com/",
            "https://evil.example.cn/",
            "https://www.crcrfsp.com.evil.cn/",
            "//www.crcrfsp.com/",
            "https://www.crcrfsp.com/ x",
            "https://www.crcrfsp.com/\\@evil.cn",
            "https://www.crcrfsp.com/?hub_sig=00",
            "ftp://www.crcrfsp.com/",
        ] {
            assert_eq!(fields(&def(bad)), ["url"], "{bad}");
        }
        let mut d = def("http://zwfw.safe.gov.cn/asone/");
        assert_eq!(fields(&d), ["url"]);
        d.allow_http = true;
        assert!(fields(&d).is_empty());
        let long = format!("https://www.crcrfsp.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(fields(&def(&long)), ["url"]);
    }

    #[test]
    fn codes_are_plain() {
        for ok in ["safe-forex", "b2", "forest-rights"] {
            assert!(valid_code(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "Safe",
            "1abc",
            "a--b",
            "a-",
            "a_b",
            "a b",
            "../x",
            "é",
            &"a".repeat(41),
        ] {
            assert!(!valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn enabling_needs_a_link_and_signed_handoffs_need_sign_in() {
        let mut d = def("https://www.crcrfsp.com/");
        d.url = None;
        assert_eq!(fields(&d), ["url"]);
        d.enabled = false;
        assert!(fields(&d).is_empty());
        let mut d = def("https://www.crcrfsp.com/");
        d.handoff = Handoff::Signed {
            scheme: Scheme::HmacSm3,
            params: vec![Param::Sub, Param::Sub],
        };
        assert_eq!(fields(&d), ["handoff", "handoff.params"]);
        d.sign_in_required = true;
        d.handoff = Handoff::Signed {
            scheme: Scheme::Sm2,
            params: vec![],
        };
        assert_eq!(fields(&d), ["handoff.params"]);
    }

    #[test]
    fn no_parameter_can_carry_a_certificate_number() {
        let err = serde_json::from_value::<Handoff>(serde_json::json!({
            "mode": "signed", "scheme": "hmac-sm3", "params": ["sub", "id_number"]
        }))
        .unwrap_err()
        .to_string();
        assert!(err.contains("id_number"), "{err}");
        for p in Param::ALL {
            assert!(p.query_name().starts_with("hub_"));
        }
    }

    #[test]
    fn texts_have_limits() {
        let mut d = def("https://www.crcrfsp.com/");
        d.name = String::new();
        d.category = "x".repeat(33);
        d.description = "说".repeat(501);
        d.notice = Some("a\u{7}b".into());
        assert_eq!(fields(&d), ["name", "category", "description", "notice"]);
    }
}
