//! 栏目与词库: what operators keep for content — sub-columns, the dictionary of select lists,
//! the sensitive-word library (hand entry and bulk import of a text file, one word per line)
//! and keyword links. Each change is the `cms` service's (checked, audited); a refused form is
//! shown again with what was typed.

use axum::extract::{Multipart, RawQuery, State};
use axum::response::Response;
use cms::CmsError;
use http::StatusCode;
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::ApiError;
use platform::web::form::{FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use super::frame::{ConsoleAdmin, base};
use crate::state::PortalState;
use crate::view::{ListQuery, pager};

const SECTION: &str = "/console/library";

const NOTICES: &[(&str, &str, &str)] = &[
    ("column_added", "success", "已添加子栏目。"),
    ("column_deleted", "success", "已删除子栏目。"),
    ("entry_set", "success", "已保存字典项。"),
    ("entry_deleted", "success", "已删除字典项。"),
    (
        "words_added",
        "success",
        "敏感词已保存，立即对所有发布内容生效。",
    ),
    ("word_deleted", "success", "已删除敏感词。"),
    (
        "link_set",
        "success",
        "已保存关键词链接，此后保存的内容将自动添加链接。",
    ),
    ("link_deleted", "success", "已删除关键词链接。"),
];

/// What a refused form of this page was: which form, what was typed, the errors.
struct Refused {
    form: &'static str,
    typed: FormData,
    errors: FieldErrors,
}

fn refused_of(form: &'static str, typed: FormData, e: CmsError) -> Result<Refused, ApiError> {
    let fields = e.fields();
    if fields.is_empty() {
        return Err(e.into());
    }
    let errors: FieldErrors = fields.into_iter().collect();
    Ok(Refused {
        form,
        typed,
        errors,
    })
}

async fn page(
    state: &PortalState,
    admin: &ConsoleAdmin,
    query: &ListQuery,
    refused: Option<Refused>,
) -> Result<Response, ApiError> {
    let cms = &state.cms;
    let columns = cms.columns().await?;
    let dictionary = cms.dictionary().await?;
    let wq = query
        .get("wq")
        .map(|s| s.chars().take(50).collect::<String>());
    let words = cms
        .words(wq.as_deref(), query.get("wc"), query.page(50))
        .await?;
    let word_page = pager(
        &words,
        SECTION,
        &[
            ("wq", wq.as_deref().unwrap_or("")),
            ("wc", query.get("wc").unwrap_or("")),
        ],
    );
    let categories = cms.word_categories().await?;
    let links = cms.keyword_links().await?;
    let mut b = base(state, "栏目与词库", SECTION, admin);
    b.flash = flash(query.get("ok"), NOTICES);
    if let Some(n) = query.get("added") {
        b.flash = Some(platform::web::site::Flash {
            kind: "success",
            text: format!(
                "已导入 {n} 个新敏感词（已存在的词不重复导入），立即对所有发布内容生效。"
            ),
        });
    }
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let no_errors = FieldErrors::default();
    let (form, typed, errors) = match &refused {
        Some(r) => (r.form, Some(&r.typed), r.errors.map()),
        None => ("", None, no_errors.map()),
    };
    let typed_of = |name: &str| typed.map(|t| t.get(name).to_owned()).unwrap_or_default();
    Ok(state.platform.web.page_status(
        status,
        "console/library.html",
        &b,
        serde_json::json!({
            "columns": columns.iter().map(|c| serde_json::json!({
                "id": c.id, "name": c.name, "top": c.is_top(), "builtin": c.builtin,
            })).collect::<Vec<_>>(),
            "tops": columns.iter().filter(|c| c.is_top()).map(|c| serde_json::json!({ "value": c.id, "label": c.name })).collect::<Vec<_>>(),
            "dictionary": dictionary.iter().map(|(c, code, label)| serde_json::json!({ "category": c, "code": code, "label": label })).collect::<Vec<_>>(),
            "words": words.items.iter().map(|(w, c)| serde_json::json!({ "word": w, "category": c })).collect::<Vec<_>>(),
            "word_page": word_page,
            "word_total": words.total,
            "word_filter": { "q": wq, "c": query.get("wc") },
            "categories": categories.iter().map(|(c, n)| serde_json::json!({
                "name": c,
                "count": n,
                "href": format!(
                    "{SECTION}?{}#words",
                    url::form_urlencoded::Serializer::new(String::new()).append_pair("wc", c).finish()
                ),
            })).collect::<Vec<_>>(),
            "links": links.iter().map(|(k, u)| serde_json::json!({ "keyword": k, "url": u })).collect::<Vec<_>>(),
            "action": state.cms.config().sensitive_action.as_str(),
            "form": form,
            "typed": {
                "parent": typed_of("parent"), "name": typed_of("name"),
                "category": typed_of("category"), "code": typed_of("code"), "label": typed_of("label"),
                "words": typed_of("words"), "word_category": typed_of("word_category"),
                "keyword": typed_of("keyword"), "url": typed_of("url"),
            },
            "errors": errors,
        }),
    ))
}

/// `GET /console/library`.
pub async fn show(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin
        .require(&state, Permission::ContentManage, &ctx)
        .await?;
    page(&state, &admin, &ListQuery::parse(q.as_deref()), None).await
}

/// `POST /console/library`: one of the page's forms, named by `form`.
pub async fn change(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    f: FormData,
) -> Result<Response, ApiError> {
    admin
        .check_form(&state, &f, Permission::ContentManage, &ctx)
        .await?;
    let who = &admin.principal;
    let cms = &state.cms;
    let (form, result): (&'static str, Result<String, CmsError>) = match f.get("form") {
        "column_add" => (
            "column_add",
            cms.add_column(who, f.get("parent"), f.get("name"), &ctx)
                .await
                .map(|_| "ok=column_added".to_owned()),
        ),
        "column_delete" => (
            "column_delete",
            cms.delete_column(who, f.get("id"), &ctx)
                .await
                .map(|()| "ok=column_deleted".to_owned()),
        ),
        "entry_set" => (
            "entry_set",
            cms.set_entry(who, f.get("category"), f.get("code"), f.get("label"), &ctx)
                .await
                .map(|()| "ok=entry_set".to_owned()),
        ),
        "entry_delete" => (
            "entry_delete",
            cms.delete_entry(who, f.get("category"), f.get("code"), &ctx)
                .await
                .map(|()| "ok=entry_deleted".to_owned()),
        ),
        "words_add" => {
            let list: Vec<String> = f
                .get("words")
                .split(['\n', ',', '，', '、'])
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            let too_long = list.iter().any(|w| w.chars().count() > 50);
            (
                "words_add",
                if too_long {
                    Err(CmsError::field("words", "每个敏感词不能超过 50 个字。"))
                } else {
                    cms.add_words(who, &list, f.get("word_category"), &ctx)
                        .await
                        .map(|n| format!("added={n}"))
                },
            )
        }
        "word_delete" => (
            "word_delete",
            cms.delete_word(who, f.get("word"), &ctx)
                .await
                .map(|()| "ok=word_deleted".to_owned()),
        ),
        "link_set" => (
            "link_set",
            cms.set_keyword_link(who, f.get("keyword"), f.get("url"), &ctx)
                .await
                .map(|()| "ok=link_set".to_owned()),
        ),
        "link_delete" => (
            "link_delete",
            cms.delete_keyword_link(who, f.get("keyword"), &ctx)
                .await
                .map(|()| "ok=link_deleted".to_owned()),
        ),
        _ => ("", Err(CmsError::field("form", "未知的表单。"))),
    };
    match result {
        Ok(q) => Ok(see_other(&format!("{SECTION}?{q}"))),
        Err(e) => {
            let r = refused_of(form, f, e)?;
            page(&state, &admin, &ListQuery::default(), Some(r)).await
        }
    }
}

/// `POST /console/library/words/import` (multipart: `csrf`, `word_category`, `file`): a text
/// file of words, one per line (UTF-8; `#` comments and blank lines skipped).
pub async fn import(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let mut token = String::new();
    let mut category = String::new();
    let mut text = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("csrf") => token = field.text().await.unwrap_or_default(),
            Some("word_category") => category = field.text().await.unwrap_or_default(),
            Some("file") => text = field.bytes().await.ok(),
            _ => {}
        }
    }
    let typed = FormData::parse(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &token)
            .append_pair("word_category", &category)
            .finish()
            .as_bytes(),
    );
    admin
        .check_form(&state, &typed, Permission::ContentManage, &ctx)
        .await?;
    let refuse = |typed: FormData, field: &str, m: String| {
        let mut errors = FieldErrors::default();
        errors.add(field, m);
        Some(Refused {
            form: "words_import",
            typed,
            errors,
        })
    };
    let words = match text.as_deref().map(std::str::from_utf8) {
        None => {
            return page(
                &state,
                &admin,
                &ListQuery::default(),
                refuse(typed, "file", "请选择要导入的文本文件。".into()),
            )
            .await;
        }
        Some(Err(_)) => {
            return page(
                &state,
                &admin,
                &ListQuery::default(),
                refuse(
                    typed,
                    "file",
                    "文件不是 UTF-8 编码的文本，请另存为 UTF-8 后再导入。".into(),
                ),
            )
            .await;
        }
        Some(Ok(t)) => match cms::words::parse_import(t) {
            Ok(w) => w,
            Err(lines) => {
                let shown: Vec<String> = lines.iter().take(10).map(ToString::to_string).collect();
                return page(
                    &state,
                    &admin,
                    &ListQuery::default(),
                    refuse(
                        typed,
                        "file",
                        format!(
                            "第 {} 行的词超过 50 个字，请修改后重新导入。",
                            shown.join("、")
                        ),
                    ),
                )
                .await;
            }
        },
    };
    match state
        .cms
        .add_words(&admin.principal, &words, &category, &ctx)
        .await
    {
        Ok(n) => Ok(see_other(&format!("{SECTION}?added={n}"))),
        Err(e) => {
            let mut r = refused_of("words_import", typed, e)?;
            if r.errors.map().contains_key("words") {
                let mut errors = FieldErrors::default();
                errors.add("file", "文件中没有可导入的词。");
                r.errors = errors;
            }
            page(&state, &admin, &ListQuery::default(), Some(r)).await
        }
    }
}
