//! A real browser for the end-to-end tests: headless Chromium driven over WebDriver
//! (`chromedriver`, through the `thirtyfour` client), against real hubs.
//!
//! One `chromedriver` serves the whole test process: it is started on first use on an ephemeral
//! loopback port and ended by [`shutdown`] when the tests are over. Each [`Chromium`] is a fresh
//! browser with an empty profile of its own (cookies, storage, cache), so tests never share
//! state. The browser is told to speak Simplified Chinese, as the portal's users do.
//!
//! The helpers act as a person does: they find links and buttons by their visible text, fields
//! by their name or their label, and click them with real pointer events; they never post forms
//! behind the page's back. Every wait is bounded ([`WAIT`]) and polls; none sleeps for a fixed
//! time. Errors say where the browser was and what it saw.
//!
//! ```no_run
//! # async fn example(env: tests::Env, hub: tests::TestHub) -> anyhow::Result<()> {
//! use tests::browser::{Chromium, Viewport};
//! let b = Chromium::start(&env, Viewport::DESKTOP).await?;
//! b.goto(&hub.url("/login")).await?;
//! b.fill("username", "张三").await?;
//! b.submit().await?;
//! b.wait_for_path("/user").await?;
//! assert_eq!(b.field_error("username").await?, None);
//! b.no_horizontal_scroll().await?;
//! b.screenshot("user-centre").await?;
//! b.quit().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Needs Chromium, chromedriver and the CJK fonts (`apt-get install -y chromium chromium-driver
//! fonts-noto-cjk`); without them every browser test fails and says so. `HUB_TEST_CHROMEDRIVER`
//! and `HUB_TEST_CHROMIUM` point at other programs; `HUB_TEST_SCREENSHOTS` at another folder for
//! the screenshots (default `target/screenshots/` in the workspace).

use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine;
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::{Backend, Env};

/// What to run when the browser is missing.
pub const INSTALL: &str = "apt-get install -y chromium chromium-driver fonts-noto-cjk";

/// How long a wait lasts before it fails, unless [`Chromium::set_wait`] says otherwise.
pub const WAIT: Duration = Duration::from_secs(10);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// A font the screenshots need for Chinese text (without it they show empty boxes).
const CJK_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// The flags of every browser: headless, no sandbox (tests run as root in containers), nothing
/// that reaches out to the network on its own, Chinese as the user's language.
const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--lang=zh-CN",
    "--hide-scrollbars",
];

/// A command of Chromium's DevTools protocol, sent through chromedriver
/// (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct DevTools(&'static str, Value);

impl thirtyfour::common::command::FormatRequestData for DevTools {
    fn format_request(&self, session: &thirtyfour::SessionId) -> thirtyfour::RequestData {
        thirtyfour::RequestData::new(
            axum::http::Method::POST,
            format!("/session/{session}/goog/cdp/execute"),
        )
        .add_body(json!({ "cmd": self.0, "params": self.1 }))
    }
}

/// The size of the page area (the CSS viewport: `window.innerWidth` × `innerHeight`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

impl Viewport {
    /// A desktop browser window.
    pub const DESKTOP: Viewport = Viewport {
        width: 1280,
        height: 900,
    };
    /// A phone held upright (iPhone X/11 Pro and many Android phones: 375 × 812 CSS pixels).
    pub const PHONE: Viewport = Viewport {
        width: 375,
        height: 812,
    };
}

// ---------------------------------------------------------------------------------------------
// The programs
// ---------------------------------------------------------------------------------------------

fn program(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// chromedriver and Chromium (`HUB_TEST_CHROMEDRIVER`, `HUB_TEST_CHROMIUM`), checked to exist.
fn programs() -> Result<(PathBuf, PathBuf)> {
    let driver = program("HUB_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
    let chromium = program("HUB_TEST_CHROMIUM", "/usr/bin/chromium");
    check_programs(&driver, &chromium)?;
    Ok((driver, chromium))
}

/// Fails, saying what to install, unless `driver`, `chromium` and the CJK font are there.
pub fn check_programs(driver: &Path, chromium: &Path) -> Result<()> {
    let mut missing = Vec::new();
    for p in [driver, chromium, Path::new(CJK_FONT)] {
        if !p.is_file() {
            missing.push(p.display().to_string());
        }
    }
    ensure!(
        missing.is_empty(),
        "the browser tests need Chromium, chromedriver and the CJK fonts; missing: {}. Install them: {INSTALL}",
        missing.join(", ")
    );
    Ok(())
}

/// The test process's chromedriver.
struct Driver {
    child: Child,
    url: String,
}

static DRIVER: Mutex<Option<Driver>> = Mutex::new(None);

/// The URL of the running chromedriver, starting it first if needed.
fn driver_url() -> Result<String> {
    let mut slot = DRIVER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = slot.as_mut()
        && d.child.try_wait()?.is_none()
    {
        return Ok(d.url.clone());
    }
    let (driver, _) = programs()?;
    let d = spawn_driver(&driver)?;
    let url = d.url.clone();
    *slot = Some(d);
    Ok(url)
}

/// Starts chromedriver on an ephemeral port (it picks one for `--port=0` and prints it).
fn spawn_driver(path: &Path) -> Result<Driver> {
    let mut child = Command::new(path)
        .args(["--port=0", "--log-level=WARNING"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {} ({INSTALL})", path.display()))?;
    let stdout = child.stdout.take().context("chromedriver's output")?;
    let mut stderr = child.stderr.take().context("chromedriver's errors")?;
    let (tx, rx) = std::sync::mpsc::channel::<u16>();
    // Reads the port, then drains the output for as long as chromedriver runs, so that it never
    // blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = announced_port(&line) {
                let _ = tx.send(port);
            }
        }
    });
    let (etx, erx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            if text.len() < 4096 {
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                let _ = etx.send(text.clone());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(port) => Ok(Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait().ok();
            let errors = erx.try_iter().last().unwrap_or_default();
            bail!(
                "{} did not start (exit {status:?}): {errors}",
                path.display()
            )
        }
    }
}

/// The port of chromedriver's "ChromeDriver was started successfully on port 12345." line.
fn announced_port(line: &str) -> Option<u16> {
    let rest = line.split("started successfully on port ").nth(1)?;
    rest.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// Ends the test process's chromedriver, if it started one. The test binary calls this when
/// all tests are done (the browsers themselves end with their tests).
pub fn shutdown() {
    let taken = DRIVER.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(mut d) = taken {
        let _ = d.child.kill();
        let _ = d.child.wait();
    }
}

/// The folder screenshots go to.
pub fn screenshot_dir() -> PathBuf {
    match std::env::var_os("HUB_TEST_SCREENSHOTS").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .join("target")
            .join("screenshots"),
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------------------

/// Polls `probe` until it yields a value, for at most `timeout`. A probe that fails counts as
/// "not yet" (pages come and go while the browser navigates); the last failure is reported if
/// time runs out.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() >= deadline {
            return Err(match last_error {
                Some(e) => e.context(format!("timed out after {timeout:?} waiting for {what}")),
                None => anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

/// A headless Chromium with a fresh profile. End it with [`Chromium::quit`]; dropping it ends it
/// too (blocking the thread for a moment).
pub struct Chromium {
    // Declared first, so dropped before the profile folder it uses is removed.
    driver: WebDriver,
    profile: tempfile::TempDir,
    backend: Backend,
    viewport: Viewport,
    wait: Duration,
}

/// Functions the helpers' scripts share: whitespace normalised as people read text, what is
/// visible, an element described for error messages, a label's own text (without the required
/// marker or the controls inside it), the fields a person can fill in.
const JS_COMMON: &str = r#"
const norm = s => (s || '').replace(/\s+/g, ' ').trim();
const visible = e => {
  if (!e || !e.isConnected) return false;
  const r = e.getBoundingClientRect();
  const s = getComputedStyle(e);
  return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
};
const describe = e => {
  let d = e.tagName.toLowerCase();
  if (e.id) d += '#' + e.id;
  if (e.getAttribute('name')) d += '[name=' + e.getAttribute('name') + ']';
  if (typeof e.className === 'string' && e.className.trim()) d += '.' + e.className.trim().split(/\s+/).join('.');
  return d;
};
const labelText = l => {
  const c = l.cloneNode(true);
  c.querySelectorAll('[aria-hidden=true], input, select, textarea').forEach(x => x.remove());
  return norm(c.textContent);
};
const fields = () => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden');
"#;

impl Chromium {
    /// A new browser showing `about:blank`, its page area sized to `viewport`.
    pub async fn start(env: &Env, viewport: Viewport) -> Result<Chromium> {
        let (_, chromium) = programs()?;
        let url = tokio::task::spawn_blocking(driver_url).await??;
        let profile = tempfile::Builder::new()
            .prefix("hub-chromium-")
            .tempdir()
            .context("a profile folder for Chromium")?;
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium.display().to_string())?;
        for flag in FLAGS {
            caps.add_arg(flag)?;
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))?;
        caps.add_arg(&format!(
            "--window-size={},{}",
            viewport.width, viewport.height
        ))?;
        // The Accept-Language header a Chinese browser sends.
        caps.add_experimental_option("prefs", json!({ "intl.accept_languages": "zh-CN,zh" }))?;
        // The console's errors (failed resources, content security policy refusals, script
        // errors) are kept for [`Chromium::console_errors`].
        caps.set_browser_log_level(thirtyfour::LoggingPrefsLogLevel::Severe)?;
        let driver = WebDriver::builder(url.as_str(), caps)
            .request_timeout(Duration::from_secs(60))
            .await
            .with_context(|| {
                format!(
                    "cannot start {} through chromedriver at {url} (is it installed? {INSTALL})",
                    chromium.display()
                )
            })?;
        let mut timeouts = TimeoutConfiguration::default();
        timeouts.set_page_load(Some(Duration::from_secs(30)));
        timeouts.set_script(Some(WAIT));
        timeouts.set_implicit(Some(Duration::ZERO));
        driver.update_timeouts(timeouts).await?;
        let mut browser = Chromium {
            driver,
            profile,
            backend: env.backend,
            viewport,
            wait: WAIT,
        };
        browser.set_viewport(viewport).await?;
        Ok(browser)
    }

    /// The underlying WebDriver session, for what the helpers do not cover.
    pub fn driver(&self) -> &WebDriver {
        &self.driver
    }

    /// The profile folder (cookies, storage) of this browser.
    pub fn profile(&self) -> &Path {
        self.profile.path()
    }

    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// How long this browser's waits last (default [`WAIT`]).
    pub fn set_wait(&mut self, wait: Duration) {
        self.wait = wait;
    }

    /// Resizes the window so that the page area is exactly `viewport`, and checks that it is.
    pub async fn set_viewport(&mut self, viewport: Viewport) -> Result<()> {
        let want = (viewport.width, viewport.height);
        self.driver.set_window_rect(0, 0, want.0, want.1).await?;
        // The window's frame (if any) takes some of the window: make up for it once.
        let (iw, ih) = self.settled_inner_size(want).await?;
        if (iw, ih) != want {
            let w2 = (2 * i64::from(want.0) - i64::from(iw)).max(1) as u32;
            let h2 = (2 * i64::from(want.1) - i64::from(ih)).max(1) as u32;
            self.driver.set_window_rect(0, 0, w2, h2).await?;
        }
        let got = self.settled_inner_size(want).await?;
        ensure!(
            got == want,
            "the page area is {}×{} CSS pixels, not the {}×{} asked for",
            got.0,
            got.1,
            want.0,
            want.1
        );
        self.viewport = viewport;
        Ok(())
    }

    /// The page area's size once the window has taken its new size: as soon as it is `want`,
    /// else once it has held still for half a second (a window with a frame never reaches
    /// `want`), at most [`Chromium::set_wait`]'s time. A resized window may still report its
    /// old size for a moment.
    async fn settled_inner_size(&self, want: (u32, u32)) -> Result<(u32, u32)> {
        let deadline = Instant::now() + self.wait;
        let (mut last, mut still) = (None, 0);
        loop {
            let now = self.inner_size().await?;
            if now == want {
                return Ok(now);
            }
            if last == Some(now) {
                still += 1;
            } else {
                (last, still) = (Some(now), 0);
            }
            if still >= 10 || Instant::now() >= deadline {
                return Ok(now);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn inner_size(&self) -> Result<(u32, u32)> {
        let v = self
            .js("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        let n = |i: usize| v[i].as_u64().unwrap_or(0) as u32;
        Ok((n(0), n(1)))
    }

    /// Ends the browser.
    pub async fn quit(self) -> Result<()> {
        self.driver.quit().await?;
        Ok(())
    }

    // -- Navigation ---------------------------------------------------------------------------

    /// Opens `url` (absolute, e.g. `hub.url("/")`) and waits for the page to load, following
    /// redirects as a browser does.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.driver
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))?;
        Ok(())
    }

    pub async fn back(&self) -> Result<()> {
        self.driver.back().await?;
        Ok(())
    }

    pub async fn current_url(&self) -> Result<url::Url> {
        let u = self.driver.current_url().await?;
        Ok(url::Url::parse(u.as_str())?)
    }

    /// The current URL's path and query (`/api/me`, `/search?q=…`).
    pub async fn path(&self) -> Result<String> {
        let u = self.current_url().await?;
        Ok(match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        })
    }

    pub async fn title(&self) -> Result<String> {
        Ok(self.driver.title().await?)
    }

    // -- Reading ------------------------------------------------------------------------------

    /// The page's HTML as it is now (after scripts, if any).
    pub async fn source(&self) -> Result<String> {
        Ok(self.driver.source().await?)
    }

    /// The visible text of the whole page.
    pub async fn page_text(&self) -> Result<String> {
        let v = self
            .js(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The visible text of the first element matching `css`, waiting for it to appear.
    pub async fn text(&self, css: &str) -> Result<String> {
        let el = self.wait_for(css).await?;
        Ok(el.text().await?)
    }

    /// The visible texts of every element matching `css` now (no waiting).
    pub async fn texts(&self, css: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for el in self.driver.find_all(By::Css(css)).await? {
            out.push(el.text().await?);
        }
        Ok(out)
    }

    /// The elements matching `css` now (no waiting).
    pub async fn find_all(&self, css: &str) -> Result<Vec<WebElement>> {
        Ok(self.driver.find_all(By::Css(css)).await?)
    }

    /// A JSON document the browser shows (an API answer opened as a page).
    pub async fn json(&self) -> Result<Value> {
        let v = self
            .js(
                "const pre = document.querySelector('body > pre'); \
                 return pre ? pre.textContent : (document.body ? document.body.innerText : '');",
                vec![],
            )
            .await?;
        let text = v.as_str().unwrap_or_default();
        let url = self.current_url().await?;
        serde_json::from_str(text).with_context(|| format!("{url} shows no JSON: {text}"))
    }

    /// The errors the browser's console received since the last call (the log is drained):
    /// resources that failed to load (the page itself included, when its status is an error),
    /// what the content security policy refused, script errors. Each is `<url> - <message>` as
    /// Chromium words it.
    pub async fn console_errors(&self) -> Result<Vec<String>> {
        Ok(self
            .driver
            .browser_log()
            .await?
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .map(|e| e.message)
            .collect())
    }

    /// The browser's cookies for the current page, `HttpOnly` ones included.
    pub async fn cookies(&self) -> Result<Vec<thirtyfour::Cookie>> {
        Ok(self.driver.get_all_cookies().await?)
    }

    pub async fn cookie(&self, name: &str) -> Result<Option<thirtyfour::Cookie>> {
        Ok(self.cookies().await?.into_iter().find(|c| c.name == name))
    }

    /// The current value of the field named `name`.
    pub async fn value(&self, name: &str) -> Result<String> {
        let el = self.field(name).await?;
        Ok(el.prop("value").await?.unwrap_or_default())
    }

    /// The error shown for the field named `name`, if any: the text the field points to as its
    /// error (`aria-errormessage`, or an `aria-describedby` element marked as an error), else
    /// the `.field-error` (or `role=alert`) inside the field's `.field` box.
    pub async fn field_error(&self, name: &str) -> Result<Option<String>> {
        let script = format!(
            "{JS_COMMON}
            const el = fields().find(e => e.name === arguments[0]);
            if (!el) return {{ missing: fields().map(describe) }};
            const errorish = d => d && d.matches('.field-error, .error, [role=alert]');
            const texts = [];
            const em = el.getAttribute('aria-errormessage');
            if (em) {{ const d = document.getElementById(em); if (d && visible(d)) texts.push(norm(d.innerText)); }}
            for (const id of (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)) {{
              const d = document.getElementById(id);
              if (id !== em && errorish(d) && visible(d)) texts.push(norm(d.innerText));
            }}
            if (!texts.length) {{
              const box = el.closest('.field');
              const d = box && box.querySelector('.field-error, .error, [role=alert]');
              if (d && visible(d)) texts.push(norm(d.innerText));
            }}
            return {{ error: texts.length ? texts.join(' ') : null }};"
        );
        let v = self.js(&script, vec![json!(name)]).await?;
        if let Some(m) = v.get("missing") {
            bail!(
                "no field named {name:?} on {}; fields: {m}",
                self.whereabouts().await
            );
        }
        Ok(v["error"].as_str().map(str::to_owned))
    }

    /// The browser's own validation message for the field named `name` (e.g. for `required`,
    /// which stops the form before it is sent); empty when the value is valid.
    pub async fn validation_message(&self, name: &str) -> Result<String> {
        let el = self.field(name).await?;
        Ok(el.prop("validationMessage").await?.unwrap_or_default())
    }

    /// Fails unless the page fits the window's width (no horizontal scrolling), naming the
    /// elements that stick out.
    pub async fn no_horizontal_scroll(&self) -> Result<()> {
        let script = format!(
            "{JS_COMMON}
            const w = window.innerWidth;
            const sw = document.documentElement.scrollWidth;
            const out = sw <= w ? [] : [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > w + 0.5)
              .slice(0, 8)
              .map(e => describe(e) + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ')');
            return {{ scroll_width: sw, inner_width: w, out }};"
        );
        let v = self.js(&script, vec![]).await?;
        let (sw, w) = (
            v["scroll_width"].as_u64().unwrap_or(u64::MAX),
            v["inner_width"].as_u64().unwrap_or(0),
        );
        ensure!(
            sw <= w,
            "{} scrolls sideways at {}×{}: scrollWidth {sw} > innerWidth {w}; wider elements: {}",
            self.whereabouts().await,
            self.viewport.width,
            self.viewport.height,
            v["out"]
        );
        Ok(())
    }

    /// Saves a PNG of the page area as `<name>-<backend>.png` in [`screenshot_dir`] and returns
    /// its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.driver.screenshot_as_png().await?;
        self.save_png(name, &png)
    }

    /// As [`Chromium::screenshot`], of the whole page (its full height, at the window's width)
    /// rather than the part in the window.
    pub async fn full_page_screenshot(&self, name: &str) -> Result<PathBuf> {
        let size = self
            .js(
                "return [document.documentElement.clientWidth, document.documentElement.scrollHeight];",
                vec![],
            )
            .await?;
        let (w, h) = (size[0].as_u64().unwrap_or(0), size[1].as_u64().unwrap_or(0));
        ensure!(w > 0 && h > 0, "the page has no size: {size}");
        let shot = self
            .driver
            .handle()
            .cmd(DevTools(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": { "x": 0, "y": 0, "width": w, "height": h, "scale": 1 },
                }),
            ))
            .await?
            .value_json()?;
        let data = shot["data"]
            .as_str()
            .with_context(|| format!("no image in the answer: {shot}"))?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .context("the screenshot is not base64")?;
        self.save_png(name, &png)
    }

    fn save_png(&self, name: &str, png: &[u8]) -> Result<PathBuf> {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}-{}.png", self.backend.name()));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page and returns its
    /// result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        let ret = self.driver.execute(script, args).await?;
        Ok(ret.json().clone())
    }

    // -- Acting -------------------------------------------------------------------------------

    /// Clicks the one visible link, button, label or summary whose text (or `aria-label`) is
    /// `text`; failing an exact match, the one whose text contains `text`. Several candidates
    /// are an error, except links that all go to the same place (the first is clicked).
    pub async fn click_text(&self, text: &str) -> Result<()> {
        self.click_text_in("body", text).await
    }

    /// As [`Chromium::click_text`], among the descendants of the first element matching
    /// `scope` (e.g. `nav`, `main`, `form.search`).
    pub async fn click_text_in(&self, scope: &str, text: &str) -> Result<()> {
        let found = wait_until(
            &format!("a link or button {text:?} in {scope}"),
            self.wait,
            || self.clickable(scope, text),
        )
        .await;
        let el = match found {
            Ok(Ok(el)) => el,
            Ok(Err(ambiguous)) | Err(ambiguous) => {
                return Err(ambiguous.context(format!("on {}", self.whereabouts().await)));
            }
        };
        el.click()
            .await
            .with_context(|| format!("clicking {text:?}"))?;
        Ok(())
    }

    /// `Ok(None)`/`Err` while there is no candidate yet, `Ok(Some(Err))` when there are several
    /// (waiting does not help then).
    async fn clickable(&self, scope: &str, text: &str) -> Result<Option<Result<WebElement>>> {
        let script = format!(
            "{JS_COMMON}
            const [scope, text] = arguments;
            const root = document.querySelector(scope);
            if (!root) return {{ found: [], seen: [] }};
            const own = e => e.tagName === 'INPUT' ? norm(e.value) : norm(e.innerText);
            const all = [...root.querySelectorAll('a[href], button, input[type=submit], input[type=button], input[type=reset], label, summary, [role=button], [role=link], [role=tab], [role=menuitem]')]
              .filter(visible);
            let found = all.filter(e => own(e) === text || norm(e.getAttribute('aria-label')) === text);
            if (!found.length) found = all.filter(e => own(e).includes(text));
            const hrefs = new Set(found.map(e => e.tagName === 'A' ? e.href : null));
            if (found.length > 1 && hrefs.size === 1 && !hrefs.has(null)) found = [found[0]];
            return {{ found, described: found.map(e => describe(e) + ' ' + JSON.stringify(own(e))), seen: all.map(own).filter(Boolean).slice(0, 80) }};"
        );
        let v = self.js(&script, vec![json!(scope), json!(text)]).await?;
        let found = v["found"].as_array().cloned().unwrap_or_default();
        match found.as_slice() {
            [] => bail!("none found; visible: {}", v["seen"]),
            [one] => Ok(Some(Ok(self.element(one)?))),
            many => Ok(Some(Err(anyhow!(
                "{} candidates for {text:?}: {}",
                many.len(),
                v["described"]
            )))),
        }
    }

    /// Ticks the radio button or checkbox whose label contains `text` (clicking its label, as a
    /// person does), and checks that it is now ticked.
    pub async fn choose(&self, text: &str) -> Result<()> {
        let script = format!(
            "{JS_COMMON}
            const [text] = arguments;
            const boxes = [...document.querySelectorAll('input[type=radio], input[type=checkbox]')];
            const names = i => [...(i.labels || [])].map(labelText).concat([norm(i.getAttribute('aria-label'))]);
            let found = boxes.filter(i => names(i).some(n => n === text));
            if (!found.length) found = boxes.filter(i => names(i).some(n => n.includes(text)));
            return {{
              found: found.map(i => {{ const l = [...(i.labels || [])].find(visible); return {{ input: i, target: l || i, checked: i.checked }}; }}),
              seen: boxes.map(i => names(i).filter(Boolean).join(' / ')),
            }};"
        );
        let v = self.js(&script, vec![json!(text)]).await?;
        let found = v["found"].as_array().cloned().unwrap_or_default();
        let [one] = found.as_slice() else {
            bail!(
                "{} radio buttons or checkboxes labelled {text:?} on {} (need one); there are: {}",
                found.len(),
                self.whereabouts().await,
                v["seen"]
            );
        };
        if one["checked"] == true {
            return Ok(());
        }
        self.element(&one["target"])?.click().await?;
        let input = self.element(&one["input"])?;
        ensure!(
            input.is_selected().await?,
            "{text:?} is not ticked after clicking it"
        );
        Ok(())
    }

    /// Types `value` into the field named `name` (after clearing it); for a `<select>`, picks
    /// the option whose text or value is `value`.
    pub async fn fill(&self, name: &str, value: &str) -> Result<()> {
        let el = self.field(name).await?;
        self.fill_element(el, name, value).await
    }

    /// As [`Chromium::fill`], finding the field by its label's text (without the required
    /// marker): exactly, or failing that the one label that contains `label`.
    pub async fn fill_label(&self, label: &str, value: &str) -> Result<()> {
        let script = format!(
            "{JS_COMMON}
            const [text] = arguments;
            const named = e => [...(e.labels || [])].map(labelText).concat([norm(e.getAttribute('aria-label'))]);
            const all = fields().filter(e => e.type !== 'radio' && e.type !== 'checkbox');
            let found = all.filter(e => named(e).some(n => n === text));
            if (!found.length) found = all.filter(e => named(e).some(n => n && n.includes(text)));
            return {{ found, seen: all.map(e => named(e).filter(Boolean).join(' / ')) }};"
        );
        let v = self.js(&script, vec![json!(label)]).await?;
        let found = v["found"].as_array().cloned().unwrap_or_default();
        let [one] = found.as_slice() else {
            bail!(
                "{} fields labelled {label:?} on {} (need one); labels: {}",
                found.len(),
                self.whereabouts().await,
                v["seen"]
            );
        };
        let el = self.element(one)?;
        self.fill_element(el, label, value).await
    }

    /// Submits the form being filled in (the one holding the focused field; else the page's only
    /// form) by clicking its submit button, or as pressing Enter does when it has none.
    pub async fn submit(&self) -> Result<()> {
        let script = format!(
            "{JS_COMMON}
            let f = document.activeElement && document.activeElement.form;
            if (!f && document.forms.length === 1) f = document.forms[0];
            if (!f) return {{ error: document.forms.length + ' forms and none being filled in' }};
            const b = [...f.elements].find(e => (e.tagName === 'BUTTON' && e.type === 'submit') || (e.tagName === 'INPUT' && (e.type === 'submit' || e.type === 'image')));
            if (b) return {{ button: b }};
            f.requestSubmit();
            return {{ submitted: true }};"
        );
        let v = self.js(&script, vec![]).await?;
        if let Some(e) = v["error"].as_str() {
            bail!("cannot submit on {}: {e}", self.whereabouts().await);
        }
        if v.get("button").is_some() {
            self.element(&v["button"])?.click().await?;
        }
        Ok(())
    }

    // -- Waiting ------------------------------------------------------------------------------

    /// Waits until the current URL's path is `path` (the query aside).
    pub async fn wait_for_path(&self, path: &str) -> Result<()> {
        self.wait_for_url(&format!("the path {path}"), |u| u.path() == path)
            .await
            .map(|_| ())
    }

    /// Waits until the current URL satisfies `pred`; returns it.
    pub async fn wait_for_url(
        &self,
        what: &str,
        pred: impl Fn(&url::Url) -> bool,
    ) -> Result<url::Url> {
        let r = wait_until(what, self.wait, || async {
            let u = self.current_url().await?;
            Ok(pred(&u).then_some(u))
        })
        .await;
        match r {
            Ok(u) => Ok(u),
            Err(e) => Err(e.context(format!("the browser is at {}", self.whereabouts().await))),
        }
    }

    /// Waits until an element matching `css` is visible; returns it.
    pub async fn wait_for(&self, css: &str) -> Result<WebElement> {
        let r = wait_until(&format!("an element {css}"), self.wait, || async {
            for el in self.driver.find_all(By::Css(css)).await? {
                if el.is_displayed().await? {
                    return Ok(Some(el));
                }
            }
            Ok(None)
        })
        .await;
        match r {
            Ok(el) => Ok(el),
            Err(e) => Err(e.context(format!("on {}", self.whereabouts().await))),
        }
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) -> Result<()> {
        let r = wait_until(&format!("the text {text:?}"), self.wait, || async {
            Ok(self.page_text().await?.contains(text).then_some(()))
        })
        .await;
        match r {
            Ok(()) => Ok(()),
            Err(e) => Err(e.context(format!("on {}", self.whereabouts().await))),
        }
    }

    // -- Internals ----------------------------------------------------------------------------

    fn element(&self, v: &Value) -> Result<WebElement> {
        Ok(WebElement::from_json(
            v.clone(),
            self.driver.handle().clone(),
        )?)
    }

    /// The one visible-kind field named `name` (hidden inputs aside), waiting for it.
    async fn field(&self, name: &str) -> Result<WebElement> {
        let script = format!(
            "{JS_COMMON}
            const found = fields().filter(e => e.name === arguments[0]);
            return {{ found, seen: fields().map(e => e.name).filter(Boolean) }};"
        );
        // Several fields of one name will not become one by waiting: that fails at once.
        let found = wait_until(&format!("a field named {name:?}"), self.wait, || async {
            let v = self.js(&script, vec![json!(name)]).await?;
            let found = v["found"].as_array().cloned().unwrap_or_default();
            match found.as_slice() {
                [] => bail!("none; fields: {}", v["seen"]),
                [one] => Ok(Some(Ok(self.element(one)?))),
                many => Ok(Some(Err(anyhow!(
                    "{} fields share the name {name:?} (radio buttons? use choose)",
                    many.len()
                )))),
            }
        })
        .await;
        match found {
            Ok(Ok(el)) => Ok(el),
            Ok(Err(e)) | Err(e) => Err(e.context(format!("on {}", self.whereabouts().await))),
        }
    }

    async fn fill_element(&self, el: WebElement, what: &str, value: &str) -> Result<()> {
        let tag = el.tag_name().await?.to_lowercase();
        if tag == "select" {
            let script = format!(
                "{JS_COMMON}
                const [s, v] = arguments;
                const o = [...s.options].find(o => norm(o.text) === v) || [...s.options].find(o => o.value === v);
                return {{ option: o || null, seen: [...s.options].map(o => norm(o.text)) }};"
            );
            let v = self.js(&script, vec![el.to_json()?, json!(value)]).await?;
            if v["option"].is_null() {
                bail!("{what:?} has no option {value:?}; options: {}", v["seen"]);
            }
            self.element(&v["option"])?.click().await?;
            return Ok(());
        }
        let kind = el.attr("type").await?.unwrap_or_default();
        ensure!(
            kind != "checkbox" && kind != "radio",
            "{what:?} is a {kind}: use choose"
        );
        el.clear().await?;
        if !value.is_empty() {
            el.send_keys(value).await?;
        }
        Ok(())
    }

    /// Where the browser is, for error messages: the URL and the start of the visible text.
    async fn whereabouts(&self) -> String {
        let url = self
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("(unknown URL: {e})"));
        let text = self.page_text().await.unwrap_or_default();
        let text: String = text.chars().take(400).collect();
        format!("{url} showing {:?}", text.replace('\n', " ¶ "))
    }
}
