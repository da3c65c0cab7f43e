//! 访问统计: page views by day, month or year, the columns ranked, where visitors came from
//! (sites, search engines and their search terms), the pages visits began on and the most
//! visited pages — aggregates the `cms` statistics keep, drawn as SVG on the server.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use cms::stats::{Period, Ranked};
use platform::admin::Permission;
use platform::context::RequestContext;
use platform::http::problem::ApiError;

use super::frame::{ConsoleAdmin, base};
use crate::chart;
use crate::state::PortalState;
use crate::view::ListQuery;

fn period_label(p: Period, k: i64) -> String {
    match p {
        Period::Day => format!("{}-{:02}", (k / 100) % 100, k % 100),
        Period::Month => format!("{}-{:02}", k / 100, k % 100),
        Period::Year => k.to_string(),
    }
}

fn ranked(items: &[Ranked]) -> Vec<(String, i64)> {
    items.iter().map(|r| (r.label.clone(), r.count)).collect()
}

/// `GET /console/stats?period=day|month|year`.
pub async fn show(
    State(state): State<PortalState>,
    ctx: RequestContext,
    admin: ConsoleAdmin,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    admin.require(&state, Permission::StatsRead, &ctx).await?;
    let query = ListQuery::parse(q.as_deref());
    let period = query
        .get("period")
        .and_then(Period::parse)
        .unwrap_or(Period::Day);
    let report = state.cms.report(period).await?;
    let trend: Vec<(String, i64)> = report
        .trend
        .iter()
        .map(|p| (period_label(period, p.period), p.views))
        .collect();
    let tabs: Vec<serde_json::Value> = [
        (Period::Day, "按日（近 30 天）"),
        (Period::Month, "按月（近 12 个月）"),
        (Period::Year, "按年"),
    ]
    .iter()
    .map(|(p, label)| {
        serde_json::json!({
            "label": label,
            "href": format!("/console/stats?period={}", p.as_str()),
            "current": *p == period,
        })
    })
    .collect();
    let table = |items: &[Ranked]| -> Vec<serde_json::Value> {
        items
            .iter()
            .map(|r| serde_json::json!({ "label": r.label, "count": r.count }))
            .collect()
    };
    let b = base(&state, "访问统计", "/console/stats", &admin);
    Ok(state.platform.web.page(
        "console/stats.html",
        &b,
        serde_json::json!({
            "tabs": tabs,
            "total": report.total_views,
            "trend_svg": (!trend.is_empty()).then(|| chart::columns(&trend, "访问量趋势")),
            "trend": report.trend.iter().map(|p| serde_json::json!({
                "label": period_label(period, p.period), "views": p.views, "visitors": p.visitors,
            })).collect::<Vec<_>>(),
            "columns_svg": (!report.columns.is_empty()).then(|| chart::bars(&ranked(&report.columns), "栏目访问排行")),
            "columns": table(&report.columns),
            "pages": table(&report.pages),
            "entries": table(&report.entries),
            "referrers": table(&report.referrers),
            "engines": table(&report.engines),
            "terms": table(&report.terms),
            "recorded": state.cms.recorder().recorded(),
            "dropped": state.cms.recorder().dropped(),
        }),
    ))
}
