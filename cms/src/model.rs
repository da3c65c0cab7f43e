//! What content is: columns, articles and their states, revisions, files, and what people see
//! of them.

use serde::Serialize;

/// An article's state in its review (F1). `rejected` and `withdrawn` go back to `draft` when
/// edited; the recycle bin is a flag beside the state (restoring gives the state back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Pending,
    Published,
    Rejected,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Draft,
        Status::Pending,
        Status::Published,
        Status::Rejected,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Pending => "pending",
            Status::Published => "published",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Pending => "待审核",
            Status::Published => "已发布",
            Status::Rejected => "已驳回",
            Status::Withdrawn => "已下线",
        }
    }

    /// Whether its author may change it (a pending or published article is not edited).
    pub fn editable(self) -> bool {
        matches!(self, Status::Draft | Status::Rejected | Status::Withdrawn)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column (栏目) or sub-column.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Column {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
    /// The top-level column it belongs to: `policy`, `education`, `news` or `notice`.
    pub section: String,
    /// Policies only: `national`, `province`, `city` or `county`.
    pub level: Option<String>,
    pub position: i64,
    pub builtin: bool,
}

impl Column {
    pub fn is_top(&self) -> bool {
        self.parent_id.is_none()
    }
}

/// The top-level columns that the portal has a page for, with their paths.
pub const SECTIONS: &[(&str, &str, &str)] = &[
    ("policy", "政策专题", "/policies"),
    ("education", "金融教育", "/education"),
    ("news", "新闻资讯", "/news"),
    ("notice", "通知公告", "/notices"),
];

/// The portal path of a section's page.
pub fn section_path(section: &str) -> &'static str {
    SECTIONS
        .iter()
        .find(|(id, _, _)| *id == section)
        .map_or("/news", |(_, _, path)| path)
}

/// Policy levels with their Chinese names (the filter of 政策专题).
pub const LEVELS: &[(&str, &str)] = &[
    ("national", "国家"),
    ("province", "福建省"),
    ("city", "龙岩市"),
    ("county", "区县"),
];

/// An article as stored (the current revision).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// Sanitised HTML.
    pub body: String,
    #[serde(skip)]
    pub body_text: String,
    pub tags: Vec<String>,
    pub columns: Vec<String>,
    pub source: Option<String>,
    pub department_id: Option<String>,
    pub department_name: Option<String>,
    pub status: Status,
    pub reject_reason: Option<String>,
    /// Sensitive words found when it was submitted (held for the reviewer's decision).
    pub held_words: Vec<String>,
    pub revision: i64,
    #[serde(skip)]
    pub author: String,
    pub author_name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
    pub published_at: Option<i64>,
    pub reviewed_by: Option<String>,
    /// In the recycle bin since.
    pub deleted_at: Option<i64>,
}

impl Article {
    pub fn in_recycle_bin(&self) -> bool {
        self.deleted_at.is_some()
    }

    pub fn is_public(&self) -> bool {
        self.status == Status::Published && self.deleted_at.is_none()
    }
}

/// What an editor writes: the fields of a new article or a new revision.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Draft {
    pub title: String,
    pub summary: String,
    /// HTML from the editor; sanitised before it is stored.
    pub body: String,
    pub tags: Vec<String>,
    pub columns: Vec<String>,
    pub source: Option<String>,
    /// Files uploaded for it (attached once saved).
    pub files: Vec<String>,
}

/// A kept revision.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Revision {
    pub revision: i64,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub tags: Vec<String>,
    pub columns: Vec<String>,
    pub source: Option<String>,
    pub saved_at: i64,
    pub saved_by_name: String,
}

/// An uploaded image or attachment.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StoredFile {
    pub id: String,
    pub article_id: Option<String>,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub is_image: bool,
    pub created_at: i64,
}

impl StoredFile {
    /// Where readers download it.
    pub fn href(&self) -> String {
        format!("/files/{}", self.id)
    }
}

/// A list entry: what list pages and search results show.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub tags: Vec<String>,
    pub columns: Vec<String>,
    pub department_name: Option<String>,
    pub source: Option<String>,
    pub status: Status,
    pub author_name: String,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

/// Which articles a list asks for (console and portal).
#[derive(Clone, Debug, Default)]
pub struct ArticleFilter {
    pub status: Option<Status>,
    /// The column or any of its sub-columns.
    pub column: Option<String>,
    /// Policies of this level (`county` covers every county's sub-column).
    pub level: Option<String>,
    pub department_id: Option<String>,
    pub tag: Option<String>,
    /// Published on or after / before (ms).
    pub from: Option<i64>,
    pub until: Option<i64>,
    /// Title contains.
    pub q: Option<String>,
    /// The recycle bin instead of the live articles.
    pub recycle_bin: bool,
    /// Only this author's (`admin:<id>` / `account:<id>`).
    pub author: Option<String>,
}

/// Who writes or reviews: an operator of the console (with the role's permissions) or a
/// government department's staff member (policies of their department only).
#[derive(Clone, Debug)]
pub enum Editor {
    Admin {
        principal: platform::admin::Principal,
        name: String,
    },
    Department {
        account_id: String,
        name: String,
        org_id: String,
        org_name: String,
    },
}

impl Editor {
    /// `admin:<id>` or `account:<id>`.
    pub fn reference(&self) -> String {
        match self {
            Editor::Admin { principal, .. } => {
                let a = principal.actor();
                match &a.id {
                    Some(id) => format!("{}:{id}", a.kind.as_str()),
                    None => a.kind.as_str().to_owned(),
                }
            }
            Editor::Department { account_id, .. } => format!("account:{account_id}"),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Editor::Admin { name, .. } | Editor::Department { name, .. } => name,
        }
    }

    pub fn actor(&self) -> platform::audit::Actor {
        match self {
            Editor::Admin { principal, .. } => principal.actor(),
            Editor::Department {
                account_id, name, ..
            } => platform::audit::Actor::new(
                platform::audit::ActorKind::Account,
                Some(account_id.clone()),
                Some(name.clone()),
            ),
        }
    }
}

/// A reviewer's decision on a pending article.
#[derive(Clone, Debug)]
pub enum Decision {
    Publish,
    Reject { reason: String },
}

/// A follow of a column or a tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Follow {
    pub kind: String,
    pub target: String,
}
