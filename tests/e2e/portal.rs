//! The portal over HTTP, as a browser without JavaScript uses it: the home page and the columns,
//! signing in to 用户中心, a legal person bound to its enterprise, an organisation's registration
//! through the operators' review, sub-accounts scoped to their organisation, form tokens,
//! escaping, the site search, sessions ended from the user centre, and browsers' error pages.
//! (The same flows in a real browser are in `browser.rs`.)

use std::time::Duration;

use platform::admin::Role;
use tests::anyhow::{Context, Result, bail, ensure};
use tests::{Browser, Env, Page, Test, TestHub, federated_hub, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(the_home_page_has_every_column_and_honest_figures),
        test!(a_sign_in_without_a_target_lands_on_the_user_centre),
        test!(a_legal_person_is_bound_to_its_enterprise),
        test!(a_registration_goes_through_the_operators_review),
        test!(sub_accounts_stay_in_their_organisation),
        test!(forms_need_the_session_token_and_the_same_origin),
        test!(what_people_type_is_escaped_everywhere),
        test!(sessions_are_ended_from_the_user_centre),
        test!(browsers_get_error_pages_and_programs_get_problems),
        test!(sqlite: the_home_page_is_light_and_compressed),
        test!(sqlite: an_operators_theme_replaces_templates_and_assets),
    ]
}

const ID_P1: &str = "350802199003070029";
const ID_P2: &str = "350801198511120044";
const COMPANY_L1: &str = "龙岩示例科技有限公司（测试）";

/// The columns of INTERFACES.md, in order, with their paths.
const COLUMNS: [(&str, &str); 8] = [
    ("首页", "/"),
    ("政策专题", "/policies"),
    ("金融产品", "/products"),
    ("融资需求", "/demands"),
    ("金融教育", "/education"),
    ("入驻机构", "/institutions"),
    ("网上办事", "/services"),
    ("用户中心", "/user"),
];

/// A browser that asks for HTML, as browsers do.
pub(crate) fn html_browser() -> Browser {
    let mut b = Browser::new();
    b.accept = Some("text/html,application/xhtml+xml".into());
    b
}

/// The value of the first `name="csrf"` field of a page.
pub(crate) fn csrf(page: &Page) -> Result<String> {
    let at = page
        .body
        .find("name=\"csrf\" value=\"")
        .context("no form token on the page")?;
    let rest = &page.body[at + "name=\"csrf\" value=\"".len()..];
    Ok(rest[..rest.find('"').context("unterminated token")?].to_owned())
}

/// Signs in through the provincial sandbox as `persona`, asking for no target.
pub(crate) async fn sign_in(b: &mut Browser, hub: &TestHub, persona: &str) -> Result<Page> {
    let base = hub.base.clone();
    let (page, _) = b
        .follow(
            &hub.base,
            &hub.url("/sso/fujian/login"),
            |u| {
                if u.contains("/goLogin.do?") {
                    format!("{u}&persona={persona}")
                } else {
                    u
                }
            },
            |u| !u.starts_with(&base) || !(u.contains("/sso/") || u.contains("/sandbox/")),
        )
        .await?;
    Ok(page)
}

pub(crate) async fn get_ok(b: &mut Browser, hub: &TestHub, path: &str) -> Result<Page> {
    let page = b.get(&hub.url(path)).await?;
    ensure!(
        page.status == 200,
        "GET {path}: {} {}",
        page.status,
        page.body
    );
    ensure!(
        page.content_type.starts_with("text/html"),
        "GET {path}: {}",
        page.content_type
    );
    Ok(page)
}

/// Posts a form with the page's token.
pub(crate) async fn post(
    b: &mut Browser,
    hub: &TestHub,
    path: &str,
    form: &[(&str, &str)],
) -> Result<Page> {
    b.request(reqwest::Method::POST, &hub.url(path), Some(form))
        .await
}

pub(crate) fn see_other(page: &Page, to: &str) -> Result<()> {
    ensure!(
        page.status == 303 && page.location.as_deref() == Some(to),
        "expected 303 to {to}, got {} {:?}: {}",
        page.status,
        page.location,
        page.body
    );
    Ok(())
}

/// The console session of a signed-in administrator, in a browser.
pub(crate) async fn console(hub: &TestHub, name: &str, role: Role) -> Result<Browser> {
    let admin = hub.admin(name, role).await?;
    let mut b = html_browser();
    let (k, v) = admin.cookie.split_once('=').context("cookie")?;
    b.jar.insert(k.to_owned(), v.to_owned());
    Ok(b)
}

/// The platform's figures, after the home page's few seconds of reuse have passed.
async fn figures(hub: &TestHub) -> Result<serde_json::Value> {
    hub.clock.advance(Duration::from_secs(6));
    tests::json(hub.get("/api/portal/figures").await?, 200).await
}

async fn the_home_page_has_every_column_and_honest_figures(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = html_browser();
    let home = get_ok(&mut b, &hub, "/").await?;
    ensure!(home.body.contains("<html lang=\"zh-CN\">"), "{}", home.body);
    for (label, href) in COLUMNS {
        ensure!(
            home.body.contains(&format!("<a href=\"{href}\"")) && home.body.contains(label),
            "column {label} {href} missing"
        );
    }
    // The navigation lists the columns in order.
    let nav = &home.body[home.body.find("<nav class=\"nav\"").context("nav")?..];
    let mut at = 0;
    for (label, _) in COLUMNS {
        let i = nav[at..]
            .find(label)
            .with_context(|| format!("{label} out of order"))?;
        at += i;
    }
    ensure!(
        home.body.contains("aria-current=\"page\">首页"),
        "首页 is current"
    );
    // Nothing on the platform yet: zero, not made up.
    for id in [
        "fig-enterprises",
        "fig-institutions",
        "fig-products",
        "fig-demands",
    ] {
        ensure!(
            home.body.contains(&format!("id=\"{id}\">0</strong>")),
            "{id} is not zero"
        );
    }
    ensure!(home.body.contains("id=\"fig-financing\">0.00</strong>"));
    ensure!(home.body.contains("暂无已发布的政策与资讯"), "empty state");
    ensure!(
        !home.body.contains("/api/me"),
        "developer links on the home page"
    );
    ensure!(home.body.contains("href=\"/search\"") || home.body.contains("action=\"/search\""));
    ensure!(home.body.contains("name=\"q\""), "site search");
    // 网上办事 lists the connectors with their jump.
    let services = get_ok(&mut b, &hub, "/services").await?;
    ensure!(
        services.body.contains("数字外管平台") && services.body.contains("id=\"service-"),
        "{}",
        services.body
    );
    // Every column answers, with an honest empty state.
    for (path, empty) in [
        ("/policies", "暂无已发布的政策"),
        ("/policies?c=policy-fujian", "暂无已发布的政策"),
        (
            "/products",
            "暂无符合条件的金融产品。金融机构发布并经平台审核的产品将在这里展示。",
        ),
        (
            "/demands",
            "<strong id=\"fig-demands\">0</strong>待对接融资需求",
        ),
        ("/education?c=education-red", "暂无已发布的金融教育文章"),
        ("/institutions", "暂无入驻机构"),
        ("/institutions?page=abc", "暂无入驻机构"),
        ("/search", "请输入要搜索的关键词"),
    ] {
        let page = get_ok(&mut b, &hub, path).await?;
        ensure!(page.body.contains(empty), "{path}: {}", page.body);
    }
    let tab = get_ok(&mut b, &hub, "/policies?c=policy-fujian").await?;
    ensure!(
        tab.body
            .contains("href=\"/policies?c=policy-fujian\" aria-current=\"page\">福建省"),
        "the chosen level is marked"
    );
    // Not signed in: the user centre asks to sign in first, and comes back.
    let user = b.get(&hub.url("/user")).await?;
    see_other(&user, "/login?return_to=%2Fuser")?;
    let login = get_ok(&mut b, &hub, "/login?return_to=/user").await?;
    for needle in [
        "闽政通个人登录",
        "闽政通法人登录",
        "href=\"/sso/fujian/login?return_to=%2Fuser\"",
        "e龙岩",
    ] {
        ensure!(login.body.contains(needle), "{needle}: {}", login.body);
    }
    // An outside target is not offered.
    let login = get_ok(&mut b, &hub, "/login?return_to=https://evil.example/").await?;
    ensure!(!login.body.contains("evil.example"), "{}", login.body);
    Ok(())
}

async fn a_sign_in_without_a_target_lands_on_the_user_centre(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = html_browser();
    let end = sign_in(&mut b, &hub, "personal-1").await?;
    ensure!(
        end.status == 302 && end.location.as_deref() == Some("/user"),
        "{} {:?}",
        end.status,
        end.location
    );
    let user = get_ok(&mut b, &hub, "/user").await?;
    for needle in [
        "id=\"me-name\">张三",
        "3508**********0029",
        "当前设备",
        "福建省",
        "href=\"/sso/logout?return_to=%2F\"",
        "登记机构",
    ] {
        ensure!(user.body.contains(needle), "{needle}: {}", user.body);
    }
    ensure!(!user.body.contains(ID_P1), "a clear certificate number");
    // The header shows the person, not 登录.
    ensure!(
        user.body
            .contains(">张三</a><span class=\"muted\">个人用户"),
        "{}",
        user.body
    );
    // /login goes on to the user centre when signed in.
    let again = b.get(&hub.url("/login")).await?;
    see_other(&again, "/user")?;
    // 退出登录 leads to the sign-out page, whose form ends the session.
    ensure!(user.body.contains("href=\"/sso/logout?return_to=%2F\""));
    let confirm = get_ok(&mut b, &hub, "/sso/logout?return_to=%2F").await?;
    ensure!(confirm.body.contains("确定退出"), "{}", confirm.body);
    let token = csrf(&confirm)?;
    let out = post(
        &mut b,
        &hub,
        "/sso/logout",
        &[("csrf", &token), ("return_to", "/")],
    )
    .await?;
    ensure!(
        matches!(out.status, 302 | 303),
        "{} {}",
        out.status,
        out.body
    );
    let user = b.get(&hub.url("/user")).await?;
    see_other(&user, "/login?return_to=%2Fuser")?;
    Ok(())
}

async fn a_legal_person_is_bound_to_its_enterprise(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = html_browser();
    sign_in(&mut b, &hub, "legal-1").await?;
    let user = get_ok(&mut b, &hub, "/user").await?;
    let org_name = format!("id=\"org-name\">{COMPANY_L1}");
    for needle in [
        org_name.as_str(),
        "企业主账号",
        "已通过",
        "9135**********3N0B",
        "经办人",
        "张三（3508**********0029）",
    ] {
        ensure!(user.body.contains(needle), "{needle}: {}", user.body);
    }
    let me = b.me(&hub).await?.json()?;
    ensure!(
        me["roles"] == serde_json::json!(["enterprise", "enterprise-main"]),
        "{me}"
    );
    ensure!(
        me["organisation"]["kind"] == "enterprise"
            && me["organisation"]["active"] == true
            && me["organisation"]["role"] == "main",
        "{me}"
    );
    // A second sign-in binds nothing new: one organisation, one record.
    let mut again = html_browser();
    sign_in(&mut again, &hub, "legal-1").await?;
    let db = hub.store.connect().await?;
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM organisations").await? == 1);
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM audit_log WHERE event = 'org.enterprise_bound'")
            .await?
            == 1
    );
    db.close().await;
    // The home page counts the enterprise.
    let f = figures(&hub).await?;
    ensure!(f["enterprises"] == 1 && f["institutions"] == 0, "{f}");
    // The company's main account sees its sub-accounts page, itself listed as main.
    let members = get_ok(&mut b, &hub, "/user/members").await?;
    ensure!(members.body.contains("子账号管理") && members.body.contains("主账号"));
    Ok(())
}

async fn a_registration_goes_through_the_operators_review(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = html_browser();
    sign_in(&mut b, &hub, "personal-2").await?;
    let form = get_ok(&mut b, &hub, "/user/organisation").await?;
    let token = csrf(&form)?;
    // Everything wrong at once: each field says so, in Chinese, and keeps what was typed.
    let bad = post(
        &mut b,
        &hub,
        "/user/organisation",
        &[
            ("csrf", &token),
            ("kind", ""),
            ("name", "龙岩测试农商银行"),
            ("uscc", "91350802MA2YLK3N0A"),
            ("contact_phone", "abc"),
        ],
    )
    .await?;
    ensure!(bad.status == 422, "{} {}", bad.status, bad.body);
    for needle in [
        "请选择机构类型",
        "统一社会信用代码校验位不正确",
        "联系电话格式不正确",
        "value=\"龙岩测试农商银行\"",
        "value=\"91350802MA2YLK3N0A\"",
        "aria-invalid=\"true\"",
    ] {
        ensure!(bad.body.contains(needle), "{needle}: {}", bad.body);
    }
    let db = hub.store.connect().await?;
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM organisations").await? == 0,
        "nothing half-saved"
    );
    let ok = post(
        &mut b,
        &hub,
        "/user/organisation",
        &[
            ("csrf", &token),
            ("kind", "institution"),
            ("name", "龙岩测试农商银行"),
            ("contact_name", "王经理"),
            ("contact_phone", "0597-2345678"),
            ("introduction", "服务小微企业的地方法人银行。"),
        ],
    )
    .await?;
    see_other(&ok, "/user?ok=org_submitted")?;
    let user = get_ok(&mut b, &hub, "/user?ok=org_submitted").await?;
    ensure!(user.body.contains("机构登记已提交") && user.body.contains("待审核"));
    // Pending: not public yet.
    let public = get_ok(&mut b, &hub, "/institutions").await?;
    ensure!(!public.body.contains("龙岩测试农商银行"));
    let org_id = db
        .strings("SELECT id FROM organisations")
        .await?
        .pop()
        .context("org")?;

    // The operators' review queue lists it; a rejection needs a reason.
    let mut op = console(&hub, "operator1", Role::SystemAdmin).await?;
    let queue = get_ok(&mut op, &hub, "/console/organisations").await?;
    ensure!(queue.body.contains("龙岩测试农商银行"), "{}", queue.body);
    let detail = get_ok(&mut op, &hub, &format!("/console/organisations/{org_id}")).await?;
    let op_token = csrf(&detail)?;
    let review = format!("/console/organisations/{org_id}/review");
    let no_reason = post(
        &mut op,
        &hub,
        &review,
        &[("csrf", &op_token), ("decision", "reject"), ("reason", "")],
    )
    .await?;
    ensure!(
        no_reason.status == 422 && no_reason.body.contains("请填写驳回原因"),
        "{} {}",
        no_reason.status,
        no_reason.body
    );
    let rejected = post(
        &mut op,
        &hub,
        &review,
        &[
            ("csrf", &op_token),
            ("decision", "reject"),
            ("reason", "请补充联系人的工作证明"),
        ],
    )
    .await?;
    see_other(
        &rejected,
        &format!("/console/organisations/{org_id}?ok=rejected"),
    )?;
    let user = get_ok(&mut b, &hub, "/user").await?;
    ensure!(
        user.body.contains("已驳回") && user.body.contains("请补充联系人的工作证明"),
        "{}",
        user.body
    );
    // Corrected and resubmitted, then approved.
    let again = get_ok(&mut b, &hub, "/user/organisation").await?;
    ensure!(
        again.body.contains("value=\"龙岩测试农商银行\""),
        "the form keeps the data"
    );
    let resubmitted = post(
        &mut b,
        &hub,
        "/user/organisation",
        &[
            ("csrf", &token),
            ("kind", "institution"),
            ("name", "龙岩测试农商银行"),
            ("contact_name", "王经理"),
            ("contact_phone", "0597-2345678"),
            ("introduction", "已补充工作证明。"),
        ],
    )
    .await?;
    see_other(&resubmitted, "/user?ok=org_submitted")?;
    // A second decision on a decided registration is refused.
    let approved = post(
        &mut op,
        &hub,
        &review,
        &[("csrf", &op_token), ("decision", "approve")],
    )
    .await?;
    see_other(
        &approved,
        &format!("/console/organisations/{org_id}?ok=approved"),
    )?;
    op.accept = Some("application/json".into());
    let twice = post(
        &mut op,
        &hub,
        &review,
        &[("csrf", &op_token), ("decision", "approve")],
    )
    .await?;
    twice.problem(409, "org.not_pending")?;
    // Public now, on the list and its own page, and counted.
    let public = get_ok(&mut b, &hub, "/institutions").await?;
    ensure!(public.body.contains("龙岩测试农商银行"), "{}", public.body);
    get_ok(&mut b, &hub, &format!("/institutions/{org_id}")).await?;
    let f = figures(&hub).await?;
    ensure!(f["institutions"] == 1, "{f}");
    let user = get_ok(&mut b, &hub, "/user").await?;
    ensure!(user.body.contains("已通过") && user.body.contains("机构主账号"));
    // Every step is in the audit trail.
    for event in [
        "org.registered",
        "org.rejected",
        "org.resubmitted",
        "org.approved",
    ] {
        ensure!(
            db.scalar_i64(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE event = '{event}' AND target = 'org:{org_id}'"
            ))
            .await?
                == 1,
            "{event} not audited once"
        );
    }
    // The search finds it, marked.
    let found = get_ok(&mut b, &hub, "/search?q=%E5%86%9C%E5%95%86").await?;
    ensure!(
        found.body.contains("龙岩测试<mark>农商</mark>银行"),
        "{}",
        found.body
    );
    db.close().await;
    Ok(())
}

/// Registers and approves an institution whose main account is `persona`'s; returns its id.
async fn approved_institution(
    hub: &TestHub,
    b: &mut Browser,
    op: &mut Browser,
    persona: &str,
    name: &str,
) -> Result<String> {
    approved_org(hub, b, op, persona, "institution", name).await
}

/// Registers and approves an organisation of `kind` whose main account is `persona`'s;
/// returns its id.
pub(crate) async fn approved_org(
    hub: &TestHub,
    b: &mut Browser,
    op: &mut Browser,
    persona: &str,
    kind: &str,
    name: &str,
) -> Result<String> {
    approved_org_with(hub, b, op, persona, kind, name, &[]).await
}

/// As [`approved_org`], with more fields of the registration form (`uscc`, …).
pub(crate) async fn approved_org_with(
    hub: &TestHub,
    b: &mut Browser,
    op: &mut Browser,
    persona: &str,
    kind: &str,
    name: &str,
    more: &[(&str, &str)],
) -> Result<String> {
    sign_in(b, hub, persona).await?;
    let form = get_ok(b, hub, "/user/organisation").await?;
    let token = csrf(&form)?;
    let mut fields = vec![("csrf", token.as_str()), ("kind", kind), ("name", name)];
    fields.extend_from_slice(more);
    let done = post(b, hub, "/user/organisation", &fields).await?;
    see_other(&done, "/user?ok=org_submitted")?;
    let me = b.me(hub).await?.json()?;
    let id = me["organisation"]["id"]
        .as_str()
        .context("no organisation")?
        .to_owned();
    ensure!(me["organisation"]["name"] == name, "{me}");
    let detail = get_ok(op, hub, &format!("/console/organisations/{id}")).await?;
    let t = csrf(&detail)?;
    let ok = post(
        op,
        hub,
        &format!("/console/organisations/{id}/review"),
        &[("csrf", &t), ("decision", "approve")],
    )
    .await?;
    ensure!(ok.status == 303, "{} {}", ok.status, ok.body);
    Ok(id)
}

async fn sub_accounts_stay_in_their_organisation(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut op = console(&hub, "operator1", Role::SystemAdmin).await?;
    let mut a = html_browser();
    let mut bb = html_browser();
    approved_institution(&hub, &mut a, &mut op, "personal-1", "甲银行").await?;
    approved_institution(&hub, &mut bb, &mut op, "personal-2", "乙担保公司").await?;
    let a_page = get_ok(&mut a, &hub, "/user/members").await?;
    let a_token = csrf(&a_page)?;
    // 李四 belongs to 乙: 甲 cannot take him.
    let taken = post(
        &mut a,
        &hub,
        "/user/members",
        &[("csrf", &a_token), ("name", "李四"), ("id_number", ID_P2)],
    )
    .await?;
    ensure!(
        taken.status == 422 && taken.body.contains("已属于本机构或其他机构"),
        "{} {}",
        taken.status,
        taken.body
    );
    // A wrong name or check digit is a field error, with what was typed kept.
    let wrong_name = post(
        &mut a,
        &hub,
        "/user/members",
        &[("csrf", &a_token), ("name", "王五"), ("id_number", ID_P2)],
    )
    .await?;
    ensure!(
        wrong_name.status == 422
            && wrong_name
                .body
                .contains("姓名与该身份证号码登记的姓名不一致"),
        "{}",
        wrong_name.body
    );
    let bad_digit = post(
        &mut a,
        &hub,
        "/user/members",
        &[
            ("csrf", &a_token),
            ("name", "李四"),
            ("id_number", "350801198511120045"),
        ],
    )
    .await?;
    ensure!(
        bad_digit.status == 422
            && bad_digit.body.contains("身份证号码校验位不正确")
            && bad_digit.body.contains("value=\"李四\""),
        "{}",
        bad_digit.body
    );
    // Someone who never signed in cannot be added.
    let stranger = post(
        &mut a,
        &hub,
        "/user/members",
        &[
            ("csrf", &a_token),
            ("name", "王五"),
            ("id_number", "350821197805210011"),
        ],
    )
    .await?;
    ensure!(
        stranger.status == 422 && stranger.body.contains("尚未登录过本平台"),
        "{}",
        stranger.body
    );
    // 乙's main account is not 甲's to disable: "not found", and untouched.
    let db = hub.store.connect().await?;
    let li_si = db
        .strings("SELECT m.account_id FROM org_members m JOIN organisations o ON o.id = m.org_id WHERE o.name = '乙担保公司'")
        .await?
        .pop()
        .context("member")?;
    a.accept = Some("application/json".into());
    let toggled = post(
        &mut a,
        &hub,
        "/user/members/status",
        &[
            ("csrf", &a_token),
            ("account_id", &li_si),
            ("action", "disable"),
        ],
    )
    .await?;
    toggled.problem(404, "org.not_found")?;
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM org_members WHERE status = 'disabled'")
            .await?
            == 0
    );
    // Each sees only its own members, through the page and the JSON endpoint.
    let a_json = a
        .get(&hub.url("/api/me/organisation/members"))
        .await?
        .json()?;
    ensure!(a_json["total"] == 1, "{a_json}");
    ensure!(a_json["items"][0]["display_name"] == "张三", "{a_json}");
    let b_page = get_ok(&mut bb, &hub, "/user/members").await?;
    ensure!(b_page.body.contains("李四") && !b_page.body.contains("张三"));
    // The JSON endpoint refuses the same person with the same code.
    let res = tests::client()
        .post(hub.url("/api/me/organisation/members"))
        .header(
            "cookie",
            a.jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .json(&serde_json::json!({ "name": "李四", "id_number": ID_P2 }))
        .send()
        .await?;
    tests::assert_problem(res, 409, "org.duplicate").await?;
    db.close().await;
    Ok(())
}

async fn forms_need_the_session_token_and_the_same_origin(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = Browser::new();
    sign_in(&mut b, &hub, "personal-1").await?;
    let fields = [("kind", "institution"), ("name", "没有令牌的银行")];
    let page = post(&mut b, &hub, "/user/organisation", &fields).await?;
    page.problem(403, "request.csrf_token_invalid")?;
    let wrong = post(
        &mut b,
        &hub,
        "/user/organisation",
        &[
            ("csrf", "00112233445566778899aabbccddeeff"),
            ("kind", "institution"),
            ("name", "x"),
        ],
    )
    .await?;
    wrong.problem(403, "request.csrf_token_invalid")?;
    // Another site's form is refused before its token is looked at.
    let cookies: Vec<String> = b.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let res = tests::client()
        .post(hub.url("/user/organisation"))
        .header("cookie", cookies.join("; "))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&fields)
        .send()
        .await?;
    tests::assert_problem(res, 403, "request.cross_origin").await?;
    // A token of one session is not another's.
    let mut other = Browser::new();
    sign_in(&mut other, &hub, "personal-2").await?;
    let theirs = csrf(&other.get(&hub.url("/user/organisation")).await?)?;
    let stolen = post(
        &mut b,
        &hub,
        "/user/organisation",
        &[("csrf", &theirs), ("kind", "institution"), ("name", "x")],
    )
    .await?;
    stolen.problem(403, "request.csrf_token_invalid")?;
    let db = hub.store.connect().await?;
    ensure!(db.scalar_i64("SELECT COUNT(*) FROM organisations").await? == 0);
    db.close().await;
    Ok(())
}

async fn what_people_type_is_escaped_everywhere(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut op = console(&hub, "operator1", Role::SystemAdmin).await?;
    let mut b = html_browser();
    let evil = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>银行";
    let id = approved_institution(&hub, &mut b, &mut op, "personal-1", evil).await?;
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;银行";
    for (who, path) in [
        ("user", "/user".to_owned()),
        ("user", "/institutions".to_owned()),
        ("user", format!("/institutions/{id}")),
        ("user", "/search?q=script".to_owned()),
        ("op", "/console/organisations?status=all".to_owned()),
        ("op", format!("/console/organisations/{id}")),
    ] {
        let browser = if who == "op" { &mut op } else { &mut b };
        let page = get_ok(browser, &hub, &path).await?;
        ensure!(!page.body.contains("<script>alert"), "{path}: raw script");
        ensure!(!page.body.contains("<img src=x"), "{path}: raw img");
        if path.starts_with("/search") {
            ensure!(
                page.body.contains("&lt;<mark>script</mark>&gt;alert(1)"),
                "{path}: {}",
                page.body
            );
        } else {
            ensure!(page.body.contains(escaped), "{path}: {}", page.body);
        }
    }
    Ok(())
}

async fn sessions_are_ended_from_the_user_centre(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut phone = html_browser();
    let mut desk = html_browser();
    sign_in(&mut phone, &hub, "personal-1").await?;
    sign_in(&mut desk, &hub, "personal-1").await?;
    let sessions = desk.get(&hub.url("/api/me/sessions")).await?.json()?;
    let list = sessions.as_array().context("sessions")?;
    ensure!(list.len() == 2, "{sessions}");
    let page = get_ok(&mut desk, &hub, "/user").await?;
    ensure!(
        page.body.matches("退出该设备").count() == 1,
        "the other one only"
    );
    // The phone's session is the one that is not current on the desk.
    let current: Vec<String> = list
        .iter()
        .filter_map(|s| s["handle"].as_str().map(str::to_owned))
        .collect();
    let other = current
        .iter()
        .find(|h| {
            page.body
                .contains(&format!("name=\"handle\" value=\"{h}\""))
        })
        .context("revoke form")?
        .clone();
    let token = csrf(&page)?;
    let done = post(
        &mut desk,
        &hub,
        "/user/sessions/revoke",
        &[("csrf", &token), ("handle", &other)],
    )
    .await?;
    see_other(&done, "/user?ok=session_revoked")?;
    phone.me(&hub).await?.problem(401, "auth.unauthenticated")?;
    desk.me(&hub).await?.json()?;
    // Another account's session is "not found".
    let mut stranger = Browser::new();
    sign_in(&mut stranger, &hub, "personal-2").await?;
    let theirs = stranger.get(&hub.url("/api/me/sessions")).await?.json()?;
    let handle = theirs[0]["handle"].as_str().context("handle")?.to_owned();
    desk.accept = Some("application/json".into());
    let refused = post(
        &mut desk,
        &hub,
        "/user/sessions/revoke",
        &[("csrf", &token), ("handle", &handle)],
    )
    .await?;
    refused.problem(404, "account.session_not_found")?;
    stranger.me(&hub).await?.json()?;
    let db = hub.store.connect().await?;
    ensure!(
        db.scalar_i64("SELECT COUNT(*) FROM audit_log WHERE event = 'session.revoked'")
            .await?
            == 1
    );
    db.close().await;
    Ok(())
}

async fn browsers_get_error_pages_and_programs_get_problems(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let mut b = html_browser();
    let page = b.get(&hub.url("/no-such-page")).await?;
    ensure!(page.status == 404 && page.content_type.starts_with("text/html"));
    for needle in [
        "<html lang=\"zh-CN\">",
        "您访问的页面不存在",
        "request.not_found",
        "href=\"/policies\"",
    ] {
        ensure!(page.body.contains(needle), "{needle}: {}", page.body);
    }
    let missing = b.get(&hub.url("/institutions/no-such-id")).await?;
    ensure!(
        missing.status == 404 && missing.body.contains("org.not_found"),
        "{}",
        missing.body
    );
    // Programs get problem documents, even when they accept HTML, under /api/.
    let res = tests::client().get(hub.url("/no-such-page")).send().await?;
    tests::assert_problem(res, 404, "request.not_found").await?;
    let res = tests::client()
        .get(hub.url("/api/me"))
        .header("accept", "text/html")
        .send()
        .await?;
    tests::assert_problem(res, 401, "auth.unauthenticated").await?;
    Ok(())
}

async fn the_home_page_is_light_and_compressed(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    let res = tests::client().get(hub.url("/")).send().await?;
    ensure!(res.status() == 200);
    let html = res.text().await?;
    let css_at = html.find("/static/hub.css?v=").context("stylesheet link")?;
    let css_href = &html[css_at..css_at + html[css_at..].find('"').context("href")?];
    let css = tests::client().get(hub.url(css_href)).send().await?;
    ensure!(
        css.headers()["cache-control"]
            .to_str()?
            .contains("immutable")
    );
    let css = css.bytes().await?;
    // HTML + CSS (+ JS: none) of the home page: at most 60 KB uncompressed.
    let weight = html.len() + css.len();
    ensure!(weight <= 60 * 1024, "home page weighs {weight} bytes");
    ensure!(!html.contains("<script"), "no JavaScript on the home page");
    ensure!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resource"
    );
    for encoding in ["gzip", "br"] {
        let res = tests::client()
            .get(hub.url("/"))
            .header("accept-encoding", encoding)
            .send()
            .await?;
        let got = res
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        ensure!(got.as_deref() == Some(encoding), "{encoding}: {got:?}");
        let body = res.bytes().await?;
        ensure!(
            body.len() < html.len() / 2,
            "{encoding}: {} bytes",
            body.len()
        );
    }
    Ok(())
}

async fn an_operators_theme_replaces_templates_and_assets(env: Env) -> Result<()> {
    let theme = tempfile::tempdir()?;
    std::fs::create_dir_all(theme.path().join("portal"))?;
    std::fs::create_dir_all(theme.path().join("static"))?;
    std::fs::write(
        theme.path().join("portal/home.html"),
        "{% extends \"layout.html\" %}{% block main %}<p id=\"theme\">龙岩本地主题 {{ figures.institutions }}</p>{% endblock %}",
    )?;
    std::fs::write(
        theme.path().join("static/logo.svg"),
        "<svg id=\"theme-logo\"/>",
    )?;
    let dir = theme.path().display().to_string();
    let hub = federated_hub(
        &env,
        &[
            ("HUB_PORTAL__THEME_DIR", dir.as_str()),
            ("HUB_PORTAL__SITE_NAME", "龙岩普惠金融服务平台（试运行）"),
        ],
    )
    .await?;
    let home = hub.get("/").await?.text().await?;
    ensure!(
        home.contains("<p id=\"theme\">龙岩本地主题 0</p>"),
        "{home}"
    );
    ensure!(
        home.contains("<title>首页 · 龙岩普惠金融服务平台（试运行）</title>"),
        "{home}"
    );
    // The other pages keep the built-in templates, in the themed layout.
    let services = hub.get("/services").await?.text().await?;
    ensure!(services.contains("数字外管平台") && services.contains("（试运行）"));
    let at = home.find("/static/logo.svg?v=").context("logo")?;
    let href = &home[at..at + home[at..].find('"').context("href")?];
    let logo = hub.get(href).await?;
    ensure!(logo.headers()["content-type"] == "image/svg+xml");
    ensure!(logo.text().await? == "<svg id=\"theme-logo\"/>");
    hub.stop().await?;

    // A theme template that does not compile stops the start, naming the file.
    std::fs::write(theme.path().join("layout.html"), "{% if %}")?;
    let store = env.store().await?;
    let err = match TestHub::start(&store, &[("HUB_PORTAL__THEME_DIR", dir.as_str())]).await {
        Ok(_) => bail!("a broken theme started"),
        Err(e) => format!("{e:#}"),
    };
    ensure!(err.contains("layout.html"), "{err}");
    Ok(())
}
