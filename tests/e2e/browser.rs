//! A real browser (headless Chromium over WebDriver, `tests::browser`) against the real hub:
//! sign-in through the sandbox's provincial login page as a person does it, an e-Longyan entry,
//! the hub's `Secure` `__Host-` cookies kept over loopback HTTP; the portal used as people use
//! it (from the front page to 用户中心 and out again, a company's sign-in, an institution's
//! registration through the operators' review, the console's first sign-in, a phone's width,
//! an auditor kept out of the review), an article written, rejected, corrected, published,
//! moved to the recycle bin and restored by an editor and a reviewer, the screenshots of the
//! main pages; and the harness's own helpers against fixture pages, each shown to fail when it
//! should.
//!
//! The portal tests act as a person: they open one page by its address and go on by clicking
//! what is on the screen (links and buttons by their text, fields by their name or label), and
//! check what the person sees.

use std::path::Path;
use std::time::Duration;

use platform::admin::Role;
use serde_json::Value;
use tests::anyhow::{Context, Result, bail, ensure};
use tests::browser::{self, Chromium, Viewport};
use tests::{Env, Test, TestAdmin, TestHub, federated_hub, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(a_citizen_signs_in_on_the_provincial_login_page),
        test!(a_company_signs_in_on_the_provincial_login_page_on_a_phone),
        test!(an_elongyan_entry_signs_in),
        test!(a_citizen_signs_in_from_the_front_page_and_out_again),
        test!(signing_out_reaches_a_provider_on_another_domain),
        test!(a_company_signs_in_and_sees_its_enterprise),
        test!(a_registration_is_reviewed_in_the_console),
        test!(an_issued_password_is_changed_at_the_first_console_sign_in),
        test!(the_pages_fit_a_phone),
        test!(an_auditor_is_kept_out_of_the_review),
        test!(a_system_administrator_edits_a_connector_in_the_console),
        test!(an_editor_writes_a_policy_that_a_reviewer_rejects_publishes_and_bins),
        test!(a_demand_is_taken_anonymously_confirmed_and_disbursed_on_the_pages),
        test!(sqlite: screenshots),
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
// The portal, as people use it
// ---------------------------------------------------------------------------------------------

const SANDBOX_LOGIN: &str = "/sandbox/fujian/dataset/UnifiedController/goLogin.do";
const COMPANY_L1: &str = "龙岩示例科技有限公司（测试）";
const ADMIN_COOKIE: &str = "__Host-hub_admin";
/// The portal's columns, in the navigation's order.
const PORTAL_NAV: [&str; 8] = [
    "首页",
    "政策专题",
    "金融产品",
    "融资需求",
    "金融教育",
    "入驻机构",
    "网上办事",
    "用户中心",
];

/// Waits until the first element matching `css` reads `expected` (its text as shown); says what
/// it read instead when it never does. Waiting also lets a page that is being replaced (after a
/// click) be replaced.
async fn see(b: &Chromium, css: &str, expected: &str) -> Result<()> {
    let r = browser::wait_until(
        &format!("{css} to read {expected:?}"),
        browser::WAIT,
        || async {
            let now = b.texts(css).await?;
            match now.first() {
                Some(t) if t == expected => Ok(Some(())),
                Some(t) => bail!("it reads {t:?}"),
                None => bail!("there is no {css}"),
            }
        },
    )
    .await;
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(e.context(format!("on {}", b.path().await.unwrap_or_default()))),
    }
}

/// Waits until the field named `name` shows `expected` as its error (`None`: no error).
async fn see_field_error(b: &Chromium, name: &str, expected: Option<&str>) -> Result<()> {
    let r = browser::wait_until(
        &format!("the field {name} to show the error {expected:?}"),
        browser::WAIT,
        || async {
            let now = b.field_error(name).await?;
            if now.as_deref() == expected {
                Ok(Some(()))
            } else {
                bail!("it shows {now:?}")
            }
        },
    )
    .await;
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(e.context(format!("on {}", b.path().await.unwrap_or_default()))),
    }
}

/// What the page's description lists say for `term` (`<dt>term</dt><dd>…</dd>`).
async fn described(b: &Chromium, term: &str) -> Result<Vec<String>> {
    let v = b
        .js(
            "const [t] = arguments;
            return [...document.querySelectorAll('dt')]
              .filter(d => d.innerText.trim() === t)
              .map(d => d.nextElementSibling && d.nextElementSibling.tagName === 'DD'
                ? d.nextElementSibling.innerText.trim() : '(no dd)');",
            vec![serde_json::json!(term)],
        )
        .await?;
    Ok(v.as_array()
        .context("described")?
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect())
}

/// On the sign-in page: presses `button`, picks the persona whose label contains `persona` on
/// the provincial login page and presses 登录 there; waits for 用户中心.
async fn sign_in_as(b: &Chromium, button: &str, persona: &str) -> Result<()> {
    b.wait_for_path("/login").await?;
    b.click_text(button).await?;
    b.wait_for_path(SANDBOX_LOGIN).await?;
    b.wait_for_text("请选择一个测试身份登录").await?;
    b.choose(persona).await?;
    b.click_text("登录").await?;
    b.wait_for_path("/user").await?;
    b.wait_for("#me-name").await?;
    Ok(())
}

/// On the console's sign-in page: types the three and presses 登录.
async fn console_sign_in(b: &Chromium, username: &str, password: &str, code: &str) -> Result<()> {
    b.wait_for_path("/console/login").await?;
    b.fill_label("用户名", username).await?;
    b.fill_label("密码", password).await?;
    b.fill_label("动态口令", code).await?;
    b.click_text("登录").await
}

/// An administrator of `role` (issued password already changed) signed in through the
/// console's form in a new desktop browser.
async fn operator(env: &Env, hub: &TestHub, name: &str, role: Role) -> Result<Chromium> {
    let admin = hub.admin(name, role).await?;
    let b = Chromium::start(env, Viewport::DESKTOP).await?;
    b.goto(&hub.url("/console/login")).await?;
    console_sign_in(&b, &admin.username, &admin.password, &hub.next_code(&admin)).await?;
    b.wait_for_path("/console").await?;
    Ok(b)
}

/// Fills the organisation form for a financial institution named `name`.
async fn fill_institution(b: &Chromium, name: &str, introduction: &str) -> Result<()> {
    b.fill_label("机构类型", "金融机构").await?;
    b.fill_label("机构名称", name).await?;
    b.fill_label("统一社会信用代码", "").await?;
    b.fill_label("联系人", "王经理").await?;
    b.fill_label("联系电话", "0597-2345678").await?;
    b.fill_label("机构简介", introduction).await
}

/// In the console: 机构审核, then the registration named `name`; waits for its page.
async fn open_registration(op: &Chromium, name: &str) -> Result<()> {
    op.click_text_in("nav", "机构审核").await?;
    op.wait_for_path("/console/organisations").await?;
    op.click_text_in("main", name).await?;
    op.wait_for_url("a registration's page", |u| {
        u.path().starts_with("/console/organisations/")
    })
    .await?;
    see(op, "h1", name).await
}

/// In the console: approves the pending registration named `name`.
async fn approve(op: &Chromium, name: &str) -> Result<()> {
    open_registration(op, name).await?;
    see(op, "#org-status", "待审核").await?;
    op.click_text("通过").await?;
    see(op, ".flash", "已通过该机构的登记。").await?;
    see(op, "#org-status", "已通过").await
}

async fn a_citizen_signs_in_from_the_front_page_and_out_again(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    b.goto(&hub.url("/")).await?;
    see(&b, "h1", "龙岩普惠金融服务平台").await?;
    ensure!(b.texts("nav.nav a").await? == PORTAL_NAV);
    b.click_text_in(".who", "登录").await?;
    sign_in_as(&b, "闽政通个人登录", "张三（个人用户）").await?;
    see(&b, "h1", "用户中心").await?;
    see(&b, "#me-name", "张三").await?;
    ensure!(described(&b, "证件号码").await? == ["3508**********0029"]);
    ensure!(described(&b, "账号类型").await? == ["个人 · 个人用户"]);
    let source = b.source().await?;
    ensure!(
        !source.contains(ID_P1),
        "the clear certificate number is in the page"
    );
    // The header names the person, the navigation marks 用户中心.
    ensure!(b.texts(".who a").await? == ["张三"]);
    ensure!(b.texts("nav.nav a[aria-current=page]").await? == ["用户中心"]);
    // This browser is the one session, marked as the current device, with nothing to end.
    let rows = b.texts("#sessions tbody tr").await?;
    ensure!(rows.len() == 1, "{rows:?}");
    let first = b.texts("#sessions tbody td:first-child").await?;
    ensure!(first[0].ends_with(" 当前设备"), "{first:?}");
    ensure!(!rows[0].contains("退出该设备"), "{rows:?}");
    // 登记机构 is offered to someone without an organisation.
    ensure!(b.texts("#org-name").await?.is_empty());
    b.wait_for("a[href='/user/organisation']").await?;

    b.click_text("退出登录").await?;
    b.wait_for_path("/sso/logout").await?;
    b.click_text("确定退出").await?;
    b.wait_for_path("/").await?;
    see(&b, ".who a", "登录").await?;
    // Signed out indeed: 用户中心 asks to sign in again.
    b.click_text_in("nav", "用户中心").await?;
    b.wait_for_path("/login").await?;
    ensure!(
        b.path().await? == "/login?return_to=%2Fuser",
        "{}",
        b.path().await?
    );
    see(&b, "h1", "登录").await?;
    b.quit().await
}

/// In production the provincial platform is on its own domain: signing out from 用户中心 must
/// still reach its logout (a form whose redirect leaves the site is checked against the page's
/// `form-action`), and the next sign-in must ask again rather than sign the last person in.
async fn signing_out_reaches_a_provider_on_another_domain(env: Env) -> Result<()> {
    let store = env.store().await?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    // The same server under another name: another origin to the browser.
    let province = format!(
        "http://localhost:{}/sandbox/fujian/dataset",
        listener.local_addr()?.port()
    );
    let hub = tests::federated_hub_listening(
        &store,
        listener,
        &[("HUB_PROVIDERS__FUJIAN__BASE_URL", province.as_str())],
        |_| {},
    )
    .await?;
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    b.goto(&hub.url("/login")).await?;
    sign_in_as(&b, "闽政通个人登录", "张三（个人用户）").await?;
    ensure!(b.current_url().await?.host_str() == Some("127.0.0.1"));
    b.click_text("退出登录").await?;
    b.wait_for_path("/sso/logout").await?;
    b.click_text("确定退出").await?;
    b.wait_for_path("/").await?;
    ensure!(b.current_url().await?.host_str() == Some("127.0.0.1"));
    see(&b, ".who a", "登录").await?;
    let refused: Vec<String> = b
        .console_errors()
        .await?
        .into_iter()
        .filter(|e| e.contains("form-action") || e.contains("Content Security Policy"))
        .collect();
    ensure!(refused.is_empty(), "{refused:?}");
    // The provincial session ended too: signing in asks who again.
    b.click_text_in(".who", "登录").await?;
    b.wait_for_path("/login").await?;
    b.click_text("闽政通个人登录").await?;
    b.wait_for_path(SANDBOX_LOGIN).await?;
    b.wait_for_text("请选择一个测试身份登录").await?;
    ensure!(b.current_url().await?.host_str() == Some("localhost"));
    b.quit().await
}

async fn a_company_signs_in_and_sees_its_enterprise(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    b.goto(&hub.url("/login")).await?;
    sign_in_as(&b, "闽政通法人登录", COMPANY_L1).await?;
    see(&b, "#me-name", COMPANY_L1).await?;
    ensure!(described(&b, "账号类型").await? == ["法人（企业） · 企业主账号"]);
    ensure!(described(&b, "统一社会信用代码").await? == ["9135**********3N0B"; 2]);
    see(&b, "#me-agent", "张三（3508**********0029）").await?;
    ensure!(described(&b, "经办人").await? == ["张三（3508**********0029）"]);
    see(&b, "#org-name", COMPANY_L1).await?;
    see(&b, "#org-status", "已通过").await?;
    ensure!(described(&b, "机构类型").await? == ["企业"]);
    ensure!(described(&b, "我的身份").await? == ["企业主账号"]);
    ensure!(b.texts(".who a").await? == [COMPANY_L1]);
    ensure!(b.texts(".who .muted").await? == ["企业主账号"]);
    let source = b.source().await?;
    ensure!(!source.contains(ID_P1) && !source.contains(USCC_L1));
    // The enterprise is bound: nothing to register, its sub-accounts to manage.
    ensure!(b.texts("a[href='/user/organisation']").await?.is_empty());
    b.click_text("管理子账号").await?;
    b.wait_for_path("/user/members").await?;
    see(&b, "h1", "子账号管理").await?;
    ensure!(b.texts("#members tbody td:first-child").await? == [COMPANY_L1]);
    b.quit().await
}

async fn a_registration_is_reviewed_in_the_console(env: Env) -> Result<()> {
    const NAME: &str = "龙岩测试农商银行";
    const REASON: &str = "请补充联系人的工作证明";
    let hub = federated_hub(&env, &[]).await?;
    let person = Chromium::start(&env, Viewport::DESKTOP).await?;
    person.goto(&hub.url("/")).await?;
    person.click_text_in(".who", "登录").await?;
    sign_in_as(&person, "闽政通个人登录", "李四（个人用户）").await?;
    see(&person, "#me-name", "李四").await?;
    person.click_text("登记机构").await?;
    person.wait_for_path("/user/organisation").await?;
    see(&person, "h1", "登记机构").await?;

    // Sent empty: each missing field says so beside it, and the list above says it too.
    person.click_text("提交审核").await?;
    see_field_error(&person, "kind", Some("请选择机构类型")).await?;
    see_field_error(&person, "name", Some("请填写机构名称")).await?;
    for quiet in ["uscc", "contact_name", "contact_phone", "introduction"] {
        see_field_error(&person, quiet, None).await?;
    }
    ensure!(person.texts(".form-errors li").await? == ["请选择机构类型", "请填写机构名称"]);
    // Typed again with a wrong credit code and telephone: their errors beside them, what was
    // typed still in every field.
    person.fill_label("机构名称", NAME).await?;
    person
        .fill_label("统一社会信用代码", "91350802MA2YLK3N0A")
        .await?;
    person.fill_label("联系电话", "abc").await?;
    person.click_text("提交审核").await?;
    see_field_error(
        &person,
        "uscc",
        Some("统一社会信用代码校验位不正确，请核对后重新填写"),
    )
    .await?;
    see_field_error(
        &person,
        "contact_phone",
        Some("联系电话格式不正确，请填写 7 至 20 位数字（可含“-”“+”）"),
    )
    .await?;
    see_field_error(&person, "kind", Some("请选择机构类型")).await?;
    see_field_error(&person, "name", None).await?;
    ensure!(person.value("name").await? == NAME);
    ensure!(person.value("uscc").await? == "91350802MA2YLK3N0A");
    ensure!(person.value("contact_phone").await? == "abc");
    // Corrected: registered, waiting for the review.
    fill_institution(&person, NAME, "服务小微企业的地方法人银行。").await?;
    person.click_text("提交审核").await?;
    person.wait_for_path("/user").await?;
    see(
        &person,
        ".flash",
        "机构登记已提交，平台运营方审核通过后即可使用机构功能。",
    )
    .await?;
    see(&person, "#org-name", NAME).await?;
    see(&person, "#org-status", "待审核").await?;
    ensure!(described(&person, "我的身份").await? == ["机构主账号"]);

    // The operator signs in through the form and finds it waiting.
    let op = operator(&env, &hub, "operator1", Role::SystemAdmin).await?;
    see(&op, "#pending-count", "1").await?;
    open_registration(&op, NAME).await?;
    see(&op, "#org-status", "待审核").await?;
    ensure!(described(&op, "联系人").await? == ["王经理"]);
    // A rejection needs a reason.
    op.click_text("驳回").await?;
    see_field_error(&op, "reason", Some("请填写驳回原因")).await?;
    see(&op, "#org-status", "待审核").await?;
    op.fill_label("驳回理由", REASON).await?;
    op.click_text("驳回").await?;
    see(&op, ".flash", "已驳回该机构的登记，驳回理由已告知对方。").await?;
    see(&op, "#org-status", "已驳回").await?;
    ensure!(described(&op, "驳回理由").await? == [REASON]);

    // The person sees the rejection and its reason, and corrects the registration.
    person.click_text_in("nav", "用户中心").await?;
    see(&person, "#org-status", "已驳回").await?;
    see(&person, "#reject-reason", REASON).await?;
    person.click_text("修改并重新提交").await?;
    person.wait_for_path("/user/organisation").await?;
    see(&person, "h1", "修改机构登记").await?;
    see(
        &person,
        ".notice-bad",
        &format!("上次提交未通过审核。驳回理由：{REASON}"),
    )
    .await?;
    ensure!(person.value("name").await? == NAME);
    ensure!(person.value("kind").await? == "institution");
    ensure!(person.value("contact_name").await? == "王经理");
    person
        .fill_label("机构简介", "已补充联系人的工作证明。")
        .await?;
    person.click_text("重新提交审核").await?;
    person.wait_for_path("/user").await?;
    see(&person, "#org-status", "待审核").await?;

    // The operator approves it; it is public.
    approve(&op, NAME).await?;
    person.click_text_in("nav", "用户中心").await?;
    see(&person, "#org-status", "已通过").await?;
    person.click_text_in("nav", "入驻机构").await?;
    person.wait_for_path("/institutions").await?;
    ensure!(person.texts("main .item-title").await? == [NAME]);
    person.click_text_in("main", NAME).await?;
    see(&person, "h1", NAME).await?;
    ensure!(described(&person, "机构类型").await? == ["金融机构"]);
    see(&person, "main .pre", "已补充联系人的工作证明。").await?;
    op.quit().await?;
    person.quit().await
}

/// A TOTP code the hub refuses now: none of the steps it accepts (the current one and one on
/// either side).
fn wrong_code(hub: &TestHub, admin: &TestAdmin) -> String {
    let now = platform::clock::Clock::now(&*hub.clock).as_secs();
    let accepted: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|d| platform::admin::totp::code_at(&admin.secret, now + d))
        .collect();
    (0..4)
        .map(|i| format!("{i}{i}{i}{i}{i}{i}"))
        .find(|c| !accepted.contains(c))
        .unwrap_or_default()
}

async fn an_issued_password_is_changed_at_the_first_console_sign_in(env: Env) -> Result<()> {
    const NEW: &str = "Longyan-Console-2025!";
    let hub = env.hub().await?;
    let admin = hub.issued_admin("sysadmin2", Role::SystemAdmin).await?;
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    b.goto(&hub.url("/console/login")).await?;
    see(&b, "h1", "管理员登录").await?;
    console_sign_in(&b, &admin.username, &admin.password, &hub.next_code(&admin)).await?;
    b.wait_for_path("/console/password").await?;
    see(
        &b,
        ".notice",
        "首次登录或密码被重置后，须先修改初始密码才能使用控制台。",
    )
    .await?;
    // Nothing else opens before the password is changed: 概览 comes back here.
    b.fill_label("当前密码", "typed before leaving").await?;
    b.click_text_in("nav", "概览").await?;
    browser::wait_until("the password page again", browser::WAIT, || async {
        Ok(b.value("current_password").await?.is_empty().then_some(()))
    })
    .await?;
    ensure!(
        b.path().await? == "/console/password",
        "{}",
        b.path().await?
    );
    // The confirmation must match.
    b.fill_label("当前密码", &admin.password).await?;
    b.fill_label("新密码", NEW).await?;
    b.fill_label("再次输入新密码", "Longyan-Console-2026!")
        .await?;
    b.click_text("修改密码").await?;
    see_field_error(&b, "confirm_password", Some("两次输入的新密码不一致")).await?;
    see_field_error(&b, "new_password", None).await?;
    for field in ["current_password", "new_password", "confirm_password"] {
        ensure!(b.value(field).await?.is_empty(), "{field} kept a password");
    }
    b.fill_label("当前密码", &admin.password).await?;
    b.fill_label("新密码", NEW).await?;
    b.fill_label("再次输入新密码", NEW).await?;
    b.click_text("修改密码").await?;
    b.wait_for_path("/console").await?;
    see(&b, ".flash", "密码已修改。").await?;
    see(&b, "h1", "概览").await?;
    ensure!(b.texts(".who span").await? == ["sysadmin2", "系统管理员"]);

    // Out, and in again with a wrong code: refused without saying which factor was wrong, the
    // user name kept and the password not.
    b.click_text("退出").await?;
    b.wait_for_path("/console/login").await?;
    console_sign_in(&b, &admin.username, NEW, &wrong_code(&hub, &admin)).await?;
    see(
        &b,
        "#login-error",
        "用户名、密码或动态口令不正确，请重新输入。",
    )
    .await?;
    ensure!(b.value("username").await? == "sysadmin2");
    ensure!(b.value("password").await?.is_empty());
    ensure!(b.value("totp").await?.is_empty());
    // The new password and a good code open the console.
    b.fill_label("密码", NEW).await?;
    b.fill_label("动态口令", &hub.next_code(&admin)).await?;
    b.click_text("登录").await?;
    b.wait_for_path("/console").await?;
    see(&b, "h1", "概览").await?;
    b.quit().await
}

/// Fails unless the page fits the phone's width and every link of `nav` (in this order) can be
/// brought into view and is not covered by anything.
async fn fits(b: &Chromium, nav: &[&str]) -> Result<()> {
    b.no_horizontal_scroll().await?;
    ensure!(b.texts("nav.nav a").await? == nav, "{}", b.path().await?);
    let v = b
        .js(
            "const out = [];
            for (const a of document.querySelectorAll('nav.nav a')) {
              a.scrollIntoView({ block: 'nearest', inline: 'nearest' });
              const r = a.getBoundingClientRect();
              const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
              if (r.left < -0.5 || r.right > window.innerWidth + 0.5 || !(top === a || a.contains(top)))
                out.push(a.innerText + ' at ' + r.left + '..' + r.right + (top ? ' under ' + top.outerHTML.slice(0, 60) : ''));
            }
            document.querySelectorAll('nav.nav ul').forEach(u => u.scrollLeft = 0);
            window.scrollTo(0, 0);
            return out;",
            vec![],
        )
        .await?;
    ensure!(
        v.as_array().is_some_and(|a| a.is_empty()),
        "{}: navigation links out of reach: {v}",
        b.path().await?
    );
    Ok(())
}

async fn the_pages_fit_a_phone(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = Chromium::start(&env, Viewport::PHONE).await?;
    b.goto(&hub.url("/")).await?;
    see(&b, "h1", "龙岩普惠金融服务平台").await?;
    fits(&b, &PORTAL_NAV).await?;
    // The header's search box is there on a phone too.
    b.wait_for("header input[name=q]").await?;
    for (column, path) in [("入驻机构", "/institutions"), ("网上办事", "/services")] {
        b.click_text_in("nav", column).await?;
        b.wait_for_path(path).await?;
        see(&b, "h1", column).await?;
        fits(&b, &PORTAL_NAV).await?;
    }
    // The site search, from the header: its page's own box is a usable one, as wide as the
    // form allows and in the page's type size.
    b.fill_label("站内搜索", "外汇").await?;
    b.submit().await?;
    b.wait_for_path("/search").await?;
    see(&b, "h1", "站内搜索").await?;
    fits(&b, &PORTAL_NAV).await?;
    let field = b
        .js(
            "const i = document.getElementById('q-page');
            return [i.getBoundingClientRect().width, getComputedStyle(i).fontSize, i.value];",
            vec![],
        )
        .await?;
    ensure!(
        field[0].as_f64().is_some_and(|w| w >= 200.0) && field[1] == "16px" && field[2] == "外汇",
        "the search page's box: {field}"
    );
    b.click_text_in(".who", "登录").await?;
    b.wait_for_path("/login").await?;
    see(&b, "h1", "登录").await?;
    fits(&b, &PORTAL_NAV).await?;
    sign_in_as(&b, "闽政通个人登录", "张三（个人用户）").await?;
    fits(&b, &PORTAL_NAV).await?;
    b.click_text("登记机构").await?;
    b.wait_for_path("/user/organisation").await?;
    see(&b, "h1", "登记机构").await?;
    fits(&b, &PORTAL_NAV).await?;
    // With every error shown, too.
    b.fill_label("统一社会信用代码", "91350802MA2YLK3N0A")
        .await?;
    b.fill_label("联系电话", "abc").await?;
    b.click_text("提交审核").await?;
    see_field_error(&b, "kind", Some("请选择机构类型")).await?;
    fits(&b, &PORTAL_NAV).await?;
    // The last column is reachable by a tap.
    b.click_text_in("nav", "用户中心").await?;
    b.wait_for_path("/user").await?;
    see(&b, "h1", "用户中心").await?;
    // The console's sign-in, from the footer.
    b.click_text_in("footer", "管理控制台").await?;
    b.wait_for_path("/console/login").await?;
    see(&b, "h1", "管理员登录").await?;
    fits(&b, &[]).await?;
    b.quit().await
}

async fn an_auditor_is_kept_out_of_the_review(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = operator(&env, &hub, "auditor1", Role::AuditAdmin).await?;
    see(&b, "h1", "概览").await?;
    ensure!(b.texts("nav.nav a").await? == ["概览", "审计日志"]);
    ensure!(b.texts("main .entries strong").await? == ["审计日志", "修改密码"]);
    ensure!(b.texts("#pending-count").await?.is_empty());
    ensure!(!b.page_text().await?.contains("机构审核"));
    // Typed in the address bar: the error page, in the console's layout.
    b.goto(&hub.url("/console/organisations")).await?;
    see(&b, "h1", "无权执行此操作").await?;
    see(&b, "main code", "auth.forbidden").await?;
    b.wait_for_text("您的账号没有访问此页面的权限。").await?;
    ensure!(b.path().await? == "/console/organisations");
    // The page came with 403, and the refusal is in the audit trail.
    let cookie = b.cookie(ADMIN_COOKIE).await?.context("no console cookie")?;
    let res = tests::client()
        .get(hub.url("/console/organisations"))
        .header("cookie", format!("{ADMIN_COOKIE}={}", cookie.value))
        .header("accept", "text/html")
        .send()
        .await?;
    ensure!(res.status() == 403, "{}", res.status());
    let db = hub.store.connect().await?;
    let denied = db
        .scalar_i64("SELECT COUNT(*) FROM audit_log WHERE event = 'access.denied'")
        .await?;
    db.close().await;
    ensure!(denied == 2, "{denied} access.denied records");
    b.quit().await
}

/// A system administrator signs in with password and TOTP code and edits a connector through
/// the form: a refused link is shown next to its field in Chinese with what was typed kept;
/// the corrected form saves a new version, which 网上办事 shows at once.
async fn a_system_administrator_edits_a_connector_in_the_console(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let b = operator(&env, &hub, "sysadmin1", Role::SystemAdmin).await?;
    b.click_text_in("nav", "外部平台").await?;
    b.wait_for_path("/console/connectors").await?;
    b.click_text("数字外管平台").await?;
    b.wait_for_path("/console/connectors/safe-forex").await?;
    let url = b.value("url").await?;
    ensure!(url.starts_with("http"), "{url}");
    ensure!(b.field_error("url").await?.is_none());
    b.fill("url", "javascript:alert(1)").await?;
    b.fill("name", "数字外管平台（演练）").await?;
    b.click_text("保存").await?;
    let error = wait_for_field_error(&b, "url").await?;
    ensure!(
        error
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "not Chinese: {error}"
    );
    ensure!(
        b.value("url").await? == "javascript:alert(1)",
        "the link typed is gone"
    );
    ensure!(
        b.value("name").await? == "数字外管平台（演练）",
        "the name typed is gone"
    );
    let db = hub.store.connect().await?;
    let version = "SELECT version FROM connectors WHERE code = 'safe-forex'";
    ensure!(
        db.scalar_i64(version).await? == 1,
        "a refused form saved something"
    );
    // Corrected: saved as version 2, and the portal shows the new name.
    b.fill("url", &url).await?;
    b.click_text("保存").await?;
    b.wait_for_text("已保存，生成了新的版本。").await?;
    ensure!(b.value("name").await? == "数字外管平台（演练）");
    ensure!(db.scalar_i64(version).await? == 2);
    ensure!(
        db.scalar_i64(
            "SELECT COUNT(*) FROM audit_log WHERE event = 'connector.updated' AND target = 'connector:safe-forex'"
        )
        .await?
            == 1
    );
    db.close().await;
    b.goto(&hub.url("/services")).await?;
    b.wait_for_text("数字外管平台（演练）").await?;
    b.quit().await
}

/// Waits until the field `name` shows an error next to it; returns the text.
async fn wait_for_field_error(b: &Chromium, name: &str) -> Result<String> {
    browser::wait_until(&format!("an error next to {name}"), browser::WAIT, || {
        b.field_error(name)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Content: written, reviewed, published, moved to the recycle bin and restored
// ---------------------------------------------------------------------------------------------

const POLICY_TITLE: &str = "龙岩市小微企业贷款贴息政策解读";
const POLICY_SUMMARY: &str = "龙岩市对小微企业贷款给予贴息支持的范围、比例和申请方式。";
const POLICY_TEXT: &str = "对符合条件的小微企业贷款给予贴息支持，贴息比例为贷款利息的50%。";
const POLICY_TEXT_FIXED: &str = "对符合条件的小微企业贷款给予贴息支持，贴息比例为按贷款市场报价利率（LPR）计算的利息的50%，单户年度贴息不超过20万元。";
const POLICY_TAGS: &str = "贴息，小微企业";
const POLICY_SOURCE: &str = "龙岩市财政局";
const REJECT_REASON: &str = "请写明贴息比例的计算基数和单户年度贴息上限。";
/// The tabs of 内容管理, in order.
const CONTENT_TABS: [&str; 7] = [
    "全部",
    "草稿",
    "待审核",
    "已发布",
    "已驳回",
    "已下线",
    "回收站",
];
const CONTENT_TAB_NAV: &str = "nav[aria-label='内容状态']";
const POLICY_TAB_NAV: &str = "nav[aria-label='政策专题分类']";
/// How long the site search may take to follow a publication, a removal or a restoration once
/// the console has confirmed it: the issue's "within a second", with room for the browser's
/// own page loads.
const SEARCH_FOLLOWS: Duration = Duration::from_secs(2);

/// Waits until the elements matching `css` read `expected` (all of them, in order); says what
/// they read instead when they never do.
async fn see_all(b: &Chromium, css: &str, expected: &[&str]) -> Result<()> {
    let r = browser::wait_until(
        &format!("{css} to read {expected:?}"),
        browser::WAIT,
        || async {
            let now = b.texts(css).await?;
            if now == expected {
                Ok(Some(()))
            } else {
                bail!("they read {now:?}")
            }
        },
    )
    .await;
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(e.context(format!("on {}", b.path().await.unwrap_or_default()))),
    }
}

/// The values of the ticked checkboxes named `name`.
async fn ticked(b: &Chromium, name: &str) -> Result<Vec<String>> {
    let v = b
        .js(
            "return [...document.querySelectorAll('input[type=checkbox]')]
              .filter(i => i.name === arguments[0] && i.checked).map(i => i.value);",
            vec![serde_json::json!(name)],
        )
        .await?;
    Ok(v.as_array()
        .context("ticked")?
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect())
}

/// The id of the article whose console page the browser is on (waiting for it).
async fn console_article_id(b: &Chromium) -> Result<String> {
    let u = b
        .wait_for_url("an article's page in the console", |u| {
            u.path()
                .strip_prefix("/console/content/")
                .is_some_and(|id| !id.is_empty() && id != "new" && !id.contains('/'))
        })
        .await?;
    Ok(u.path().rsplit('/').next().unwrap_or_default().to_owned())
}

/// In the console: 内容管理, then the article titled `title` in the tab the list opens on
/// (everything for an editor, the queue for a reviewer); waits for the article's page.
async fn open_article(b: &Chromium, id: &str, title: &str) -> Result<()> {
    b.click_text_in("nav", "内容管理").await?;
    b.wait_for_path("/console/content").await?;
    see(b, "h1", "内容管理").await?;
    b.click_text_in("#content", title).await?;
    b.wait_for_path(&format!("/console/content/{id}")).await?;
    see(b, "h1", title).await
}

/// The titles of the site search's content results for `q`, opened by its address.
async fn search_titles(v: &Chromium, hub: &TestHub, q: &str) -> Result<Vec<String>> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", q)
        .finish();
    v.goto(&hub.url(&format!("/search?{query}"))).await?;
    see(v, "h1", "站内搜索").await?;
    v.texts("#search-results a[href^='/articles/']").await
}

/// Right after the console confirmed a step: waits at most [`SEARCH_FOLLOWS`] until the site
/// search for `q` lists `title` (`shown`) or no longer does, searching again and again as a
/// visitor reloading the page would.
async fn search_follows(
    v: &Chromium,
    hub: &TestHub,
    q: &str,
    title: &str,
    shown: bool,
) -> Result<()> {
    let what = format!(
        "the search for {q:?} {} {title:?}",
        if shown {
            "to list"
        } else {
            "to no longer list"
        }
    );
    browser::wait_until(&what, SEARCH_FOLLOWS, || async {
        let titles = search_titles(v, hub, q).await?;
        if titles.iter().any(|t| t == title) == shown {
            Ok(Some(()))
        } else {
            bail!("it lists {titles:?}")
        }
    })
    .await
}

/// The titles a visitor sees listed on the column page at `path`, opened by its address.
async fn listed_at(v: &Chromium, hub: &TestHub, path: &str, heading: &str) -> Result<Vec<String>> {
    v.goto(&hub.url(path)).await?;
    see(v, "h1", heading).await?;
    v.texts("#articles .item-title").await
}

/// The issue's editorial workflow, in two administrators' browsers: an editor writes a policy
/// for 政策专题 › 龙岩市 (an empty title is refused beside its field in Chinese, everything else
/// kept) and submits it; the reviewer rejects it with a reason; the editor sees the reason,
/// corrects the text and submits it again (two revisions); the reviewer publishes it, and a
/// visitor finds it on 政策专题 (all and 龙岩市, not 福建省) and, within a second, in the site
/// search with the word marked; moved to the recycle bin it is gone from both (and its page),
/// restored it is back. The pages on the way are saved as screenshots, the public article on a
/// phone too, where it must not scroll sideways.
async fn an_editor_writes_a_policy_that_a_reviewer_rejects_publishes_and_bins(
    env: Env,
) -> Result<()> {
    let body = format!("<p>{POLICY_TEXT}</p>");
    let body_fixed = format!("<p>{POLICY_TEXT_FIXED}</p>");
    let hub = federated_hub(&env, &[]).await?;

    // The editor opens 内容管理: nothing yet, 撰写内容 offered.
    let ed = operator(&env, &hub, "editor1", Role::ContentEditor).await?;
    ensure!(
        ed.texts(".who span").await? == ["editor1", "内容编辑"],
        "{:?}",
        ed.texts(".who span").await?
    );
    ed.click_text_in("nav", "内容管理").await?;
    ed.wait_for_path("/console/content").await?;
    see(&ed, "h1", "内容管理").await?;
    see_all(&ed, &format!("{CONTENT_TAB_NAV} a"), &CONTENT_TABS).await?;
    see_all(
        &ed,
        &format!("{CONTENT_TAB_NAV} a[aria-current=page]"),
        &["全部"],
    )
    .await?;
    ensure!(ed.texts("#content tbody tr").await?.is_empty());
    ed.wait_for_text("没有符合条件的内容。").await?;
    ed.click_text("撰写内容").await?;
    ed.wait_for_path("/console/content/new").await?;
    see(&ed, "h1", "撰写内容").await?;
    ed.wait_for("#editor-form").await?;
    ed.fill_label("标题", POLICY_TITLE).await?;
    ed.choose("龙岩市").await?;
    ensure!(ticked(&ed, "columns").await? == ["policy-longyan"]);
    ed.fill_label("摘要", POLICY_SUMMARY).await?;
    ed.fill_label("正文", &body).await?;
    ed.fill_label("标签", POLICY_TAGS).await?;
    ed.fill_label("来源 / 发文机关", POLICY_SOURCE).await?;
    shoot_as_is(&ed, "console-content-editor").await?;

    // Without a title: refused beside the field, in Chinese, with the rest kept as typed.
    ed.fill_label("标题", "").await?;
    ed.click_text("保存并提交审核").await?;
    see_field_error(&ed, "title", Some("请填写标题。")).await?;
    ensure!(
        ed.texts(".form-errors li").await? == ["请填写标题。"],
        "{:?}",
        ed.texts(".form-errors li").await?
    );
    for quiet in ["summary", "body", "tags", "source"] {
        see_field_error(&ed, quiet, None).await?;
    }
    ensure!(ed.texts("#e-columns").await?.is_empty());
    ensure!(
        ed.path().await? == "/console/content/new",
        "{}",
        ed.path().await?
    );
    ensure!(ed.value("title").await?.is_empty());
    ensure!(ticked(&ed, "columns").await? == ["policy-longyan"]);
    for (field, typed) in [
        ("summary", POLICY_SUMMARY),
        ("body", body.as_str()),
        ("tags", POLICY_TAGS),
        ("source", POLICY_SOURCE),
    ] {
        let now = ed.value(field).await?;
        ensure!(
            now == typed,
            "{field} reads {now:?}, not the {typed:?} typed"
        );
    }
    shoot_as_is(&ed, "console-content-editor-errors").await?;

    // With its title: saved and submitted, pending, no longer the editor's to change.
    ed.fill_label("标题", POLICY_TITLE).await?;
    ed.click_text("保存并提交审核").await?;
    let id = console_article_id(&ed).await?;
    see(&ed, ".flash", "已提交审核，审核人员将收到待审核提醒。").await?;
    see(&ed, "h1", POLICY_TITLE).await?;
    see_all(&ed, "main .top-row .badge", &["待审核"]).await?;
    ensure!(ed.find_all("#editor-form").await?.is_empty());
    ensure!(ed.find_all("#review-title").await?.is_empty());
    see_all(&ed, "#revisions tbody td:first-child", &["第 1 版"]).await?;

    // The reviewer, in a browser of their own, finds it in the queue and rejects it.
    let rv = operator(&env, &hub, "reviewer1", Role::ContentReviewer).await?;
    ensure!(
        rv.texts(".who span").await? == ["reviewer1", "内容审核"],
        "{:?}",
        rv.texts(".who span").await?
    );
    rv.click_text_in("nav", "内容管理").await?;
    rv.wait_for_path("/console/content").await?;
    see(&rv, "h1", "内容管理").await?;
    see_all(&rv, &format!("{CONTENT_TAB_NAV} a"), &CONTENT_TABS).await?;
    see_all(
        &rv,
        &format!("{CONTENT_TAB_NAV} a[aria-current=page]"),
        &["待审核"],
    )
    .await?;
    ensure!(
        rv.texts("main a[href='/console/content/new']")
            .await?
            .is_empty(),
        "a reviewer is offered 撰写内容"
    );
    see_all(&rv, "#content tbody td:first-child", &[POLICY_TITLE]).await?;
    let row = rv.texts("#content tbody tr").await?.join(" ");
    ensure!(
        row.contains("龙岩市") && row.contains("待审核") && row.contains("editor1"),
        "{row}"
    );
    shoot_as_is(&rv, "console-content").await?;
    rv.click_text_in("#content", POLICY_TITLE).await?;
    rv.wait_for_path(&format!("/console/content/{id}")).await?;
    see(&rv, "h1", POLICY_TITLE).await?;
    see_all(&rv, "main .top-row .badge", &["待审核"]).await?;
    see(&rv, "#review-title", "审核").await?;
    see(&rv, "main .article-body.preview", POLICY_TEXT).await?;
    ensure!(rv.find_all("#editor-form").await?.is_empty());
    shoot_as_is(&rv, "console-content-review").await?;
    rv.fill_label("驳回理由", REJECT_REASON).await?;
    rv.click_text("驳回").await?;
    see(&rv, ".flash", "已驳回，作者将看到驳回理由。").await?;
    see_all(&rv, "main .top-row .badge", &["已驳回"]).await?;
    see(&rv, "#reject-reason", &format!("驳回理由：{REJECT_REASON}")).await?;
    ensure!(rv.find_all("#review-title").await?.is_empty());

    // The editor sees the rejection and its reason, corrects the text and submits it again.
    open_article(&ed, &id, POLICY_TITLE).await?;
    see_all(&ed, "main .top-row .badge", &["已驳回"]).await?;
    see(&ed, "#reject-reason", &format!("驳回理由：{REJECT_REASON}")).await?;
    ed.wait_for("#editor-form").await?;
    ensure!(ed.value("title").await? == POLICY_TITLE);
    ensure!(
        ed.value("body").await? == body,
        "{}",
        ed.value("body").await?
    );
    ensure!(
        ed.value("tags").await? == POLICY_TAGS,
        "{}",
        ed.value("tags").await?
    );
    ensure!(ticked(&ed, "columns").await? == ["policy-longyan"]);
    ed.fill_label("正文", &body_fixed).await?;
    ed.click_text("保存并提交审核").await?;
    see(&ed, ".flash", "已提交审核，审核人员将收到待审核提醒。").await?;
    see_all(&ed, "main .top-row .badge", &["待审核"]).await?;
    ensure!(ed.path().await? == format!("/console/content/{id}?ok=submitted"));
    // Two revisions: the first as written, the second as corrected.
    let mut revisions = ed.texts("#revisions tbody td:first-child").await?;
    revisions.sort();
    ensure!(revisions == ["第 1 版", "第 2 版"], "{revisions:?}");
    ensure!(
        ed.texts("#revisions tbody a").await?.len() == 2,
        "{:?}",
        ed.texts("#revisions tbody a").await?
    );
    ed.click_text_in("#revisions", "第 1 版").await?;
    ed.wait_for_path(&format!("/console/content/{id}/revisions/1"))
        .await?;
    see(&ed, "h1", "第 1 版").await?;
    see(&ed, "#rev-title", POLICY_TITLE).await?;
    see(&ed, "main .article-body", POLICY_TEXT).await?;
    ed.back().await?;
    ed.wait_for_path(&format!("/console/content/{id}")).await?;
    ed.click_text_in("#revisions", "第 2 版").await?;
    ed.wait_for_path(&format!("/console/content/{id}/revisions/2"))
        .await?;
    see(&ed, "h1", "第 2 版（当前版本）").await?;
    see(&ed, "main .article-body", POLICY_TEXT_FIXED).await?;

    // Not published yet: a visitor finds it neither on 政策专题 nor in the search.
    let v = Chromium::start(&env, Viewport::DESKTOP).await?;
    let listed = listed_at(&v, &hub, "/policies", "政策专题").await?;
    ensure!(
        listed.is_empty(),
        "/policies lists {listed:?} before publication"
    );
    let found = search_titles(&v, &hub, "贴息").await?;
    ensure!(
        found.is_empty(),
        "the search finds {found:?} before publication"
    );

    // The reviewer publishes the corrected text; a visitor finds it in the site search within
    // a second, the word searched for marked.
    open_article(&rv, &id, POLICY_TITLE).await?;
    see_all(&rv, "main .top-row .badge", &["待审核"]).await?;
    see(&rv, "main .article-body.preview", POLICY_TEXT_FIXED).await?;
    rv.click_text("审核通过并发布").await?;
    see(&rv, ".flash", "已发布，内容已出现在所选栏目和站内搜索中。").await?;
    search_follows(&v, &hub, "贴息", POLICY_TITLE, true).await?;
    let marks = v
        .texts(&format!("#search-results a[href='/articles/{id}'] mark"))
        .await?;
    ensure!(
        !marks.is_empty() && marks.iter().all(|m| m == "贴息"),
        "the title's marks: {marks:?}"
    );
    shoot_as_is(&v, "search-content").await?;
    see_all(&rv, "main .top-row .badge", &["已发布"]).await?;
    let mut revisions = rv.texts("#revisions tbody td:first-child").await?;
    revisions.sort();
    ensure!(revisions == ["第 1 版", "第 2 版"], "{revisions:?}");
    rv.wait_for(&format!("a[href='/articles/{id}']")).await?;

    // And on 政策专题: all of it and 龙岩市, not 福建省.
    v.goto(&hub.url("/")).await?;
    v.click_text_in("nav", "政策专题").await?;
    v.wait_for_path("/policies").await?;
    see(&v, "h1", "政策专题").await?;
    see_all(&v, "#articles .item-title", &[POLICY_TITLE]).await?;
    v.click_text_in(POLICY_TAB_NAV, "福建省").await?;
    see_all(
        &v,
        &format!("{POLICY_TAB_NAV} a[aria-current=page]"),
        &["福建省"],
    )
    .await?;
    ensure!(
        v.texts("#articles .item-title").await?.is_empty(),
        "listed under 福建省: {:?}",
        v.texts("#articles .item-title").await?
    );
    v.click_text_in(POLICY_TAB_NAV, "龙岩市").await?;
    see_all(
        &v,
        &format!("{POLICY_TAB_NAV} a[aria-current=page]"),
        &["龙岩市"],
    )
    .await?;
    ensure!(
        v.path().await? == "/policies?c=policy-longyan",
        "{}",
        v.path().await?
    );
    see_all(&v, "#articles .item-title", &[POLICY_TITLE]).await?;
    shoot_as_is(&v, "policies-longyan").await?;
    v.click_text_in("#articles", POLICY_TITLE).await?;
    v.wait_for_path(&format!("/articles/{id}")).await?;
    see(&v, "#article h1", POLICY_TITLE).await?;
    see(&v, "#article .article-body", POLICY_TEXT_FIXED).await?;
    see(&v, "#article .lead", POLICY_SUMMARY).await?;
    ensure!(v.texts("#article a.tag").await? == ["贴息", "小微企业"]);
    ensure!(v.texts("nav.crumbs a").await? == ["龙岩市"]);
    ensure!(
        v.page_text()
            .await?
            .contains(&format!("来源：{POLICY_SOURCE}")),
        "no source on the article's page"
    );
    shoot_as_is(&v, "article").await?;

    // The article on a phone: readable without scrolling sideways.
    let p = Chromium::start(&env, Viewport::PHONE).await?;
    p.goto(&hub.url(&format!("/articles/{id}"))).await?;
    see(&p, "#article h1", POLICY_TITLE).await?;
    p.no_horizontal_scroll().await?;
    shoot_as_is(&p, "article").await?;
    p.quit().await?;

    // The reviewer moves it to the recycle bin: gone from 政策专题, its page and the search.
    rv.click_text("移入回收站").await?;
    see(&rv, ".flash", "已移入回收站。").await?;
    search_follows(&v, &hub, "贴息", POLICY_TITLE, false).await?;
    see_all(&rv, "main .top-row .badge", &["已发布", "回收站"]).await?;
    for button in ["恢复", "彻底删除"] {
        ensure!(
            rv.texts("main form button")
                .await?
                .iter()
                .any(|b| b == button),
            "no {button} in the recycle bin: {:?}",
            rv.texts("main form button").await?
        );
    }
    let listed = listed_at(&v, &hub, "/policies", "政策专题").await?;
    ensure!(listed.is_empty(), "/policies still lists {listed:?}");
    let listed = listed_at(&v, &hub, "/policies?c=policy-longyan", "政策专题").await?;
    ensure!(
        listed.is_empty(),
        "/policies?c=policy-longyan still lists {listed:?}"
    );
    let errors = v.console_errors().await?;
    ensure!(errors.is_empty(), "{errors:?}");
    let page = hub.url(&format!("/articles/{id}"));
    v.goto(&page).await?;
    let errors = browser::wait_until("the article page's status", browser::WAIT, || async {
        let e = v.console_errors().await?;
        Ok((!e.is_empty()).then_some(e))
    })
    .await?;
    ensure!(
        errors
            == [format!(
                "{page} - Failed to load resource: the server responded with a status of 404 (Not Found)"
            )],
        "{errors:?}"
    );
    ensure!(v.find_all("#article").await?.is_empty());
    ensure!(!v.page_text().await?.contains(POLICY_TEXT_FIXED));

    // It waits in the recycle bin; restored, it is back everywhere.
    rv.click_text_in("nav", "内容管理").await?;
    rv.wait_for_path("/console/content").await?;
    rv.click_text_in(CONTENT_TAB_NAV, "回收站").await?;
    see_all(
        &rv,
        &format!("{CONTENT_TAB_NAV} a[aria-current=page]"),
        &["回收站"],
    )
    .await?;
    see_all(&rv, "#content tbody td:first-child", &[POLICY_TITLE]).await?;
    rv.click_text_in("#content", POLICY_TITLE).await?;
    rv.wait_for_path(&format!("/console/content/{id}")).await?;
    see_all(&rv, "main .top-row .badge", &["已发布", "回收站"]).await?;
    rv.click_text("恢复").await?;
    see(&rv, ".flash", "已从回收站恢复。").await?;
    search_follows(&v, &hub, "贴息", POLICY_TITLE, true).await?;
    see_all(&rv, "main .top-row .badge", &["已发布"]).await?;
    let listed = listed_at(&v, &hub, "/policies", "政策专题").await?;
    ensure!(listed == [POLICY_TITLE], "/policies lists {listed:?}");
    let listed = listed_at(&v, &hub, "/policies?c=policy-longyan", "政策专题").await?;
    ensure!(
        listed == [POLICY_TITLE],
        "/policies?c=policy-longyan lists {listed:?}"
    );
    v.goto(&page).await?;
    see(&v, "#article h1", POLICY_TITLE).await?;

    for (b, who) in [
        (&ed, "the editor"),
        (&rv, "the reviewer"),
        (&v, "the visitor"),
    ] {
        page_is_clean(b, who).await?;
    }
    ed.quit().await?;
    rv.quit().await?;
    v.quit().await
}

// ---------------------------------------------------------------------------------------------
// Screenshots
// ---------------------------------------------------------------------------------------------

/// From 用户中心 of someone without an organisation: 登记机构, a financial institution named
/// `name`, 提交审核; back on 用户中心, pending.
async fn register_institution(b: &Chromium, name: &str) -> Result<()> {
    b.click_text("登记机构").await?;
    b.wait_for_path("/user/organisation").await?;
    fill_institution(b, name, "服务小微企业和“三农”的地方金融机构。").await?;
    b.click_text("提交审核").await?;
    b.wait_for_path("/user").await?;
    see(b, "#org-status", "待审核").await
}

/// Checks that the page says it is Chinese and that the browser's console has no error since
/// the last look (the page's own status aside: a form sent back with its errors is a 422), then
/// saves it whole at the desktop width and at a phone's, as `<name>-desktop` and `<name>-phone`.
async fn shoot(b: &mut Chromium, name: &str) -> Result<()> {
    page_is_clean(b, name).await?;
    b.full_page_screenshot(&format!("{name}-desktop")).await?;
    b.set_viewport(Viewport::PHONE).await?;
    b.full_page_screenshot(&format!("{name}-phone")).await?;
    b.set_viewport(Viewport::DESKTOP).await
}

/// As [`shoot`], at the browser's own width only, as `<name>-desktop` (or `<name>-phone`).
async fn shoot_as_is(b: &Chromium, name: &str) -> Result<()> {
    page_is_clean(b, name).await?;
    let width = if b.viewport() == Viewport::PHONE {
        "phone"
    } else {
        "desktop"
    };
    b.full_page_screenshot(&format!("{name}-{width}")).await?;
    Ok(())
}

/// The checks of [`shoot`]: the page says it is Chinese, and the console has no error since the
/// last look but the page's own status.
async fn page_is_clean(b: &Chromium, name: &str) -> Result<()> {
    let lang = b
        .js(
            "return document.documentElement.getAttribute('lang');",
            vec![],
        )
        .await?;
    ensure!(lang == "zh-CN", "{name}: <html lang={lang}>");
    let here = b.current_url().await?;
    let errors: Vec<String> = b
        .console_errors()
        .await?
        .into_iter()
        .filter(|e| !e.starts_with(&format!("{here} - Failed to load resource")))
        // The simulator's pages name no icon, so the browser asks for /favicon.ico, which the
        // hub does not serve (its own pages name theirs).
        .filter(|e| !(here.path().starts_with("/sandbox/") && e.contains("/favicon.ico - ")))
        .collect();
    ensure!(errors.is_empty(), "{name} ({here}): {errors:?}");
    Ok(())
}

async fn screenshots(env: Env) -> Result<()> {
    const BANK: &str = "龙岩测试农商银行";
    const GUARANTEE: &str = "闽西融资担保有限公司（测试）";
    let hub = federated_hub(&env, &[]).await?;
    let mut op = Chromium::start(&env, Viewport::DESKTOP).await?;
    let admin = hub.admin("operator1", Role::SystemAdmin).await?;
    op.goto(&hub.url("/console/login")).await?;
    see(&op, "h1", "管理员登录").await?;
    shoot(&mut op, "console-login").await?;
    console_sign_in(
        &op,
        &admin.username,
        &admin.password,
        &hub.next_code(&admin),
    )
    .await?;
    op.wait_for_path("/console").await?;

    // 张三 registers a bank, showing the form's errors on the way.
    let mut a = Chromium::start(&env, Viewport::DESKTOP).await?;
    a.goto(&hub.url("/login")).await?;
    a.click_text("闽政通个人登录").await?;
    a.wait_for_path(SANDBOX_LOGIN).await?;
    a.wait_for_text("请选择一个测试身份登录").await?;
    shoot(&mut a, "sandbox-login").await?;
    a.choose("张三（个人用户）").await?;
    a.click_text("登录").await?;
    a.wait_for_path("/user").await?;
    a.click_text("登记机构").await?;
    a.wait_for_path("/user/organisation").await?;
    a.fill_label("统一社会信用代码", "91350802MA2YLK3N0A")
        .await?;
    a.click_text("提交审核").await?;
    see_field_error(&a, "kind", Some("请选择机构类型")).await?;
    shoot(&mut a, "user-organisation-errors").await?;
    fill_institution(&a, BANK, "服务小微企业和“三农”的地方法人银行。").await?;
    a.click_text("提交审核").await?;
    a.wait_for_path("/user").await?;
    see(&a, "#org-status", "待审核").await?;
    // 李四 registers a guarantee company.
    let b = Chromium::start(&env, Viewport::DESKTOP).await?;
    b.goto(&hub.url("/login")).await?;
    sign_in_as(&b, "闽政通个人登录", "李四（个人用户）").await?;
    register_institution(&b, GUARANTEE).await?;
    b.quit().await?;

    // The operator reviews them.
    op.click_text_in("nav", "机构审核").await?;
    op.wait_for_path("/console/organisations").await?;
    ensure!(op.texts("#organisations tbody td:first-child").await?.len() == 2);
    shoot(&mut op, "console-organisations").await?;
    open_registration(&op, BANK).await?;
    shoot(&mut op, "console-organisation").await?;
    approve(&op, BANK).await?;
    approve(&op, GUARANTEE).await?;
    // The figures are counted again once their few seconds of reuse are over.
    hub.clock.advance(Duration::from_secs(6));
    op.click_text_in("nav", "概览").await?;
    op.wait_for_path("/console").await?;
    see(&op, "#pending-count", "0").await?;
    ensure!(
        op.texts("main .figures strong").await? == ["0", "2", "0", "0", "0.00"],
        "{:?}",
        op.texts("main .figures strong").await?
    );
    shoot(&mut op, "console-home").await?;
    op.quit().await?;

    a.click_text_in("nav", "用户中心").await?;
    see(&a, "#org-status", "已通过").await?;
    shoot(&mut a, "user").await?;
    a.click_text("管理子账号").await?;
    a.wait_for_path("/user/members").await?;
    see(&a, "h1", "子账号管理").await?;
    shoot(&mut a, "members").await?;
    a.quit().await?;

    // A visitor's pages.
    let mut v = Chromium::start(&env, Viewport::DESKTOP).await?;
    v.goto(&hub.url("/")).await?;
    see(&v, "h1", "龙岩普惠金融服务平台").await?;
    see(&v, "#fig-institutions", "2").await?;
    shoot(&mut v, "home").await?;
    for (column, path, name) in [
        ("政策专题", "/policies", "policies"),
        ("入驻机构", "/institutions", "institutions"),
        ("网上办事", "/services", "services"),
    ] {
        v.click_text_in("nav", column).await?;
        v.wait_for_path(path).await?;
        see(&v, "h1", column).await?;
        if name == "institutions" {
            let mut listed = v.texts("main .item-title").await?;
            listed.sort();
            ensure!(listed == [GUARANTEE, BANK], "{listed:?}");
        }
        shoot(&mut v, name).await?;
    }
    v.fill_label("站内搜索", "龙岩").await?;
    v.submit().await?;
    v.wait_for_path("/search").await?;
    see(&v, "h1", "站内搜索").await?;
    v.wait_for("main mark").await?;
    ensure!(v.texts("main .item-title mark").await? == ["龙岩"]);
    shoot(&mut v, "search").await?;
    v.click_text_in(".who", "登录").await?;
    v.wait_for_path("/login").await?;
    see(&v, "h1", "登录").await?;
    shoot(&mut v, "login").await?;
    v.quit().await
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

const MARKET_BANK: &str = "龙岩测试农商银行";
const MARKET_GUARANTOR: &str = "闽西测试融资担保公司";
const MARKET_PRODUCT: &str = "小微企业信用贷";
const MARKET_PHONE: &str = "13900000002";

/// The marketplace on its pages: an institution lists a product through the operators' review;
/// an enterprise publishes a demand (a bad amount refused beside the field first); the operator
/// approves it; both institutions see it in the market without the enterprise's name or
/// contacts; one takes it and the other is told it was too late; the enterprise confirms the
/// winner, which then sees who it is and records the loan; the home page counts it.
async fn a_demand_is_taken_anonymously_confirmed_and_disbursed_on_the_pages(
    env: Env,
) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let op = operator(&env, &hub, "operator1", Role::SystemAdmin).await?;
    let bank = Chromium::start(&env, Viewport::DESKTOP).await?;
    bank.goto(&hub.url("/login")).await?;
    sign_in_as(&bank, "闽政通个人登录", "张三（个人用户）").await?;
    // The simulator's pages name no icon: forget the browser's /favicon.ico 404 from there.
    bank.console_errors().await?;
    register_institution(&bank, MARKET_BANK).await?;
    let guarantor = Chromium::start(&env, Viewport::DESKTOP).await?;
    guarantor.goto(&hub.url("/login")).await?;
    sign_in_as(&guarantor, "闽政通个人登录", "李四（个人用户）").await?;
    // The simulator's pages name no icon: forget the browser's /favicon.ico 404 from there.
    guarantor.console_errors().await?;
    register_institution(&guarantor, MARKET_GUARANTOR).await?;
    approve(&op, MARKET_BANK).await?;
    approve(&op, MARKET_GUARANTOR).await?;

    // The bank writes a product and submits it; the operator lists it.
    bank.goto(&hub.url("/user")).await?;
    bank.click_text("我的金融产品").await?;
    bank.wait_for_path("/user/products").await?;
    bank.goto(&hub.url("/user/products/new")).await?;
    bank.fill_label("产品名称", MARKET_PRODUCT).await?;
    bank.fill_label("机构类型", "银行").await?;
    bank.fill_label("产品类型", "债权融资").await?;
    bank.fill_label("办理方式", "线上办理").await?;
    bank.choose("信用").await?;
    bank.fill_label("最低额度（万元）", "10").await?;
    bank.fill_label("最高额度（万元）", "300").await?;
    bank.fill_label("最低年利率（%）", "3.45").await?;
    bank.fill_label("最高年利率（%）", "5.5").await?;
    bank.fill_label("最短期限（月）", "3").await?;
    bank.fill_label("最长期限（月）", "36").await?;
    bank.fill_label("申请条件", "在龙岩注册经营满一年").await?;
    bank.click_text("保存并提交审核").await?;
    bank.wait_for_text("待审核").await?;
    op.goto(&hub.url("/console")).await?;
    op.click_text_in("nav", "金融市场审核").await?;
    op.wait_for_path("/console/market").await?;
    op.click_text_in("main", MARKET_PRODUCT).await?;
    see(&op, "h1", MARKET_PRODUCT).await?;
    op.click_text("审核通过并上架").await?;
    see(&op, "#product-status", "已上架").await?;

    // The enterprise publishes a demand; a bad amount is refused beside the field, input kept.
    let ent = Chromium::start(&env, Viewport::DESKTOP).await?;
    ent.goto(&hub.url("/login")).await?;
    sign_in_as(&ent, "闽政通法人登录", COMPANY_L1).await?;
    ent.console_errors().await?;
    ent.click_text("发布融资需求").await?;
    ent.wait_for_path("/user/demands/new").await?;
    ent.fill_label("融资金额（万元）", "一百万").await?;
    ent.fill_label("融资期限（月）", "12").await?;
    ent.fill_label("可接受最高年利率（%）", "5").await?;
    ent.fill_label("担保方式", "信用").await?;
    ent.fill_label("所属行业", "制造业").await?;
    ent.fill_label("所在区域", "新罗区").await?;
    ent.fill_label("资金用途", "采购原材料").await?;
    ent.fill_label("联系人", "林经理").await?;
    ent.fill_label("联系电话", MARKET_PHONE).await?;
    ent.click_text("提交审核").await?;
    let error = wait_for_field_error(&ent, "amount").await?;
    ensure!(error.contains("融资金额"), "{error}");
    ensure!(
        ent.value("purpose").await? == "采购原材料"
            && ent.value("contact_phone").await? == MARKET_PHONE
    );
    shoot_as_is(&ent, "market-demand-errors").await?;
    ent.fill_label("融资金额（万元）", "150").await?;
    ent.click_text("提交审核").await?;
    ent.wait_for_url("the demand's page", |u| {
        u.path().starts_with("/user/demands/") && !u.path().ends_with("/new")
    })
    .await?;
    ent.wait_for_text("待审核").await?;
    let demand_path = ent.path().await?;

    // The operator approves it into the market.
    op.goto(&hub.url("/console/market")).await?;
    op.click_text_in("main", COMPANY_L1).await?;
    op.wait_for_text("需求内容").await?;
    op.click_text("审核通过，进入需求市场").await?;
    op.wait_for_text("对接中").await?;

    // Both institutions see it, without the enterprise; the bank's product is the best fit.
    for b in [&bank, &guarantor] {
        b.goto(&hub.url("/user/market")).await?;
        b.wait_for_text("采购原材料").await?;
        let source = b.source().await?;
        for secret in [COMPANY_L1, MARKET_PHONE, "林经理", "3N0B"] {
            ensure!(!source.contains(secret), "the market shows {secret}");
        }
    }
    bank.wait_for_text(MARKET_PRODUCT).await?;
    shoot_as_is(&bank, "market-anonymous").await?;

    // The guarantor takes it; the bank, a moment late, is told so.
    guarantor.click_text("抢单").await?;
    guarantor
        .wait_for_url("the taken demand", |u| {
            u.path().starts_with("/user/market/")
        })
        .await?;
    guarantor
        .wait_for_text("企业信息在企业确认贵机构后可见")
        .await?;
    ensure!(
        !guarantor.source().await?.contains(COMPANY_L1),
        "named before confirmation"
    );
    bank.click_text("抢单").await?;
    bank.wait_for_text("手慢了").await?;

    // The enterprise confirms the guarantor, which now sees the enterprise and records the loan.
    ent.goto(&hub.url(&demand_path)).await?;
    ent.wait_for_text(MARKET_GUARANTOR).await?;
    ent.click_text("确认该机构").await?;
    ent.wait_for_text("已确认机构").await?;
    guarantor.goto(&hub.url(&guarantor.path().await?)).await?;
    guarantor.wait_for_text(COMPANY_L1).await?;
    guarantor.wait_for_text(MARKET_PHONE).await?;
    let today = time::OffsetDateTime::from_unix_timestamp(
        platform::clock::Clock::now(&*hub.clock).0 / 1000,
    )?
    .to_offset(time::macros::offset!(+8))
    .date()
    .to_string();
    // The operator sets what a loan is worth in points before it is recorded.
    op.goto(&hub.url("/console/market")).await?;
    op.fill_label("完成放款的分值", "30").await?;
    op.submit().await?;
    op.wait_for_text("积分规则已保存").await?;
    guarantor.fill_label("放款金额（万元）", "120").await?;
    guarantor.fill_label("放款日期", &today).await?;
    guarantor.click_text("登记放款").await?;
    guarantor.wait_for_text("已放款").await?;
    shoot_as_is(&guarantor, "market-disbursed").await?;

    // Both sides rate each other; the points follow the operator's rules.
    guarantor.fill_label("评分", "4 分 · 满意").await?;
    guarantor
        .fill_label("评价内容", "资料齐全，沟通顺畅")
        .await?;
    guarantor.click_text("提交评价").await?;
    guarantor.wait_for_text("感谢您的评价").await?;
    ent.goto(&hub.url(&demand_path)).await?;
    ent.fill_label("评分", "5 分 · 非常满意").await?;
    ent.click_text("提交评价").await?;
    ent.wait_for_text("感谢您的评价").await?;
    ent.wait_for_text("机构对企业的评价").await?;
    // The enterprise: joined (20) and signed in today (1), demand approved (10), the loan (30
    // as set), a positive rating (5); the guarantor: the loan and a positive rating.
    ent.goto(&hub.url("/user/points")).await?;
    see(&ent, "#balance", "66").await?;
    guarantor.goto(&hub.url("/user/points")).await?;
    see(&guarantor, "#balance", "35").await?;
    shoot_as_is(&guarantor, "market-points").await?;

    // Every step told the enterprise: its messages, with the unread count on 用户中心.
    ent.goto(&hub.url("/user")).await?;
    ent.wait_for("#unread-badge").await?;
    ent.click_text("站内消息").await?;
    ent.wait_for_path("/user/messages").await?;
    ent.wait_for_text("融资需求已放款").await?;
    ent.wait_for_text("融资需求已被机构抢单").await?;
    shoot_as_is(&ent, "market-messages").await?;

    // The enterprise applies for the bank's product online; the bank answers on its page.
    ent.goto(&hub.url("/products")).await?;
    ent.click_text(MARKET_PRODUCT).await?;
    ent.click_text("在线申请").await?;
    ent.wait_for("#apply-form").await?;
    ensure!(
        !ent.value("contact_name").await?.is_empty(),
        "the form is pre-filled from the company"
    );
    ent.fill_label("申请金额（万元）", "500").await?;
    ent.fill_label("资金用途", "购置生产设备").await?;
    ent.fill_label("联系电话", MARKET_PHONE).await?;
    ent.click_text("提交申请").await?;
    let error = wait_for_field_error(&ent, "amount").await?;
    ensure!(error.contains("额度"), "{error}");
    ensure!(ent.value("purpose").await? == "购置生产设备");
    ent.fill_label("申请金额（万元）", "100").await?;
    ent.click_text("提交申请").await?;
    ent.wait_for_text("待机构答复").await?;
    let application_path = ent.current_url().await?.path().to_owned();
    bank.goto(&hub.url("/user")).await?;
    bank.wait_for("#unread-badge").await?;
    bank.goto(&hub.url("/user/messages")).await?;
    bank.click_text("收到新的产品申请").await?;
    bank.wait_for_path(&application_path).await?;
    bank.wait_for_text(COMPANY_L1).await?;
    bank.fill_label("需补充的材料", "请补充近一年的财务报表")
        .await?;
    bank.click_text("要求补充材料").await?;
    bank.wait_for_text("待补充材料").await?;
    ent.goto(&hub.url(&application_path)).await?;
    ent.wait_for_text("请补充近一年的财务报表").await?;
    ent.fill_label("补充内容", "已备好 2025 年度财务报表，可随时提供")
        .await?;
    ent.click_text("补充材料").await?;
    ent.wait_for_text("待机构答复").await?;
    bank.goto(&hub.url(&application_path)).await?;
    bank.fill_label("受理说明", "请于本周内到网点面签").await?;
    bank.click_text("受理").await?;
    bank.wait_for_text("已受理").await?;
    bank.fill_label("放款金额（万元）", "100").await?;
    bank.fill_label("放款日期", &today).await?;
    bank.click_text("登记放款").await?;
    bank.wait_for_text("已放款").await?;
    shoot_as_is(&bank, "market-application").await?;
    ent.goto(&hub.url("/user/messages")).await?;
    ent.wait_for_text("产品申请已放款").await?;

    // The home page counts the product and both loans.
    hub.clock.advance(Duration::from_secs(6));
    ent.goto(&hub.url("/")).await?;
    see(&ent, "#fig-products", "1").await?;
    see(&ent, "#fig-financing", "2,200,000.00").await?;
    for b in [op, bank, guarantor, ent] {
        b.quit().await?;
    }
    Ok(())
}
