//! The `Cms` service: articles and their review, the recycle bin, revisions, files, columns,
//! the dictionary, sensitive words, keyword links, follows and hot items, search and
//! statistics. Every change is one transaction that also appends to the change log (which
//! every node's search index follows), and is audited once it commits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use platform::Platform;
use platform::admin::{Admins, Permission, Principal};
use platform::audit::{Actor, AuditEvent, AuditLog, Outcome};
use platform::clock::Clock;
use platform::context::RequestContext;
use platform::paging::{Page, Paged};
use platform::store::{Db, begin_write, with_pool};
use tokio::sync::{Notify, mpsc};

use crate::config::ContentConfig;
use crate::error::CmsError;
use crate::files::{self, FileStore};
use crate::model::{
    Article, ArticleFilter, Column, Decision, Draft, Editor, Follow, Revision, Status, StoredFile,
    Summary,
};
use crate::sanitize;
use crate::search::{Found, IndexedDoc, SearchIndex, SearchQuery};
use crate::stats::{self, Recorder, View};
use crate::words::{self, Library, Matcher, SensitiveAction};

const ARTICLE_COLUMNS: &str = "a.id, a.title, a.summary, a.body, a.body_text, a.tags, a.source, a.department_id, a.department_name, a.status, a.reject_reason, a.held_words, a.revision, a.author, a.author_name, a.created_at, a.updated_at, a.submitted_at, a.published_at, a.reviewed_by, a.deleted_at";

/// The change-log entry that asks every node to rebuild its index.
const REBUILD: &str = "*";
/// The change-log entry that says the sensitive-word library changed.
const WORDS_CHANGED: &str = "#words";
/// How often each node looks at the change log (a change made on this node is applied at once).
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, sqlx::FromRow)]
struct ArticleRow {
    id: String,
    title: String,
    summary: String,
    body: String,
    body_text: String,
    tags: String,
    source: Option<String>,
    department_id: Option<String>,
    department_name: Option<String>,
    status: String,
    reject_reason: Option<String>,
    held_words: Option<String>,
    revision: i64,
    author: String,
    author_name: String,
    created_at: i64,
    updated_at: i64,
    submitted_at: Option<i64>,
    published_at: Option<i64>,
    reviewed_by: Option<String>,
    deleted_at: Option<i64>,
}

fn json_list(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

fn status_of(t: &str) -> Result<Status, CmsError> {
    Status::parse(t).ok_or(CmsError::Forbidden(
        "an article of an unknown status is stored",
    ))
}

impl ArticleRow {
    fn into_article(self, columns: Vec<String>) -> Result<Article, CmsError> {
        Ok(Article {
            status: status_of(&self.status)?,
            tags: json_list(Some(&self.tags)),
            held_words: json_list(self.held_words.as_deref()),
            id: self.id,
            title: self.title,
            summary: self.summary,
            body: self.body,
            body_text: self.body_text,
            columns,
            source: self.source,
            department_id: self.department_id,
            department_name: self.department_name,
            reject_reason: self.reject_reason,
            revision: self.revision,
            author: self.author,
            author_name: self.author_name,
            created_at: self.created_at,
            updated_at: self.updated_at,
            submitted_at: self.submitted_at,
            published_at: self.published_at,
            reviewed_by: self.reviewed_by,
            deleted_at: self.deleted_at,
        })
    }
}

/// A draft that passed the checks: clean HTML, its text, tags and columns.
struct Checked {
    title: String,
    summary: String,
    body: String,
    body_text: String,
    tags: Vec<String>,
    columns: Vec<String>,
    source: Option<String>,
    files: Vec<String>,
}

/// Writes an article's columns, tags and attached files (inside a write transaction of
/// either backend, which is why it is a macro).
macro_rules! write_links {
    ($tx:ident, $id:expr, $c:expr) => {{
        let (id, c): (&str, &Checked) = ($id, $c);
        sqlx::query("DELETE FROM content_article_columns WHERE article_id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await?;
        for col in &c.columns {
            sqlx::query("INSERT INTO content_article_columns (article_id, column_id) VALUES ($1, $2)")
                .bind(id)
                .bind(col)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query("DELETE FROM content_article_tags WHERE article_id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await?;
        for t in &c.tags {
            sqlx::query("INSERT INTO content_article_tags (article_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(t)
                .execute(&mut *$tx)
                .await?;
        }
        for f in &c.files {
            sqlx::query("UPDATE content_files SET article_id = $1 WHERE id = $2 AND (article_id IS NULL OR article_id = $1)")
                .bind(id)
                .bind(f)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// Keeps a revision (inside a write transaction of either backend).
macro_rules! write_revision {
    ($tx:ident, $id:expr, $revision:expr, $c:expr, $now:expr, $by:expr, $by_name:expr) => {{
        let c: &Checked = $c;
        sqlx::query("INSERT INTO content_revisions (article_id, revision, title, summary, body, tags, columns, source, saved_at, saved_by, saved_by_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind($id)
            .bind($revision)
            .bind(&c.title)
            .bind(&c.summary)
            .bind(&c.body)
            .bind(serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into()))
            .bind(serde_json::to_string(&c.columns).unwrap_or_else(|_| "[]".into()))
            .bind(c.source.as_deref())
            .bind($now)
            .bind($by)
            .bind($by_name)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Content of the portal.
#[derive(Clone)]
pub struct Cms {
    db: Db,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    admins: Arc<Admins>,
    config: Arc<ContentConfig>,
    library: Library,
    search: Arc<SearchIndex>,
    files: FileStore,
    recorder: Recorder,
    changed: Arc<Notify>,
    /// The columns, read at most every [`COLUMNS_TTL_MS`] (every page shows them); a change
    /// on this node forgets them at once.
    columns: Arc<std::sync::RwLock<Option<KeptColumns>>>,
}

/// The columns as read, and when (ms).
type KeptColumns = (i64, Arc<Vec<Column>>);

/// A row of `content_columns`.
type ColumnRow = (
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
    i64,
);

/// How long the columns are reused (another node's change shows within this time).
const COLUMNS_TTL_MS: i64 = 5_000;

impl std::fmt::Debug for Cms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cms")
    }
}

fn now_of(clock: &dyn Clock) -> i64 {
    clock.now().0
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `%text%` for `LIKE … ESCAPE '\'`.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A value bound to a statement of [`Cms::exec`].
enum Arg<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

impl Cms {
    /// Runs one writing statement with `args` bound in order; the rows it changed.
    async fn exec(&self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, CmsError> {
        Ok(with_pool!(self.db.write(), |p| {
            let mut q = sqlx::query(sql);
            for a in args {
                q = match a {
                    Arg::Text(t) => q.bind(*t),
                    Arg::Int(i) => q.bind(*i),
                };
            }
            q.execute(p).await.map(|r| r.rows_affected())
        })?)
    }

    /// Records an administrator's successful change of `target`.
    async fn audited(
        &self,
        who: &Principal,
        event: &'static str,
        target: String,
        details: Option<serde_json::Value>,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        let mut e = AuditEvent::new(event, Outcome::Success)
            .actor(who.actor())
            .target(target)
            .context(ctx);
        if let Some(d) = details {
            e = e.details(d);
        }
        self.record(e).await
    }

    /// The service and the queue of page views its statistics writer ([`Cms::run_stats`])
    /// reads. `own_host` is this site's host (views referred from it do not begin a visit).
    pub fn new(
        platform: &Platform,
        config: ContentConfig,
        own_host: &str,
    ) -> Result<(Cms, mpsc::Receiver<View>), CmsError> {
        let search = SearchIndex::open(&config.search_dir).map_err(|e| CmsError::Search(e.0))?;
        let files = FileStore::open(&config.storage)?;
        let (recorder, rx) = Recorder::new(own_host);
        Ok((
            Cms {
                db: platform.db.clone(),
                clock: platform.clock.clone(),
                audit: platform.audit.clone(),
                admins: platform.admins.clone(),
                config: Arc::new(config),
                library: Library::default(),
                search: Arc::new(search),
                files,
                recorder,
                changed: Arc::new(Notify::new()),
                columns: Arc::new(std::sync::RwLock::new(None)),
            },
            rx,
        ))
    }

    pub fn config(&self) -> &ContentConfig {
        &self.config
    }

    fn now(&self) -> i64 {
        now_of(self.clock.as_ref())
    }

    async fn record(&self, event: AuditEvent) -> Result<(), CmsError> {
        self.audit.append(event).await?;
        Ok(())
    }

    async fn require(
        &self,
        who: &Principal,
        p: Permission,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        Ok(self.admins.authorize(who, p, ctx).await?)
    }

    /// An editor's right to write (`ContentEdit`; a department's staff always may, for its
    /// own policies).
    async fn may_edit(&self, ed: &Editor, ctx: &RequestContext) -> Result<(), CmsError> {
        match ed {
            Editor::Admin { principal, .. } => {
                self.require(principal, Permission::ContentEdit, ctx).await
            }
            Editor::Department { .. } => Ok(()),
        }
    }

    /// A reviewer's right (`ContentReview`; never a department's staff).
    async fn may_review(&self, ed: &Editor, ctx: &RequestContext) -> Result<(), CmsError> {
        match ed {
            Editor::Admin { principal, .. } => {
                self.require(principal, Permission::ContentReview, ctx)
                    .await
            }
            Editor::Department { .. } => Err(CmsError::Forbidden(
                "a department's staff submit policies; the platform's reviewers publish them",
            )),
        }
    }

    /// Whether `ed` may touch `a` at all: a department's staff only its own department's.
    fn owns(ed: &Editor, a: &Article) -> Result<(), CmsError> {
        match ed {
            Editor::Admin { .. } => Ok(()),
            Editor::Department { org_id, .. } => {
                if a.department_id.as_deref() == Some(org_id.as_str()) {
                    Ok(())
                } else {
                    Err(CmsError::NotFound(a.id.clone()))
                }
            }
        }
    }

    // ----- columns -----

    /// Every column, top-level ones first, each followed by its sub-columns in order.
    pub async fn columns(&self) -> Result<Vec<Column>, CmsError> {
        let now = self.now();
        if let Ok(g) = self.columns.read()
            && let Some((at, cols)) = &*g
            && now - at < COLUMNS_TTL_MS
        {
            return Ok(cols.as_ref().clone());
        }
        let cols = self.read_columns().await?;
        if let Ok(mut g) = self.columns.write() {
            *g = Some((now, Arc::new(cols.clone())));
        }
        Ok(cols)
    }

    fn forget_columns(&self) {
        if let Ok(mut g) = self.columns.write() {
            *g = None;
        }
    }

    async fn read_columns(&self) -> Result<Vec<Column>, CmsError> {
        let rows: Vec<ColumnRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT id, parent_id, name, section, level, position, builtin FROM content_columns ORDER BY position, id")
                    .fetch_all(p)
                    .await
        })?;
        let all: Vec<Column> = rows
            .into_iter()
            .map(
                |(id, parent_id, name, section, level, position, builtin)| Column {
                    id,
                    parent_id,
                    name,
                    section,
                    level,
                    position,
                    builtin: builtin != 0,
                },
            )
            .collect();
        let mut ordered = Vec::with_capacity(all.len());
        for top in all.iter().filter(|c| c.parent_id.is_none()) {
            ordered.push(top.clone());
            for sub in all
                .iter()
                .filter(|c| c.parent_id.as_deref() == Some(top.id.as_str()))
            {
                ordered.push(sub.clone());
            }
        }
        Ok(ordered)
    }

    pub async fn column(&self, id: &str) -> Result<Column, CmsError> {
        self.columns()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| CmsError::ColumnNotFound(id.to_owned()))
    }

    /// The operators add a sub-column under a top-level column.
    pub async fn add_column(
        &self,
        who: &Principal,
        parent: &str,
        name: &str,
        ctx: &RequestContext,
    ) -> Result<Column, CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 20 {
            return Err(CmsError::field("name", "请填写栏目名称（1 到 20 个字）。"));
        }
        let parent = self.column(parent).await?;
        if !parent.is_top() {
            return Err(CmsError::field("parent", "只能在一级栏目下添加子栏目。"));
        }
        let siblings: Vec<Column> = self
            .columns()
            .await?
            .into_iter()
            .filter(|c| c.parent_id.as_deref() == Some(parent.id.as_str()))
            .collect();
        if siblings.iter().any(|c| c.name == name) {
            return Err(CmsError::field("name", "该栏目下已有同名子栏目。"));
        }
        let id = format!(
            "{}-{}",
            parent.id,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let position = siblings.iter().map(|c| c.position).max().unwrap_or(0) + 1;
        let now = self.now();
        self.exec(
            "INSERT INTO content_columns (id, parent_id, name, section, level, position, builtin, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
            &[
                Arg::Text(Some(&id)),
                Arg::Text(Some(&parent.id)),
                Arg::Text(Some(name)),
                Arg::Text(Some(&parent.section)),
                Arg::Text(parent.level.as_deref()),
                Arg::Int(position),
                Arg::Int(now),
            ],
        )
        .await?;
        self.forget_columns();
        self.audited(
            who,
            "content.column_added",
            format!("column:{id}"),
            Some(serde_json::json!({ "parent": parent.id, "name": name })),
            ctx,
        )
        .await?;
        self.column(&id).await
    }

    /// The operators delete a sub-column they added, when no article is in it.
    pub async fn delete_column(
        &self,
        who: &Principal,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        let c = self.column(id).await?;
        if c.builtin {
            return Err(CmsError::field("column", "系统内置栏目不能删除。"));
        }
        let used: i64 = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM content_article_columns WHERE column_id = $1")
                .bind(id)
                .fetch_one(p)
                .await
        })?;
        if used > 0 {
            return Err(CmsError::field(
                "column",
                format!("该栏目下还有 {used} 篇内容，请先移出后再删除。"),
            ));
        }
        self.exec(
            "DELETE FROM content_columns WHERE id = $1 AND builtin = 0",
            &[Arg::Text(Some(id))],
        )
        .await?;
        self.forget_columns();
        self.audited(
            who,
            "content.column_deleted",
            format!("column:{id}"),
            Some(serde_json::json!({ "name": c.name })),
            ctx,
        )
        .await
    }

    // ----- articles -----

    async fn check(&self, ed: &Editor, d: Draft) -> Result<Checked, CmsError> {
        let mut errors: Vec<(String, String)> = Vec::new();
        let title = d.title.trim().to_owned();
        if title.is_empty() {
            errors.push(("title".into(), "请填写标题。".into()));
        } else if title.chars().count() > 100 {
            errors.push(("title".into(), "标题不能超过 100 个字。".into()));
        }
        let summary = d.summary.trim().to_owned();
        if summary.chars().count() > 300 {
            errors.push(("summary".into(), "摘要不能超过 300 个字。".into()));
        }
        let body = sanitize::clean(&d.body);
        let links = self.keyword_links().await?;
        let body = sanitize::link_keywords(&body, &links);
        let body_text = sanitize::text_of(&body);
        if body_text.is_empty() && !body.contains("<img") {
            errors.push(("body".into(), "请填写正文。".into()));
        } else if body.len() > 1_000_000 {
            errors.push(("body".into(), "正文过长（不能超过 1 MB）。".into()));
        }
        let mut tags: Vec<String> = Vec::new();
        for t in d.tags.iter().flat_map(|t| t.split([',', '，', ' ', '、'])) {
            let t = t.trim();
            if t.is_empty() {
                continue;
            }
            if t.chars().count() > 20 {
                errors.push(("tags".into(), "每个标签不能超过 20 个字。".into()));
                break;
            }
            if !tags.iter().any(|x| x == t) {
                tags.push(t.to_owned());
            }
        }
        if tags.len() > 10 {
            errors.push(("tags".into(), "标签不能超过 10 个。".into()));
        }
        let all = self.columns().await?;
        let mut columns: Vec<String> = Vec::new();
        for c in &d.columns {
            match all.iter().find(|x| &x.id == c) {
                None => {
                    errors.push(("columns".into(), "所选栏目不存在，请重新选择。".into()));
                    break;
                }
                Some(col) => {
                    if matches!(ed, Editor::Department { .. }) && col.section != "policy" {
                        errors.push((
                            "columns".into(),
                            "政府部门只能在「政策专题」下发布内容。".into(),
                        ));
                        break;
                    }
                    if !columns.contains(&col.id) {
                        columns.push(col.id.clone());
                    }
                }
            }
        }
        if columns.is_empty() && !errors.iter().any(|(f, _)| f == "columns") {
            errors.push(("columns".into(), "请至少选择一个栏目。".into()));
        }
        let source = d
            .source
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if source.as_ref().is_some_and(|s| s.chars().count() > 50) {
            errors.push(("source".into(), "来源不能超过 50 个字。".into()));
        }
        if !errors.is_empty() {
            return Err(CmsError::Invalid(errors));
        }
        Ok(Checked {
            summary: if summary.is_empty() {
                body_text.chars().take(120).collect()
            } else {
                summary
            },
            title,
            body,
            body_text,
            tags,
            columns,
            source,
            files: d.files,
        })
    }

    /// A new article, saved as a draft (revision 1).
    pub async fn create(
        &self,
        ed: &Editor,
        draft: Draft,
        ctx: &RequestContext,
    ) -> Result<Article, CmsError> {
        self.may_edit(ed, ctx).await?;
        let c = self.check(ed, draft).await?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let (dept_id, dept_name) = match ed {
            Editor::Department {
                org_id, org_name, ..
            } => (Some(org_id.clone()), Some(org_name.clone())),
            Editor::Admin { .. } => (None, None),
        };
        let by = ed.reference();
        let by_name = ed.name().to_owned();
        let tags_json = serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into());
        with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                sqlx::query("INSERT INTO content_articles (id, title, summary, body, body_text, tags, source, department_id, department_name, status, revision, author, author_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', 1, $10, $11, $12, $12)")
                    .bind(&id).bind(&c.title).bind(&c.summary).bind(&c.body).bind(&c.body_text)
                    .bind(&tags_json).bind(c.source.as_deref()).bind(dept_id.as_deref()).bind(dept_name.as_deref())
                    .bind(&by).bind(&by_name).bind(now)
                    .execute(&mut *tx).await?;
                write_links!(tx, &id, &c);
                write_revision!(tx, &id, 1_i64, &c, now, &by, &by_name);
                tx.commit().await?;
                Ok::<_, CmsError>(())
            }
            .await
        })?;
        self.record(
            AuditEvent::new("content.created", Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(serde_json::json!({ "title": c.title, "columns": c.columns }))
                .context(ctx),
        )
        .await?;
        self.get(&id).await
    }

    /// A new revision of a draft, rejected or withdrawn article (it becomes a draft again).
    /// `revision` is the one the editor started from: another's save meanwhile is a conflict.
    pub async fn update(
        &self,
        ed: &Editor,
        id: &str,
        revision: i64,
        draft: Draft,
        ctx: &RequestContext,
    ) -> Result<Article, CmsError> {
        self.may_edit(ed, ctx).await?;
        let a = self.get(id).await?;
        Self::owns(ed, &a)?;
        if a.in_recycle_bin() || !a.status.editable() {
            return Err(CmsError::State {
                status: a.status,
                in_bin: a.in_recycle_bin(),
                step: "edit",
            });
        }
        if a.revision != revision {
            return Err(CmsError::Forbidden(
                "someone saved the article meanwhile: reload it and edit the new revision",
            ));
        }
        let c = self.check(ed, draft).await?;
        let now = self.now();
        let by = ed.reference();
        let by_name = ed.name().to_owned();
        let next = a.revision + 1;
        let tags_json = serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into());
        with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let changed = sqlx::query("UPDATE content_articles SET title = $1, summary = $2, body = $3, body_text = $4, tags = $5, source = $6, status = 'draft', revision = $7, updated_at = $8, held_words = NULL WHERE id = $9 AND revision = $10 AND deleted_at IS NULL AND status IN ('draft', 'rejected', 'withdrawn')")
                    .bind(&c.title).bind(&c.summary).bind(&c.body).bind(&c.body_text).bind(&tags_json)
                    .bind(c.source.as_deref()).bind(next).bind(now).bind(id).bind(a.revision)
                    .execute(&mut *tx).await?.rows_affected();
                if changed != 1 {
                    return Err(CmsError::Forbidden(
                        "someone changed the article meanwhile: reload it",
                    ));
                }
                write_links!(tx, id, &c);
                write_revision!(tx, id, next, &c, now, &by, &by_name);
                tx.commit().await?;
                Ok::<_, CmsError>(())
            }
            .await
        })?;
        self.record(
            AuditEvent::new("content.revised", Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(serde_json::json!({ "revision": next, "title": c.title }))
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    /// Moves `id` from one of `from` to `to` with `set` (extra assignments), in one statement
    /// that re-checks the state, logging a change for the search indexes.
    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        a: &Article,
        from: &[Status],
        in_bin: bool,
        step: &'static str,
        set: &str,
        binds: Vec<Option<String>>,
    ) -> Result<(), CmsError> {
        let ok = from.contains(&a.status) && a.in_recycle_bin() == in_bin;
        if !ok {
            return Err(CmsError::State {
                status: a.status,
                in_bin: a.in_recycle_bin(),
                step,
            });
        }
        let now = self.now();
        let states = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let bin = if in_bin { "IS NOT NULL" } else { "IS NULL" };
        let n = binds.len();
        let sql = format!(
            "UPDATE content_articles SET {set}, updated_at = ${} WHERE id = ${} AND revision = ${} AND status IN ({states}) AND deleted_at {bin}",
            n + 1,
            n + 2,
            n + 3
        );
        let id = a.id.clone();
        let revision = a.revision;
        with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for v in &binds {
                    q = q.bind(v.as_deref());
                }
                let changed = q
                    .bind(now)
                    .bind(&id)
                    .bind(revision)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed != 1 {
                    return Err(CmsError::Forbidden(
                        "someone changed the article meanwhile: reload it",
                    ));
                }
                sqlx::query("INSERT INTO content_changes (article_id, at) VALUES ($1, $2)")
                    .bind(&id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, CmsError>(())
            }
            .await
        })?;
        self.changed.notify_one();
        Ok(())
    }

    /// The author submits a draft for review. Sensitive words refuse it (their places marked)
    /// or, with `sensitive_action = "review"`, go with it for the reviewer to see.
    pub async fn submit(
        &self,
        ed: &Editor,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Article, CmsError> {
        self.may_edit(ed, ctx).await?;
        let a = self.get(id).await?;
        Self::owns(ed, &a)?;
        let held = self.screen(&[
            ("title", &a.title),
            ("summary", &a.summary),
            ("body", &a.body_text),
            ("tags", &a.tags.join(" ")),
        ])?;
        let held_json = (!held.is_empty())
            .then(|| serde_json::to_string(&held).unwrap_or_else(|_| "[]".into()));
        let now = self.now().to_string();
        self.transition(
            &a,
            &[Status::Draft, Status::Rejected, Status::Withdrawn],
            false,
            "submit",
            "status = 'pending', reject_reason = NULL, held_words = $1, submitted_at = CAST($2 AS BIGINT)",
            vec![held_json, Some(now)],
        )
        .await?;
        self.record(
            AuditEvent::new("content.submitted", Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(serde_json::json!({ "revision": a.revision, "held_words": held }))
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    /// A reviewer publishes a pending article or rejects it with a reason.
    pub async fn review(
        &self,
        ed: &Editor,
        id: &str,
        decision: Decision,
        ctx: &RequestContext,
    ) -> Result<Article, CmsError> {
        self.may_review(ed, ctx).await?;
        let a = self.get(id).await?;
        let by = ed.reference();
        match &decision {
            Decision::Publish => {
                let now = self.now().to_string();
                self.transition(
                    &a,
                    &[Status::Pending],
                    false,
                    "publish",
                    "status = 'published', reviewed_by = $1, published_at = COALESCE(published_at, CAST($2 AS BIGINT))",
                    vec![Some(by), Some(now)],
                )
                .await?;
            }
            Decision::Reject { reason } => {
                let reason = reason.trim();
                if reason.is_empty() || reason.chars().count() > 500 {
                    return Err(CmsError::field(
                        "reason",
                        "请填写驳回理由（不超过 500 字），作者将看到它。",
                    ));
                }
                self.transition(
                    &a,
                    &[Status::Pending],
                    false,
                    "reject",
                    "status = 'rejected', reviewed_by = $1, reject_reason = $2",
                    vec![Some(by), Some(reason.to_owned())],
                )
                .await?;
            }
        }
        let (event, details) = match &decision {
            Decision::Publish => (
                "content.published",
                serde_json::json!({ "revision": a.revision, "title": a.title }),
            ),
            Decision::Reject { reason } => (
                "content.rejected",
                serde_json::json!({ "revision": a.revision, "reason": reason.trim() }),
            ),
        };
        self.record(
            AuditEvent::new(event, Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(details)
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    /// A reviewer takes a published article off the portal (it can be edited and submitted
    /// again).
    pub async fn withdraw(
        &self,
        ed: &Editor,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Article, CmsError> {
        self.may_review(ed, ctx).await?;
        let a = self.get(id).await?;
        self.transition(
            &a,
            &[Status::Published],
            false,
            "withdraw",
            "status = 'withdrawn', reviewed_by = $1",
            vec![Some(ed.reference())],
        )
        .await?;
        self.record(
            AuditEvent::new("content.withdrawn", Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(serde_json::json!({ "title": a.title }))
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    /// Into the recycle bin (off the portal if it was published). Editors put their drafts
    /// there; reviewers any article.
    pub async fn delete(
        &self,
        ed: &Editor,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Article, CmsError> {
        let a = self.get(id).await?;
        Self::owns(ed, &a)?;
        let reviewer = match ed {
            Editor::Admin { principal, .. } => principal.role.can(Permission::ContentReview),
            Editor::Department { .. } => false,
        };
        if reviewer {
            self.may_review(ed, ctx).await?;
        } else {
            self.may_edit(ed, ctx).await?;
            if !a.status.editable() {
                return Err(CmsError::State {
                    status: a.status,
                    in_bin: a.in_recycle_bin(),
                    step: "delete",
                });
            }
        }
        let now = self.now().to_string();
        self.transition(
            &a,
            &Status::ALL,
            false,
            "delete",
            "deleted_at = CAST($1 AS BIGINT), deleted_by = $2",
            vec![Some(now), Some(ed.reference())],
        )
        .await?;
        self.record(
            AuditEvent::new("content.deleted", Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(serde_json::json!({ "title": a.title, "status": a.status.as_str() }))
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    /// Out of the recycle bin, in the state it had (a published article is public again).
    pub async fn restore(
        &self,
        ed: &Editor,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<Article, CmsError> {
        let a = self.get(id).await?;
        Self::owns(ed, &a)?;
        if a.status.editable() {
            self.may_edit(ed, ctx)
                .await
                .or(self.may_review(ed, ctx).await)?;
        } else {
            self.may_review(ed, ctx).await?;
        }
        self.transition(
            &a,
            &Status::ALL,
            true,
            "restore",
            "deleted_at = NULL, deleted_by = $1",
            vec![None],
        )
        .await?;
        self.record(
            AuditEvent::new("content.restored", Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(serde_json::json!({ "title": a.title, "status": a.status.as_str() }))
                .context(ctx),
        )
        .await?;
        self.get(id).await
    }

    /// A reviewer erases an article in the recycle bin with its revisions and files. The audit
    /// records keep that it existed and who erased it.
    pub async fn purge(&self, ed: &Editor, id: &str, ctx: &RequestContext) -> Result<(), CmsError> {
        self.may_review(ed, ctx).await?;
        let a = self.get(id).await?;
        if !a.in_recycle_bin() {
            return Err(CmsError::State {
                status: a.status,
                in_bin: false,
                step: "purge",
            });
        }
        let files = self.files_of(id).await?;
        let now = self.now();
        with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                for t in [
                    "DELETE FROM content_article_columns WHERE article_id = $1",
                    "DELETE FROM content_article_tags WHERE article_id = $1",
                    "DELETE FROM content_revisions WHERE article_id = $1",
                    "DELETE FROM content_files WHERE article_id = $1",
                    "DELETE FROM article_views_hourly WHERE article_id = $1",
                ] {
                    sqlx::query(t).bind(id).execute(&mut *tx).await?;
                }
                let n = sqlx::query(
                    "DELETE FROM content_articles WHERE id = $1 AND deleted_at IS NOT NULL",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(CmsError::NotFound(id.to_owned()));
                }
                sqlx::query("INSERT INTO content_changes (article_id, at) VALUES ($1, $2)")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, CmsError>(())
            }
            .await
        })?;
        for f in &files {
            if let Err(e) = self.files.delete(&f.id).await {
                tracing::warn!(file = %f.id, error = %e, "a purged article's file stays in the file store");
            }
        }
        self.changed.notify_one();
        self.record(
            AuditEvent::new("content.purged", Outcome::Success)
                .actor(ed.actor())
                .target(format!("article:{id}"))
                .details(serde_json::json!({ "title": a.title, "revisions": a.revision, "files": files.len() }))
                .context(ctx),
        )
        .await
    }

    /// Any article (the console's view; readers use [`Cms::published`]).
    pub async fn get(&self, id: &str) -> Result<Article, CmsError> {
        let row: Option<ArticleRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ARTICLE_COLUMNS} FROM content_articles a WHERE a.id = $1"
            )))
            .bind(id)
            .fetch_optional(p)
            .await
        })?;
        let row = row.ok_or_else(|| CmsError::NotFound(id.to_owned()))?;
        let columns: Vec<String> = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar("SELECT ac.column_id FROM content_article_columns ac JOIN content_columns c ON c.id = ac.column_id WHERE ac.article_id = $1 ORDER BY c.position, c.id")
                .bind(id)
                .fetch_all(p)
                .await
        })?;
        row.into_article(columns)
    }

    /// An article as `ed` may see it (a department's staff: their department's only).
    pub async fn get_for(&self, ed: &Editor, id: &str) -> Result<Article, CmsError> {
        let a = self.get(id).await?;
        Self::owns(ed, &a)?;
        Ok(a)
    }

    /// A published article, for readers.
    pub async fn published(&self, id: &str) -> Result<Article, CmsError> {
        match self.get(id).await {
            Ok(a) if a.is_public() => Ok(a),
            Ok(_) | Err(CmsError::NotFound(_)) => Err(CmsError::NotFound(id.to_owned())),
            Err(e) => Err(e),
        }
    }

    /// A page of articles, newest first (published ones by publication, others by change).
    pub async fn list(&self, f: &ArticleFilter, page: Page) -> Result<Paged<Summary>, CmsError> {
        let page = page.normalised();
        let bin = if f.recycle_bin {
            "IS NOT NULL"
        } else {
            "IS NULL"
        };
        let where_ = format!(
            "WHERE a.deleted_at {bin} AND ($1 IS NULL OR a.status = $1) \
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM content_article_columns ac JOIN content_columns c ON c.id = ac.column_id WHERE ac.article_id = a.id AND (c.id = $2 OR c.parent_id = $2))) \
             AND ($3 IS NULL OR EXISTS (SELECT 1 FROM content_article_columns ac JOIN content_columns c ON c.id = ac.column_id WHERE ac.article_id = a.id AND c.level = $3)) \
             AND ($4 IS NULL OR a.department_id = $4) \
             AND ($5 IS NULL OR EXISTS (SELECT 1 FROM content_article_tags t WHERE t.article_id = a.id AND t.tag = $5)) \
             AND ($6 IS NULL OR a.published_at >= $6) AND ($7 IS NULL OR a.published_at < $7) \
             AND ($8 IS NULL OR a.title LIKE $8 ESCAPE '\\') AND ($9 IS NULL OR a.author = $9)"
        );
        let order = if f.status == Some(Status::Published) {
            "a.published_at DESC, a.id DESC"
        } else {
            "a.updated_at DESC, a.id DESC"
        };
        let q = f.q.as_deref().map(like_pattern);
        let status = f.status.map(Status::as_str);
        let (total, rows): (i64, Vec<ArticleRow>) = with_pool!(self.db.read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM content_articles a {where_}"
                )))
                .bind(status)
                .bind(f.column.as_deref())
                .bind(f.level.as_deref())
                .bind(f.department_id.as_deref())
                .bind(f.tag.as_deref())
                .bind(f.from)
                .bind(f.until)
                .bind(q.as_deref())
                .bind(f.author.as_deref())
                .fetch_one(p)
                .await?;
                let rows: Vec<ArticleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {ARTICLE_COLUMNS} FROM content_articles a {where_} ORDER BY {order} LIMIT $10 OFFSET $11"
                )))
                .bind(status)
                .bind(f.column.as_deref())
                .bind(f.level.as_deref())
                .bind(f.department_id.as_deref())
                .bind(f.tag.as_deref())
                .bind(f.from)
                .bind(f.until)
                .bind(q.as_deref())
                .bind(f.author.as_deref())
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(p)
                .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        let items = self.summaries(rows).await?;
        Ok(Paged {
            items,
            total: count(total),
            page: page.number,
            size: page.size,
        })
    }

    async fn summaries(&self, rows: Vec<ArticleRow>) -> Result<Vec<Summary>, CmsError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let pairs: Vec<(String, String)> = with_pool!(self.db.read(), |p| {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT article_id, column_id FROM content_article_columns WHERE article_id IN (",
            );
            let mut list = qb.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            qb.push(") ORDER BY column_id");
            qb.build_query_as().fetch_all(p).await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let columns: Vec<String> = pairs
                .iter()
                .filter(|(a, _)| *a == r.id)
                .map(|(_, c)| c.clone())
                .collect();
            let a = r.into_article(columns)?;
            out.push(Summary {
                id: a.id,
                title: a.title,
                summary: a.summary,
                tags: a.tags,
                columns: a.columns,
                department_name: a.department_name,
                source: a.source,
                status: a.status,
                author_name: a.author_name,
                updated_at: a.updated_at,
                published_at: a.published_at,
                deleted_at: a.deleted_at,
            });
        }
        Ok(out)
    }

    /// The departments with published policies: (organisation id, name), by name.
    pub async fn departments(&self) -> Result<Vec<(String, String)>, CmsError> {
        Ok(with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT department_id, MAX(department_name) AS name FROM content_articles WHERE department_id IS NOT NULL AND status = 'published' AND deleted_at IS NULL GROUP BY department_id ORDER BY name")
                .fetch_all(p)
                .await
        })?)
    }

    /// Published articles that share a tag or a column with `a`, newest first.
    pub async fn related(&self, a: &Article, n: i64) -> Result<Vec<Summary>, CmsError> {
        let rows: Vec<ArticleRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ARTICLE_COLUMNS} FROM content_articles a WHERE a.id <> $1 AND a.status = 'published' AND a.deleted_at IS NULL AND (\
                 EXISTS (SELECT 1 FROM content_article_tags t JOIN content_article_tags mine ON mine.tag = t.tag AND mine.article_id = $1 WHERE t.article_id = a.id) \
                 OR EXISTS (SELECT 1 FROM content_article_columns c JOIN content_article_columns mine ON mine.column_id = c.column_id AND mine.article_id = $1 WHERE c.article_id = a.id)) \
                 ORDER BY a.published_at DESC, a.id DESC LIMIT $2"
            )))
            .bind(&a.id)
            .bind(n)
            .fetch_all(p)
            .await
        })?;
        self.summaries(rows).await
    }

    /// Every kept revision, newest first.
    pub async fn revisions(&self, id: &str) -> Result<Vec<Revision>, CmsError> {
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            i64,
            String,
        );
        let rows: Vec<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT revision, title, summary, body, tags, columns, source, saved_at, saved_by_name FROM content_revisions WHERE article_id = $1 ORDER BY revision DESC")
                .bind(id)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    revision,
                    title,
                    summary,
                    body,
                    tags,
                    columns,
                    source,
                    saved_at,
                    saved_by_name,
                )| Revision {
                    revision,
                    title,
                    summary,
                    body,
                    tags: json_list(Some(&tags)),
                    columns: json_list(Some(&columns)),
                    source,
                    saved_at,
                    saved_by_name,
                },
            )
            .collect())
    }

    // ----- files -----

    /// Keeps an uploaded image or attachment (its type read from its bytes).
    pub async fn upload(
        &self,
        ed: &Editor,
        name: &str,
        bytes: Bytes,
        ctx: &RequestContext,
    ) -> Result<StoredFile, CmsError> {
        self.may_edit(ed, ctx).await?;
        let (content_type, is_image) = files::sniff(&bytes, self.config.max_upload_bytes)?;
        self.keep(
            &ed.reference(),
            ed.actor(),
            name,
            bytes,
            &content_type,
            is_image,
            ctx,
        )
        .await
    }

    /// Keeps an image uploaded outside the editorial work (an institution's logo): PNG, JPEG,
    /// GIF or WebP, read from its bytes, within the upload limit. The caller has authorised
    /// `actor` (recorded as `by`, e.g. `account:<id>`).
    pub async fn upload_image(
        &self,
        by: &str,
        actor: Actor,
        name: &str,
        bytes: Bytes,
        ctx: &RequestContext,
    ) -> Result<StoredFile, CmsError> {
        let (content_type, is_image) = files::sniff(&bytes, self.config.max_upload_bytes)?;
        if !is_image {
            return Err(CmsError::FileRejected(
                "只能上传 PNG、JPEG、GIF 或 WebP 格式的图片。".to_owned(),
            ));
        }
        self.keep(by, actor, name, bytes, &content_type, true, ctx)
            .await
    }

    /// Stores a checked upload, records it and audits it.
    #[allow(clippy::too_many_arguments)]
    async fn keep(
        &self,
        by: &str,
        actor: Actor,
        name: &str,
        bytes: Bytes,
        content_type: &str,
        is_image: bool,
        ctx: &RequestContext,
    ) -> Result<StoredFile, CmsError> {
        let id = uuid::Uuid::new_v4().to_string();
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let name = files::safe_name(name);
        self.files.put(&id, bytes).await?;
        let now = self.now();
        self.exec(
            "INSERT INTO content_files (id, name, content_type, size, sha256, is_image, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                Arg::Text(Some(&id)),
                Arg::Text(Some(&name)),
                Arg::Text(Some(content_type)),
                Arg::Int(size),
                Arg::Text(Some(&sha)),
                Arg::Int(i64::from(is_image)),
                Arg::Int(now),
                Arg::Text(Some(by)),
            ],
        )
        .await?;
        self.record(
            AuditEvent::new("content.file_uploaded", Outcome::Success)
                .actor(actor)
                .target(format!("file:{id}"))
                .details(serde_json::json!({ "name": name, "type": content_type, "size": size, "sha256": sha }))
                .context(ctx),
        )
        .await?;
        self.file(&id).await
    }

    pub async fn file(&self, id: &str) -> Result<StoredFile, CmsError> {
        type Row = (
            String,
            Option<String>,
            String,
            String,
            i64,
            String,
            i64,
            i64,
        );
        let row: Option<Row> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT id, article_id, name, content_type, size, sha256, is_image, created_at FROM content_files WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        let (id, article_id, name, content_type, size, sha256, is_image, created_at) =
            row.ok_or_else(|| CmsError::FileNotFound(id.to_owned()))?;
        Ok(StoredFile {
            id,
            article_id,
            name,
            content_type,
            size,
            sha256,
            is_image: is_image != 0,
            created_at,
        })
    }

    /// A file's bytes.
    pub async fn file_bytes(&self, f: &StoredFile) -> Result<Bytes, CmsError> {
        self.files.get(&f.id).await
    }

    /// The files attached to an article.
    pub async fn files_of(&self, article_id: &str) -> Result<Vec<StoredFile>, CmsError> {
        let ids: Vec<String> = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar(
                "SELECT id FROM content_files WHERE article_id = $1 ORDER BY created_at, id",
            )
            .bind(article_id)
            .fetch_all(p)
            .await
        })?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.file(&id).await?);
        }
        Ok(out)
    }

    // ----- keyword links -----

    pub async fn keyword_links(&self) -> Result<Vec<(String, String)>, CmsError> {
        Ok(with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT keyword, url FROM content_keyword_links ORDER BY keyword")
                .fetch_all(p)
                .await
        })?)
    }

    /// Adds or changes a keyword link (applied to articles saved from now on).
    pub async fn set_keyword_link(
        &self,
        who: &Principal,
        keyword: &str,
        url: &str,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        let keyword = keyword.trim();
        let url = url.trim();
        let mut errors = Vec::new();
        if keyword.is_empty() || keyword.chars().count() > 20 {
            errors.push((
                "keyword".to_owned(),
                "请填写关键词（1 到 20 个字）。".to_owned(),
            ));
        }
        if !sanitize::link_target_ok(url) {
            errors.push((
                "url".to_owned(),
                "链接须以 https://、http:// 或 / 开头，且不含空格和引号。".to_owned(),
            ));
        }
        if !errors.is_empty() {
            return Err(CmsError::Invalid(errors));
        }
        let now = self.now();
        self.exec(
            "INSERT INTO content_keyword_links (keyword, url, created_at) VALUES ($1, $2, $3) ON CONFLICT (keyword) DO UPDATE SET url = excluded.url",
            &[Arg::Text(Some(keyword)), Arg::Text(Some(url)), Arg::Int(now)],
        )
        .await?;
        self.audited(
            who,
            "content.keyword_link_set",
            format!("keyword:{keyword}"),
            Some(serde_json::json!({ "url": url })),
            ctx,
        )
        .await
    }

    pub async fn delete_keyword_link(
        &self,
        who: &Principal,
        keyword: &str,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        self.exec(
            "DELETE FROM content_keyword_links WHERE keyword = $1",
            &[Arg::Text(Some(keyword))],
        )
        .await?;
        self.audited(
            who,
            "content.keyword_link_deleted",
            format!("keyword:{keyword}"),
            None,
            ctx,
        )
        .await
    }

    // ----- dictionary -----

    /// Every entry: (category, code, label), by category and position.
    pub async fn dictionary(&self) -> Result<Vec<(String, String, String)>, CmsError> {
        Ok(with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT category, code, label FROM dictionary_entries ORDER BY category, position, code")
                .fetch_all(p)
                .await
        })?)
    }

    /// The entries of one category: (code, label), in order (a form's select list).
    pub async fn options(&self, category: &str) -> Result<Vec<(String, String)>, CmsError> {
        Ok(with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT code, label FROM dictionary_entries WHERE category = $1 ORDER BY position, code")
                .bind(category)
                .fetch_all(p)
                .await
        })?)
    }

    /// Adds or renames an entry.
    pub async fn set_entry(
        &self,
        who: &Principal,
        category: &str,
        code: &str,
        label: &str,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        let (category, code, label) = (category.trim(), code.trim(), label.trim());
        let ident = |s: &str| {
            !s.is_empty()
                && s.len() <= 40
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        };
        let mut errors = Vec::new();
        if !ident(category) {
            errors.push((
                "category".to_owned(),
                "类别代码只能用小写字母、数字、- 和 _（不超过 40 个）。".to_owned(),
            ));
        }
        if !ident(code) {
            errors.push((
                "code".to_owned(),
                "代码只能用小写字母、数字、- 和 _（不超过 40 个）。".to_owned(),
            ));
        }
        if label.is_empty() || label.chars().count() > 40 {
            errors.push((
                "label".to_owned(),
                "请填写名称（1 到 40 个字）。".to_owned(),
            ));
        }
        if !errors.is_empty() {
            return Err(CmsError::Invalid(errors));
        }
        self.exec(
            "INSERT INTO dictionary_entries (category, code, label, position) VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM dictionary_entries WHERE category = $1)) ON CONFLICT (category, code) DO UPDATE SET label = excluded.label",
            &[Arg::Text(Some(category)), Arg::Text(Some(code)), Arg::Text(Some(label))],
        )
        .await?;
        self.audited(
            who,
            "dictionary.entry_set",
            format!("dictionary:{category}:{code}"),
            Some(serde_json::json!({ "label": label })),
            ctx,
        )
        .await
    }

    pub async fn delete_entry(
        &self,
        who: &Principal,
        category: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        self.exec(
            "DELETE FROM dictionary_entries WHERE category = $1 AND code = $2",
            &[Arg::Text(Some(category)), Arg::Text(Some(code))],
        )
        .await?;
        self.audited(
            who,
            "dictionary.entry_deleted",
            format!("dictionary:{category}:{code}"),
            None,
            ctx,
        )
        .await
    }

    // ----- sensitive words -----

    /// This node's compiled library.
    pub fn matcher(&self) -> Arc<Matcher> {
        self.library.matcher()
    }

    /// What the configuration says to do with sensitive words: refuse (an error marking them
    /// per field) or let them through to review (the words found, for the reviewer).
    pub fn screen(&self, fields: &[(&str, &str)]) -> Result<Vec<String>, CmsError> {
        let hits = words::screen(&self.matcher(), fields);
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        match self.config.sensitive_action {
            SensitiveAction::Refuse => Err(CmsError::Sensitive(hits)),
            SensitiveAction::Review => {
                let mut all: Vec<String> = Vec::new();
                for (_, ws) in hits {
                    for w in ws {
                        if !all.contains(&w) {
                            all.push(w);
                        }
                    }
                }
                Ok(all)
            }
        }
    }

    /// Rebuilds this node's automaton from the store.
    pub async fn load_words(&self) -> Result<usize, CmsError> {
        let list: Vec<String> = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar("SELECT word FROM sensitive_words")
                .fetch_all(p)
                .await
        })?;
        let m = Matcher::new(list);
        let n = m.len();
        self.library.replace(m);
        Ok(n)
    }

    /// A page of the library: (word, category), filtered by a part of the word and category.
    pub async fn words(
        &self,
        q: Option<&str>,
        category: Option<&str>,
        page: Page,
    ) -> Result<Paged<(String, String)>, CmsError> {
        let page = page.normalised();
        let like = q.map(like_pattern);
        let (total, items): (i64, Vec<(String, String)>) = with_pool!(self.db.read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sensitive_words WHERE ($1 IS NULL OR word LIKE $1 ESCAPE '\\') AND ($2 IS NULL OR category = $2)")
                    .bind(like.as_deref()).bind(category)
                    .fetch_one(p).await?;
                let items: Vec<(String, String)> = sqlx::query_as("SELECT word, category FROM sensitive_words WHERE ($1 IS NULL OR word LIKE $1 ESCAPE '\\') AND ($2 IS NULL OR category = $2) ORDER BY created_at DESC, word LIMIT $3 OFFSET $4")
                    .bind(like.as_deref()).bind(category).bind(page.limit()).bind(page.offset())
                    .fetch_all(p).await?;
                Ok::<_, sqlx::Error>((total, items))
            }
            .await
        })?;
        Ok(Paged {
            items,
            total: count(total),
            page: page.number,
            size: page.size,
        })
    }

    /// The categories in use with their word counts.
    pub async fn word_categories(&self) -> Result<Vec<(String, i64)>, CmsError> {
        Ok(with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT category, COUNT(*) FROM sensitive_words GROUP BY category ORDER BY category")
                .fetch_all(p)
                .await
        })?)
    }

    /// Adds words (a hand entry or a file's lines) to `category`; returns how many were new.
    pub async fn add_words(
        &self,
        who: &Principal,
        list: &[String],
        category: &str,
        ctx: &RequestContext,
    ) -> Result<u64, CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        let category = category.trim();
        if category.is_empty() || category.chars().count() > 20 {
            return Err(CmsError::field("category", "请填写类别（1 到 20 个字）。"));
        }
        if list.is_empty() {
            return Err(CmsError::field("words", "没有可导入的词。"));
        }
        if list.len() > 200_000 {
            return Err(CmsError::field("words", "一次最多导入 200000 个词。"));
        }
        let now = self.now();
        let by = platform::audit::Actor::clone(&who.actor());
        let by_ref = match &by.id {
            Some(id) => format!("{}:{id}", by.kind.as_str()),
            None => by.kind.as_str().to_owned(),
        };
        let added: u64 = with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let mut added = 0u64;
                for chunk in list.chunks(400) {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO sensitive_words (word, category, created_at, created_by) ",
                    );
                    qb.push_values(chunk, |mut row, w| {
                        row.push_bind(w.trim())
                            .push_bind(category)
                            .push_bind(now)
                            .push_bind(&by_ref);
                    });
                    qb.push(" ON CONFLICT (word) DO NOTHING");
                    added += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                sqlx::query("INSERT INTO content_changes (article_id, at) VALUES ($1, $2)")
                    .bind(WORDS_CHANGED)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, CmsError>(added)
            }
            .await
        })?;
        self.load_words().await?;
        self.record(
            AuditEvent::new("content.words_added", Outcome::Success)
                .actor(by)
                .details(serde_json::json!({ "category": category, "submitted": list.len(), "added": added }))
                .context(ctx),
        )
        .await?;
        Ok(added)
    }

    pub async fn delete_word(
        &self,
        who: &Principal,
        word: &str,
        ctx: &RequestContext,
    ) -> Result<(), CmsError> {
        self.require(who, Permission::ContentManage, ctx).await?;
        let now = self.now();
        with_pool!(self.db.write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                sqlx::query("DELETE FROM sensitive_words WHERE word = $1")
                    .bind(word)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO content_changes (article_id, at) VALUES ($1, $2)")
                    .bind(WORDS_CHANGED)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, CmsError>(())
            }
            .await
        })?;
        self.load_words().await?;
        self.record(
            AuditEvent::new("content.word_deleted", Outcome::Success)
                .actor(who.actor())
                .details(serde_json::json!({ "word": word }))
                .context(ctx),
        )
        .await
    }

    // ----- search -----

    pub fn search(&self, q: &SearchQuery) -> Result<Found, CmsError> {
        self.search.search(q).map_err(|e| CmsError::Search(e.0))
    }

    pub fn index_location(&self) -> &str {
        &self.search.location
    }

    async fn indexed_doc(&self, id: &str) -> Result<Option<IndexedDoc>, CmsError> {
        let a = match self.get(id).await {
            Ok(a) => a,
            Err(CmsError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !a.is_public() {
            return Ok(None);
        }
        Ok(Some(self.doc_of(a).await?))
    }

    async fn doc_of(&self, a: Article) -> Result<IndexedDoc, CmsError> {
        let all = self.columns().await?;
        let mut columns = a.columns.clone();
        for c in &a.columns {
            if let Some(col) = all.iter().find(|x| &x.id == c)
                && !columns.contains(&col.section)
            {
                columns.push(col.section.clone());
            }
        }
        Ok(IndexedDoc {
            id: a.id,
            title: a.title,
            body_text: a.body_text,
            columns,
            published_at: a.published_at.unwrap_or(a.updated_at),
        })
    }

    async fn last_change(&self) -> Result<i64, CmsError> {
        Ok(with_pool!(self.db.read(), |p| {
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM content_changes")
                .fetch_one(p)
                .await
        })?
        .unwrap_or(0))
    }

    /// Rebuilds this node's index from the store; returns the articles indexed.
    pub async fn reindex(&self) -> Result<usize, CmsError> {
        let upto = self.last_change().await?;
        let ids: Vec<String> = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar(
                "SELECT id FROM content_articles WHERE status = 'published' AND deleted_at IS NULL",
            )
            .fetch_all(p)
            .await
        })?;
        let mut docs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(d) = self.indexed_doc(&id).await? {
                docs.push(d);
            }
        }
        let n = docs.len();
        let search = self.search.clone();
        tokio::task::spawn_blocking(move || search.rebuild(&docs, upto))
            .await
            .map_err(|e| CmsError::Search(e.to_string()))?
            .map_err(|e| CmsError::Search(e.0))?;
        Ok(n)
    }

    /// Asks every node (this one included) to rebuild its index.
    pub async fn request_reindex(&self) -> Result<(), CmsError> {
        let now = self.now();
        self.exec(
            "INSERT INTO content_changes (article_id, at) VALUES ($1, $2)",
            &[Arg::Text(Some(REBUILD)), Arg::Int(now)],
        )
        .await?;
        self.changed.notify_one();
        Ok(())
    }

    /// Applies the changes after what this node's index holds; returns how many it read.
    pub async fn apply_changes(&self) -> Result<usize, CmsError> {
        let Some(from) = self.search.applied() else {
            self.reindex().await?;
            return Ok(0);
        };
        let changes: Vec<(i64, String)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT seq, article_id FROM content_changes WHERE seq > $1 ORDER BY seq LIMIT 1000")
                .bind(from)
                .fetch_all(p)
                .await
        })?;
        let Some(upto) = changes.last().map(|(s, _)| *s) else {
            return Ok(0);
        };
        if changes.iter().any(|(_, id)| id == REBUILD) {
            self.reindex().await?;
            return Ok(changes.len());
        }
        if changes.iter().any(|(_, id)| id == WORDS_CHANGED) {
            self.load_words().await?;
        }
        let mut removed = Vec::new();
        let mut docs = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (_, id) in &changes {
            if id == WORDS_CHANGED || seen.contains(&id.as_str()) {
                continue;
            }
            seen.push(id);
            match self.indexed_doc(id).await? {
                Some(d) => docs.push(d),
                None => removed.push(id.clone()),
            }
        }
        let search = self.search.clone();
        tokio::task::spawn_blocking(move || search.apply(&removed, &docs, upto))
            .await
            .map_err(|e| CmsError::Search(e.to_string()))?
            .map_err(|e| CmsError::Search(e.0))?;
        Ok(changes.len())
    }

    /// This node's follower of the change log: applies changes as they are made here and
    /// every [`FOLLOW_EVERY`] for those made on other nodes. Runs until the task is dropped.
    pub async fn follow_changes(self) {
        if let Err(e) = self.load_words().await {
            tracing::warn!(error = %e, "the sensitive-word library could not be loaded");
        }
        loop {
            if let Err(e) = self.apply_changes().await {
                tracing::warn!(error = %e, "the search index could not follow the content changes");
            }
            let _ = tokio::time::timeout(FOLLOW_EVERY, self.changed.notified()).await;
        }
    }

    // ----- follows and hot items -----

    pub async fn follows(&self, account_id: &str) -> Result<Vec<Follow>, CmsError> {
        let rows: Vec<(String, String)> = with_pool!(self.db.read(), |p| {
            sqlx::query_as("SELECT kind, target FROM content_follows WHERE account_id = $1 ORDER BY created_at, kind, target")
                .bind(account_id)
                .fetch_all(p)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(kind, target)| Follow { kind, target })
            .collect())
    }

    /// Follows (or, with `on` false, stops following) a column or a tag.
    pub async fn set_follow(
        &self,
        account_id: &str,
        kind: &str,
        target: &str,
        on: bool,
    ) -> Result<(), CmsError> {
        match kind {
            "column" => {
                self.column(target).await?;
            }
            "tag" if !target.trim().is_empty() && target.chars().count() <= 20 => {}
            _ => return Err(CmsError::field("target", "只能关注栏目或标签。")),
        }
        let now = self.now();
        with_pool!(self.db.write(), |p| {
            async {
                if on {
                    sqlx::query("INSERT INTO content_follows (account_id, kind, target, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, kind, target) DO NOTHING")
                        .bind(account_id).bind(kind).bind(target.trim()).bind(now)
                        .execute(p).await?;
                } else {
                    sqlx::query("DELETE FROM content_follows WHERE account_id = $1 AND kind = $2 AND target = $3")
                        .bind(account_id).bind(kind).bind(target.trim())
                        .execute(p).await?;
                }
                Ok::<_, sqlx::Error>(())
            }
            .await
        })?;
        Ok(())
    }

    /// The most viewed published articles of the last seven days — among what `account_id`
    /// follows when given (columns, their sub-columns, tags) — then the newest to fill up.
    pub async fn hot(&self, account_id: Option<&str>, n: i64) -> Result<Vec<Summary>, CmsError> {
        let since = self.now().div_euclid(3_600_000) - 7 * 24;
        let followed = "($1 IS NULL OR EXISTS (SELECT 1 FROM content_follows f WHERE f.account_id = $1 AND ((f.kind = 'tag' AND EXISTS (SELECT 1 FROM content_article_tags t WHERE t.article_id = a.id AND t.tag = f.target)) OR (f.kind = 'column' AND EXISTS (SELECT 1 FROM content_article_columns ac JOIN content_columns c ON c.id = ac.column_id WHERE ac.article_id = a.id AND (c.id = f.target OR c.parent_id = f.target))))))";
        let rows: Vec<ArticleRow> = with_pool!(self.db.read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ARTICLE_COLUMNS} FROM content_articles a LEFT JOIN (SELECT article_id, SUM(views) AS views FROM article_views_hourly WHERE hour >= $2 GROUP BY article_id) h ON h.article_id = a.id \
                 WHERE a.status = 'published' AND a.deleted_at IS NULL AND {followed} \
                 ORDER BY COALESCE(h.views, 0) DESC, a.published_at DESC, a.id DESC LIMIT $3"
            )))
            .bind(account_id)
            .bind(since)
            .bind(n)
            .fetch_all(p)
            .await
        })?;
        self.summaries(rows).await
    }

    // ----- statistics -----

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The statistics writer; runs until every recorder is dropped.
    pub async fn run_stats(self, rx: mpsc::Receiver<View>) {
        let db = self.db.clone();
        let recorder = self.recorder.clone();
        drop(self);
        stats::run(db, recorder, rx).await;
    }

    pub async fn report(&self, period: stats::Period) -> Result<stats::Report, CmsError> {
        stats::report(&self.db, period, self.now()).await
    }

    /// How many articles are published (the portal's figures).
    pub async fn published_count(&self) -> Result<u64, CmsError> {
        let n: i64 = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM content_articles WHERE status = 'published' AND deleted_at IS NULL")
                .fetch_one(p)
                .await
        })?;
        Ok(count(n))
    }
}
