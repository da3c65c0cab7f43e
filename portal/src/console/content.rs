//! 内容管理: the editors' and reviewers' pages. Editors write (a draft, then a new revision
//! each save) and submit; reviewers publish or reject with a reason, withdraw, and keep the
//! recycle bin. The rules — who may do what in which state, sensitive words, sanitising — are
//! the `cms` service's; these pages show its answers, keep what was typed when it refuses, and
//! offer only the steps the administrator's role and the article's state allow.

use axum::Json;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::response::Response;
use cms::{Article, ArticleFilter, CmsError, Decision, Editor, Page, Status};
use http::StatusCode;
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::editing::{self, EditorForm};
use crate::state::PortalState;
use crate::view::{self, ListQuery, pager};

const SECTION: &str = "/console/content";

const NOTICES: &[(&str, &str, &str)] = &[
    ("created", "success", "已保存为草稿。"),
    ("saved", "success", "已保存新版本。"),
    (
        "submitted",
        "success",
        "已提交审核，审核人员将收到待审核提醒。",
    ),
    (
        "published",
        "success",
        "已发布，内容已出现在所选栏目和站内搜索中。",
    ),
    ("rejected", "success", "已驳回，作者将看到驳回理由。"),
    ("withdrawn", "success", "已下线，内容不再对外展示。"),
    ("deleted", "success", "已移入回收站。"),
    ("restored", "success", "已从回收站恢复。"),
    ("purged", "success", "已彻底删除。"),
];

fn editor(admin: &ConsoleAdmin) -> Editor {
    Editor::Admin {
        principal: admin.principal.clone(),
        name: admin.username.clone(),
    }
}

/// Editors and reviewers see these pages; anybody else gets the 403 page (and its record).
async fn gate(
    state: &PortalState,
    admin: &ConsoleAdmin,
    ctx: &RequestContext,
) -> Result<(), ApiError> {
    let role = admin.principal.role;
    if role.can(Permission::ContentEdit) || role.can(Permission::ContentReview) {
        Ok(())
    } else {
        admin.require(state, Permission::ContentEdit, ctx).await
    }
}

pub fn status_kind(s: Status) -> &'static str {
    match s {
        Status::Published => "ok",
        Status::Pending => "warn",
        Status::Rejected => "bad",
        Status::Draft | Status::Withdrawn => "muted",
    }
}

/// `GET /console/content?status=&c=&q=&bin=1&page=`.
pub async fn list(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    gate(&state, &admin, &ctx).await?;
    let query = ListQuery::parse(q.as_deref());
    let reviewer = admin.principal.role.can(Permission::ContentReview);
    let bin = query.get("bin") == Some("1");
    // Reviewers start at their queue, editors at everything.
    let status_text = if bin {
        ""
    } else {
        query
            .get("status")
            .unwrap_or(if reviewer { "pending" } else { "all" })
    };
    let filter = ArticleFilter {
        status: Status::parse(status_text),
        column: query.get("c").map(str::to_owned),
        q: query.get("q").map(|s| s.chars().take(50).collect()),
        recycle_bin: bin,
        ..ArticleFilter::default()
    };
    let paged = state
        .cms
        .list(&filter, query.page(Page::DEFAULT_SIZE))
        .await?;
    let all = state.cms.columns().await?;
    let q_text = filter.q.clone().unwrap_or_default();
    let page = pager(
        &paged,
        SECTION,
        &[
            ("status", status_text),
            ("c", query.get("c").unwrap_or("")),
            ("q", &q_text),
            ("bin", if bin { "1" } else { "" }),
        ],
    );
    let items: Vec<serde_json::Value> = paged
        .items
        .iter()
        .map(|s| {
            serde_json::json!({
                "href": format!("{SECTION}/{}", s.id),
                "title": s.title,
                "columns": s.columns.iter().filter_map(|c| all.iter().find(|x| &x.id == c)).map(|c| c.name.clone()).collect::<Vec<_>>().join("、"),
                "status_label": s.status.label_zh(),
                "status_kind": status_kind(s.status),
                "author": s.author_name,
                "updated_at": view::time(s.updated_at),
                "deleted_at": s.deleted_at.map(view::time),
            })
        })
        .collect();
    let mut tabs = vec![serde_json::json!({
        "label": "全部", "href": format!("{SECTION}?status=all"), "current": status_text == "all" && !bin,
    })];
    for s in Status::ALL {
        tabs.push(serde_json::json!({
            "label": s.label_zh(),
            "href": format!("{SECTION}?status={}", s.as_str()),
            "current": !bin && status_text == s.as_str(),
        }));
    }
    tabs.push(serde_json::json!({ "label": "回收站", "href": format!("{SECTION}?bin=1"), "current": bin }));
    let mut b = base(&state, "内容管理", SECTION, &admin);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "console/content.html",
        &b,
        serde_json::json!({
            "items": items,
            "page": page,
            "tabs": tabs,
            "bin": bin,
            "filter": { "status": status_text, "c": query.get("c"), "q": q_text },
            "columns": all.iter().map(|c| serde_json::json!({ "value": c.id, "label": if c.is_top() { c.name.clone() } else { format!("　{}", c.name) } })).collect::<Vec<_>>(),
            "can_write": admin.principal.role.can(Permission::ContentEdit),
            "empty": if bin { "回收站是空的。" } else if status_text == "pending" { "没有待审核的内容。" } else { "没有符合条件的内容。" },
        }),
    ))
}

/// The editor page: a new article, or an article's page with its editor when it may be edited.
#[allow(clippy::too_many_arguments)]
async fn editor_page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    article: Option<&Article>,
    form: EditorForm,
    errors: &FieldErrors,
    conflict: Option<String>,
    status: StatusCode,
    query: &ListQuery,
) -> Result<Response, ApiError> {
    let ed = editor(admin);
    let all = state.cms.columns().await?;
    let role = admin.principal.role;
    let writer = role.can(Permission::ContentEdit);
    let reviewer = role.can(Permission::ContentReview);
    let mut files = match article {
        Some(a) => state.cms.files_of(&a.id).await?,
        None => Vec::new(),
    };
    for id in &form.files {
        if !files.iter().any(|f| &f.id == id)
            && let Ok(f) = state.cms.file(id).await
        {
            files.push(f);
        }
    }
    let title = article.map_or("撰写内容".to_owned(), |a| a.title.clone());
    let mut b = base(state, &title, SECTION, admin);
    b.flash = flash(query.get("ok"), NOTICES);
    let article_ctx = match article {
        None => serde_json::Value::Null,
        Some(a) => {
            let bin = a.in_recycle_bin();
            let revisions = state.cms.revisions(&a.id).await?;
            let matcher = state.cms.matcher();
            serde_json::json!({
                "id": a.id,
                "title": a.title,
                "status_label": a.status.label_zh(),
                "status_kind": status_kind(a.status),
                "reject_reason": a.reject_reason,
                "held_words": a.held_words,
                "held_marked": (!a.held_words.is_empty()).then(|| matcher.mark(&format!("{}\n{}", a.title, a.body_text))),
                "author": a.author_name,
                "revision": a.revision,
                "created_at": view::time(a.created_at),
                "updated_at": view::time(a.updated_at),
                "published_at": a.published_at.map(view::time),
                "deleted_at": a.deleted_at.map(view::time),
                "public_href": a.is_public().then(|| format!("/articles/{}", a.id)),
                "preview_html": a.body,
                "revisions": revisions.iter().map(|r| serde_json::json!({
                    "revision": r.revision,
                    "title": r.title,
                    "saved_at": view::time(r.saved_at),
                    "saved_by": r.saved_by_name,
                    "href": format!("{SECTION}/{}/revisions/{}", a.id, r.revision),
                })).collect::<Vec<_>>(),
                "can_edit": writer && !bin && a.status.editable(),
                "can_submit": writer && !bin && a.status.editable(),
                "can_review": reviewer && !bin && a.status == Status::Pending,
                "can_withdraw": reviewer && !bin && a.status == Status::Published,
                "can_delete": !bin && (reviewer || (writer && a.status.editable())),
                "can_restore": bin && (reviewer || (writer && a.status.editable())),
                "can_purge": bin && reviewer,
            })
        }
    };
    let editable = article.is_none_or(|a| writer && !a.in_recycle_bin() && a.status.editable());
    Ok(state.platform.web.page_status(
        status,
        "console/article.html",
        &b,
        serde_json::json!({
            "article": article_ctx,
            "editable": editable && writer,
            "form": form,
            "form_action": article.map_or(format!("{SECTION}/new"), |a| format!("{SECTION}/{}", a.id)),
            "upload_action": format!("{SECTION}/files"),
            "column_groups": editing::column_groups(&all, &ed, &form.columns),
            "files": editing::file_list(&files),
            "errors": errors.map(),
            "conflict": conflict,
            "reason": query.get("reason"),
            "max_upload": cms::files::human_size(state.cms.config().max_upload_bytes),
        }),
    ))
}

/// `GET /console/content/new`.
pub async fn new_form(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin.require(&state, Permission::ContentEdit, &ctx).await?;
    let query = ListQuery::parse(q.as_deref());
    let form = EditorForm {
        columns: query
            .get("c")
            .map(|c| vec![c.to_owned()])
            .unwrap_or_default(),
        ..EditorForm::default()
    };
    editor_page(
        &state,
        &admin,
        None,
        form,
        &FieldErrors::default(),
        None,
        StatusCode::OK,
        &query,
    )
    .await
}

/// `POST /console/content/new`: saves a draft (`action=submit`: and submits it).
pub async fn create(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::ContentEdit, &ctx)
        .await?;
    let ed = editor(&admin);
    match state.cms.create(&ed, editing::draft_of(&f), &ctx).await {
        Ok(a) => {
            if f.get("action") == "submit" {
                return submit_or_show(&state, &admin, &ed, &a, &ctx).await;
            }
            Ok(see_other(&format!("{SECTION}/{}?ok=created", a.id)))
        }
        Err(e) => refused(&state, &admin, None, &f, e).await,
    }
}

/// Submits a saved article; a refusal (sensitive words) shows the article with the words
/// marked on its fields.
async fn submit_or_show(
    state: &PortalState,
    admin: &ConsoleAdmin,
    ed: &Editor,
    a: &Article,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    match state.cms.submit(ed, &a.id, ctx).await {
        Ok(_) => Ok(see_other(&format!("{SECTION}/{}?ok=submitted", a.id))),
        Err(e) => {
            let Some((errors, conflict)) = editing::refusal(&e) else {
                return Err(e.into());
            };
            let a = state.cms.get(&a.id).await?;
            editor_page(
                state,
                admin,
                Some(&a),
                EditorForm::stored(&a),
                &errors,
                conflict,
                StatusCode::UNPROCESSABLE_ENTITY,
                &ListQuery::default(),
            )
            .await
        }
    }
}

async fn refused(
    state: &PortalState,
    admin: &ConsoleAdmin,
    article: Option<&Article>,
    f: &FormData,
    e: CmsError,
) -> Result<Response, ApiError> {
    let Some((errors, conflict)) = editing::refusal(&e) else {
        return Err(e.into());
    };
    let status = if conflict.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    editor_page(
        state,
        admin,
        article,
        EditorForm::typed(f),
        &errors,
        conflict,
        status,
        &ListQuery::default(),
    )
    .await
}

/// `GET /console/content/{id}`.
pub async fn show(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    gate(&state, &admin, &ctx).await?;
    let a = state.cms.get(&id).await?;
    let query = ListQuery::parse(q.as_deref());
    editor_page(
        &state,
        &admin,
        Some(&a),
        EditorForm::stored(&a),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
        &query,
    )
    .await
}

/// `POST /console/content/{id}`: a new revision (`action=submit`: and submits it).
pub async fn save(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::ContentEdit, &ctx)
        .await?;
    let ed = editor(&admin);
    let revision = f.get("revision").parse().unwrap_or(0);
    let current = state.cms.get(&id).await?;
    match state
        .cms
        .update(&ed, &id, revision, editing::draft_of(&f), &ctx)
        .await
    {
        Ok(a) => {
            if f.get("action") == "submit" {
                return submit_or_show(&state, &admin, &ed, &a, &ctx).await;
            }
            Ok(see_other(&format!("{SECTION}/{id}?ok=saved")))
        }
        Err(e) => refused(&state, &admin, Some(&current), &f, e).await,
    }
}

/// `POST /console/content/{id}/{step}`: submit, publish, reject (with `reason`), withdraw,
/// delete, restore, purge.
pub async fn step(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path((id, step)): Path<(String, String)>,
    f: FormData,
) -> Result<Response, ApiError> {
    admin.check(&state, &f)?;
    gate(&state, &admin, &ctx).await?;
    let ed = editor(&admin);
    let result = match step.as_str() {
        "submit" => state.cms.submit(&ed, &id, &ctx).await.map(|_| "submitted"),
        "publish" => state
            .cms
            .review(&ed, &id, Decision::Publish, &ctx)
            .await
            .map(|_| "published"),
        "reject" => state
            .cms
            .review(
                &ed,
                &id,
                Decision::Reject {
                    reason: f.get("reason").to_owned(),
                },
                &ctx,
            )
            .await
            .map(|_| "rejected"),
        "withdraw" => state
            .cms
            .withdraw(&ed, &id, &ctx)
            .await
            .map(|_| "withdrawn"),
        "delete" => state.cms.delete(&ed, &id, &ctx).await.map(|_| "deleted"),
        "restore" => state.cms.restore(&ed, &id, &ctx).await.map(|_| "restored"),
        "purge" => state.cms.purge(&ed, &id, &ctx).await.map(|()| "purged"),
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such step")),
    };
    match result {
        Ok("purged") => Ok(see_other(&format!("{SECTION}?bin=1&ok=purged"))),
        Ok(done) => Ok(see_other(&format!("{SECTION}/{id}?ok={done}"))),
        Err(e) => {
            let Some((errors, conflict)) = editing::refusal(&e) else {
                return Err(e.into());
            };
            let a = state.cms.get(&id).await?;
            let mut query = ListQuery::default();
            query
                .0
                .insert("reason".to_owned(), f.get("reason").to_owned());
            editor_page(
                &state,
                &admin,
                Some(&a),
                EditorForm::stored(&a),
                &errors,
                conflict,
                if errors.is_empty() {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                &query,
            )
            .await
        }
    }
}

/// `GET /console/content/{id}/revisions/{n}`: a kept revision as it was saved.
pub async fn revision(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    Path((id, n)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    gate(&state, &admin, &ctx).await?;
    let a = state.cms.get(&id).await?;
    let revisions = state.cms.revisions(&id).await?;
    let Some(r) = revisions.iter().find(|r| r.revision == n) else {
        return Err(CmsError::NotFound(format!("{id} revision {n}")).into());
    };
    let all = state.cms.columns().await?;
    let b = base(
        &state,
        &format!("{} · 第 {} 版", a.title, r.revision),
        SECTION,
        &admin,
    );
    Ok(state.platform.web.page(
        "console/revision.html",
        &b,
        serde_json::json!({
            "article": { "id": a.id, "title": a.title, "href": format!("{SECTION}/{}", a.id), "current": a.revision },
            "revision": {
                "number": r.revision,
                "title": r.title,
                "summary": r.summary,
                "body_html": r.body,
                "tags": r.tags.join("，"),
                "columns": r.columns.iter().filter_map(|c| all.iter().find(|x| &x.id == c)).map(|c| c.name.clone()).collect::<Vec<_>>().join("、"),
                "source": r.source,
                "saved_at": view::time(r.saved_at),
                "saved_by": r.saved_by_name,
            },
        }),
    ))
}

/// `POST /console/content/files` (multipart, field `file`, the form token in `csrf`): keeps an
/// image or attachment and answers what the editor needs to insert or attach it.
pub async fn upload(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let (token, name, bytes) = read_upload(multipart).await?;
    admin.check(
        &state,
        &FormData::parse(format!("csrf={}", token).as_bytes()),
    )?;
    let f = state
        .cms
        .upload(&editor(&admin), &name, bytes, &ctx)
        .await?;
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": f.id, "name": f.name, "href": f.href(), "is_image": f.is_image,
            "content_type": f.content_type, "size": f.size,
        })),
    )))
}

/// The form token, file name and bytes of a multipart upload.
pub async fn read_upload(
    mut multipart: Multipart,
) -> Result<(String, String, axum::body::Bytes), ApiError> {
    let mut token = String::new();
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| upload_error(&e.body_text()))?
    {
        match field.name() {
            Some("csrf") => {
                token = field
                    .text()
                    .await
                    .map_err(|e| upload_error(&e.body_text()))?;
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("附件").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| upload_error(&e.body_text()))?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    let Some((name, bytes)) = file else {
        return Err(
            ApiError::new(ErrorCode::FileRejected, "请选择要上传的文件。")
                .field("file", "请选择要上传的文件。"),
        );
    };
    Ok((token, name, bytes))
}

fn upload_error(detail: &str) -> ApiError {
    if detail.contains("length limit") || detail.contains("too large") {
        ApiError::new(ErrorCode::BodyTooLarge, "文件超过上传大小限制。")
    } else {
        ApiError::new(
            ErrorCode::InvalidBody,
            "上传的内容无法读取，请重新选择文件。",
        )
    }
}
