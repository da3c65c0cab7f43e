//! The administrators' console (管理控制台) driven as a browser drives it: form posts with the
//! session cookie and the form token, redirects after changes, pages in Chinese. Each section
//! is reachable only with its role's permission, every change goes through the same core
//! function as the JSON API (and leaves the same audit record), and what people typed is shown
//! back as text.

use platform::admin::Role;
use reqwest::Method;
use tests::anyhow::{Context, Result, ensure};
use tests::{Browser, Env, Page, Test, TestAdmin, TestHub, federated_hub, json, test};

pub fn tests() -> Vec<Test> {
    vec![
        test!(sign_in_errors_are_in_chinese_and_keep_the_user_name),
        test!(an_issued_password_must_be_changed_first),
        test!(an_auditor_can_neither_see_nor_change_connectors),
        test!(a_system_administrator_edits_a_connector_through_the_form),
        test!(a_form_without_its_token_is_refused),
        test!(a_security_administrator_finds_and_disables_an_account),
        test!(a_security_administrator_manages_administrators),
        test!(partners_are_shown_without_credentials_and_can_be_disabled),
        test!(the_audit_pages_search_verify_and_export),
        test!(names_with_markup_are_shown_as_text),
    ]
}

const CONNECTOR: &str = "receivables";
const ID_P1: &str = "350802199003070029";
const SCRIPT: &str = "<script>alert(1)</script>";
const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

/// Signs `admin` in to the console through its form.
pub(crate) async fn console(hub: &TestHub, admin: &TestAdmin) -> Result<Browser> {
    let mut b = Browser::new();
    let code = hub.next_code(admin);
    let page = b
        .request(
            Method::POST,
            &hub.url("/console/login"),
            Some(&[
                ("username", admin.username.as_str()),
                ("password", admin.password.as_str()),
                ("totp", code.as_str()),
            ]),
        )
        .await?;
    ensure!(
        page.status == 303 && page.location.as_deref() == Some("/console"),
        "sign-in: {} {:?} {}",
        page.status,
        page.location,
        page.body
    );
    ensure!(b.cookie("__Host-hub_admin").is_some(), "no session cookie");
    Ok(b)
}

/// GETs a console page, expecting `status`.
pub(crate) async fn get(b: &mut Browser, hub: &TestHub, path: &str, status: u16) -> Result<Page> {
    let page = b.get(&hub.url(path)).await?;
    ensure!(
        page.status == status,
        "GET {path}: expected {status}, got {} {:?}: {}",
        page.status,
        page.location,
        page.body
    );
    Ok(page)
}

/// POSTs a form, expecting `status`.
pub(crate) async fn post(
    b: &mut Browser,
    hub: &TestHub,
    path: &str,
    form: &[(&str, &str)],
    status: u16,
) -> Result<Page> {
    let page = b.request(Method::POST, &hub.url(path), Some(form)).await?;
    ensure!(
        page.status == status,
        "POST {path}: expected {status}, got {} {:?}: {}",
        page.status,
        page.location,
        page.body
    );
    Ok(page)
}

/// The form token on a page.
pub(crate) fn csrf(page: &Page) -> Result<String> {
    let at = page
        .body
        .find(r#"name="csrf" value=""#)
        .context("no form token on the page")?
        + r#"name="csrf" value=""#.len();
    let end = page.body[at..].find('"').context("unterminated token")?;
    Ok(page.body[at..at + end].to_owned())
}

/// Text as it was before HTML escaping.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of the input named `name` on a page.
fn input_value(page: &Page, name: &str) -> Option<String> {
    let marker = format!(r#"<input id="f-{name}" name="{name}""#);
    let at = page.body.find(&marker).or_else(|| {
        page.body
            .find(&format!(r#"<input type="hidden" name="{name}""#))
    })?;
    let rest = &page.body[at..];
    let tag_end = rest.find('>')?;
    let tag = &rest[..tag_end];
    let v = tag.find(r#"value=""#)? + r#"value=""#.len();
    let end = tag[v..].find('"')?;
    Some(unescape(&tag[v..v + end]))
}

/// The text of the text area named `name` on a page.
fn textarea_value(page: &Page, name: &str) -> Option<String> {
    let marker = format!(r#"<textarea id="f-{name}" name="{name}""#);
    let at = page.body.find(&marker)?;
    let rest = &page.body[at..];
    let start = rest.find('>')? + 1;
    let end = rest.find("</textarea>")?;
    Some(unescape(&rest[start..end]))
}

/// Whether the check box named `name` is checked.
fn checked(page: &Page, name: &str) -> bool {
    let marker = format!(r#"<input type="checkbox" name="{name}""#);
    page.body.find(&marker).is_some_and(|at| {
        let rest = &page.body[at..];
        rest.find('>')
            .is_some_and(|end| rest[..end].contains(" checked"))
    })
}

/// The selected option of the select named `name`.
fn selected(page: &Page, name: &str) -> Option<String> {
    let marker = format!(r#"<select id="f-{name}" name="{name}""#);
    let at = page.body.find(&marker)?;
    let rest = &page.body[at..];
    let end = rest.find("</select>")?;
    let options = &rest[..end];
    let sel = options.find(" selected")?;
    let before = &options[..sel];
    let v = before.rfind(r#"value=""#)? + r#"value=""#.len();
    let close = before[v..].find('"')?;
    Some(unescape(&before[v..v + close]))
}

/// The text of the field error next to `field`.
fn field_error(page: &Page, field: &str) -> Option<String> {
    let marker = format!(r#"<p class="field-error" id="e-{field}">"#);
    let at = page.body.find(&marker)? + marker.len();
    let end = page.body[at..].find("</p>")?;
    Some(page.body[at..at + end].to_owned())
}

/// Audit records of `event` (newest first), through the JSON API.
async fn events(hub: &TestHub, event: &str) -> Result<Vec<serde_json::Value>> {
    let auditor = hub.token(Role::AuditAdmin).await?;
    let page = json(
        hub.get_as(
            &auditor,
            &format!("/api/admin/audit?event={event}&limit=500"),
        )
        .await?,
        200,
    )
    .await?;
    Ok(page["items"].as_array().cloned().unwrap_or_default())
}

async fn connector_json(hub: &TestHub) -> Result<serde_json::Value> {
    let sys = hub.token(Role::SystemAdmin).await?;
    hub.get_json(&sys, &format!("/api/admin/connectors/{CONNECTOR}"))
        .await
}

/// The settings form of the connector as the page shows it, with `changes` applied.
fn connector_form(page: &Page, changes: &[(&str, &str)]) -> Result<Vec<(String, String)>> {
    let mut form: Vec<(String, String)> = Vec::new();
    for name in [
        "csrf",
        "version",
        "name",
        "operator",
        "category",
        "url",
        "health_url",
        "position",
    ] {
        form.push((name.to_owned(), input_value(page, name).unwrap_or_default()));
    }
    for name in ["description", "notice"] {
        form.push((
            name.to_owned(),
            textarea_value(page, name).unwrap_or_default(),
        ));
    }
    for name in ["enabled", "sign_in_required", "allow_http"] {
        if checked(page, name) {
            form.push((name.to_owned(), "1".to_owned()));
        }
    }
    form.push((
        "open_mode".into(),
        selected(page, "open_mode").unwrap_or_default(),
    ));
    for (k, v) in changes {
        form.retain(|(name, _)| name != k);
        form.push(((*k).to_owned(), (*v).to_owned()));
    }
    ensure!(
        form.iter().any(|(k, v)| k == "version" && !v.is_empty()),
        "no version on the form"
    );
    Ok(form)
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn sign_in_errors_are_in_chinese_and_keep_the_user_name(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let alice = hub.admin("alice", Role::SecurityAdmin).await?;
    let mut b = Browser::new();
    let login = get(&mut b, &hub, "/console/login", 200).await?;
    ensure!(login.body.contains("管理员登录"), "{}", login.body);

    // A wrong one-time code: 401, said in Chinese without naming the factor, the user name kept.
    let page = post(
        &mut b,
        &hub,
        "/console/login",
        &[
            ("username", "alice"),
            ("password", &alice.password),
            ("totp", "000000"),
        ],
        401,
    )
    .await?;
    ensure!(
        page.body
            .contains("用户名、密码或动态口令不正确，请重新输入。"),
        "{}",
        page.body
    );
    ensure!(
        input_value(&page, "username").as_deref() == Some("alice"),
        "user name not kept: {}",
        page.body
    );
    ensure!(
        input_value(&page, "password").is_none(),
        "the password must not be sent back"
    );
    ensure!(b.cookie("__Host-hub_admin").is_none(), "signed in anyway");

    // A missing field: 422 naming it; what was typed is shown as text.
    let page = post(
        &mut b,
        &hub,
        "/console/login",
        &[("username", "\"><b>x"), ("password", "pw"), ("totp", "")],
        422,
    )
    .await?;
    ensure!(page.body.contains("请填写动态口令。"), "{}", page.body);
    ensure!(
        page.body.contains("&quot;&gt;&lt;b&gt;x") && !page.body.contains("\"><b>x"),
        "the user name is not escaped: {}",
        page.body
    );

    // The right code signs in and the console opens.
    let mut b = console(&hub, &alice).await?;
    let home = get(&mut b, &hub, "/console", 200).await?;
    ensure!(home.body.contains("安全管理员"), "{}", home.body);
    Ok(())
}

async fn an_issued_password_must_be_changed_first(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let carol = hub.issued_admin("carol", Role::SystemAdmin).await?;
    let mut b = Browser::new();
    let code = hub.next_code(&carol);
    let page = post(
        &mut b,
        &hub,
        "/console/login",
        &[
            ("username", "carol"),
            ("password", &carol.password),
            ("totp", &code),
        ],
        303,
    )
    .await?;
    ensure!(page.location.as_deref() == Some("/console/password"));
    // Every page sends her back until the password is changed.
    for path in ["/console", "/console/connectors", "/console/audit"] {
        let page = get(&mut b, &hub, path, 303).await?;
        ensure!(
            page.location.as_deref() == Some("/console/password"),
            "{path}: {:?}",
            page.location
        );
    }
    let form = get(&mut b, &hub, "/console/password", 200).await?;
    ensure!(form.body.contains("须先修改初始密码"), "{}", form.body);
    let token = csrf(&form)?;
    // A weak password is refused next to its field.
    let page = post(
        &mut b,
        &hub,
        "/console/password",
        &[
            ("csrf", &token),
            ("current_password", &carol.password),
            ("new_password", "short"),
            ("confirm_password", "short"),
        ],
        422,
    )
    .await?;
    ensure!(
        field_error(&page, "new_password").as_deref() == Some("新密码至少需要 12 个字符"),
        "{}",
        page.body
    );
    let page = post(
        &mut b,
        &hub,
        "/console/password",
        &[
            ("csrf", &token),
            ("current_password", &carol.password),
            ("new_password", "Longyan-console-2026"),
            ("confirm_password", "Longyan-console-2026"),
        ],
        303,
    )
    .await?;
    ensure!(page.location.as_deref() == Some("/console?ok=password_changed"));
    let home = get(&mut b, &hub, "/console?ok=password_changed", 200).await?;
    ensure!(home.body.contains("密码已修改。"), "{}", home.body);
    Ok(())
}

async fn an_auditor_can_neither_see_nor_change_connectors(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let dora = hub.admin("dora", Role::AuditAdmin).await?;
    let before = connector_json(&hub).await?;
    let mut b = console(&hub, &dora).await?;
    let home = get(&mut b, &hub, "/console", 200).await?;
    ensure!(
        home.body.contains(r#"href="/console/audit""#),
        "{}",
        home.body
    );
    for hidden in ["外部平台", r#"href="/console/connectors""#, "用户账号"] {
        ensure!(!home.body.contains(hidden), "{hidden} shown to an auditor");
    }
    // The page and its form are refused with the code of the JSON API.
    let page = get(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        403,
    )
    .await?;
    ensure!(page.problem(403, "auth.forbidden").is_ok(), "{}", page.body);
    b.accept = Some("text/html".into());
    let page = get(&mut b, &hub, "/console/connectors", 403).await?;
    ensure!(
        page.content_type.starts_with("text/html") && page.body.contains("auth.forbidden"),
        "{}",
        page.body
    );
    b.accept = None;
    let token = csrf(&home)?;
    let page = post(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        &[
            ("csrf", &token),
            ("version", "1"),
            ("name", "被审计员修改"),
            ("category", "融资服务"),
            ("position", "0"),
            ("open_mode", "new-tab"),
        ],
        403,
    )
    .await?;
    page.problem(403, "auth.forbidden")?;
    let after = connector_json(&hub).await?;
    ensure!(
        after["name"] == before["name"] && after["version"] == before["version"],
        "changed: {after}"
    );
    // Each refusal is in the audit trail with the auditor as actor.
    let denied = events(&hub, "access.denied").await?;
    let by_dora = denied
        .iter()
        .filter(|e| e["actor_id"] == dora.id.as_str())
        .count();
    ensure!(by_dora >= 3, "{by_dora} access.denied records: {denied:?}");
    Ok(())
}

async fn a_system_administrator_edits_a_connector_through_the_form(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let erin = hub.admin("erin", Role::SystemAdmin).await?;
    let mut b = console(&hub, &erin).await?;
    let list = get(&mut b, &hub, "/console/connectors", 200).await?;
    ensure!(
        list.body
            .contains(&format!(r#"href="/console/connectors/{CONNECTOR}""#)),
        "{}",
        list.body
    );
    let before = connector_json(&hub).await?;
    let v0 = before["version"].as_i64().context("version")?;
    let page = get(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        200,
    )
    .await?;
    ensure!(input_value(&page, "version") == Some(v0.to_string()));

    // An invalid link and a position that is not a number: both said next to their fields, in
    // Chinese, everything typed kept, nothing saved.
    let form = connector_form(
        &page,
        &[
            ("url", "ftp://www.crcrfsp.com/"),
            ("position", "abc"),
            ("name", "新名称"),
        ],
    )?;
    let refused = post(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        &pairs(&form),
        422,
    )
    .await?;
    ensure!(
        field_error(&refused, "url").as_deref()
            == Some("不允许使用 ftp: 链接，只能使用 https 链接"),
        "{}",
        refused.body
    );
    ensure!(
        field_error(&refused, "position").as_deref() == Some("排序须为整数，例如 10 或 -5"),
        "{}",
        refused.body
    );
    ensure!(input_value(&refused, "url").as_deref() == Some("ftp://www.crcrfsp.com/"));
    ensure!(input_value(&refused, "name").as_deref() == Some("新名称"));
    ensure!(input_value(&refused, "position").as_deref() == Some("abc"));
    // A host off the allowlist, on its own.
    let form = connector_form(&page, &[("url", "https://evil.example.cn/")])?;
    let refused = post(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        &pairs(&form),
        422,
    )
    .await?;
    ensure!(
        field_error(&refused, "url")
            .is_some_and(|m| m.contains("evil.example.cn") && m.contains("不在允许的主机名单中")),
        "{}",
        refused.body
    );
    ensure!(connector_json(&hub).await?["version"] == v0, "saved anyway");

    // A valid change: saved, one version more, audited as the JSON API audits it.
    let form = connector_form(
        &page,
        &[
            ("name", "中征应收账款融资服务平台（新入口）"),
            ("url", "https://www.crcrfsp.com/new"),
            ("position", "-5"),
        ],
    )?;
    let saved = post(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        &pairs(&form),
        303,
    )
    .await?;
    ensure!(
        saved.location.as_deref()
            == Some(format!("/console/connectors/{CONNECTOR}?ok=saved").as_str()),
        "{:?}",
        saved.location
    );
    let after = connector_json(&hub).await?;
    ensure!(after["version"] == v0 + 1, "{after}");
    ensure!(
        after["name"] == "中征应收账款融资服务平台（新入口）",
        "{after}"
    );
    ensure!(after["url"] == "https://www.crcrfsp.com/new" && after["position"] == -5);
    let updated = events(&hub, "connector.updated").await?;
    let record = updated.first().context("no connector.updated record")?;
    ensure!(
        record["actor_id"] == erin.id.as_str()
            && record["target"] == format!("connector:{CONNECTOR}")
            && record["details"]["before"]["name"] == before["name"]
            && record["details"]["after"]["name"] == "中征应收账款融资服务平台（新入口）"
            && record["details"]["version"] == v0 + 1,
        "{record}"
    );
    let shown = get(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}?ok=saved"),
        200,
    )
    .await?;
    ensure!(shown.body.contains("已保存，生成了新的版本。"));
    ensure!(
        shown.body.contains("名称、链接、排序"),
        "history does not say what changed: {}",
        shown.body
    );

    // A form based on the older version is refused: someone changed it meanwhile.
    let stale = post(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        &pairs(&connector_form(&page, &[("name", "过时的修改")])?),
        409,
    )
    .await?;
    ensure!(stale.body.contains("本次修改未保存"), "{}", stale.body);
    ensure!(input_value(&stale, "name").as_deref() == Some("过时的修改"));
    ensure!(connector_json(&hub).await?["version"] == v0 + 1);

    // The one-step rollback restores the settings as a new version.
    let token = csrf(&shown)?;
    let back = post(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}/rollback"),
        &[("csrf", &token)],
        303,
    )
    .await?;
    ensure!(
        back.location.as_deref()
            == Some(format!("/console/connectors/{CONNECTOR}?ok=rolled_back").as_str())
    );
    let restored = connector_json(&hub).await?;
    ensure!(
        restored["version"] == v0 + 2 && restored["name"] == before["name"],
        "{restored}"
    );
    ensure!(!events(&hub, "connector.rolled_back").await?.is_empty());
    Ok(())
}

async fn a_form_without_its_token_is_refused(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let erin = hub.admin("erin", Role::SystemAdmin).await?;
    let frank = hub.admin("frank", Role::SystemAdmin).await?;
    let mut b = console(&hub, &erin).await?;
    let mut other = console(&hub, &frank).await?;
    let page = get(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        200,
    )
    .await?;
    let other_page = get(&mut other, &hub, "/console", 200).await?;
    let v0 = connector_json(&hub).await?["version"].clone();
    let mut form = connector_form(&page, &[("name", "无令牌的修改")])?;
    form.retain(|(k, _)| k != "csrf");
    let path = format!("/console/connectors/{CONNECTOR}");
    post(&mut b, &hub, &path, &pairs(&form), 403)
        .await?
        .problem(403, "request.csrf_token_invalid")?;
    // Another session's token is no better.
    form.push(("csrf".into(), csrf(&other_page)?));
    post(&mut b, &hub, &path, &pairs(&form), 403)
        .await?
        .problem(403, "request.csrf_token_invalid")?;
    // Nor is signing out without one.
    post(&mut b, &hub, "/console/logout", &[], 403)
        .await?
        .problem(403, "request.csrf_token_invalid")?;
    let after = connector_json(&hub).await?;
    ensure!(
        after["version"] == v0 && after["name"] != "无令牌的修改",
        "{after}"
    );
    Ok(())
}

async fn a_security_administrator_finds_and_disables_an_account(env: Env) -> Result<()> {
    let hub = federated_hub(&env, &[]).await?;
    // A person signs in through the provincial platform.
    let mut user = Browser::new();
    user.provincial_sign_in(&hub, "personal-1", None, "/api/me")
        .await?;
    ensure!(user.me(&hub).await?.status == 200, "not signed in");

    // System administrators have no access to accounts.
    let sys = hub.admin("erin", Role::SystemAdmin).await?;
    let mut b = console(&hub, &sys).await?;
    get(&mut b, &hub, "/console/accounts", 403)
        .await?
        .problem(403, "auth.forbidden")?;

    let grace = hub.admin("grace", Role::SecurityAdmin).await?;
    let mut b = console(&hub, &grace).await?;
    let list = get(&mut b, &hub, "/console/accounts", 200).await?;
    ensure!(
        list.body.contains("3508**********0029") && !list.body.contains(ID_P1),
        "{}",
        list.body
    );
    let token = csrf(&list)?;
    // A number with a wrong check character is refused next to the field, kept as typed.
    let page = post(
        &mut b,
        &hub,
        "/console/accounts/search",
        &[
            ("csrf", &token),
            ("number_type", "111"),
            ("number", "350802199003070028"),
        ],
        422,
    )
    .await?;
    ensure!(
        field_error(&page, "number").as_deref() == Some("身份证号码校验位不正确，请核对后重新填写"),
        "{}",
        page.body
    );
    ensure!(input_value(&page, "number").as_deref() == Some("350802199003070028"));
    // A valid number nobody has.
    let page = post(
        &mut b,
        &hub,
        "/console/accounts/search",
        &[
            ("csrf", &token),
            ("number_type", "111"),
            ("number", "350801198511120044"),
        ],
        200,
    )
    .await?;
    ensure!(
        page.body.contains("没有找到该号码对应的账号"),
        "{}",
        page.body
    );
    // The person's number leads to the account's page, whose address is only its id.
    let found = post(
        &mut b,
        &hub,
        "/console/accounts/search",
        &[("csrf", &token), ("number_type", "111"), ("number", ID_P1)],
        303,
    )
    .await?;
    let location = found.location.clone().context("no location")?;
    ensure!(
        location.starts_with("/console/accounts/") && !location.contains(ID_P1),
        "{location}"
    );
    let account_id = location.trim_start_matches("/console/accounts/").to_owned();
    let page = get(&mut b, &hub, &location, 200).await?;
    ensure!(
        page.body.contains("3508**********0029")
            && !page.body.contains(ID_P1)
            && page.body.contains("张三")
            && page.body.contains(r#"id="sessions""#),
        "{}",
        page.body
    );

    // Disabling ends the person's session at once and is audited with before and after.
    let done = post(
        &mut b,
        &hub,
        &format!("/console/accounts/{account_id}/status"),
        &[("csrf", &csrf(&page)?), ("action", "disable")],
        303,
    )
    .await?;
    ensure!(
        done.location.as_deref()
            == Some(format!("/console/accounts/{account_id}?ok=disabled").as_str())
    );
    user.me(&hub).await?.problem(401, "auth.unauthenticated")?;
    let shown = get(&mut b, &hub, done.location.as_deref().unwrap_or("/"), 200).await?;
    ensure!(
        shown.body.contains("已停用该账号") && shown.body.contains("已停用"),
        "{}",
        shown.body
    );
    let sec = hub.token(Role::SecurityAdmin).await?;
    let account = hub
        .get_json(&sec, &format!("/api/admin/accounts/{account_id}"))
        .await?;
    ensure!(account["status"] == "disabled", "{account}");
    let updated = events(&hub, "account.updated").await?;
    let record = updated.first().context("no account.updated record")?;
    ensure!(
        record["actor_id"] == grace.id.as_str()
            && record["target"] == format!("account:{account_id}")
            && record["details"]["before"]["status"] == "active"
            && record["details"]["after"]["status"] == "disabled",
        "{record}"
    );
    // The list's pages and filters: the disabled account under 已停用.
    let disabled = get(&mut b, &hub, "/console/accounts?status=disabled", 200).await?;
    ensure!(disabled.body.contains("张三"), "{}", disabled.body);
    let active = get(&mut b, &hub, "/console/accounts?status=active", 200).await?;
    ensure!(!active.body.contains("张三"), "{}", active.body);
    // The JSON list pages the same way and says the total.
    let res = hub
        .get_as(&sec, "/api/admin/accounts?status=disabled&page=1&size=1")
        .await?;
    ensure!(
        res.headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            == Some("1")
    );
    Ok(())
}

async fn a_security_administrator_manages_administrators(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let grace = hub.admin("grace", Role::SecurityAdmin).await?;
    let mut b = console(&hub, &grace).await?;
    let list = get(&mut b, &hub, "/console/admins", 200).await?;
    ensure!(list.body.contains("grace"), "{}", list.body);
    let roles = get(&mut b, &hub, "/console/admins/roles", 200).await?;
    for label in ["系统管理员", "安全管理员", "审计管理员", "导出审计日志"] {
        ensure!(roles.body.contains(label), "{label}: {}", roles.body);
    }
    let form = get(&mut b, &hub, "/console/admins/new", 200).await?;
    let token = csrf(&form)?;
    // An invalid user name: said in Chinese, the other fields kept.
    let refused = post(
        &mut b,
        &hub,
        "/console/admins",
        &[
            ("csrf", &token),
            ("username", "9x"),
            ("display_name", "王五"),
            ("role", "system-admin"),
        ],
        422,
    )
    .await?;
    ensure!(
        field_error(&refused, "username")
            .is_some_and(|m| m.starts_with("用户名须为 3 到 32 个字符")),
        "{}",
        refused.body
    );
    ensure!(input_value(&refused, "display_name").as_deref() == Some("王五"));
    // Created: the credentials are on the answer to the POST, not behind a redirect.
    let issued = post(
        &mut b,
        &hub,
        "/console/admins",
        &[
            ("csrf", &token),
            ("username", "henry"),
            ("display_name", "王五"),
            ("role", "system-admin"),
        ],
        200,
    )
    .await?;
    ensure!(issued.location.is_none());
    let grab = |id: &str| -> Result<String> {
        let marker = format!(r#"<code id="{id}">"#);
        let at = issued.body.find(&marker).context("no credential")? + marker.len();
        let end = issued.body[at..].find("</code>").context("unterminated")?;
        Ok(issued.body[at..at + end].to_owned())
    };
    let password = grab("issued-password")?;
    let secret = grab("issued-totp-secret")?;
    ensure!(password.len() >= 12 && !secret.is_empty());
    let henry = TestAdmin {
        id: String::new(),
        username: "henry".into(),
        password: password.clone(),
        secret: data_encoding::BASE32_NOPAD.decode(secret.as_bytes())?,
        cookie: String::new(),
    };
    // The credentials work once handed over, and the first sign-in must change the password.
    let mut hb = Browser::new();
    let code = hub.next_code(&henry);
    let page = post(
        &mut hb,
        &hub,
        "/console/login",
        &[
            ("username", "henry"),
            ("password", &password),
            ("totp", &code),
        ],
        303,
    )
    .await?;
    ensure!(page.location.as_deref() == Some("/console/password"));
    // The password is in no audit record.
    let created = events(&hub, "admin.created").await?;
    ensure!(
        created.iter().all(|e| !e.to_string().contains(&password)),
        "password in the trail"
    );

    // Changing henry's role takes effect at once: his session ends.
    let henry_id = hub
        .state
        .platform
        .admins
        .find_by_username("henry")
        .await?
        .context("henry")?
        .id;
    let page = get(&mut b, &hub, &format!("/console/admins/{henry_id}"), 200).await?;
    let saved = post(
        &mut b,
        &hub,
        &format!("/console/admins/{henry_id}"),
        &[
            ("csrf", &csrf(&page)?),
            ("display_name", "王五"),
            ("role", "audit-admin"),
            ("status", "active"),
        ],
        303,
    )
    .await?;
    ensure!(
        saved.location.as_deref() == Some(format!("/console/admins/{henry_id}?ok=saved").as_str())
    );
    let henry_view = hub.state.platform.admins.get(&henry_id).await?;
    ensure!(henry_view.role == Role::AuditAdmin);
    let page = get(&mut hb, &hub, "/console/password", 303).await?;
    ensure!(
        page.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/console/login")),
        "{:?}",
        page.location
    );
    // One's own role cannot be changed: the whole form says why, 409.
    let own = get(&mut b, &hub, &format!("/console/admins/{}", grace.id), 200).await?;
    let refused = post(
        &mut b,
        &hub,
        &format!("/console/admins/{}", grace.id),
        &[
            ("csrf", &csrf(&own)?),
            ("display_name", "grace"),
            ("role", "system-admin"),
            ("status", "active"),
        ],
        409,
    )
    .await?;
    ensure!(
        refused.body.contains("不能修改自己的角色或状态"),
        "{}",
        refused.body
    );
    ensure!(hub.state.platform.admins.get(&grace.id).await?.role == Role::SecurityAdmin);
    // Resetting issues new credentials, shown once, and they differ.
    let reset = post(
        &mut b,
        &hub,
        &format!("/console/admins/{henry_id}/reset"),
        &[("csrf", &csrf(&own)?)],
        200,
    )
    .await?;
    ensure!(reset.body.contains("已重置凭据") && !reset.body.contains(&password));
    ensure!(!events(&hub, "admin.credentials_reset").await?.is_empty());
    Ok(())
}

async fn partners_are_shown_without_credentials_and_can_be_disabled(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let sys = hub.token(Role::SystemAdmin).await?;
    let res = hub
        .http
        .post(hub.url("/api/admin/partners"))
        .bearer_auth(&sys)
        .json(&serde_json::json!({
            "id": "bank-2",
            "display_name": "龙岩农商银行",
            "auth": "token",
            "message_types": ["financing.demand_notice"],
        }))
        .send()
        .await?;
    let created = json(res, 201).await?;
    let secret = created["generated_secret"]
        .as_str()
        .context("no generated token")?
        .to_owned();
    let erin = hub.admin("erin", Role::SystemAdmin).await?;
    let mut b = console(&hub, &erin).await?;
    let list = get(&mut b, &hub, "/console/partners", 200).await?;
    ensure!(
        list.body.contains("龙岩农商银行") && !list.body.contains(&secret),
        "{}",
        list.body
    );
    let page = get(&mut b, &hub, "/console/partners/bank-2", 200).await?;
    ensure!(
        page.body.contains("访问令牌") && !page.body.contains(&secret),
        "{}",
        page.body
    );
    let done = post(
        &mut b,
        &hub,
        "/console/partners/bank-2/status",
        &[("csrf", &csrf(&page)?), ("action", "disable")],
        303,
    )
    .await?;
    ensure!(done.location.as_deref() == Some("/console/partners/bank-2?ok=disabled"));
    let after = hub.get_json(&sys, "/api/admin/partners/bank-2").await?;
    ensure!(after["enabled"] == false, "{after}");
    let updated = events(&hub, "exchange.partner_updated").await?;
    ensure!(
        updated
            .first()
            .is_some_and(|r| r["actor_id"] == erin.id.as_str()),
        "{updated:?}"
    );
    // An unknown partner is a 404 with the JSON API's code.
    get(&mut b, &hub, "/console/partners/nobody", 404)
        .await?
        .problem(404, "exchange.partner_not_found")?;
    // Security administrators have no access to partners.
    let grace = hub.admin("grace", Role::SecurityAdmin).await?;
    let mut g = console(&hub, &grace).await?;
    get(&mut g, &hub, "/console/partners", 403)
        .await?
        .problem(403, "auth.forbidden")?;
    Ok(())
}

async fn the_audit_pages_search_verify_and_export(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let ivy = hub.admin("ivy", Role::AuditAdmin).await?;
    let mut b = console(&hub, &ivy).await?;
    let page = get(&mut b, &hub, "/console/audit", 200).await?;
    ensure!(
        page.body.contains("admin.login") && page.body.contains(r#"id="export""#),
        "{}",
        page.body
    );
    // Filters: the event and outcome narrow the list; the actor by user name.
    let page = get(
        &mut b,
        &hub,
        "/console/audit?event=admin.login&outcome=success&actor_name=ivy",
        200,
    )
    .await?;
    ensure!(
        page.body.contains("admin.login") && !page.body.contains("admin.created"),
        "{}",
        page.body
    );
    // Older pages follow the record position; the first page is linked back.
    let older = get(&mut b, &hub, "/console/audit?before=3", 200).await?;
    ensure!(
        older.body.contains(r#"href="/console/audit/1""#)
            && older.body.contains(r#"href="/console/audit/2""#)
            && !older.body.contains(r#"href="/console/audit/3""#)
            && older.body.contains(r#"<a href="/console/audit">最新记录"#),
        "{}",
        older.body
    );
    // A date that cannot be read: said next to the field, nothing listed.
    let page = get(&mut b, &hub, "/console/audit?from=2026-13-45", 400).await?;
    ensure!(
        field_error(&page, "from").as_deref() == Some("请按“年-月-日”填写日期，例如 2026-12-07"),
        "{}",
        page.body
    );
    // One record in full.
    let record = get(&mut b, &hub, "/console/audit/1", 200).await?;
    ensure!(record.body.contains("审计记录 1"), "{}", record.body);
    get(&mut b, &hub, "/console/audit/999999", 404)
        .await?
        .problem(404, "request.not_found")?;
    // The verification says the chain is intact, and is itself recorded.
    let token = csrf(&record)?;
    let verified = post(
        &mut b,
        &hub,
        "/console/audit/verify",
        &[("csrf", &token)],
        200,
    )
    .await?;
    ensure!(
        verified.body.contains(r#"id="intact""#) && verified.body.contains("审计日志完整"),
        "{}",
        verified.body
    );
    let records = events(&hub, "audit.verified").await?;
    ensure!(
        records
            .first()
            .is_some_and(|r| r["actor_id"] == ivy.id.as_str() && r["outcome"] == "success"),
        "{records:?}"
    );
    // The export link serves the search as JSON Lines to this session.
    let export = b
        .get(&hub.url("/api/admin/audit/export?event=admin.login"))
        .await?;
    ensure!(
        export.status == 200 && export.content_type == "application/x-ndjson",
        "{} {}",
        export.status,
        export.body
    );
    ensure!(
        export
            .body
            .lines()
            .all(|l| l.contains(r#""event":"admin.login""#)),
        "{}",
        export.body
    );
    // Other roles see no audit pages.
    let erin = hub.admin("erin", Role::SystemAdmin).await?;
    let mut e = console(&hub, &erin).await?;
    get(&mut e, &hub, "/console/audit", 403)
        .await?
        .problem(403, "auth.forbidden")?;
    Ok(())
}

async fn names_with_markup_are_shown_as_text(env: Env) -> Result<()> {
    let hub = env.hub().await?;
    let erin = hub.admin("erin", Role::SystemAdmin).await?;
    let mut b = console(&hub, &erin).await?;
    let page = get(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        200,
    )
    .await?;
    let name = format!("{SCRIPT}平台");
    let form = connector_form(&page, &[("name", &name), ("notice", SCRIPT)])?;
    post(
        &mut b,
        &hub,
        &format!("/console/connectors/{CONNECTOR}"),
        &pairs(&form),
        303,
    )
    .await?;
    for path in [
        format!("/console/connectors/{CONNECTOR}"),
        "/console/connectors".to_owned(),
        "/services".to_owned(),
    ] {
        let page = get(&mut b, &hub, &path, 200).await?;
        ensure!(
            page.body.contains(SCRIPT_ESCAPED) && !page.body.contains(SCRIPT),
            "{path}: {}",
            page.body
        );
    }
    // An organisation's name, through the operators' JSON API, on the review pages.
    let sys = hub.token(Role::SystemAdmin).await?;
    let res = hub
        .http
        .post(hub.url("/api/admin/organisations"))
        .bearer_auth(&sys)
        .json(&serde_json::json!({ "kind": "government", "name": format!("{SCRIPT}金融办") }))
        .send()
        .await?;
    let org = json(res, 201).await?;
    let id = org["id"].as_str().context("organisation id")?;
    for path in [
        "/console/organisations?status=all".to_owned(),
        format!("/console/organisations/{id}"),
    ] {
        let page = get(&mut b, &hub, &path, 200).await?;
        ensure!(
            page.body.contains(SCRIPT_ESCAPED) && !page.body.contains(SCRIPT),
            "{path}: {}",
            page.body
        );
    }
    // And in the audit trail's pages, details included.
    let ivy = hub.admin("ivy", Role::AuditAdmin).await?;
    let mut a = console(&hub, &ivy).await?;
    let updated = events(&hub, "connector.updated").await?;
    let seq = updated
        .first()
        .and_then(|r| r["seq"].as_i64())
        .context("no connector.updated record")?;
    let page = get(&mut a, &hub, &format!("/console/audit/{seq}"), 200).await?;
    ensure!(
        !page.body.contains(SCRIPT) && page.body.contains("&lt;script&gt;"),
        "{}",
        page.body
    );
    Ok(())
}
