//! The three administrator roles of 三权分立 (separation of system, security and audit
//! administration, GB/T 22239-2019 level 3) and what each may do. No role may erase audit
//! records: there is no permission for it.

use std::fmt;
use std::str::FromStr;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Configuration, connectors, identity providers, partners and mappings; the operators'
    /// review and management of organisations.
    SystemAdmin,
    /// Accounts, administrators, roles, permissions, sessions and lockouts.
    SecurityAdmin,
    /// Reads, analyses and exports the audit trail; changes nothing else.
    AuditAdmin,
    /// Writes and submits content (policies, education, news, notices); cannot publish.
    ContentEditor,
    /// Reviews submitted content: publishes or rejects it with a reason, withdraws it; manages
    /// the columns, the dictionary, the sensitive-word library and keyword links.
    ContentReviewer,
    /// An internal system's API token that sends messages to partners and nothing else (not a
    /// person: no administrator account has this role).
    MessageSender,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    ConfigRead,
    ConnectorsManage,
    ProvidersManage,
    PartnersManage,
    MappingsManage,
    MessagesRead,
    /// Sending messages to partner systems (internal systems use a token with it).
    MessagesSend,
    AccountsManage,
    AdminsManage,
    SessionsManage,
    AuditRead,
    AuditExport,
    /// Reviewing, creating, enabling and disabling organisations (the platform's operators).
    OrganisationsManage,
    /// Writing content and submitting it for review; the recycle bin of one's own drafts.
    ContentEdit,
    /// Publishing or rejecting submitted content, withdrawing it, the recycle bin.
    ContentReview,
    /// Columns, the dictionary, sensitive words and keyword links.
    ContentManage,
    /// The portal's traffic statistics.
    StatsRead,
    /// Reviewing institutions' products and enterprises' financing demands before they are
    /// public (the marketplace).
    MarketReview,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::AuditAdmin,
        Role::ContentEditor,
        Role::ContentReviewer,
        Role::MessageSender,
    ];

    /// Whether people (administrator accounts) may hold the role; the others are for API
    /// tokens of systems only.
    pub fn for_people(self) -> bool {
        !matches!(self, Role::MessageSender)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SystemAdmin => "system-admin",
            Role::SecurityAdmin => "security-admin",
            Role::AuditAdmin => "audit-admin",
            Role::ContentEditor => "content-editor",
            Role::ContentReviewer => "content-reviewer",
            Role::MessageSender => "message-sender",
        }
    }

    /// The Chinese name shown in the console.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::SystemAdmin => "系统管理员",
            Role::SecurityAdmin => "安全管理员",
            Role::AuditAdmin => "审计管理员",
            Role::ContentEditor => "内容编辑",
            Role::ContentReviewer => "内容审核",
            Role::MessageSender => "报文发送（系统对接）",
        }
    }

    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::SystemAdmin => &[
                ConfigRead,
                ConnectorsManage,
                ProvidersManage,
                PartnersManage,
                MappingsManage,
                MessagesRead,
                MessagesSend,
                OrganisationsManage,
                MarketReview,
                ContentManage,
                StatsRead,
            ],
            Role::SecurityAdmin => &[AccountsManage, AdminsManage, SessionsManage],
            Role::AuditAdmin => &[AuditRead, AuditExport],
            Role::ContentEditor => &[ContentEdit, StatsRead],
            Role::ContentReviewer => &[ContentReview, ContentManage, StatsRead],
            Role::MessageSender => &[MessagesSend],
        }
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a role; use system-admin, security-admin, audit-admin, content-editor, content-reviewer or (API tokens only) message-sender"
                )
            })
    }
}

impl Permission {
    pub const ALL: [Permission; 18] = [
        Permission::ConfigRead,
        Permission::ConnectorsManage,
        Permission::ProvidersManage,
        Permission::PartnersManage,
        Permission::MappingsManage,
        Permission::MessagesRead,
        Permission::MessagesSend,
        Permission::OrganisationsManage,
        Permission::MarketReview,
        Permission::ContentEdit,
        Permission::ContentReview,
        Permission::ContentManage,
        Permission::StatsRead,
        Permission::AccountsManage,
        Permission::AdminsManage,
        Permission::SessionsManage,
        Permission::AuditRead,
        Permission::AuditExport,
    ];

    /// What the permission allows, in Chinese (the console's table of roles).
    pub fn label_zh(self) -> &'static str {
        match self {
            Permission::ConfigRead => "查看运行配置",
            Permission::ConnectorsManage => "管理外部平台",
            Permission::ProvidersManage => "管理身份认证方式",
            Permission::PartnersManage => "管理合作系统",
            Permission::MappingsManage => "管理报文映射",
            Permission::MessagesRead => "查看报文记录",
            Permission::MessagesSend => "向合作系统发送报文",
            Permission::OrganisationsManage => "审核与管理机构",
            Permission::AccountsManage => "管理用户账号",
            Permission::AdminsManage => "管理管理员与角色",
            Permission::SessionsManage => "结束用户与管理员的会话",
            Permission::AuditRead => "查询与核验审计日志",
            Permission::AuditExport => "导出审计日志",
            Permission::ContentEdit => "撰写与提交内容",
            Permission::ContentReview => "审核、发布与下线内容",
            Permission::ContentManage => "管理栏目、字典、敏感词与关键词链接",
            Permission::StatsRead => "查看访问统计",
            Permission::MarketReview => "审核金融产品与融资需求",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ConfigRead => "config.read",
            Permission::ConnectorsManage => "connectors.manage",
            Permission::ProvidersManage => "providers.manage",
            Permission::PartnersManage => "partners.manage",
            Permission::MappingsManage => "mappings.manage",
            Permission::MessagesRead => "messages.read",
            Permission::MessagesSend => "messages.send",
            Permission::AccountsManage => "accounts.manage",
            Permission::AdminsManage => "admins.manage",
            Permission::SessionsManage => "sessions.manage",
            Permission::AuditRead => "audit.read",
            Permission::AuditExport => "audit.export",
            Permission::OrganisationsManage => "organisations.manage",
            Permission::ContentEdit => "content.edit",
            Permission::ContentReview => "content.review",
            Permission::ContentManage => "content.manage",
            Permission::StatsRead => "stats.read",
            Permission::MarketReview => "market.review",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_powers_do_not_overlap() {
        for p in Role::SystemAdmin.permissions() {
            assert!(!Role::SecurityAdmin.can(*p) && !Role::AuditAdmin.can(*p));
        }
        for p in Role::SecurityAdmin.permissions() {
            assert!(!Role::AuditAdmin.can(*p));
        }
        assert!(Role::AuditAdmin.can(Permission::AuditRead));
        assert!(!Role::SystemAdmin.can(Permission::AuditRead));
        assert!(!Role::SecurityAdmin.can(Permission::AuditRead));
        // The systems' role sends messages and can do nothing else.
        assert_eq!(
            Role::MessageSender.permissions(),
            [Permission::MessagesSend]
        );
        assert!(!Role::MessageSender.for_people());
        // The operators review organisations; nobody else does.
        assert!(Role::SystemAdmin.can(Permission::OrganisationsManage));
        assert_eq!(
            Role::ALL
                .iter()
                .filter(|r| r.can(Permission::OrganisationsManage))
                .count(),
            1
        );
        assert_eq!(
            Permission::OrganisationsManage.as_str(),
            "organisations.manage"
        );
    }

    #[test]
    fn editors_do_not_publish_and_reviewers_do_not_write() {
        assert!(Role::ContentEditor.can(Permission::ContentEdit));
        assert!(!Role::ContentEditor.can(Permission::ContentReview));
        assert!(Role::ContentReviewer.can(Permission::ContentReview));
        assert!(!Role::ContentReviewer.can(Permission::ContentEdit));
        assert!(Role::ContentEditor.for_people() && Role::ContentReviewer.for_people());
    }

    #[test]
    fn every_permission_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for p in Permission::ALL {
            assert!(seen.insert(p.as_str()), "{} twice", p.as_str());
        }
        for r in Role::ALL {
            for p in r.permissions() {
                assert!(Permission::ALL.contains(p), "{} not in ALL", p.as_str());
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
