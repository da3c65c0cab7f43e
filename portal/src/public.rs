//! The pages anyone may read: 首页, 入驻机构, 网上办事 and the site search. The content
//! columns are `content`'s pages, 金融产品 `products`' and 融资需求 `demands`'.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use connectors::{OpenMode, Status};
use http::StatusCode;
use minijinja::context;
use minijinja::value::Serde;
use orgs::{OrgFilter, OrgKind, OrgStatus};
use platform::http::problem::ApiError;
use serde::Serialize;

use crate::state::PortalState;
use crate::view::{self, ListQuery, Viewer, base, pager};

/// One entry of the home page's column list.
#[derive(Serialize)]
struct ColumnEntry {
    label: &'static str,
    href: &'static str,
    intro: &'static str,
}

const COLUMN_ENTRIES: [ColumnEntry; 6] = [
    ColumnEntry {
        label: "政策专题",
        href: "/policies",
        intro: "国家、福建省、龙岩市及各区县的金融扶持政策",
    },
    ColumnEntry {
        label: "金融产品",
        href: "/products",
        intro: "银行、担保、小贷等机构的融资产品，按担保方式、贷款方式筛选",
    },
    ColumnEntry {
        label: "融资需求",
        href: "/demands",
        intro: "企业发布融资需求，平台智能匹配，金融机构在线对接",
    },
    ColumnEntry {
        label: "金融教育",
        href: "/education",
        intro: "金融知识、金融法规与红色金融",
    },
    ColumnEntry {
        label: "入驻机构",
        href: "/institutions",
        intro: "在平台提供服务的金融机构",
    },
    ColumnEntry {
        label: "网上办事",
        href: "/services",
        intro: "数字外管、征信、动产融资登记等外部平台的统一入口",
    },
];

/// 首页. Anonymous visitors (most of them) share one rendering, renewed every second.
pub async fn home(State(state): State<PortalState>, viewer: Viewer) -> Result<Response, ApiError> {
    if viewer.0.is_some() {
        let html = render_home(&state, &viewer).await?;
        return Ok(platform::web::page::html(StatusCode::OK, html));
    }
    let html = state
        .anonymous_home(|| async { render_home(&state, &viewer).await.map(Bytes::from) })
        .await?;
    Ok(platform::web::page::html(StatusCode::OK, html))
}

async fn render_home(state: &PortalState, viewer: &Viewer) -> Result<String, ApiError> {
    let figures = state.figures().await?;
    let b = base(state, "首页", "/", viewer);
    let services: Vec<ServiceCard> = service_cards(state).into_iter().take(6).collect();
    let all = state.cms.columns().await?;
    let latest = state
        .cms
        .list(
            &cms::ArticleFilter {
                status: Some(cms::Status::Published),
                ..cms::ArticleFilter::default()
            },
            cms::Page::new(1, 8),
        )
        .await?;
    let latest: Vec<serde_json::Value> = latest
        .items
        .iter()
        .map(|s| crate::view::item(&all, s))
        .collect();
    let account = viewer.0.as_ref().map(|me| me.account_id().to_owned());
    let follows = match &account {
        Some(a) => state.cms.follows(a).await?.len(),
        None => 0,
    };
    let hot: Vec<serde_json::Value> = state
        .cms
        .hot(account.as_deref().filter(|_| follows > 0), 6)
        .await?
        .iter()
        .map(|s| crate::view::item(&all, s))
        .collect();
    state
        .platform
        .web
        .render_to_string(
            "portal/home.html",
            &b,
            context! {
                figures => context! {
                    enterprises => figures.enterprises,
                    institutions => figures.institutions,
                    products => figures.products,
                    open_demands => figures.open_demands,
                    financing_yuan => view::yuan(figures.financing_fen),
                },
                latest => Serde(&latest),
                hot => Serde(&hot),
                personal => follows > 0,
                columns => Serde(&COLUMN_ENTRIES[..]),
                services => Serde(&services),
                signed_in => viewer.0.is_some(),
            },
        )
        .map_err(ApiError::internal)
}

/// An institution as the public list shows it.
#[derive(Serialize)]
struct InstitutionItem {
    name: String,
    href: String,
    intro: String,
    since: String,
    kind_label: Option<&'static str>,
    logo: Option<String>,
}

fn institution_item(i: &market::Institution) -> InstitutionItem {
    let o = &i.org;
    InstitutionItem {
        name: o.name.clone(),
        href: format!("/institutions/{}", o.id),
        intro: view::excerpt(o.introduction.as_deref().unwrap_or(""), 80),
        since: view::date(o.reviewed_at.unwrap_or(o.created_at)),
        kind_label: i.profile.kind_label(),
        logo: i.profile.logo_href(),
    }
}

/// 入驻机构: approved financial institutions.
pub async fn institutions(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(q.as_deref());
    let kind = query
        .get("kind")
        .filter(|k| market::INSTITUTION_KINDS.iter().any(|(c, _)| c == k));
    let paged = state
        .market
        .institutions(kind, query.page(orgs::Page::DEFAULT_SIZE))
        .await?;
    let page = pager(&paged, "/institutions", &[("kind", kind.unwrap_or(""))]);
    let items: Vec<InstitutionItem> = paged.items.iter().map(institution_item).collect();
    let tabs: Vec<serde_json::Value> = std::iter::once((None, "全部"))
        .chain(market::INSTITUTION_KINDS.iter().map(|(c, l)| (Some(*c), *l)))
        .map(|(c, label)| {
            serde_json::json!({
                "label": label,
                "href": c.map_or_else(|| "/institutions".to_owned(), |c| format!("/institutions?kind={c}")),
                "current": c == kind,
            })
        })
        .collect();
    let b = base(&state, "入驻机构", "/institutions", &viewer);
    Ok(state.platform.web.page(
        "portal/institutions.html",
        &b,
        serde_json::json!({
            "items": items,
            "tabs": tabs,
            "page": page,
            "empty": if kind.is_some() {
                "暂无该类型的入驻机构。"
            } else {
                "暂无入驻机构。金融机构在用户中心登记并经平台运营方审核通过后，将在这里展示。"
            },
        }),
    ))
}

/// One institution. Only approved institutions are shown; anything else is "not found".
pub async fn institution(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let org = match state.orgs.get(&id).await {
        Ok(o) if o.kind == OrgKind::Institution && o.status == OrgStatus::Approved => o,
        Ok(_) | Err(orgs::OrgError::NotFound(_)) => {
            return Err(ApiError::new(
                platform::http::problem::ErrorCode::OrgNotFound,
                "no such institution",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let b = base(&state, &org.name, "/institutions", &viewer);
    let query = ListQuery::parse(q.as_deref());
    let listed = state
        .market
        .search_products(
            &market::ProductFilter {
                org_id: Some(org.id.clone()),
                ..market::ProductFilter::default()
            },
            query.page(platform::paging::Page::DEFAULT_SIZE),
        )
        .await?;
    let page = pager(&listed, &format!("/institutions/{}", org.id), &[]);
    let products: Vec<serde_json::Value> = listed
        .items
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "href": format!("/products/{}", p.id),
                "amount": format!("{} – {}", market::money::show_fen(p.amount_min_fen), market::money::show_fen(p.amount_max_fen)),
                "rate": format!("{}% – {}%", market::money::bp_to_percent(p.rate_min_bp), market::money::bp_to_percent(p.rate_max_bp)),
                "term": format!("{} – {} 个月", p.term_min_months, p.term_max_months),
            })
        })
        .collect();
    let rated = state.market.rating_summary(&org.id).await?;
    let profile = state.market.institution_profile(&org.id).await?;
    Ok(state.platform.web.page(
        "portal/institution.html",
        &b,
        serde_json::json!({
            "rating": {
                "count": rated.count,
                "average": rated.average(),
                "overdue": rated.overdue,
            },
            "org": {
                "name": org.name,
                "kind_label": profile.kind_label().unwrap_or(org.kind.label_zh()),
                "logo": profile.logo_href(),
                "intro": org.introduction,
                "contact_name": org.contact_name,
                "since": view::date(org.reviewed_at.unwrap_or(org.created_at)),
            },
            "products": products,
            "page": page,
            "products_empty": "该机构暂未发布金融产品。",
        }),
    ))
}

/// A connector as a card of 网上办事.
#[derive(Serialize)]
pub struct ServiceCard {
    code: String,
    name: String,
    operator: String,
    category: String,
    description: String,
    status: &'static str,
    status_label: &'static str,
    status_kind: &'static str,
    /// `None` when the platform cannot be entered; the card then says why.
    href: Option<String>,
    new_tab: bool,
    sign_in_required: bool,
    checked_at: Option<String>,
}

fn status_kind(s: Status) -> &'static str {
    match s {
        Status::Available => "ok",
        Status::Unknown => "ok",
        Status::Unreachable => "warn",
        Status::Disabled | Status::Blocked => "muted",
        Status::Unconfigured => "muted",
    }
}

fn service_cards(state: &PortalState) -> Vec<ServiceCard> {
    let snapshot = state.connectors.snapshot();
    snapshot
        .entries
        .iter()
        .map(|e| {
            let d = &e.definition;
            let status = e.status(state.connectors.config());
            ServiceCard {
                code: d.code.clone(),
                name: d.name.clone(),
                operator: d.operator.clone(),
                category: d.category.clone(),
                description: d.description.clone(),
                status: status.as_str(),
                status_label: status.label_zh(),
                status_kind: status_kind(status),
                href: status.jumpable().then(|| format!("/go/{}", d.code)),
                new_tab: d.open_mode == OpenMode::NewTab,
                sign_in_required: d.sign_in_required,
                checked_at: e.health.as_ref().map(|h| view::time(h.checked_at)),
            }
        })
        .collect()
}

/// 网上办事: the external platforms (REQUIREMENTS D7), each through its audited jump.
pub async fn services(State(state): State<PortalState>, viewer: Viewer) -> Response {
    let b = base(&state, "网上办事", "/services", &viewer);
    let cards = service_cards(&state);
    state.platform.web.page(
        "portal/services.html",
        &b,
        context! {
            services => Serde(&cards),
            empty => "暂无可办理的外部平台。平台运营方配置后将在这里展示。",
        },
    )
}

/// A search hit. `title_html` and `snippet_html` are escaped text with `<mark>` around the
/// words searched for: the only HTML values the templates print unescaped.
#[derive(Serialize)]
struct Hit {
    title_html: String,
    href: String,
    kind: &'static str,
    snippet_html: String,
}

/// Longest search accepted, in characters.
const MAX_QUERY: usize = 100;

/// The site search: institutions, the platforms of 网上办事 and the columns. Policies,
/// products and articles join when they exist (the content management and the marketplace).
pub async fn search(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(q.as_deref());
    let words: String = query
        .get("q")
        .unwrap_or("")
        .chars()
        .take(MAX_QUERY)
        .collect();
    let mut hits = Vec::new();
    let section = query
        .get("col")
        .filter(|c| cms::SECTIONS.iter().any(|(id, _, _)| id == c))
        .map(str::to_owned);
    let from = query.get("from").and_then(crate::view::day_start);
    let until = query
        .get("to")
        .and_then(crate::view::day_start)
        .map(|ms| ms + 86_400_000);
    let mut content_total = 0;
    let mut unavailable = false;
    if !words.is_empty() {
        match state.cms.search(&cms::search::SearchQuery {
            q: words.clone(),
            column: section.clone(),
            from,
            until,
            offset: 0,
            limit: 50,
        }) {
            Ok(found) => {
                content_total = found.total;
                let all = state.cms.columns().await?;
                for h in found.hits {
                    let kind = h
                        .columns
                        .iter()
                        .find_map(|c| all.iter().find(|x| &x.id == c && x.is_top()))
                        .map_or("内容", |c| match c.section.as_str() {
                            "policy" => "政策",
                            "education" => "金融教育",
                            "notice" => "通知公告",
                            _ => "新闻资讯",
                        });
                    hits.push(Hit {
                        title_html: h.title_html,
                        href: format!("/articles/{}", h.id),
                        kind,
                        snippet_html: format!(
                            "{} <span class=\"muted small\">{}</span>",
                            h.snippet_html,
                            view::date(h.published_at)
                        ),
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "content search failed");
                unavailable = true;
            }
        }
    }
    if !words.is_empty() && section.is_none() && from.is_none() && until.is_none() {
        let needle = words.to_lowercase();
        let found = |text: &str| text.to_lowercase().contains(&needle);
        for c in COLUMN_ENTRIES.iter() {
            if found(c.label) || found(c.intro) {
                hits.push(Hit {
                    title_html: view::highlight(c.label, &words),
                    href: c.href.to_owned(),
                    kind: "栏目",
                    snippet_html: view::highlight(c.intro, &words),
                });
            }
        }
        let institutions = state
            .orgs
            .list(
                OrgFilter {
                    status: Some(OrgStatus::Approved),
                    kind: Some(OrgKind::Institution),
                    q: Some(words.clone()),
                },
                orgs::Page::new(1, 50),
            )
            .await?;
        for o in &institutions.items {
            hits.push(Hit {
                title_html: view::highlight(&o.name, &words),
                href: format!("/institutions/{}", o.id),
                kind: "入驻机构",
                snippet_html: view::highlight(
                    &view::excerpt(o.introduction.as_deref().unwrap_or(""), 120),
                    &words,
                ),
            });
        }
        for s in service_cards(&state) {
            if found(&s.name) || found(&s.description) || found(&s.operator) {
                hits.push(Hit {
                    title_html: view::highlight(&s.name, &words),
                    href: "/services".to_owned(),
                    kind: "网上办事",
                    snippet_html: view::highlight(&s.description, &words),
                });
            }
        }
    }
    let mut b = base(&state, "站内搜索", "", &viewer);
    b.search_q = words.clone();
    let empty = if words.is_empty() {
        "请输入要搜索的关键词，例如机构名称或“征信”。".to_owned()
    } else {
        format!("没有找到与“{words}”相关的内容。可以换一个关键词，或浏览各栏目。")
    };
    Ok(state.platform.web.page(
        "portal/search.html",
        &b,
        serde_json::json!({
            "q": words,
            "hits": hits,
            "empty": empty,
            "content_total": content_total,
            "unavailable": unavailable,
            "filter": { "col": section, "from": query.get("from"), "to": query.get("to") },
            "sections": cms::SECTIONS.iter().map(|(id, label, _)| serde_json::json!({ "value": id, "label": label })).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /user/...` and the console for people who are not signed in: to the sign-in page,
/// coming back here afterwards.
pub fn to_sign_in(return_to: &str) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("return_to", return_to);
    (
        StatusCode::SEE_OTHER,
        [(http::header::LOCATION, format!("/login?{}", q.finish()))],
    )
        .into_response()
}
