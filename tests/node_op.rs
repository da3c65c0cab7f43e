//! The certified OpenID provider, npm `oidc-provider` 9.13.3 (`tests/oidc/provider.mjs`), run as
//! a child process on `127.0.0.1:<free port>`, and a minimal browser that signs in through its
//! development login and consent forms and confirms its logout page.
//!
//! Needs `node` (20 or later) and the provider's packages: `npm ci --prefix tests/oidc` (run from
//! the workspace root) installs them from `tests/oidc/package-lock.json`.
//!
//! What the provider does that a relying party must cope with (observed on 9.13.3):
//! - The authorization response carries `iss` besides `code` and `state` (RFC 9207).
//! - With `response_type=code` the ID token carries `sub`, the protocol claims and the claims
//!   released for scope `openid` (here: the accounts' custom claims), but not the profile, email
//!   or phone claims: those come from userinfo only (`conformIdTokenClaims`;
//!   `NodeOpOptions::conform_id_token_claims = false` puts them in the ID token too).
//! - PKCE S256 is required for every client here; without it the provider redirects back with
//!   `error=invalid_request`.
//! - A back-channel logout token is POSTed to the client before the provider answers the logout
//!   confirmation with its redirect to `post_logout_redirect_uri`, so it has arrived when
//!   [`end_session_at_provider`] returns.
//! - The ID token has a `sid` only for clients with a `backchannel_logout_uri`.
//! - All state is in memory: a restart forgets sessions, grants and codes.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Map, Value, json};

use crate::test_op::SigningKey;

/// How long the provider may take to print `READY`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The oidc-provider version `tests/oidc/package.json` pins.
pub const OIDC_PROVIDER_VERSION: &str = "9.13.3";

/// The signing key type of the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyAlg {
    /// P-256, made in-process (rcgen).
    #[default]
    Es256,
    /// RSA 2048, made by `openssl genpkey`.
    Rs256,
}

/// A client registered at the provider.
#[derive(Clone, Debug)]
pub struct NodeOpClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Where the provider POSTs `logout_token` (with `backchannel_logout_session_required`).
    pub backchannel_logout_uri: Option<String>,
    /// Further oidc-provider client metadata (snake_case), e.g. `token_endpoint_auth_method`:
    /// `client_secret_post`; merged over the defaults (code flow, `client_secret_basic`).
    pub metadata: Map<String, Value>,
}

impl NodeOpClient {
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> NodeOpClient {
        NodeOpClient {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            metadata: Map::new(),
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("client_id".into(), json!(self.client_id));
        m.insert("client_secret".into(), json!(self.client_secret));
        m.insert("redirect_uris".into(), json!(self.redirect_uris));
        m.insert(
            "post_logout_redirect_uris".into(),
            json!(self.post_logout_redirect_uris),
        );
        if let Some(uri) = &self.backchannel_logout_uri {
            m.insert("backchannel_logout_uri".into(), json!(uri));
        }
        m.insert("backchannel_logout_session_required".into(), json!(true));
        for (k, v) in &self.metadata {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// What the provider knows.
#[derive(Clone, Debug)]
pub struct NodeOpOptions {
    pub clients: Vec<NodeOpClient>,
    /// `{ "<sub>": { claims… } }`; the devInteractions login is the sub, any password.
    pub accounts: Value,
    pub key_alg: KeyAlg,
    /// oidc-provider's `conformIdTokenClaims` (default true: claims only from userinfo in the
    /// code flow).
    pub conform_id_token_claims: bool,
}

impl Default for NodeOpOptions {
    fn default() -> Self {
        NodeOpOptions {
            clients: Vec::new(),
            accounts: json!({}),
            key_alg: KeyAlg::Es256,
            conform_id_token_claims: true,
        }
    }
}

/// A running oidc-provider; killed when dropped.
pub struct NodeOp {
    port: u16,
    issuer: String,
    options: NodeOpOptions,
    dir: tempfile::TempDir,
    /// The JWKS, signing key first.
    keys: Vec<SigningKey>,
    child: Option<Child>,
    /// The last lines the provider wrote to stderr.
    log: Arc<Mutex<VecDeque<String>>>,
}

impl NodeOp {
    /// Writes the configuration and a fresh key to a temporary directory, starts
    /// `node tests/oidc/provider.mjs` on a free port and waits for it to listen.
    pub async fn start(options: NodeOpOptions) -> Result<NodeOp> {
        check_installed_in(&oidc_dir())?;
        let port = free_port()?;
        let key = generate_key(options.key_alg).await?;
        let mut op = NodeOp {
            port,
            issuer: format!("http://127.0.0.1:{port}"),
            options,
            dir: tempfile::tempdir()?,
            keys: vec![key],
            child: None,
            log: Arc::new(Mutex::new(VecDeque::new())),
        };
        op.write_files()?;
        op.spawn().await?;
        Ok(op)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `issuer` + `path` (the provider's routes: `/auth`, `/token`, `/me`, `/jwks`,
    /// `/session/end`, `/.well-known/openid-configuration`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn options(&self) -> &NodeOpOptions {
        &self.options
    }

    /// The public JWKS the provider serves, signing key first.
    pub fn jwks(&self) -> Value {
        crate::test_op::public_jwks(&self.keys.iter().collect::<Vec<_>>())
    }

    /// The key that signs ID tokens now.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// The `kid` of the key that signs ID tokens now.
    pub fn signing_kid(&self) -> &str {
        self.keys[0].kid()
    }

    /// The last lines the provider wrote to stderr (its warnings and errors).
    pub fn log(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Key rotation: stops the provider (SIGTERM) and starts it again on the same port and
    /// issuer with a NEW signing key first in the JWKS and the previous signing key second.
    /// Sessions, grants and codes are lost (in-memory store).
    pub async fn restart_with_rotated_keys(&mut self) -> Result<()> {
        let new_key = generate_key(self.options.key_alg).await?;
        let previous = self.keys[0].clone();
        self.keys = vec![new_key, previous];
        self.terminate();
        self.write_files()?;
        self.spawn().await
    }

    /// Stops the provider gracefully (SIGTERM, then SIGKILL after 5 s).
    pub fn stop(&mut self) {
        self.terminate();
    }

    fn write_files(&self) -> Result<()> {
        let keys_file = self.dir.path().join("jwks.json");
        let private =
            json!({ "keys": self.keys.iter().map(SigningKey::private_jwk).collect::<Vec<_>>() });
        std::fs::write(&keys_file, serde_json::to_vec_pretty(&private)?)?;
        let config = json!({
            "port": self.port,
            "issuer": self.issuer,
            "keys_file": keys_file,
            "clients": self.options.clients.iter().map(NodeOpClient::to_json).collect::<Vec<_>>(),
            "accounts": self.options.accounts,
            "conform_id_token_claims": self.options.conform_id_token_claims,
        });
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&config)?,
        )?;
        Ok(())
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut child = Command::new("node")
            .arg(oidc_dir().join("provider.mjs"))
            .arg(self.dir.path().join("config.json"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!(
                        "`node` is not installed: install Node.js 20 or later (apt-get install nodejs npm), then run `npm ci --prefix tests/oidc`"
                    )
                } else {
                    anyhow::anyhow!("cannot start node: {e}")
                }
            })?;
        let stdout = child.stdout.take().context("child stdout")?;
        let stderr = child.stderr.take().context("child stderr")?;
        let port = self.port;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<String>();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("READY ") {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(issuer.to_owned());
                    }
                } else if !line.starts_with("oidc-provider NOTICE:") {
                    eprintln!("[oidc-provider :{port}] {line}");
                }
            }
        });
        let log = self.log.clone();
        let stderr_thread = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Its start-up warnings (Node 20 "unsupported runtime", development adapter and
                // interactions) are expected here; keep them for `log()` but do not echo them.
                if !line.starts_with("oidc-provider WARNING:") {
                    eprintln!("[oidc-provider :{port}] {line}");
                }
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                if log.len() >= 200 {
                    log.pop_front();
                }
                log.push_back(line);
            }
        });
        self.child = Some(child);
        let outcome = tokio::time::timeout(READY_TIMEOUT, ready_rx).await;
        match outcome {
            Ok(Ok(issuer)) => {
                ensure!(
                    issuer == self.issuer,
                    "the provider announced issuer {issuer}, expected {}",
                    self.issuer
                );
                Ok(())
            }
            Ok(Err(_)) | Err(_) => {
                let timed_out = outcome.is_err();
                let status = self.child.take().map(|mut c| {
                    let _ = c.kill();
                    c.wait()
                });
                let _ = stderr_thread.join();
                let log = self.log().join("\n");
                if timed_out {
                    bail!(
                        "oidc-provider did not print READY within {READY_TIMEOUT:?} on port {port}; stderr:\n{log}"
                    );
                }
                bail!(
                    "oidc-provider exited before READY ({status:?}); stderr:\n{log}\n(if modules are missing, run `npm ci --prefix tests/oidc`)"
                )
            }
        }
    }

    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }
}

impl Drop for NodeOp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `tests/oidc`, resolved from this crate's manifest directory.
pub fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// Checks that `dir` (normally [`oidc_dir`]) has the pinned oidc-provider installed; the error
/// says to run `npm ci --prefix tests/oidc`.
pub fn check_installed_in(dir: &std::path::Path) -> Result<()> {
    let package = dir.join("node_modules/oidc-provider/package.json");
    let text = std::fs::read_to_string(&package).map_err(|_| {
        anyhow::anyhow!(
            "{} is missing: run `npm ci --prefix tests/oidc` (from the workspace root; needs node and npm) to install the test OpenID provider",
            package.display()
        )
    })?;
    let version = serde_json::from_str::<Value>(&text)?["version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(
        version == OIDC_PROVIDER_VERSION,
        "tests/oidc/node_modules has oidc-provider {version}, the lock file pins {OIDC_PROVIDER_VERSION}: run `npm ci --prefix tests/oidc`"
    );
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn generate_key(alg: KeyAlg) -> Result<SigningKey> {
    match alg {
        KeyAlg::Es256 => SigningKey::generate_es256(),
        KeyAlg::Rs256 => SigningKey::generate_rs256().await,
    }
}

/// A minimal browser: its own cookie jar, no automatic redirects; it follows redirects itself
/// and submits the provider's forms as a person would.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
}

impl Browser {
    pub fn new() -> Result<Browser> {
        Ok(Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }

    /// GETs `start_url` (an authorization URL), follows redirects, fills the login form
    /// (`login`, any password) and confirms the consent form, and returns the first redirect
    /// target that starts with `stop_at` (the relying party's callback), unfollowed.
    pub async fn sign_in(&self, start_url: &str, stop_at: &str, login: &str) -> Result<String> {
        self.drive(start_url, stop_at, |fields| {
            for (name, value) in fields.iter_mut() {
                match name.as_str() {
                    "login" => *value = login.to_owned(),
                    "password" => *value = "any-password".to_owned(),
                    _ => {}
                }
            }
        })
        .await
    }

    /// GETs an RP-initiated logout URL, answers the provider's "Do you want to sign-out?" form
    /// with "Yes, sign me out" (`logout=yes`), and returns the first redirect target that starts
    /// with `stop_at` (the post-logout redirect URI, with `state`).
    pub async fn end_session(&self, url: &str, stop_at: &str) -> Result<String> {
        self.drive(url, stop_at, |fields| {
            if !fields.iter().any(|(n, _)| n == "logout") {
                fields.push(("logout".to_owned(), "yes".to_owned()));
            }
        })
        .await
    }

    async fn drive(
        &self,
        start_url: &str,
        stop_at: &str,
        fill: impl Fn(&mut Vec<(String, String)>),
    ) -> Result<String> {
        let mut method = reqwest::Method::GET;
        let mut url = start_url.to_owned();
        let mut fields: Vec<(String, String)> = Vec::new();
        for _ in 0..20 {
            let req = if method == reqwest::Method::POST {
                self.http.post(&url).form(&fields)
            } else {
                self.http.get(&url)
            };
            let res = req
                .send()
                .await
                .with_context(|| format!("{method} {url}"))?;
            let here = res.url().clone();
            let status = res.status();
            if status.is_redirection() {
                let location = res
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .context("a redirect without Location")?
                    .to_str()?;
                let target = here.join(location)?.to_string();
                if location.starts_with(stop_at) {
                    return Ok(location.to_owned());
                }
                if target.starts_with(stop_at) {
                    return Ok(target);
                }
                method = reqwest::Method::GET;
                url = target;
                fields.clear();
                continue;
            }
            let body = res.text().await?;
            if status == reqwest::StatusCode::OK
                && let Some(form) = HtmlForm::first_in(&body)
            {
                fields = form.fields;
                fill(&mut fields);
                let action = here.join(&form.action)?;
                if form.post {
                    method = reqwest::Method::POST;
                    url = action.to_string();
                } else {
                    let mut action = action;
                    action.query_pairs_mut().extend_pairs(&fields);
                    method = reqwest::Method::GET;
                    url = action.to_string();
                    fields.clear();
                }
                continue;
            }
            let shown: String = body.chars().take(2000).collect();
            bail!(
                "the provider answered {status} at {here} instead of a redirect to {stop_at} or a form: {shown}"
            );
        }
        bail!("more than 20 steps without reaching {stop_at}")
    }
}

/// Browsers by provider origin: the one of the latest [`sign_in_at_provider`] there, so that
/// [`end_session_at_provider`] carries that sign-in's session cookie.
static BROWSERS: LazyLock<Mutex<HashMap<String, Browser>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn origin(url: &str) -> Result<String> {
    Ok(url::Url::parse(url)?.origin().ascii_serialization())
}

/// Signs in at the provider in a fresh browser (new cookie jar): see [`Browser::sign_in`]. The
/// browser is kept for this provider's origin until the next sign-in there.
pub async fn sign_in_at_provider(start_url: &str, stop_at: &str, login: &str) -> Result<String> {
    let browser = Browser::new()?;
    BROWSERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(origin(start_url)?, browser.clone());
    browser.sign_in(start_url, stop_at, login).await
}

/// RP-initiated logout in the browser of the latest sign-in at this provider (a fresh one if
/// none): see [`Browser::end_session`]. With a signed-in session the provider shows its
/// confirmation form and, for clients with a `backchannel_logout_uri`, POSTs their
/// `logout_token` before redirecting.
pub async fn end_session_at_provider(url: &str, stop_at: &str) -> Result<String> {
    let known = BROWSERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&origin(url)?)
        .cloned();
    let browser = match known {
        Some(b) => b,
        None => Browser::new()?,
    };
    browser.end_session(url, stop_at).await
}

/// The first `<form>` of a page: its action, method and `<input>` fields.
struct HtmlForm {
    action: String,
    post: bool,
    fields: Vec<(String, String)>,
}

impl HtmlForm {
    fn first_in(html: &str) -> Option<HtmlForm> {
        let start = html.find("<form")?;
        let rest = &html[start..];
        let tag_end = rest.find('>')?;
        let tag = &rest[..tag_end];
        let action = html_unescape(attr(tag, "action").unwrap_or_default());
        let post = attr(tag, "method").is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let body = &rest[tag_end..rest.find("</form>").unwrap_or(rest.len())];
        let mut fields = Vec::new();
        let mut s = body;
        while let Some(i) = s.find("<input") {
            let t = &s[i..];
            let end = t.find('>').unwrap_or(t.len());
            let input = &t[..end];
            if let Some(name) = attr(input, "name") {
                fields.push((
                    html_unescape(name),
                    html_unescape(attr(input, "value").unwrap_or_default()),
                ));
            }
            s = &t[end..];
        }
        Some(HtmlForm {
            action,
            post,
            fields,
        })
    }
}

/// The value of attribute `name` in a start tag (quoted with `"` or `'`).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    for quote in ['"', '\''] {
        let pattern = format!("{name}={quote}");
        let mut from = 0;
        while let Some(i) = tag[from..].find(&pattern) {
            let at = from + i;
            if at > 0 && tag.as_bytes()[at - 1].is_ascii_whitespace() {
                let value_start = at + pattern.len();
                let len = tag[value_start..].find(quote)?;
                return Some(&tag[value_start..value_start + len]);
            }
            from = at + pattern.len();
        }
    }
    None
}

fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_devinteractions_login_form() {
        let html = r#"<div><form autocomplete="off" action="/interaction/abc/submit?x=1&amp;y=2" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
  <input required type="password" name="password" placeholder="and password" >
  <button type="submit" class="login login-submit">Sign-in</button>
</form></div>"#;
        let form = HtmlForm::first_in(html).unwrap();
        assert_eq!(form.action, "/interaction/abc/submit?x=1&y=2");
        assert!(form.post);
        assert_eq!(
            form.fields,
            vec![
                ("prompt".to_owned(), "login".to_owned()),
                ("login".to_owned(), String::new()),
                ("password".to_owned(), String::new()),
            ]
        );
    }
}
