//! The signed-in person's pages: the sign-in page, 用户中心 (identity, organisation, linked
//! providers, sessions), the registration of an organisation and, for main accounts, the
//! sub-accounts. Every form carries the session's token and is checked by the core function it
//! calls; field errors are shown next to the field with what was typed kept.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use minijinja::{Value, context};
use orgs::{MemberStatus, NewOrganisation, OrgError, OrgKind, OrgStatus};
use platform::context::RequestContext;
use platform::http::problem::ApiError;
use platform::web::form::{self, FieldErrors, FormData};
use platform::web::page::{flash, see_other};
use platform::web::site::USER_CENTRE;
use serde::Serialize;
use sso::config::ProviderSettings;

use crate::public::to_sign_in;
use crate::state::PortalState;
use crate::view::{self, ListQuery, Signed, Viewer, base, pager};

/// The notices a redirect may ask for (`?ok=`).
const NOTICES: &[(&str, &str, &str)] = &[
    (
        "org_submitted",
        "success",
        "机构登记已提交，平台运营方审核通过后即可使用机构功能。",
    ),
    ("session_revoked", "success", "已退出该设备上的登录。"),
    ("identity_unlinked", "success", "已解除该身份关联。"),
    ("member_added", "success", "子账号已添加。"),
    ("member_disabled", "success", "子账号已停用。"),
    ("member_enabled", "success", "子账号已启用。"),
];

/// One way to sign in, as the sign-in page offers it.
#[derive(Serialize)]
struct SignInOption {
    id: String,
    label: String,
    hint: &'static str,
    href: String,
    primary: bool,
}

/// `/login`: the providers to sign in with. Someone signed in already goes on.
pub async fn login(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    let query = ListQuery::parse(q.as_deref());
    let target = state.federation.sign_in_target(query.get("return_to"));
    if viewer.0.is_some() {
        return see_other(&target);
    }
    let mut ret = url::form_urlencoded::Serializer::new(String::new());
    ret.append_pair("return_to", &target);
    let ret = ret.finish();
    let mut options = Vec::new();
    let mut elongyan = None;
    for p in &state.federation.settings.providers {
        let href = format!("/sso/{}/login?{ret}", p.id);
        match &p.settings {
            ProviderSettings::Fujian(_) => {
                options.push(SignInOption {
                    id: format!("{}-personal", p.id),
                    label: "闽政通个人登录".to_owned(),
                    hint: "使用福建省统一身份认证平台的个人账号登录，适用于个人用户、金融机构和政府部门工作人员。",
                    href: href.clone(),
                    primary: true,
                });
                options.push(SignInOption {
                    id: format!("{}-legal", p.id),
                    label: "闽政通法人登录".to_owned(),
                    hint: "企业经办人使用法人账号登录，登录后自动关联本企业，可发布融资需求、申请金融产品。",
                    href,
                    primary: true,
                });
            }
            ProviderSettings::Elongyan(_) => {
                elongyan = Some(serde_json::json!({ "label": p.display_name }));
            }
            _ => options.push(SignInOption {
                id: p.id.clone(),
                label: format!("使用{}登录", p.display_name),
                hint: "",
                href,
                primary: false,
            }),
        }
    }
    let b = base(&state, "登录", "", &viewer);
    state.platform.web.page(
        "portal/login.html",
        &b,
        serde_json::json!({
            "providers": options,
            "elongyan": elongyan,
            "return_to": target,
        }),
    )
}

/// A time of a session view (RFC 3339) in Beijing time.
fn rfc3339_beijing(s: &str) -> String {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| view::time(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)))
        .unwrap_or_else(|_| s.to_owned())
}

fn provider_label(state: &PortalState, id: &str) -> String {
    state
        .federation
        .settings
        .providers
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| id.to_owned(), |p| p.display_name.clone())
}

/// 用户中心.
pub async fn centre(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(USER_CENTRE));
    };
    let query = ListQuery::parse(q.as_deref());
    let s = &me.session;
    let a = &s.account;
    let legal = me.is_legal_person();
    let sessions = state.platform.sessions.list_for_account(&a.id).await?;
    let sessions: Vec<Value> = sessions
        .into_iter()
        .map(|v| {
            context! {
                current => v.handle == s.handle,
                provider_label => provider_label(&state, &v.provider),
                agent => v.agent,
                created_at => rfc3339_beijing(&v.created_at),
                last_seen_at => rfc3339_beijing(&v.last_seen_at),
                expires_at => rfc3339_beijing(&v.expires_at),
                client => v.user_agent.as_deref().map(|u| view::excerpt(u, 60)),
                source_ip => v.source_ip,
                handle => v.handle,
            }
        })
        .collect();
    let last = s.identities.len() <= 1;
    let identities: Vec<Value> = s
        .identities
        .iter()
        .map(|i| {
            context! {
                provider => i.provider.as_str(),
                provider_label => provider_label(&state, &i.provider),
                subject => i.subject.as_str(),
                linked_at => rfc3339_beijing(&i.linked_at),
                last => last,
            }
        })
        .collect();
    // The organisation's points (enterprises and institutions in the marketplace): the
    // ledger's balance, its entries on `/user/points`.
    let points = match me.membership.as_ref() {
        Some(m)
            if matches!(
                m.org.kind,
                orgs::OrgKind::Enterprise | orgs::OrgKind::Institution
            ) && m.org.status == OrgStatus::Approved =>
        {
            Some(
                state
                    .market
                    .points(&m.org.id, orgs::Page::new(1, 1))
                    .await?
                    .balance,
            )
        }
        _ => None,
    };
    // Unread in-site messages of an active member of a marketplace organisation.
    let unread = match me.membership.as_ref() {
        Some(m) if points.is_some() && m.status == MemberStatus::Active => {
            let member = state
                .market
                .member(me.account_id(), &me.session.account.display_name)
                .await?;
            Some(state.market.unread(&member).await?)
        }
        _ => None,
    };
    let org = me.membership.as_ref().map(|m| {
        let main = m.role == orgs::MemberRole::Main;
        context! {
            name => m.org.name.as_str(),
            kind_label => m.org.kind.label_zh(),
            uscc_masked => m.org.uscc_masked.as_deref(),
            status => m.org.status.as_str(),
            status_label => m.org.status.label_zh(),
            status_kind => view::org_status_kind(m.org.status),
            reject_reason => m.org.reject_reason.as_deref(),
            role_label => m.portal_role().label_zh(),
            member_status => m.status.as_str(),
            member_disabled => m.status == MemberStatus::Disabled,
            main => main,
            can_resubmit => main && m.org.status == OrgStatus::Rejected,
            members_href => (main && m.org.status == OrgStatus::Approved).then_some("/user/members"),
            policies_href => (m.org.kind == orgs::OrgKind::Government
                && m.org.status == OrgStatus::Approved
                && m.status == MemberStatus::Active)
                .then_some("/user/policies"),
            // The finance marketplace's pages (the `market` service decides what each may do).
            enterprise_market => m.org.kind == orgs::OrgKind::Enterprise
                && m.org.status == OrgStatus::Approved
                && m.status == MemberStatus::Active,
            institution_market => m.org.kind == orgs::OrgKind::Institution
                && m.org.status == OrgStatus::Approved
                && m.status == MemberStatus::Active,
            points => points,
            unread => unread,
        }
    });
    let follows = state.cms.follows(&a.id).await?;
    let all = state.cms.columns().await?;
    let followed: Vec<serde_json::Value> = follows
        .iter()
        .map(|f| {
            let (label, href) = if f.kind == "column" {
                let c = all.iter().find(|c| c.id == f.target);
                (
                    c.map_or(f.target.clone(), |c| c.name.clone()),
                    c.map_or("/".to_owned(), |c| {
                        if c.is_top() {
                            cms::section_path(&c.section).to_owned()
                        } else {
                            format!("{}?c={}", cms::section_path(&c.section), c.id)
                        }
                    }),
                )
            } else {
                (
                    format!("#{}", f.target),
                    format!(
                        "/tags/{}",
                        percent_encoding::utf8_percent_encode(
                            &f.target,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                )
            };
            serde_json::json!({ "kind": f.kind, "target": f.target, "label": label, "href": href })
        })
        .collect();
    let recommended: Vec<serde_json::Value> = if follows.is_empty() {
        Vec::new()
    } else {
        state
            .cms
            .hot(Some(&a.id), 8)
            .await?
            .iter()
            .map(|s| crate::view::item(&all, s))
            .collect()
    };
    let mut b = base(&state, "用户中心", USER_CENTRE, &viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    let me_view = context! {
        display_name => a.display_name.as_str(),
        kind_label => if legal { "法人（企业）" } else { "个人" },
        id_label => if legal { "统一社会信用代码" } else { "证件号码" },
        id_masked => a.key_masked.as_deref(),
        agent => s.agent_name.as_ref().map(|n| context! { name => n.as_str(), id_masked => s.agent_masked.as_deref() }),
        provider_label => provider_label(&state, &s.provider),
        role_label => me.role_label(),
    };
    Ok(state.platform.web.page(
        "portal/user.html",
        &b,
        context! {
            me => me_view,
            org => org,
            can_register => me.membership.is_none(),
            identities => identities,
            sessions => sessions,
            follows => minijinja::value::Serde(&followed),
            recommended => minijinja::value::Serde(&recommended),
            // The sign-out page asks once and signs out at the provider too; its form may end
            // at the provider's domain, which only that page's policy allows.
            logout_href => "/sso/logout?return_to=%2F",
        },
    ))
}

/// Refuses a form not carrying this session's token.
fn check_form(state: &PortalState, me: &Signed, f: &FormData) -> Result<(), ApiError> {
    form::check(&state.platform.keys, "user", &me.cookie, f)
}

/// `POST /user/sessions/revoke`: ends one of the person's sessions.
pub async fn revoke_session(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(USER_CENTRE));
    };
    check_form(&state, me, &f)?;
    platform::api::me::revoke_own_session(&state.platform, &me.session, f.get("handle"), &ctx)
        .await?;
    Ok(see_other("/user?ok=session_revoked"))
}

/// `POST /user/identities/unlink`: removes one identity link (never the last).
pub async fn unlink_identity(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(USER_CENTRE));
    };
    check_form(&state, me, &f)?;
    platform::api::me::unlink_own_identity(
        &state.platform,
        &me.session,
        f.get("provider"),
        f.get("subject"),
        &ctx,
    )
    .await?;
    Ok(see_other("/user?ok=identity_unlinked"))
}

/// The organisation form as typed.
#[derive(Default, Serialize)]
struct OrgForm {
    kind: String,
    name: String,
    uscc: String,
    contact_name: String,
    contact_phone: String,
    introduction: String,
}

impl OrgForm {
    fn from_form(f: &FormData) -> OrgForm {
        OrgForm {
            kind: f.get("kind").to_owned(),
            name: f.get("name").to_owned(),
            uscc: f.get("uscc").to_owned(),
            contact_name: f.get("contact_name").to_owned(),
            contact_phone: f.get("contact_phone").to_owned(),
            introduction: f.get("introduction").to_owned(),
        }
    }

    fn from_org(o: &orgs::Organisation) -> OrgForm {
        OrgForm {
            kind: o.kind.as_str().to_owned(),
            name: o.name.clone(),
            uscc: o.uscc.clone().unwrap_or_default(),
            contact_name: o.contact_name.clone().unwrap_or_default(),
            contact_phone: o.contact_phone.clone().unwrap_or_default(),
            introduction: o.introduction.clone().unwrap_or_default(),
        }
    }
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The kinds an account may register.
fn kind_options() -> Vec<serde_json::Value> {
    OrgKind::ALL
        .iter()
        .filter(|k| k.self_registrable())
        .map(|k| serde_json::json!({ "value": k.as_str(), "label": k.label_zh() }))
        .collect()
}

/// What the organisation page does for this person: register, resubmit, or nothing (it is
/// pending or approved, or they are not its main account).
enum OrgMode {
    Register,
    Resubmit(Box<orgs::Organisation>),
    None,
}

fn org_mode(me: &Signed) -> OrgMode {
    match &me.membership {
        None => OrgMode::Register,
        Some(m) if m.role == orgs::MemberRole::Main && m.org.status == OrgStatus::Rejected => {
            OrgMode::Resubmit(Box::new(m.org.clone()))
        }
        Some(_) => OrgMode::None,
    }
}

fn org_page(
    state: &PortalState,
    viewer: &Viewer,
    status: StatusCode,
    mode: &OrgMode,
    form: &OrgForm,
    errors: &FieldErrors,
) -> Response {
    let b = base(state, "机构登记", USER_CENTRE, viewer);
    let (resubmit, reason) = match mode {
        OrgMode::Resubmit(o) => (true, o.reject_reason.clone()),
        _ => (false, None),
    };
    state.platform.web.page_status(
        status,
        "portal/org_register.html",
        &b,
        serde_json::json!({
            "form": form,
            "errors": errors.map(),
            "kinds": kind_options(),
            "resubmit": resubmit,
            "reject_reason": reason,
        }),
    )
}

/// `GET /user/organisation`: the registration form (or the corrected one after a rejection).
pub async fn org_form(State(state): State<PortalState>, viewer: Viewer) -> Response {
    let Some(me) = &viewer.0 else {
        return to_sign_in("/user/organisation");
    };
    let mode = org_mode(me);
    let form = match &mode {
        OrgMode::Register => OrgForm::default(),
        OrgMode::Resubmit(o) => OrgForm::from_org(o),
        OrgMode::None => return see_other(USER_CENTRE),
    };
    org_page(
        &state,
        &viewer,
        StatusCode::OK,
        &mode,
        &form,
        &FieldErrors::default(),
    )
}

/// Field errors of an organisation operation, or `None` when it failed for another reason.
fn org_field_errors(e: &OrgError) -> Option<FieldErrors> {
    let mut errors = FieldErrors::default();
    match e {
        OrgError::Invalid(fields) => {
            for (f, m) in fields {
                errors.add(f, m.clone());
            }
        }
        OrgError::DuplicateUscc => errors.add(
            "uscc",
            "该统一社会信用代码已有机构登记；如为本机构，请联系已登记的主账号添加您为子账号",
        ),
        _ => return None,
    }
    Some(errors)
}

/// `POST /user/organisation`: registers the organisation (or resubmits the corrected one).
pub async fn org_submit(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in("/user/organisation"));
    };
    check_form(&state, me, &f)?;
    let mode = org_mode(me);
    let typed = OrgForm::from_form(&f);
    let new = NewOrganisation {
        kind: OrgKind::parse(f.get("kind")),
        name: typed.name.clone(),
        uscc: opt(&typed.uscc),
        contact_name: opt(&typed.contact_name),
        contact_phone: opt(&typed.contact_phone),
        introduction: opt(&typed.introduction),
    };
    let done = match &mode {
        OrgMode::Register => state.orgs.register(me.account_id(), new, &ctx).await,
        OrgMode::Resubmit(o) => state.orgs.resubmit(me.account_id(), &o.id, new, &ctx).await,
        OrgMode::None => return Ok(see_other(USER_CENTRE)),
    };
    match done {
        Ok(_) => Ok(see_other("/user?ok=org_submitted")),
        Err(e) => match org_field_errors(&e) {
            Some(errors) => Ok(org_page(
                &state,
                &viewer,
                StatusCode::UNPROCESSABLE_ENTITY,
                &mode,
                &typed,
                &errors,
            )),
            None => Err(e.into()),
        },
    }
}

/// The sub-account form as typed.
#[derive(Default, Serialize)]
struct MemberForm {
    name: String,
    id_number: String,
}

async fn members_page(
    state: &PortalState,
    viewer: &Viewer,
    me: &Signed,
    query: &ListQuery,
    status: StatusCode,
    form: &MemberForm,
    errors: &FieldErrors,
) -> Result<Response, ApiError> {
    let scope = state.orgs.scope_for(me.account_id()).await?;
    if !scope.is_main() {
        return Err(OrgError::Forbidden(
            "only the organisation's main account may manage its members",
        )
        .into());
    }
    let paged = state
        .orgs
        .members(&scope, query.page(orgs::Page::DEFAULT_SIZE))
        .await?;
    let page = pager(&paged, "/user/members", &[]);
    let members: Vec<serde_json::Value> = paged
        .items
        .iter()
        .map(|m| {
            serde_json::json!({
                "account_id": m.account_id,
                "display_name": m.display_name,
                "role_label": m.role.label_zh(),
                "status_label": m.status.label_zh(),
                "status_kind": if m.status == MemberStatus::Active { "ok" } else { "muted" },
                "disabled": m.status == MemberStatus::Disabled,
                "is_main": m.role == orgs::MemberRole::Main,
                "since": view::date(m.created_at),
            })
        })
        .collect();
    let org = me
        .membership
        .as_ref()
        .map(|m| serde_json::json!({ "name": m.org.name, "kind_label": m.org.kind.label_zh() }));
    let mut b = base(state, "子账号管理", USER_CENTRE, viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page_status(
        status,
        "portal/members.html",
        &b,
        serde_json::json!({
            "org": org,
            "members": members,
            "page": page,
            "form": form,
            "errors": errors.map(),
        }),
    ))
}

/// `GET /user/members`: the organisation's accounts (main accounts only).
pub async fn members(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in("/user/members"));
    };
    let query = ListQuery::parse(q.as_deref());
    members_page(
        &state,
        &viewer,
        me,
        &query,
        StatusCode::OK,
        &MemberForm::default(),
        &FieldErrors::default(),
    )
    .await
}

/// `POST /user/members`: adds a sub account by name and resident ID number.
pub async fn add_member(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in("/user/members"));
    };
    check_form(&state, me, &f)?;
    let typed = MemberForm {
        name: f.get("name").to_owned(),
        id_number: f.get("id_number").to_owned(),
    };
    let scope = state.orgs.scope_for(me.account_id()).await?;
    match state
        .orgs
        .add_member_by_identity(&scope, &typed.name, &typed.id_number, &ctx)
        .await
    {
        Ok(_) => Ok(see_other("/user/members?ok=member_added")),
        Err(e) => {
            let errors = match &e {
                OrgError::AlreadyMember => {
                    let mut errors = FieldErrors::default();
                    errors.add("id_number", "该人员已属于本机构或其他机构，不能重复添加");
                    Some(errors)
                }
                other => org_field_errors(other),
            };
            match errors {
                // The number is kept in the form only as typed, for this response.
                Some(errors) => {
                    members_page(
                        &state,
                        &viewer,
                        me,
                        &ListQuery::default(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &typed,
                        &errors,
                    )
                    .await
                }
                None => Err(e.into()),
            }
        }
    }
}

/// `POST /user/members/status`: disables or enables a sub account.
pub async fn member_status(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in("/user/members"));
    };
    check_form(&state, me, &f)?;
    let disable = f.get("action") == "disable";
    let scope = state.orgs.scope_for(me.account_id()).await?;
    state
        .orgs
        .set_member_disabled(&scope, f.get("account_id"), disable, &ctx)
        .await?;
    Ok(see_other(if disable {
        "/user/members?ok=member_disabled"
    } else {
        "/user/members?ok=member_enabled"
    }))
}
