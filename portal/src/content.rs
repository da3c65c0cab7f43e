//! The content readers see (REQUIREMENTS D1, D5): the columns 政策专题, 金融教育, 新闻资讯 and
//! 通知公告 with their sub-columns, filters and pages; an article with its attachments, tags and
//! related reading (print-friendly); tag pages; downloads; following columns and tags. Every
//! list is the `cms` service's; these handlers only show it.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use cms::{Article, ArticleFilter, CmsError, Page, Status};
use http::{HeaderValue, StatusCode, header};
use platform::http::problem::ApiError;
use platform::web::form::FormData;
use platform::web::page::see_other;

use crate::public::to_sign_in;
use crate::state::PortalState;
use crate::view::{self, ListQuery, Viewer, base, day_start, item, pager};

/// What a page tells the statistics about itself (the column and article viewed); the
/// recording layer reads it from the response.
#[derive(Clone, Debug, Default)]
pub struct Viewed {
    pub column: Option<String>,
    pub article: Option<String>,
}

/// A section page: its id in the `cms` columns, path, title, intro and empty state.
struct Section {
    id: &'static str,
    path: &'static str,
    label: &'static str,
    intro: &'static str,
    empty: &'static str,
}

const POLICIES: Section = Section {
    id: "policy",
    path: "/policies",
    label: "政策专题",
    intro: "汇集国家、福建省、龙岩市及新罗区、永定区、漳平市、长汀县、上杭县、武平县、连城县的金融扶持政策。",
    empty: "暂无已发布的政策。政策由平台运营方和政府部门发布，审核通过后在这里按层级展示。",
};

const EDUCATION: Section = Section {
    id: "education",
    path: "/education",
    label: "金融教育",
    intro: "金融知识、金融法规与红色金融，帮助企业和个人了解金融服务。",
    empty: "暂无已发布的金融教育文章。",
};

const NEWS: Section = Section {
    id: "news",
    path: "/news",
    label: "新闻资讯",
    intro: "平台动态与龙岩普惠金融资讯。",
    empty: "暂无已发布的新闻资讯。",
};

const NOTICES: Section = Section {
    id: "notice",
    path: "/notices",
    label: "通知公告",
    intro: "平台运营方与政府部门发布的通知公告。",
    empty: "暂无已发布的通知公告。",
};

/// The filter of a section page's query: sub-column `c`, policy `level`, department `dept`,
/// dates `from`/`to` (inclusive days) and title words `q`. Errors are per field, in Chinese.
fn filter_of(section: &Section, query: &ListQuery) -> (ArticleFilter, Vec<(String, String)>) {
    let mut errors = Vec::new();
    let from = query.get("from").map(|t| {
        day_start(t).ok_or_else(|| {
            (
                "from".to_owned(),
                "开始日期格式应为 2026-01-31。".to_owned(),
            )
        })
    });
    let to = query.get("to").map(|t| {
        day_start(t)
            .map(|ms| ms + 86_400_000)
            .ok_or_else(|| ("to".to_owned(), "结束日期格式应为 2026-12-31。".to_owned()))
    });
    let mut f = ArticleFilter {
        status: Some(Status::Published),
        column: Some(query.get("c").unwrap_or(section.id).to_owned()),
        level: query
            .get("level")
            .filter(|l| cms::LEVELS.iter().any(|(id, _)| id == l))
            .map(str::to_owned),
        department_id: query.get("dept").map(str::to_owned),
        q: query.get("q").map(|s| s.chars().take(50).collect()),
        ..ArticleFilter::default()
    };
    match from {
        Some(Ok(v)) => f.from = Some(v),
        Some(Err(e)) => errors.push(e),
        None => {}
    }
    match to {
        Some(Ok(v)) => f.until = Some(v),
        Some(Err(e)) => errors.push(e),
        None => {}
    }
    (f, errors)
}

async fn section_page(
    state: &PortalState,
    viewer: &Viewer,
    section: &Section,
    query: &ListQuery,
) -> Result<Response, ApiError> {
    let all = state.cms.columns().await.map_err(ApiError::from)?;
    let chosen = query.get("c").unwrap_or("");
    // A sub-column of another section is not this page's.
    let chosen = if all
        .iter()
        .any(|c| c.id == chosen && c.section == section.id && !c.is_top())
    {
        chosen
    } else {
        ""
    };
    let tabs: Vec<serde_json::Value> = std::iter::once(serde_json::json!({
        "label": "全部",
        "href": section.path,
        "current": chosen.is_empty(),
    }))
    .chain(
        all.iter()
            .filter(|c| c.section == section.id && !c.is_top())
            .map(|c| {
                serde_json::json!({
                    "label": c.name,
                    "href": format!("{}?c={}", section.path, c.id),
                    "current": c.id == chosen,
                })
            }),
    )
    .collect();
    let (mut filter, errors) = filter_of(section, query);
    if chosen.is_empty() {
        filter.column = Some(section.id.to_owned());
    }
    let paged = state
        .cms
        .list(&filter, query.page(Page::DEFAULT_SIZE))
        .await?;
    let keep_q = filter.q.clone().unwrap_or_default();
    let keep = [
        ("c", chosen),
        ("level", filter.level.as_deref().unwrap_or("")),
        ("dept", filter.department_id.as_deref().unwrap_or("")),
        ("from", query.get("from").unwrap_or("")),
        ("to", query.get("to").unwrap_or("")),
        ("q", keep_q.as_str()),
    ];
    let page = pager(&paged, section.path, &keep);
    let items: Vec<serde_json::Value> = paged.items.iter().map(|s| item(&all, s)).collect();
    let filtered = keep.iter().any(|(k, v)| *k != "c" && !v.is_empty());
    let following = match &viewer.0 {
        Some(me) => state.cms.follows(me.account_id()).await?.iter().any(|f| {
            f.kind == "column"
                && f.target
                    == (if chosen.is_empty() {
                        section.id
                    } else {
                        chosen
                    })
        }),
        None => false,
    };
    let mut b = base(state, section.label, section.path, viewer);
    b.flash = platform::web::page::flash(
        query.get("ok"),
        &[
            (
                "followed",
                "success",
                "已关注该栏目，用户中心和首页将为您推荐其中的热门内容。",
            ),
            ("unfollowed", "success", "已取消关注。"),
        ],
    );
    let mut res = state.platform.web.page(
        "portal/articles.html",
        &b,
        serde_json::json!({
            "section": { "id": section.id, "label": section.label, "intro": section.intro, "path": section.path },
            "tabs": tabs,
            "items": items,
            "page": page,
            "empty": if filtered { "没有符合筛选条件的内容，可以调整或清除筛选条件。" } else { section.empty },
            "filter": {
                "c": chosen,
                "level": filter.level,
                "dept": filter.department_id,
                "from": query.get("from"),
                "to": query.get("to"),
                "q": keep_q,
                "any": filtered,
            },
            "departments": if section.id == "policy" {
                state.cms.departments().await?.into_iter().map(|(v, l)| serde_json::json!({ "value": v, "label": l })).collect::<Vec<_>>()
            } else { Vec::new() },
            "levels": if section.id == "policy" {
                cms::LEVELS.iter().map(|(v, l)| serde_json::json!({ "value": v, "label": l })).collect::<Vec<_>>()
            } else { Vec::new() },
            "errors": errors.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            "follow": viewer.0.as_ref().map(|_| serde_json::json!({
                "kind": "column",
                "target": if chosen.is_empty() { section.id } else { chosen },
                "following": following,
                "return_to": section.path,
            })),
        }),
    );
    res.extensions_mut().insert(Viewed {
        column: Some(
            if chosen.is_empty() {
                section.id
            } else {
                chosen
            }
            .to_owned(),
        ),
        article: None,
    });
    Ok(res)
}

pub async fn policies(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    section_page(&state, &viewer, &POLICIES, &ListQuery::parse(q.as_deref())).await
}

pub async fn education(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    section_page(&state, &viewer, &EDUCATION, &ListQuery::parse(q.as_deref())).await
}

pub async fn news(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    section_page(&state, &viewer, &NEWS, &ListQuery::parse(q.as_deref())).await
}

pub async fn notices(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    section_page(&state, &viewer, &NOTICES, &ListQuery::parse(q.as_deref())).await
}

/// The attachments of an article as pages list them.
pub fn attachments(files: &[cms::StoredFile]) -> Vec<serde_json::Value> {
    files
        .iter()
        .filter(|f| !f.is_image)
        .map(|f| {
            serde_json::json!({
                "name": f.name,
                "href": f.href(),
                "size": cms::files::human_size(usize::try_from(f.size).unwrap_or(0)),
            })
        })
        .collect()
}

/// The article's body as a page shows it, and its navigation.
async fn article_view(state: &PortalState, a: &Article) -> Result<serde_json::Value, CmsError> {
    let all = state.cms.columns().await?;
    let files = state.cms.files_of(&a.id).await?;
    let related = state.cms.related(a, 5).await?;
    let columns: Vec<serde_json::Value> = a
        .columns
        .iter()
        .filter_map(|id| all.iter().find(|c| &c.id == id))
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "href": if c.is_top() {
                    cms::section_path(&c.section).to_owned()
                } else {
                    format!("{}?c={}", cms::section_path(&c.section), c.id)
                },
            })
        })
        .collect();
    Ok(serde_json::json!({
        "id": a.id,
        "title": a.title,
        "summary": a.summary,
        "body_html": a.body,
        "source": a.source,
        "department": a.department_name,
        "published": a.published_at.map(view::time),
        "columns": columns,
        "tags": a.tags.iter().map(|t| serde_json::json!({
            "name": t,
            "href": format!("/tags/{}", percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)),
        })).collect::<Vec<_>>(),
        "attachments": attachments(&files),
        "related": related.iter().map(|s| item(&all, s)).collect::<Vec<_>>(),
    }))
}

/// `GET /articles/{id}`: a published article.
pub async fn article(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let a = state.cms.published(&id).await?;
    let all = state.cms.columns().await?;
    let section = a
        .columns
        .first()
        .and_then(|c| all.iter().find(|x| &x.id == c))
        .map(|c| c.section.clone())
        .unwrap_or_else(|| "news".to_owned());
    let data = article_view(&state, &a).await?;
    let follows = match &viewer.0 {
        Some(me) => state.cms.follows(me.account_id()).await?,
        None => Vec::new(),
    };
    let b = base(&state, &a.title, cms::section_path(&section), &viewer);
    let tag_follows: Vec<serde_json::Value> = a
        .tags
        .iter()
        .map(|t| {
            serde_json::json!({
                "tag": t,
                "following": follows.iter().any(|f| f.kind == "tag" && &f.target == t),
            })
        })
        .collect();
    let mut res = state.platform.web.page(
        "portal/article.html",
        &b,
        serde_json::json!({
            "article": data,
            "signed_in": viewer.0.is_some(),
            "tag_follows": tag_follows,
            "return_to": format!("/articles/{}", a.id),
        }),
    );
    res.extensions_mut().insert(Viewed {
        column: a.columns.first().cloned(),
        article: Some(a.id.clone()),
    });
    Ok(res)
}

/// `GET /tags/{tag}`: published articles with a tag.
pub async fn tag(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(tag): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(q.as_deref());
    let tag: String = tag.chars().take(20).collect();
    let all = state.cms.columns().await?;
    let paged = state
        .cms
        .list(
            &ArticleFilter {
                status: Some(Status::Published),
                tag: Some(tag.clone()),
                ..ArticleFilter::default()
            },
            query.page(Page::DEFAULT_SIZE),
        )
        .await?;
    let path = format!(
        "/tags/{}",
        percent_encoding::utf8_percent_encode(&tag, percent_encoding::NON_ALPHANUMERIC)
    );
    let page = pager(&paged, &path, &[]);
    let following = match &viewer.0 {
        Some(me) => state
            .cms
            .follows(me.account_id())
            .await?
            .iter()
            .any(|f| f.kind == "tag" && f.target == tag),
        None => false,
    };
    let b = base(&state, &format!("标签：{tag}"), "", &viewer);
    Ok(state.platform.web.page(
        "portal/articles.html",
        &b,
        serde_json::json!({
            "section": { "id": "", "label": format!("标签：{tag}"), "intro": "带有该标签的全部已发布内容。", "path": path },
            "tabs": [],
            "items": paged.items.iter().map(|s| item(&all, s)).collect::<Vec<_>>(),
            "page": page,
            "empty": "暂无带有该标签的已发布内容。",
            "filter": { "any": false },
            "levels": [],
            "errors": {},
            "follow": viewer.0.as_ref().map(|_| serde_json::json!({
                "kind": "tag", "target": tag, "following": following, "return_to": path,
            })),
        }),
    ))
}

/// `GET /files/{id}`: an image or attachment, with its type from when it was checked and
/// never interpreted as a page (`nosniff`, attachments downloaded, a sandboxing policy).
pub async fn file(
    State(state): State<PortalState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let f = state.cms.file(&id).await?;
    let bytes = state.cms.file_bytes(&f).await?;
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let encoded =
        percent_encoding::utf8_percent_encode(&f.name, percent_encoding::NON_ALPHANUMERIC);
    let disposition = if f.is_image {
        format!("inline; filename*=UTF-8''{encoded}")
    } else {
        format!("attachment; filename*=UTF-8''{encoded}")
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}

/// `POST /follow`: follows or stops following a column or tag, back to the page it came from.
pub async fn follow(
    State(state): State<PortalState>,
    viewer: Viewer,
    f: FormData,
) -> Result<Response, ApiError> {
    let back = Some(f.get("return_to"))
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or("/")
        .to_owned();
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&back));
    };
    platform::web::form::check(&state.platform.keys, "user", &me.cookie, &f)?;
    let on = f.get("on") == "1";
    state
        .cms
        .set_follow(me.account_id(), f.get("kind"), f.get("target"), on)
        .await?;
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!(
        "{back}{sep}ok={}",
        if on { "followed" } else { "unfollowed" }
    )))
}

/// Paths whose views are not counted: the console, the API, files, assets, the sandbox and
/// sign-in steps.
fn counted(path: &str) -> bool {
    ![
        "/console",
        "/api/",
        "/static/",
        "/files/",
        "/sandbox/",
        "/sso/",
        "/login",
        "/logout",
        "/exchange/",
        "/user",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Records a view of every portal page served (GET, 200, HTML) off the request path: the
/// view is queued and the response leaves at once. The visitor is an HMAC of the day, address
/// and browser (the index key), never kept in clear.
pub async fn track(
    State(state): State<PortalState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if req.method() != http::Method::GET || !counted(&path) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let ctx = platform::context::RequestContext::from_parts(
        &parts,
        &state.platform.config.server.trusted_proxies,
    );
    let referrer = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(500).collect::<String>());
    let res = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if res.status() != StatusCode::OK || !html {
        return res;
    }
    let at_ms = state.platform.clock.now().0;
    let day = cms::stats::day_of(at_ms).to_string();
    let ip = ctx.client_ip.map(|i| i.to_string()).unwrap_or_default();
    let ua = ctx.user_agent.clone().unwrap_or_default();
    let visitor = state.platform.keys.index.tag(&[
        b"visitor:",
        day.as_bytes(),
        b":",
        ip.as_bytes(),
        b":",
        ua.as_bytes(),
    ]);
    let viewed = res
        .extensions()
        .get::<Viewed>()
        .cloned()
        .unwrap_or_default();
    state.cms.recorder().record(cms::stats::View {
        at_ms,
        path,
        column: viewed.column,
        article: viewed.article,
        referrer,
        visitor: visitor.iter().take(16).copied().collect(),
    });
    res
}
