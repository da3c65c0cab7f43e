//! 发布本部门政策: a government department's staff write the policies of their own department
//! in the user centre — drafts, revisions, submission for the platform's review — and see
//! where each stands. The `cms` service holds them to their department: another department's
//! article is "not found" to them, and only 政策专题 columns may be chosen.

use axum::extract::{Multipart, Path, RawQuery, State};
use axum::response::Response;
use cms::{Article, ArticleFilter, CmsError, Editor, Page};
use http::StatusCode;
use orgs::OrgKind;
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::web::form::{self, FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use crate::editing::{self, EditorForm};
use crate::public::to_sign_in;
use crate::state::PortalState;
use crate::view::{self, ListQuery, Signed, Viewer, base, pager};

const HOME: &str = "/user/policies";

const NOTICES: &[(&str, &str, &str)] = &[
    ("created", "success", "已保存为草稿。"),
    ("saved", "success", "已保存新版本。"),
    (
        "submitted",
        "success",
        "已提交平台审核，审核通过后将在政策专题中发布。",
    ),
    ("deleted", "success", "已移入回收站。"),
    ("restored", "success", "已从回收站恢复。"),
];

/// The department's editor, or why this account is not one.
async fn department(state: &PortalState, me: &Signed) -> Result<Editor, ApiError> {
    let scope = state.orgs.scope_for(me.account_id()).await?;
    if scope.kind() != OrgKind::Government {
        return Err(ApiError::new(
            ErrorCode::ArticleForbidden,
            "only government departments' staff publish policies here",
        ));
    }
    let org = state.orgs.get(scope.org_id()).await?;
    Ok(Editor::Department {
        account_id: me.account_id().to_owned(),
        name: me.session.account.display_name.clone(),
        org_id: org.id,
        org_name: org.name,
    })
}

fn check(state: &PortalState, me: &Signed, f: &FormData) -> Result<(), ApiError> {
    form::check(&state.platform.keys, "user", &me.cookie, f)
}

/// `GET /user/policies`.
pub async fn list(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(HOME));
    };
    let ed = department(&state, me).await?;
    let Editor::Department {
        org_id, org_name, ..
    } = &ed
    else {
        return Err(ApiError::new(
            ErrorCode::ArticleForbidden,
            "not a department",
        ));
    };
    let query = ListQuery::parse(q.as_deref());
    let bin = query.get("bin") == Some("1");
    let paged = state
        .cms
        .list(
            &ArticleFilter {
                department_id: Some(org_id.clone()),
                recycle_bin: bin,
                ..ArticleFilter::default()
            },
            query.page(Page::DEFAULT_SIZE),
        )
        .await?;
    let page = pager(&paged, HOME, &[("bin", if bin { "1" } else { "" })]);
    let items: Vec<serde_json::Value> = paged
        .items
        .iter()
        .map(|s| {
            serde_json::json!({
                "href": format!("{HOME}/{}", s.id),
                "title": s.title,
                "status_label": s.status.label_zh(),
                "status_kind": crate::console::status_kind(s.status),
                "updated_at": view::time(s.updated_at),
            })
        })
        .collect();
    let mut b = base(&state, "发布本部门政策", "/user", &viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "portal/policies_mine.html",
        &b,
        serde_json::json!({
            "department": org_name,
            "items": items,
            "page": page,
            "bin": bin,
            "empty": if bin { "回收站是空的。" } else { "本部门还没有撰写政策。" },
        }),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn editor_page(
    state: &PortalState,
    viewer: &Viewer,
    ed: &Editor,
    article: Option<&Article>,
    form: EditorForm,
    errors: &FieldErrors,
    conflict: Option<String>,
    status: StatusCode,
    query: &ListQuery,
) -> Result<Response, ApiError> {
    let all = state.cms.columns().await?;
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
    let title = article.map_or("撰写政策".to_owned(), |a| a.title.clone());
    let mut b = base(state, &title, "/user", viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    let editable = article.is_none_or(|a| !a.in_recycle_bin() && a.status.editable());
    Ok(state.platform.web.page_status(
        status,
        "portal/policy_editor.html",
        &b,
        serde_json::json!({
            "article": article.map(|a| serde_json::json!({
                "id": a.id,
                "title": a.title,
                "status_label": a.status.label_zh(),
                "status_kind": crate::console::status_kind(a.status),
                "reject_reason": a.reject_reason,
                "public_href": a.is_public().then(|| format!("/articles/{}", a.id)),
                "preview_html": a.body,
                "in_bin": a.in_recycle_bin(),
                "can_submit": !a.in_recycle_bin() && a.status.editable(),
                "can_delete": !a.in_recycle_bin() && a.status.editable(),
                "can_restore": a.in_recycle_bin() && a.status.editable(),
            })),
            "editable": editable,
            "form": form,
            "form_action": article.map_or(format!("{HOME}/new"), |a| format!("{HOME}/{}", a.id)),
            "upload_action": format!("{HOME}/files"),
            "column_groups": editing::column_groups(&all, ed, &form.columns),
            "files": editing::file_list(&files),
            "errors": errors.map(),
            "conflict": conflict,
            "max_upload": cms::files::human_size(state.cms.config().max_upload_bytes),
        }),
    ))
}

/// `GET /user/policies/new`.
pub async fn new_form(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{HOME}/new")));
    };
    let ed = department(&state, me).await?;
    editor_page(
        &state,
        &viewer,
        &ed,
        None,
        EditorForm::default(),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
        &ListQuery::default(),
    )
    .await
}

async fn refused(
    state: &PortalState,
    viewer: &Viewer,
    ed: &Editor,
    article: Option<&Article>,
    form: EditorForm,
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
        viewer,
        ed,
        article,
        form,
        &errors,
        conflict,
        status,
        &ListQuery::default(),
    )
    .await
}

/// `POST /user/policies/new`.
pub async fn create(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(HOME));
    };
    check(&state, me, &f)?;
    let ed = department(&state, me).await?;
    match state.cms.create(&ed, editing::draft_of(&f), &ctx).await {
        Ok(a) if f.get("action") == "submit" => match state.cms.submit(&ed, &a.id, &ctx).await {
            Ok(_) => Ok(see_other(&format!("{HOME}/{}?ok=submitted", a.id))),
            Err(e) => refused(&state, &viewer, &ed, Some(&a), EditorForm::stored(&a), e).await,
        },
        Ok(a) => Ok(see_other(&format!("{HOME}/{}?ok=created", a.id))),
        Err(e) => refused(&state, &viewer, &ed, None, EditorForm::typed(&f), e).await,
    }
}

/// `GET /user/policies/{id}`.
pub async fn show(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{HOME}/{id}")));
    };
    let ed = department(&state, me).await?;
    let a = state.cms.get_for(&ed, &id).await?;
    editor_page(
        &state,
        &viewer,
        &ed,
        Some(&a),
        EditorForm::stored(&a),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
        &ListQuery::parse(q.as_deref()),
    )
    .await
}

/// `POST /user/policies/{id}`: a new revision (`action=submit`: and submits it).
pub async fn save(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    Path(id): Path<String>,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(HOME));
    };
    check(&state, me, &f)?;
    let ed = department(&state, me).await?;
    let current = state.cms.get_for(&ed, &id).await?;
    let revision = f.get("revision").parse().unwrap_or(0);
    match state
        .cms
        .update(&ed, &id, revision, editing::draft_of(&f), &ctx)
        .await
    {
        Ok(a) if f.get("action") == "submit" => match state.cms.submit(&ed, &a.id, &ctx).await {
            Ok(_) => Ok(see_other(&format!("{HOME}/{id}?ok=submitted"))),
            Err(e) => refused(&state, &viewer, &ed, Some(&a), EditorForm::stored(&a), e).await,
        },
        Ok(_) => Ok(see_other(&format!("{HOME}/{id}?ok=saved"))),
        Err(e) => {
            refused(
                &state,
                &viewer,
                &ed,
                Some(&current),
                EditorForm::typed(&f),
                e,
            )
            .await
        }
    }
}

/// `POST /user/policies/{id}/{step}`: submit, delete, restore.
pub async fn step(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    Path((id, step)): Path<(String, String)>,
    f: FormData,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(HOME));
    };
    check(&state, me, &f)?;
    let ed = department(&state, me).await?;
    let result = match step.as_str() {
        "submit" => state.cms.submit(&ed, &id, &ctx).await.map(|_| "submitted"),
        "delete" => state.cms.delete(&ed, &id, &ctx).await.map(|_| "deleted"),
        "restore" => state.cms.restore(&ed, &id, &ctx).await.map(|_| "restored"),
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such step")),
    };
    match result {
        Ok(done) => Ok(see_other(&format!("{HOME}/{id}?ok={done}"))),
        Err(e) => {
            let a = state.cms.get_for(&ed, &id).await?;
            refused(&state, &viewer, &ed, Some(&a), EditorForm::stored(&a), e).await
        }
    }
}

/// `POST /user/policies/files`: an image or attachment for the department's policies.
pub async fn upload(
    State(state): State<PortalState>,
    viewer: Viewer,
    ctx: RequestContext,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Err(ApiError::new(ErrorCode::Unauthenticated, "sign in first"));
    };
    let (token, name, bytes) = crate::console::read_upload(multipart).await?;
    check(
        &state,
        me,
        &FormData::parse(format!("csrf={token}").as_bytes()),
    )?;
    let ed = department(&state, me).await?;
    let f = state.cms.upload(&ed, &name, bytes, &ctx).await?;
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "id": f.id, "name": f.name, "href": f.href(), "is_image": f.is_image,
            "content_type": f.content_type, "size": f.size,
        })),
    )))
}
