//! 金融产品: the public list of listed products with its filters, a product's page, and the
//! institutions' own products in the user centre (write, submit for the operators' review,
//! take off the market, delete). Every rule — who may do what in which state, the checks of
//! the fields, the sensitive words — is the `market` service's; these pages show its answers,
//! keep what was typed when it refuses, and offer only the steps the product's state allows.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use market::money::{bp_to_percent, percent_to_bp, show_fen, wan_to_fen};
use market::{
    Choices, INSTITUTION_KINDS, LOAN_METHODS, MarketError, Member, PRODUCT_KINDS, Product,
    ProductFilter, ProductForm, ProductSort, ProductStatus,
};
use platform::context::RequestContext;
use platform::http::problem::{ApiError, ErrorCode};
use platform::paging::Page;
use platform::web::form::{self, FieldErrors, FormData};
use platform::web::page::{flash, see_other};

use crate::public::to_sign_in;
use crate::state::PortalState;
use crate::view::{self, ListQuery, Signed, Viewer, base, pager};

/// The templates of these pages, embedded.
pub const TEMPLATES: platform::web::templates::Sources = &[
    (
        "products/list.html",
        include_str!("../templates/products/list.html"),
    ),
    (
        "products/detail.html",
        include_str!("../templates/products/detail.html"),
    ),
    (
        "products/mine.html",
        include_str!("../templates/products/mine.html"),
    ),
    (
        "products/editor.html",
        include_str!("../templates/products/editor.html"),
    ),
];

/// The routes of these pages.
pub fn routes() -> axum::Router<PortalState> {
    axum::Router::new()
        .route("/products", get(list))
        .route("/products/{id}", get(detail))
        .route("/user/products", get(mine))
        .route("/user/products/new", get(new_form).post(create))
        .route("/user/products/{id}", get(show).post(save))
        .route("/user/products/{id}/{step}", post(step))
}

const PUBLIC: &str = "/products";
const HOME: &str = "/user/products";

const NOTICES: &[(&str, &str, &str)] = &[
    (
        "created",
        "success",
        "已保存为草稿。确认无误后请提交平台审核，审核通过后上架。",
    ),
    (
        "saved",
        "success",
        "已保存。修改后的产品需重新提交平台审核，审核通过后上架。",
    ),
    ("submitted", "success", "已提交平台审核，审核通过后上架。"),
    ("unlisted", "success", "已下架，该产品不再对外展示。"),
    ("deleted", "success", "已删除该产品。"),
];

/// The badge kind of a product's status.
pub fn status_kind(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::Listed => "ok",
        ProductStatus::Pending => "warn",
        ProductStatus::Rejected => "bad",
        ProductStatus::Draft | ProductStatus::Unlisted => "muted",
    }
}

/// `a – b` with the unit of each, or one value when both are the same.
fn range(lo: String, hi: String) -> String {
    if lo == hi {
        lo
    } else {
        format!("{lo} – {hi}")
    }
}

/// 额度 as people read it.
pub fn amount_range(p: &Product) -> String {
    range(show_fen(p.amount_min_fen), show_fen(p.amount_max_fen))
}

/// 年利率 as people read it.
pub fn rate_range(p: &Product) -> String {
    range(
        format!("{}%", bp_to_percent(p.rate_min_bp)),
        format!("{}%", bp_to_percent(p.rate_max_bp)),
    )
}

/// 期限 as people read it.
pub fn term_range(p: &Product) -> String {
    if p.term_min_months == p.term_max_months {
        format!("{} 个月", p.term_min_months)
    } else {
        format!("{} – {} 个月", p.term_min_months, p.term_max_months)
    }
}

fn labels(list: &[(String, String)], codes: &[String], none: &str) -> String {
    if codes.is_empty() {
        return none.to_owned();
    }
    codes
        .iter()
        .map(|c| Choices::label(list, c))
        .collect::<Vec<_>>()
        .join("、")
}

/// Everything a page shows of a product, in Chinese.
pub fn product_view(p: &Product, choices: &Choices) -> serde_json::Value {
    serde_json::json!({
        "id": p.id,
        "href": format!("{PUBLIC}/{}", p.id),
        "name": p.name,
        "org_id": p.org_id,
        "org_name": p.org_name,
        "org_href": format!("/institutions/{}", p.org_id),
        "institution_kind_label": market::label(INSTITUTION_KINDS, &p.institution_kind),
        "kind_label": market::label(PRODUCT_KINDS, &p.kind),
        "loan_method_label": market::label(LOAN_METHODS, &p.loan_method),
        "guarantee": labels(&choices.guarantee, &p.guarantee, "—"),
        "regions": labels(&choices.region, &p.regions, "龙岩市全域"),
        "industries": labels(&choices.industry, &p.industries, "不限行业"),
        "amount": amount_range(p),
        "rate": rate_range(p),
        "term": term_range(p),
        "conditions": p.conditions,
        "intro": p.intro,
        "status_label": p.status.label_zh(),
        "status_kind": status_kind(p.status),
        "reject_reason": p.reject_reason,
        "held_words": p.held_words,
        "revision": p.revision,
        "created_at": view::time(p.created_at),
        "updated_at": view::time(p.updated_at),
        "listed_at": p.listed_at.map(view::date),
    })
}

/// `[{value, label}]` of a fixed list.
fn options(list: &[(&str, &str)]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|(v, l)| serde_json::json!({ "value": v, "label": l }))
        .collect()
}

/// `[{value, label, checked}]` of a dictionary list.
fn checks(list: &[(String, String)], chosen: &[String]) -> Vec<serde_json::Value> {
    list.iter()
        .map(|(v, l)| serde_json::json!({ "value": v, "label": l, "checked": chosen.contains(v) }))
        .collect()
}

// ---- the public list ------------------------------------------------------------------------

/// The topic tabs: label, 机构类型, 担保方式.
const TABS: &[(&str, &str, &str)] = &[
    ("全部", "", ""),
    ("银行产品", "bank", ""),
    ("担保产品", "guarantee", ""),
    ("信用贷款", "", "credit"),
];

/// The query keys of the list's filters, in the order the pager keeps them.
const KEYS: &[&str] = &[
    "institution_kind",
    "kind",
    "guarantee",
    "loan_method",
    "amount",
    "rate",
    "term",
    "q",
    "sort",
];

/// The filter of the list's query. A value that is not one of the choices is ignored; a number
/// that does not read is an error of its field (in Chinese) and filters nothing.
fn filter_of(query: &ListQuery, choices: &Choices) -> (ProductFilter, Vec<(String, String)>) {
    let mut errors = Vec::new();
    let fixed = |key: &str, list: &[(&str, &str)]| {
        query
            .get(key)
            .filter(|v| list.iter().any(|(c, _)| c == v))
            .map(str::to_owned)
    };
    let amount_fen = query.get("amount").and_then(|t| match wan_to_fen(t) {
        Ok(f) if f > 0 => Some(f),
        Ok(_) => {
            errors.push(("amount".to_owned(), "融资金额必须大于 0。".to_owned()));
            None
        }
        Err(m) => {
            errors.push(("amount".to_owned(), format!("融资金额{m}")));
            None
        }
    });
    let max_rate_bp = query.get("rate").and_then(|t| match percent_to_bp(t) {
        Ok(b) => Some(b),
        Err(m) => {
            errors.push(("rate".to_owned(), format!("年利率{m}")));
            None
        }
    });
    let term_months = query.get("term").and_then(|t| match t.parse::<i64>() {
        Ok(m) if (1..=360).contains(&m) => Some(m),
        _ => {
            errors.push((
                "term".to_owned(),
                "期限请填写 1 至 360 之间的整数月数。".to_owned(),
            ));
            None
        }
    });
    let f = ProductFilter {
        institution_kind: fixed("institution_kind", INSTITUTION_KINDS),
        kind: fixed("kind", PRODUCT_KINDS),
        guarantee: query
            .get("guarantee")
            .filter(|g| choices.guarantee.iter().any(|(c, _)| c == g))
            .map(str::to_owned),
        loan_method: fixed("loan_method", LOAN_METHODS),
        amount_fen,
        max_rate_bp,
        term_months,
        org_id: None,
        q: query.get("q").map(|s| s.chars().take(50).collect()),
        sort: ProductSort::parse(query.get("sort").unwrap_or("")),
    };
    (f, errors)
}

/// `GET /products`: the listed products, filtered, sorted and paged.
pub async fn list(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(q.as_deref());
    let choices = state.market.choices().await?;
    let (filter, errors) = filter_of(&query, &choices);
    let paged = state
        .market
        .search_products(&filter, query.page(Page::DEFAULT_SIZE))
        .await?;
    let keep: Vec<(&str, &str)> = KEYS
        .iter()
        .map(|k| (*k, query.get(k).unwrap_or("")))
        .collect();
    let page = pager(&paged, PUBLIC, &keep);
    let filtered = keep.iter().any(|(k, v)| *k != "sort" && !v.is_empty());
    let tabs: Vec<serde_json::Value> = TABS
        .iter()
        .map(|(label, kind, guarantee)| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            if !kind.is_empty() {
                q.append_pair("institution_kind", kind);
            }
            if !guarantee.is_empty() {
                q.append_pair("guarantee", guarantee);
            }
            let q = q.finish();
            serde_json::json!({
                "label": label,
                "href": if q.is_empty() { PUBLIC.to_owned() } else { format!("{PUBLIC}?{q}") },
                "current": filter.institution_kind.as_deref().unwrap_or("") == *kind
                    && filter.guarantee.as_deref().unwrap_or("") == *guarantee,
            })
        })
        .collect();
    let items: Vec<serde_json::Value> = paged
        .items
        .iter()
        .map(|p| product_view(p, &choices))
        .collect();
    let sort = ProductSort::ALL
        .iter()
        .find(|(s, _, _)| *s == filter.sort)
        .map_or("newest", |(_, c, _)| *c);
    let b = base(&state, "金融产品", PUBLIC, &viewer);
    Ok(state.platform.web.page(
        "products/list.html",
        &b,
        serde_json::json!({
            "tabs": tabs,
            "items": items,
            "page": page,
            "filter": {
                "institution_kind": filter.institution_kind,
                "kind": filter.kind,
                "guarantee": filter.guarantee,
                "loan_method": filter.loan_method,
                "amount": query.get("amount"),
                "rate": query.get("rate"),
                "term": query.get("term"),
                "q": filter.q,
                "sort": sort,
                "any": filtered,
            },
            "errors": errors.into_iter().collect::<BTreeMap<_, _>>(),
            "institution_kinds": options(INSTITUTION_KINDS),
            "kinds": options(PRODUCT_KINDS),
            "loan_methods": options(LOAN_METHODS),
            "guarantees": choices.guarantee.iter().map(|(v, l)| serde_json::json!({ "value": v, "label": l })).collect::<Vec<_>>(),
            "sorts": ProductSort::ALL.iter().map(|(_, v, l)| serde_json::json!({ "value": v, "label": l })).collect::<Vec<_>>(),
            "empty": if filtered {
                "暂无符合条件的金融产品。可以调整或清除筛选条件。"
            } else {
                "暂无符合条件的金融产品。金融机构发布并经平台审核的产品将在这里展示。"
            },
        }),
    ))
}

/// `GET /products/{id}`: a listed product; anything else is "not found".
pub async fn detail(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = state.market.public_product(&id).await?;
    let choices = state.market.choices().await?;
    let b = base(&state, &p.name, PUBLIC, &viewer);
    Ok(state.platform.web.page(
        "products/detail.html",
        &b,
        serde_json::json!({ "product": product_view(&p, &choices) }),
    ))
}

// ---- the institution's own products ---------------------------------------------------------

async fn member(state: &PortalState, me: &Signed) -> Result<Member, ApiError> {
    Ok(state
        .market
        .member(me.account_id(), &me.session.account.display_name)
        .await?)
}

fn check(state: &PortalState, me: &Signed, f: &FormData) -> Result<(), ApiError> {
    form::check(&state.platform.keys, "user", &me.cookie, f)
}

/// The product form as typed.
fn typed(f: &FormData) -> ProductForm {
    ProductForm {
        name: f.get("name").to_owned(),
        institution_kind: f.get("institution_kind").to_owned(),
        kind: f.get("kind").to_owned(),
        guarantee: f.all("guarantee"),
        loan_method: f.get("loan_method").to_owned(),
        amount_min: f.get("amount_min").to_owned(),
        amount_max: f.get("amount_max").to_owned(),
        rate_min: f.get("rate_min").to_owned(),
        rate_max: f.get("rate_max").to_owned(),
        term_min: f.get("term_min").to_owned(),
        term_max: f.get("term_max").to_owned(),
        regions: f.all("regions"),
        industries: f.all("industries"),
        conditions: f.get("conditions").to_owned(),
        intro: f.get("intro").to_owned(),
    }
}

/// `GET /user/products`: the institution's products, every status.
pub async fn mine(
    State(state): State<PortalState>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(HOME));
    };
    let m = member(&state, me).await?;
    let query = ListQuery::parse(q.as_deref());
    let paged = state
        .market
        .products_of(&m, query.page(Page::DEFAULT_SIZE))
        .await?;
    let page = pager(&paged, HOME, &[]);
    let items: Vec<serde_json::Value> = paged
        .items
        .iter()
        .map(|p| {
            serde_json::json!({
                "href": format!("{HOME}/{}", p.id),
                "name": p.name,
                "status_label": p.status.label_zh(),
                "status_kind": status_kind(p.status),
                "amount": amount_range(p),
                "rate": rate_range(p),
                "updated_at": view::time(p.updated_at),
            })
        })
        .collect();
    let org = state.orgs.get(m.scope.org_id()).await?;
    let mut b = base(&state, "发布金融产品", "/user", &viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    Ok(state.platform.web.page(
        "products/mine.html",
        &b,
        serde_json::json!({
            "institution": org.name,
            "items": items,
            "page": page,
            "empty": "贵机构还没有发布金融产品。",
        }),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn editor_page(
    state: &PortalState,
    viewer: &Viewer,
    product: Option<&Product>,
    form: &ProductForm,
    errors: &FieldErrors,
    conflict: Option<String>,
    status: StatusCode,
    query: &ListQuery,
) -> Result<Response, ApiError> {
    let choices = state.market.choices().await?;
    let title = product.map_or("发布金融产品".to_owned(), |p| p.name.clone());
    let mut b = base(state, &title, "/user", viewer);
    b.flash = flash(query.get("ok"), NOTICES);
    let editable = product.is_none_or(|p| p.status.editable());
    Ok(state.platform.web.page_status(
        status,
        "products/editor.html",
        &b,
        serde_json::json!({
            "product": product.map(|p| {
                let mut v = product_view(p, &choices);
                if let Some(o) = v.as_object_mut() {
                    o.insert("public_href".into(), serde_json::json!((p.status == ProductStatus::Listed).then(|| format!("{PUBLIC}/{}", p.id))));
                    o.insert("can_submit".into(), serde_json::json!(p.status.submittable()));
                    o.insert("can_unlist".into(), serde_json::json!(p.status.listed()));
                    o.insert("listed".into(), serde_json::json!(p.status.listed()));
                }
                v
            }),
            "editable": editable,
            "form": form,
            "revision": product.map_or(0, |p| p.revision),
            "form_action": product.map_or(format!("{HOME}/new"), |p| format!("{HOME}/{}", p.id)),
            "institution_kinds": options(INSTITUTION_KINDS),
            "kinds": options(PRODUCT_KINDS),
            "loan_methods": options(LOAN_METHODS),
            "guarantees": checks(&choices.guarantee, &form.guarantee),
            "regions": checks(&choices.region, &form.regions),
            "industries": checks(&choices.industry, &form.industries),
            "errors": errors.map(),
            "conflict": conflict,
        }),
    ))
}

/// A refused form again, with what was typed, its errors (422) or the message about the
/// whole product (409).
async fn refused(
    state: &PortalState,
    viewer: &Viewer,
    product: Option<&Product>,
    form: &ProductForm,
    e: MarketError,
) -> Result<Response, ApiError> {
    let Some((errors, conflict)) = crate::editing::market_refusal(&e) else {
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
        product,
        form,
        &errors,
        conflict,
        status,
        &ListQuery::default(),
    )
    .await
}

/// Submits a saved product; a refusal (sensitive words) shows it with the errors on its fields.
async fn submit_or_show(
    state: &PortalState,
    viewer: &Viewer,
    m: &Member,
    p: &Product,
    ctx: &RequestContext,
) -> Result<Response, ApiError> {
    match state.market.submit_product(m, &p.id, ctx).await {
        Ok(_) => Ok(see_other(&format!("{HOME}/{}?ok=submitted", p.id))),
        Err(e) => {
            let p = state.market.own_product(m, &p.id).await?;
            refused(state, viewer, Some(&p), &ProductForm::of(&p), e).await
        }
    }
}

/// `GET /user/products/new`.
pub async fn new_form(
    State(state): State<PortalState>,
    viewer: Viewer,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{HOME}/new")));
    };
    let m = member(&state, me).await?;
    // Only institutions write products: anybody else gets the error page here, not on saving.
    if m.scope.kind() != orgs::OrgKind::Institution {
        return Err(MarketError::Forbidden("only financial institutions' staff do this").into());
    }
    editor_page(
        &state,
        &viewer,
        None,
        &ProductForm::default(),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
        &ListQuery::default(),
    )
    .await
}

/// `POST /user/products/new`: saves a draft (`action=submit`: and submits it).
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
    let m = member(&state, me).await?;
    let form = typed(&f);
    match state.market.save_product(&m, None, &form, &ctx).await {
        Ok(p) if f.get("action") == "submit" => submit_or_show(&state, &viewer, &m, &p, &ctx).await,
        Ok(p) => Ok(see_other(&format!("{HOME}/{}?ok=created", p.id))),
        Err(e) => refused(&state, &viewer, None, &form, e).await,
    }
}

/// `GET /user/products/{id}`.
pub async fn show(
    State(state): State<PortalState>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let Some(me) = &viewer.0 else {
        return Ok(to_sign_in(&format!("{HOME}/{id}")));
    };
    let m = member(&state, me).await?;
    let p = state.market.own_product(&m, &id).await?;
    editor_page(
        &state,
        &viewer,
        Some(&p),
        &ProductForm::of(&p),
        &FieldErrors::default(),
        None,
        StatusCode::OK,
        &ListQuery::parse(q.as_deref()),
    )
    .await
}

/// `POST /user/products/{id}`: saves the change at the revision the form was read at
/// (`action=submit`: and submits it).
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
    let m = member(&state, me).await?;
    let current = state.market.own_product(&m, &id).await?;
    let revision = f.get("revision").parse().unwrap_or(0);
    let form = typed(&f);
    match state
        .market
        .save_product(&m, Some((&id, revision)), &form, &ctx)
        .await
    {
        Ok(p) if f.get("action") == "submit" => submit_or_show(&state, &viewer, &m, &p, &ctx).await,
        Ok(_) => Ok(see_other(&format!("{HOME}/{id}?ok=saved"))),
        Err(e) => refused(&state, &viewer, Some(&current), &form, e).await,
    }
}

/// `POST /user/products/{id}/{step}`: submit, unlist, delete.
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
    let m = member(&state, me).await?;
    let result = match step.as_str() {
        "submit" => state
            .market
            .submit_product(&m, &id, &ctx)
            .await
            .map(|_| "submitted"),
        "unlist" => state
            .market
            .unlist_product(&m, &id, &ctx)
            .await
            .map(|_| "unlisted"),
        "delete" => state
            .market
            .delete_product(&m, &id, &ctx)
            .await
            .map(|()| "deleted"),
        _ => return Err(ApiError::new(ErrorCode::NotFound, "no such step")),
    };
    match result {
        Ok("deleted") => Ok(see_other(&format!("{HOME}?ok=deleted"))),
        Ok(done) => Ok(see_other(&format!("{HOME}/{id}?ok={done}"))),
        Err(e) => {
            let p = state.market.own_product(&m, &id).await?;
            refused(&state, &viewer, Some(&p), &ProductForm::of(&p), e).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices() -> Choices {
        Choices {
            guarantee: vec![("credit".into(), "信用".into())],
            ..Choices::default()
        }
    }

    #[test]
    fn bad_filter_numbers_are_field_errors_and_filter_nothing() {
        let q = ListQuery::parse(Some("amount=abc&rate=4.5&term=0&kind=debt&guarantee=x"));
        let (f, errors) = filter_of(&q, &choices());
        assert_eq!(f.amount_fen, None);
        assert_eq!(f.max_rate_bp, Some(450));
        assert_eq!(f.term_months, None);
        assert_eq!(f.kind.as_deref(), Some("debt"));
        assert_eq!(f.guarantee, None);
        let fields: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(fields, ["amount", "term"]);
    }

    #[test]
    fn good_filters_read_into_fen_and_basis_points() {
        let q = ListQuery::parse(Some("amount=50.5&guarantee=credit&sort=rate&term=12"));
        let (f, errors) = filter_of(&q, &choices());
        assert!(errors.is_empty());
        assert_eq!(f.amount_fen, Some(50_500_000));
        assert_eq!(f.guarantee.as_deref(), Some("credit"));
        assert_eq!(f.term_months, Some(12));
        assert_eq!(f.sort, ProductSort::RateLow);
    }
}
