//! A real browser (headless Chromium over WebDriver, `tests::browser`) against the real hub:
//! sign-in through the sandbox's provincial login page as a person does it, an e-Longyan entry,
//! the hub's `Secure` `__Host-` cookies kept over loopback HTTP; and the harness's own helpers
//! against fixture pages, each shown to fail when it should.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tests::anyhow::{Context, Result, ensure};
use tests::browser::{self, Chromium, Viewport};
use tests::{Env, Test, TestHub, federated_hub, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(a_citizen_signs_in_on_the_provincial_login_page),
        test!(a_company_signs_in_on_the_provincial_login_page_on_a_phone),
        test!(an_elongyan_entry_signs_in),
        test!(sqlite: helpers_fill_choose_submit_and_click_like_a_person),
        test!(sqlite: helpers_wait_and_fail_with_what_they_saw),
        test!(sqlite: viewports_screenshots_and_horizontal_scrolling),
        test!(sqlite: a_missing_browser_fails_and_says_what_to_install),
        test!(sqlite: console_errors_and_whole_page_screenshots),
    ]
}

const ID_P1: &str = "350802199003070029";
const USCC_L1: &str = "91350802MA2YLK3N0B";
const SESSION_COOKIE: &str = "__Host-hub_session";

/// Starts a sign-in at the hub, picks the persona labelled `persona` on the sandbox's provincial
/// login page (its form, not the `persona=` shortcut) and presses 登录; returns `/api/me` as the
/// browser shows it.
async fn sign_in_at_the_province(
    b: &Chromium,
    hub: &TestHub,
    persona: &str,
    screenshot: &str,
) -> Result<Value> {
    b.goto(&hub.url("/sso/fujian/login?return_to=/api/me"))
        .await?;
    let login = b
        .wait_for_url("the provincial login page", |u| {
            u.path() == "/sandbox/fujian/dataset/UnifiedController/goLogin.do"
        })
        .await?;
    ensure!(
        !login.as_str().contains("persona="),
        "the shortcut was used: {login}"
    );
    b.wait_for_text("请选择一个测试身份登录").await?;
    b.screenshot(screenshot).await?;
    b.choose(persona).await?;
    b.click_text("登录").await?;
    b.wait_for_path("/api/me").await?;
    b.json().await
}

/// The session cookie is in the browser as the hub set it (`Secure`, `HttpOnly`, host-only,
/// path `/`) although the hub speaks plain HTTP on 127.0.0.1.
async fn assert_session_cookie(b: &Chromium) -> Result<()> {
    let names: Vec<String> = b.cookies().await?.into_iter().map(|c| c.name).collect();
    let c = b
        .cookie(SESSION_COOKIE)
        .await?
        .with_context(|| format!("no {SESSION_COOKIE} in the browser; it has {names:?}"))?;
    ensure!(c.secure == Some(true) && c.http_only == Some(true), "{c:?}");
    ensure!(
        c.path.as_deref() == Some("/") && c.domain.as_deref() == Some("127.0.0.1"),
        "{c:?}"
    );
    Ok(())
}

async fn a_citizen_signs_in_on_the_provincial_login_page(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    let me = sign_in_at_the_province(&b, &hub, "张三（个人用户）", "sandbox-fujian-login").await?;
    ensure!(
        me["kind"] == "personal"
            && me["display_name"] == "张三"
            && me["id_masked"] == "3508**********0029"
            && me["roles"][0] == "individual"
            && me["provider"] == "fujian",
        "{me}"
    );
    ensure!(!b.page_text().await?.contains(ID_P1), "{me}");
    assert_session_cookie(&b).await?;
    // The browser sends the cookie back: a new visit is still signed in.
    b.goto(&hub.url("/api/me")).await?;
    let again = b.json().await?;
    ensure!(again["account_id"] == me["account_id"], "{again}");
    // It is that cookie that signs the browser in: without it, the same page refuses.
    b.driver().delete_cookie(SESSION_COOKIE).await?;
    b.goto(&hub.url("/api/me")).await?;
    let refused = b.json().await?;
    ensure!(refused["code"] == "auth.unauthenticated", "{refused}");
    b.quit().await
}

async fn a_company_signs_in_on_the_provincial_login_page_on_a_phone(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = Chromium::start(&env, Viewport::PHONE).await?;
    let me = sign_in_at_the_province(
        &b,
        &hub,
        "龙岩示例科技有限公司（测试）",
        "sandbox-fujian-login-phone",
    )
    .await?;
    ensure!(
        me["kind"] == "legal_person"
            && me["display_name"] == "龙岩示例科技有限公司（测试）"
            && me["uscc"] == USCC_L1
            && me["id_masked"] == "9135**********3N0B"
            && me["agent"]["display_name"] == "张三"
            && me["agent"]["id_masked"] == "3508**********0029"
            && me["roles"][0] == "enterprise",
        "{me}"
    );
    ensure!(!b.page_text().await?.contains(ID_P1), "{me}");
    assert_session_cookie(&b).await?;
    b.quit().await
}

async fn an_elongyan_entry_signs_in(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    b.goto(&hub.url("/sandbox/elongyan/jump?persona=personal-1&target=/api/me&mode=ticket"))
        .await?;
    b.wait_for_path("/api/me").await?;
    let me = b.json().await?;
    ensure!(
        me["kind"] == "personal"
            && me["display_name"] == "张三"
            && me["id_masked"] == "3508**********0029"
            && me["provider"] == "elongyan",
        "{me}"
    );
    assert_session_cookie(&b).await?;
    b.quit().await
}

// ---------------------------------------------------------------------------------------------
// The harness itself, on fixture pages
// ---------------------------------------------------------------------------------------------

const HEAD: &str = "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">\
    <title>测试页</title></head><body>";

const FORM: &str = r#"
<form class="search" method="get" action="/echo"><input name="q" aria-label="站内搜索"><button type="submit">搜索</button></form>
<form method="get" action="/echo">
<div class="field"><label for="f-username">用户名<span class="req" aria-hidden="true">*</span></label>
<input id="f-username" name="username" required></div>
<div class="field has-error"><label for="f-phone">手机号码</label>
<input id="f-phone" name="phone" aria-invalid="true" aria-describedby="e-phone">
<p class="field-error" id="e-phone">请输入 11 位手机号码</p></div>
<div class="field"><label for="f-kind">证件类型</label>
<select id="f-kind" name="kind"><option value="">请选择</option><option value="id">居民身份证</option><option value="passport">护照</option></select></div>
<fieldset><legend>用户类型</legend>
<label><input type="radio" name="who" value="person" checked> 个人</label>
<label><input type="radio" name="who" value="company"> 企业（法人）</label></fieldset>
<input type="hidden" name="csrf" value="t0k">
<button type="submit">提交</button>
</form>
<p><button type="button">重复</button> <button type="button">重复</button></p>
<nav><a href="/echo?from=nav">首页</a></nav>
<footer><a href="/echo?from=nav">首页</a></footer>
"#;

/// Adds a link a moment after the page has loaded.
const LATE: &str = r#"<p id="wait">请稍候</p><script>
setTimeout(() => { const a = document.createElement('a'); a.href = '/echo?late=1'; a.textContent = '稍后出现'; document.body.append(a); }, 300);
</script>"#;

const WIDE: &str = r#"<p>太宽的表格</p><div class="too-wide" style="width: 600px">宽</div>"#;
/// A long page with an image that is not there.
const BROKEN: &str = r#"<p>缺图的长页面</p><img src="/missing.png" alt="缺图"><div style="height: 2000px">长</div><p>页尾</p>"#;
const NARROW: &str =
    "<p>这一页在手机上不需要左右滚动，长长的一段中文文字会自动换行，不会超出屏幕的宽度。</p>";

/// A server of the fixture pages on `127.0.0.1:<ephemeral>`; `/echo` shows its query string
/// (decoded) and the request's `Accept-Language`.
async fn fixtures() -> Result<(String, tokio::task::JoinHandle<()>)> {
    use axum::extract::RawQuery;
    use axum::http::HeaderMap;
    use axum::response::Html;
    use axum::routing::get;
    let page =
        |body: &'static str| move || async move { Html(format!("{HEAD}{body}</body></html>")) };
    let app = axum::Router::new()
        .route("/form", get(page(FORM)))
        .route("/late", get(page(LATE)))
        .route("/wide", get(page(WIDE)))
        .route("/narrow", get(page(NARROW)))
        .route("/broken", get(page(BROKEN)))
        .route(
            "/echo",
            get(|RawQuery(q): RawQuery, headers: HeaderMap| async move {
                let q: Vec<String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let lang = headers
                    .get("accept-language")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                Html(format!(
                    "{HEAD}<pre id=\"echo\">{}</pre><p id=\"lang\">{lang}</p></body></html>",
                    q.join("&")
                ))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, task))
}

async fn helpers_fill_choose_submit_and_click_like_a_person(env: Env) -> Result<()> {
    let (base, _server) = fixtures().await?;
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    b.goto(&format!("{base}/form")).await?;
    b.fill("username", "张三").await?;
    b.fill("phone", "13800000000").await?;
    b.fill_label("证件类型", "居民身份证").await?;
    b.choose("企业").await?;
    ensure!(b.value("username").await? == "张三");
    ensure!(b.value("kind").await? == "id");
    // Errors next to fields: the one the field points to, none where there is none.
    ensure!(
        b.field_error("phone").await?.as_deref() == Some("请输入 11 位手机号码"),
        "{:?}",
        b.field_error("phone").await?
    );
    ensure!(b.field_error("username").await?.is_none());
    // A radio group is not one field; a field that is not there is named with those that are.
    let e = format!(
        "{:#}",
        b.fill("who", "x").await.err().context("filled a group")?
    );
    ensure!(e.contains("2 fields share the name"), "{e}");
    // The form being filled in is the one submitted (not the search form above it).
    b.submit().await?;
    b.wait_for_path("/echo").await?;
    let echo = b.text("#echo").await?;
    ensure!(
        echo == "username=张三&phone=13800000000&kind=id&who=company&csrf=t0k",
        "{echo}"
    );
    let lang = b.text("#lang").await?;
    ensure!(lang.starts_with("zh-CN"), "Accept-Language {lang}");

    // The browser's own check of a required field stops the form before it is sent.
    b.goto(&format!("{base}/form")).await?;
    b.click_text("提交").await?;
    ensure!(b.path().await? == "/form", "{}", b.path().await?);
    ensure!(!b.validation_message("username").await?.is_empty());

    // Two links to the same place are one choice; two different buttons are not.
    b.click_text_in("nav", "首页").await?;
    b.wait_for_path("/echo").await?;
    ensure!(b.text("#echo").await? == "from=nav");
    b.back().await?;
    b.wait_for_path("/form").await?;
    b.click_text("首页").await?;
    b.wait_for_path("/echo").await?;
    b.goto(&format!("{base}/form")).await?;
    let e = format!("{:#}", b.click_text("重复").await.err().context("clicked")?);
    ensure!(e.contains("2 candidates"), "{e}");
    // A label in the field's place finds the search box by its aria-label, and Enter-like
    // submission works for it.
    b.fill_label("站内搜索", "普惠金融").await?;
    b.submit().await?;
    b.wait_for_path("/echo").await?;
    ensure!(b.text("#echo").await? == "q=普惠金融");
    b.quit().await
}

async fn helpers_wait_and_fail_with_what_they_saw(env: Env) -> Result<()> {
    let (base, _server) = fixtures().await?;
    let mut b = Chromium::start(&env, Viewport::DESKTOP).await?;
    // A link that appears after the page has loaded is waited for.
    b.goto(&format!("{base}/late")).await?;
    b.click_text("稍后出现").await?;
    b.wait_for_path("/echo").await?;
    ensure!(b.text("#echo").await? == "late=1");
    // Waits are bounded and say what they waited for and where the browser was.
    b.set_wait(Duration::from_millis(400));
    b.goto(&format!("{base}/late")).await?;
    let e = format!(
        "{:#}",
        b.click_text("不存在的按钮")
            .await
            .err()
            .context("clicked")?
    );
    ensure!(
        e.contains("timed out") && e.contains("不存在的按钮") && e.contains("/late"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        b.wait_for_path("/elsewhere")
            .await
            .err()
            .context("arrived")?
    );
    ensure!(e.contains("timed out") && e.contains("/late"), "{e}");
    let e = format!(
        "{:#}",
        b.wait_for_text("没有这段文字")
            .await
            .err()
            .context("found")?
    );
    ensure!(e.contains("timed out") && e.contains("请稍候"), "{e}");
    let e = format!("{:#}", b.text("#nowhere").await.err().context("found")?);
    ensure!(e.contains("timed out") && e.contains("#nowhere"), "{e}");
    let e = format!("{:#}", b.choose("没有").await.err().context("chose")?);
    ensure!(e.contains("0 radio buttons"), "{e}");
    let e = format!("{:#}", b.json().await.err().context("JSON")?);
    ensure!(e.contains("shows no JSON"), "{e}");
    b.quit().await
}

/// The width and height of a PNG, from its header.
fn png_size(png: &[u8]) -> Result<(u32, u32)> {
    ensure!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    Ok((be(16), be(20)))
}

async fn viewports_screenshots_and_horizontal_scrolling(env: Env) -> Result<()> {
    let (base, _server) = fixtures().await?;
    let mut b = Chromium::start(&env, Viewport::PHONE).await?;
    b.goto(&format!("{base}/narrow")).await?;
    b.no_horizontal_scroll().await?;
    let shot = b.screenshot("harness-phone").await?;
    ensure!(shot.starts_with(browser::screenshot_dir()), "{shot:?}");
    ensure!(png_size(&std::fs::read(&shot)?)? == (375, 812));
    b.goto(&format!("{base}/wide")).await?;
    let e = format!(
        "{:#}",
        b.no_horizontal_scroll()
            .await
            .err()
            .context("a 600 px element fits a phone")?
    );
    ensure!(
        e.contains("scrollWidth") && e.contains("div.too-wide") && e.contains("375×812"),
        "{e}"
    );
    b.set_viewport(Viewport::DESKTOP).await?;
    b.no_horizontal_scroll().await?;
    let shot = b.screenshot("harness-desktop").await?;
    ensure!(png_size(&std::fs::read(&shot)?)? == (1280, 900));
    b.quit().await
}

async fn a_missing_browser_fails_and_says_what_to_install(_env: Env) -> Result<()> {
    let nowhere = Path::new("/nonexistent/chromedriver");
    let e = format!(
        "{:#}",
        browser::check_programs(nowhere, Path::new("/usr/bin/chromium"))
            .err()
            .context("a missing chromedriver was accepted")?
    );
    ensure!(
        e.contains(browser::INSTALL) && e.contains("/nonexistent/chromedriver"),
        "{e}"
    );
    ensure!(browser::INSTALL == "apt-get install -y chromium chromium-driver fonts-noto-cjk");
    Ok(())
}

async fn console_errors_and_whole_page_screenshots(env: Env) -> Result<()> {
    let (base, _server) = fixtures().await?;
    let b = Chromium::start(&env, Viewport::PHONE).await?;
    b.goto(&format!("{base}/narrow")).await?;
    ensure!(b.console_errors().await?.is_empty());
    // A resource that fails is reported once, with its address and status.
    b.goto(&format!("{base}/broken")).await?;
    let errors = browser::wait_until("the missing image's error", browser::WAIT, || async {
        let e = b.console_errors().await?;
        Ok((!e.is_empty()).then_some(e))
    })
    .await?;
    ensure!(
        errors
            == [format!(
                "{base}/missing.png - Failed to load resource: the server responded with a status of 404 (Not Found)"
            )],
        "{errors:?}"
    );
    ensure!(b.console_errors().await?.is_empty(), "not drained");
    // The whole page, not only the part in the window.
    let height = b
        .js("return document.documentElement.scrollHeight;", vec![])
        .await?
        .as_u64()
        .context("height")?;
    ensure!(height > 2000, "{height}");
    let shot = b.full_page_screenshot("harness-whole-page").await?;
    ensure!(shot.starts_with(browser::screenshot_dir()), "{shot:?}");
    let size = png_size(&std::fs::read(&shot)?)?;
    ensure!(
        size == (375, u32::try_from(height)?),
        "{size:?} for a page of {height}"
    );
    b.quit().await
}
