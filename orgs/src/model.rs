//! What organisations are: kinds, statuses, memberships, the portal roles derived from them, and
//! the pages lists come in.

use std::fmt;
use std::str::FromStr;

/// The kinds of organisation the platform serves.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    /// 企业: companies seeking finance.
    Enterprise,
    /// 金融机构: banks, guarantors and other lenders.
    Institution,
    /// 政府部门: government departments.
    Government,
    /// 第三方中介机构: third-party intermediaries (appraisers, accountants, lawyers).
    Intermediary,
    /// 平台运营单位: the platform's operator (created by the operators only).
    Operator,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] = [
        OrgKind::Enterprise,
        OrgKind::Institution,
        OrgKind::Government,
        OrgKind::Intermediary,
        OrgKind::Operator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Enterprise => "enterprise",
            OrgKind::Institution => "institution",
            OrgKind::Government => "government",
            OrgKind::Intermediary => "intermediary",
            OrgKind::Operator => "operator",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrgKind::Enterprise => "企业",
            OrgKind::Institution => "金融机构",
            OrgKind::Government => "政府部门",
            OrgKind::Intermediary => "第三方中介机构",
            OrgKind::Operator => "平台运营单位",
        }
    }

    /// Whether the unified social credit code is required (it is optional for the others).
    pub fn requires_uscc(self) -> bool {
        matches!(self, OrgKind::Enterprise)
    }

    /// Whether an account may register an organisation of this kind itself (the operator's
    /// organisation is created by the operators).
    pub fn self_registrable(self) -> bool {
        !matches!(self, OrgKind::Operator)
    }

    pub fn parse(text: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrgKind {
    /// A message for the form, in Chinese.
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgKind::parse(s.trim()).ok_or("请选择机构类型")
    }
}

/// Where an organisation is in its review.
///
/// `pending` → `approved` | `rejected`; `rejected` → `pending` (resubmitted by its main
/// account); `approved` ↔ `disabled` (the operators).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OrgStatus {
    Pending,
    Approved,
    Rejected,
    Disabled,
}

impl OrgStatus {
    pub const ALL: [OrgStatus; 4] = [
        OrgStatus::Pending,
        OrgStatus::Approved,
        OrgStatus::Rejected,
        OrgStatus::Disabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Pending => "pending",
            OrgStatus::Approved => "approved",
            OrgStatus::Rejected => "rejected",
            OrgStatus::Disabled => "disabled",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrgStatus::Pending => "待审核",
            OrgStatus::Approved => "已通过",
            OrgStatus::Rejected => "已驳回",
            OrgStatus::Disabled => "已停用",
        }
    }

    pub fn parse(text: &str) -> Option<OrgStatus> {
        OrgStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for OrgStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account's place in its organisation.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    /// 主账号: registered the organisation (or is the company itself) and manages the others.
    Main,
    /// 子账号: added by the main account.
    Sub,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Main => "main",
            MemberRole::Sub => "sub",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            MemberRole::Main => "主账号",
            MemberRole::Sub => "子账号",
        }
    }

    pub fn parse(text: &str) -> Option<MemberRole> {
        match text {
            "main" => Some(MemberRole::Main),
            "sub" => Some(MemberRole::Sub),
            _ => None,
        }
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Disabled,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Disabled => "disabled",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            MemberStatus::Active => "启用",
            MemberStatus::Disabled => "停用",
        }
    }

    pub fn parse(text: &str) -> Option<MemberStatus> {
        match text {
            "active" => Some(MemberStatus::Active),
            "disabled" => Some(MemberStatus::Disabled),
            _ => None,
        }
    }
}

/// What an account is in the portal, derived from its organisation's kind and its role there.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PortalRole {
    EnterpriseMain,
    EnterpriseSub,
    InstitutionMain,
    InstitutionSub,
    Government,
    Intermediary,
    Operator,
}

impl PortalRole {
    pub const ALL: [PortalRole; 7] = [
        PortalRole::EnterpriseMain,
        PortalRole::EnterpriseSub,
        PortalRole::InstitutionMain,
        PortalRole::InstitutionSub,
        PortalRole::Government,
        PortalRole::Intermediary,
        PortalRole::Operator,
    ];

    /// The role of a member: government, intermediary and operator staff are that role
    /// whatever their place in the organisation.
    pub fn of(kind: OrgKind, role: MemberRole) -> PortalRole {
        match (kind, role) {
            (OrgKind::Enterprise, MemberRole::Main) => PortalRole::EnterpriseMain,
            (OrgKind::Enterprise, MemberRole::Sub) => PortalRole::EnterpriseSub,
            (OrgKind::Institution, MemberRole::Main) => PortalRole::InstitutionMain,
            (OrgKind::Institution, MemberRole::Sub) => PortalRole::InstitutionSub,
            (OrgKind::Government, _) => PortalRole::Government,
            (OrgKind::Intermediary, _) => PortalRole::Intermediary,
            (OrgKind::Operator, _) => PortalRole::Operator,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PortalRole::EnterpriseMain => "enterprise-main",
            PortalRole::EnterpriseSub => "enterprise-sub",
            PortalRole::InstitutionMain => "institution-main",
            PortalRole::InstitutionSub => "institution-sub",
            PortalRole::Government => "government",
            PortalRole::Intermediary => "intermediary",
            PortalRole::Operator => "operator",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PortalRole::EnterpriseMain => "企业主账号",
            PortalRole::EnterpriseSub => "企业子账号",
            PortalRole::InstitutionMain => "机构主账号",
            PortalRole::InstitutionSub => "机构子账号",
            PortalRole::Government => "政府部门人员",
            PortalRole::Intermediary => "中介机构人员",
            PortalRole::Operator => "平台运营人员",
        }
    }

    pub fn parse(text: &str) -> Option<PortalRole> {
        PortalRole::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for PortalRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organisation. Times are milliseconds since the Unix epoch (UTC).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Organisation {
    pub id: String,
    pub kind: OrgKind,
    pub name: String,
    /// The unified social credit code in clear, for the operators' review and the
    /// organisation's own members. Stored encrypted; never serialised (templates and JSON get
    /// `uscc_masked` unless a page passes the clear code on purpose).
    #[serde(skip_serializing)]
    pub uscc: Option<String>,
    /// `9135**********0029`.
    pub uscc_masked: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub introduction: Option<String>,
    pub status: OrgStatus,
    /// Why the operators rejected it (while `rejected`).
    pub reject_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub reviewed_at: Option<i64>,
    /// `admin:<id>`, `token:<id>` or `system:<why>`.
    pub reviewed_by: Option<String>,
}

/// What a registration (or resubmission, or an operator's creation) says about an
/// organisation. Text is trimmed; empty optional fields count as absent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
pub struct NewOrganisation {
    /// Required; absent is a field error (`请选择机构类型`), like every other missing field.
    #[serde(default)]
    pub kind: Option<OrgKind>,
    pub name: String,
    #[serde(default)]
    pub uscc: Option<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub introduction: Option<String>,
}

/// An account's membership, with its organisation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub org: Organisation,
    pub role: MemberRole,
    pub status: MemberStatus,
    pub created_at: i64,
}

impl Membership {
    pub fn portal_role(&self) -> PortalRole {
        PortalRole::of(self.org.kind, self.role)
    }
}

/// A member as the organisation's main account sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub account_id: String,
    /// The account's display name (the person's or company's name, as signed in).
    pub display_name: String,
    pub role: MemberRole,
    pub status: MemberStatus,
    pub created_at: i64,
}

/// The operators' decision on a pending organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// The reason is shown to the organisation (1 to 500 characters).
    Reject {
        reason: String,
    },
}

/// Which organisations the operators' list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgFilter {
    pub status: Option<OrgStatus>,
    pub kind: Option<OrgKind>,
    /// Part of the name, or a whole credit code.
    pub q: Option<String>,
}

/// The home page's figures: approved organisations only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub enterprises: u64,
    pub institutions: u64,
}

/// The right to read and change one organisation's data, as one of its active members, while
/// it is approved. Only [`crate::Orgs::scope_for`] makes one (and [`crate::Orgs::partner_scope`],
/// for a partner system the configuration maps to a financial institution, whose account id is
/// `partner:<id>`); every query of an organisation's data takes it and is limited to its
/// organisation, so another organisation's rows cannot be returned or changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgScope {
    pub(crate) org_id: String,
    pub(crate) kind: OrgKind,
    pub(crate) account_id: String,
    pub(crate) role: MemberRole,
}

impl OrgScope {
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    pub fn kind(&self) -> OrgKind {
        self.kind
    }

    /// The member acting.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn role(&self) -> MemberRole {
        self.role
    }

    pub fn is_main(&self) -> bool {
        self.role == MemberRole::Main
    }

    pub fn portal_role(&self) -> PortalRole {
        PortalRole::of(self.kind, self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for s in OrgStatus::ALL {
            assert_eq!(OrgStatus::parse(s.as_str()), Some(s));
        }
        for r in PortalRole::ALL {
            assert_eq!(PortalRole::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!("operator".parse::<OrgKind>(), Ok(OrgKind::Operator));
        assert!("bank".parse::<OrgKind>().is_err());
    }

    #[test]
    fn portal_roles_follow_kind_and_place() {
        use MemberRole::*;
        assert_eq!(
            PortalRole::of(OrgKind::Enterprise, Main),
            PortalRole::EnterpriseMain
        );
        assert_eq!(
            PortalRole::of(OrgKind::Enterprise, Sub),
            PortalRole::EnterpriseSub
        );
        assert_eq!(
            PortalRole::of(OrgKind::Institution, Main),
            PortalRole::InstitutionMain
        );
        assert_eq!(
            PortalRole::of(OrgKind::Institution, Sub),
            PortalRole::InstitutionSub
        );
        for r in [Main, Sub] {
            assert_eq!(
                PortalRole::of(OrgKind::Government, r),
                PortalRole::Government
            );
            assert_eq!(
                PortalRole::of(OrgKind::Intermediary, r),
                PortalRole::Intermediary
            );
            assert_eq!(PortalRole::of(OrgKind::Operator, r), PortalRole::Operator);
        }
        assert_eq!(PortalRole::InstitutionSub.label_zh(), "机构子账号");
    }
}
