//! What every console page stands on: the signed-in administrator ([`ConsoleAdmin`], who is
//! sent to the sign-in page when absent and to the password change while the issued password
//! stands), the console's sections with the permission each needs, the navigation a role sees,
//! and the common context of a page.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use platform::admin::{AdminError, Permission, Principal, Role, SESSION_COOKIE, Who};
use platform::context::RequestContext;
use platform::http::cookie::cookie;
use platform::http::problem::ApiError;
use platform::web::form::{self, FieldErrors, FormData};
use platform::web::page::see_other;
use platform::web::site::{Base, HeaderUser, NavItem};

use crate::state::PortalState;

/// The signed-in administrator of a console page.
pub struct ConsoleAdmin {
    pub principal: Principal,
    pub username: String,
    /// The session cookie's value: the secret the form token is bound to.
    pub(super) cookie: String,
    /// The form token of this session.
    pub csrf: String,
}

impl ConsoleAdmin {
    /// Lets the page go on when the role has `p`; otherwise the 403 page (and an
    /// `access.denied` audit record, as the JSON API writes).
    pub async fn require(
        &self,
        state: &PortalState,
        p: Permission,
        ctx: &RequestContext,
    ) -> Result<(), ApiError> {
        Ok(state
            .platform
            .admins
            .authorize(&self.principal, p, ctx)
            .await?)
    }

    /// A form of a page that needs `p`: its token first, then the permission.
    pub async fn check_form(
        &self,
        state: &PortalState,
        f: &FormData,
        p: Permission,
        ctx: &RequestContext,
    ) -> Result<(), ApiError> {
        self.check(state, f)?;
        self.require(state, p, ctx).await
    }

    /// Refuses a form without this session's token.
    pub fn check(&self, state: &PortalState, f: &FormData) -> Result<(), ApiError> {
        form::check(&state.platform.keys, "admin", &self.cookie, f)
    }
}

/// `/console/login?return_to=<the page asked for>`.
fn to_login(path: &str) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("return_to", path);
    see_other(&format!("/console/login?{}", q.finish()))
}

/// Only console paths are returned to after signing in.
pub(super) fn console_target(requested: Option<&str>) -> String {
    match requested {
        Some(p)
            if (p == "/console" || p.starts_with("/console/"))
                && !p.starts_with("/console/login")
                && !p.contains("//")
                && !p.contains('\\') =>
        {
            p.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

impl FromRequestParts<PortalState> for ConsoleAdmin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_owned();
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(&path));
        };
        let principal = match state.platform.admins.session(value).await {
            Ok(p) => p,
            Err(AdminError::Unauthenticated | AdminError::SessionExpired) => {
                return Err(to_login(&path));
            }
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        let Who::Session {
            username,
            must_change_password,
            ..
        } = &principal.who
        else {
            return Err(to_login(&path));
        };
        if *must_change_password && path != "/console/password" && path != "/console/logout" {
            return Err(see_other("/console/password"));
        }
        Ok(ConsoleAdmin {
            username: username.clone(),
            csrf: form::token(&state.platform.keys, "admin", value),
            cookie: value.to_owned(),
            principal,
        })
    }
}

/// A section of the console: its label, path and the permissions that open it (any of them;
/// none: every administrator).
pub struct Section {
    pub label: &'static str,
    pub href: &'static str,
    pub needs: &'static [Permission],
}

impl Section {
    /// Whether an administrator of `role` sees the section.
    pub fn open_to(&self, role: Role) -> bool {
        self.needs.is_empty() || self.needs.iter().any(|p| role.can(*p))
    }
}

/// The sections in the navigation's order.
pub const SECTIONS: &[Section] = &[
    Section {
        label: "概览",
        href: "/console",
        needs: &[],
    },
    Section {
        label: "机构审核",
        href: "/console/organisations",
        needs: &[Permission::OrganisationsManage],
    },
    Section {
        label: "内容管理",
        href: "/console/content",
        needs: &[Permission::ContentEdit, Permission::ContentReview],
    },
    Section {
        label: "金融市场审核",
        href: "/console/market",
        needs: &[Permission::MarketReview],
    },
    Section {
        label: "栏目与词库",
        href: "/console/library",
        needs: &[Permission::ContentManage],
    },
    Section {
        label: "访问统计",
        href: "/console/stats",
        needs: &[Permission::StatsRead],
    },
    Section {
        label: "外部平台",
        href: "/console/connectors",
        needs: &[Permission::ConnectorsManage],
    },
    Section {
        label: "合作系统",
        href: "/console/partners",
        needs: &[Permission::PartnersManage],
    },
    Section {
        label: "用户账号",
        href: "/console/accounts",
        needs: &[Permission::AccountsManage],
    },
    Section {
        label: "管理员与角色",
        href: "/console/admins",
        needs: &[Permission::AdminsManage],
    },
    Section {
        label: "审计日志",
        href: "/console/audit",
        needs: &[Permission::AuditRead],
    },
];

/// The navigation of an administrator of `role`, with `current` marked.
pub fn nav(role: Role, current: &str) -> Vec<NavItem> {
    SECTIONS
        .iter()
        .filter(|s| s.open_to(role))
        .map(|s| NavItem {
            label: s.label,
            href: s.href,
            current: s.href == current,
        })
        .collect()
}

/// The common context of a console page.
pub fn base(state: &PortalState, title: &str, current: &str, admin: &ConsoleAdmin) -> Base {
    let mut b = state
        .platform
        .web
        .base(title, "console", nav(admin.principal.role, current));
    b.admin = Some(HeaderUser {
        display_name: admin.username.clone(),
        role_label: admin.principal.role.label_zh().to_owned(),
    });
    b.csrf = Some(admin.csrf.clone());
    b
}

/// A form a page sent back: what was typed, each field's error, and a refusal that concerns no
/// single field (someone changed the record meanwhile, a rule of the whole record).
pub(super) struct Refused<F, C> {
    pub(super) form: F,
    pub(super) errors: FieldErrors,
    pub(super) conflict: Option<C>,
}

impl<F, C> Refused<F, C> {
    /// What a page shows: the stored values with 200 when nothing was refused, else what was
    /// typed with 409 for a refusal of the whole record or 422 for field errors.
    pub(super) fn shown(
        refused: Option<Self>,
        stored: impl FnOnce() -> F,
    ) -> (StatusCode, F, FieldErrors, Option<C>) {
        match refused {
            None => (StatusCode::OK, stored(), FieldErrors::default(), None),
            Some(r) => (
                if r.conflict.is_some() {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                r.form,
                r.errors,
                r.conflict,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_console_pages_are_returned_to() {
        use super::console_target as t;
        assert_eq!(t(Some("/console/connectors/fx")), "/console/connectors/fx");
        for bad in [
            Some("/user"),
            Some("https://evil.example/console"),
            Some("//evil.example"),
            Some("/console//evil"),
            Some("/console/login?return_to=/x"),
            None,
        ] {
            assert_eq!(t(bad), "/console", "{bad:?}");
        }
    }
}
