//! Traffic statistics (F3). A page view is handed to a bounded queue and the request goes on;
//! a writer takes what arrived each moment, adds it up (per day and page, per referrer and
//! search term, per article and hour) and writes the sums in one transaction. Nothing personal
//! is kept: a visitor is an HMAC of the day, address and browser (computed by the caller),
//! kept only to count distinct visitors per day.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use platform::store::{Db, begin_write, with_pool};
use tokio::sync::mpsc;

use crate::error::CmsError;

/// One page view.
#[derive(Clone, Debug)]
pub struct View {
    pub at_ms: i64,
    pub path: String,
    pub column: Option<String>,
    pub article: Option<String>,
    /// The `Referer`, if any.
    pub referrer: Option<String>,
    /// 16 bytes of HMAC over the day, address and browser.
    pub visitor: Vec<u8>,
}

/// How many views may wait for the writer; beyond it views are counted as dropped (the page
/// is never slowed).
const QUEUE: usize = 100_000;
/// How often the writer writes.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// The sending side, cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::Sender<View>,
    dropped: Arc<AtomicU64>,
    recorded: Arc<AtomicU64>,
    own_host: Arc<str>,
}

impl Recorder {
    /// A recorder and the queue its writer ([`run`]) reads. `own_host` is this site's host:
    /// a view referred from it does not begin a visit.
    pub fn new(own_host: &str) -> (Recorder, mpsc::Receiver<View>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (
            Recorder {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
                recorded: Arc::new(AtomicU64::new(0)),
                own_host: Arc::from(own_host.to_ascii_lowercase()),
            },
            rx,
        )
    }

    /// Queues a view; never waits.
    pub fn record(&self, v: View) {
        if self.tx.try_send(v).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Views lost because the queue was full (or the writer stopped).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Views written to the store.
    pub fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }
}

/// A referrer as counted: its host, the search engine's name and the terms searched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    pub host: String,
    pub engine: String,
    pub term: String,
}

const ENGINES: &[(&str, &str, &[&str])] = &[
    ("baidu.com", "百度", &["wd", "word", "kw"]),
    ("so.com", "360搜索", &["q"]),
    ("sogou.com", "搜狗", &["query", "keyword"]),
    ("bing.com", "必应", &["q"]),
    ("google.com", "Google", &["q"]),
    ("google.cn", "Google", &["q"]),
    ("sm.cn", "神马", &["q"]),
    ("toutiao.com", "头条搜索", &["keyword"]),
];

/// The source of a `Referer` from another site (`None`: none, unreadable, or this site).
pub fn source_of(referrer: &str, own_host: &str) -> Option<Source> {
    let url = url::Url::parse(referrer).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    if host == own_host {
        return None;
    }
    let engine = ENGINES
        .iter()
        .find(|(suffix, _, _)| host == *suffix || host.ends_with(&format!(".{suffix}")));
    let (engine, term) = match engine {
        Some((_, name, params)) => {
            let term = url
                .query_pairs()
                .find(|(k, _)| params.contains(&k.as_ref()))
                .map(|(_, v)| v.trim().chars().take(50).collect::<String>())
                .unwrap_or_default();
            ((*name).to_owned(), term)
        }
        None => (String::new(), String::new()),
    };
    Some(Source {
        host: host.chars().take(100).collect(),
        engine,
        term,
    })
}

/// yyyymmdd of `ms` in China Standard Time.
pub fn day_of(ms: i64) -> i64 {
    let secs = ms.div_euclid(1000) + 8 * 3600;
    let date = time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    i64::from(date.year()) * 10_000
        + i64::from(u8::from(date.month())) * 100
        + i64::from(date.day())
}

#[derive(Default)]
struct Batch {
    pages: HashMap<(i64, String), (Option<String>, i64, i64)>,
    sources: HashMap<(i64, Source), i64>,
    visitors: HashSet<(i64, Vec<u8>)>,
    articles: HashMap<(String, i64), i64>,
    count: u64,
}

impl Batch {
    fn add(&mut self, v: View, own_host: &str) {
        let day = day_of(v.at_ms);
        let source = v.referrer.as_deref().and_then(|r| source_of(r, own_host));
        let own = v
            .referrer
            .as_deref()
            .and_then(|r| url::Url::parse(r).ok())
            .and_then(|u| u.host_str().map(|h| h.eq_ignore_ascii_case(own_host)))
            .unwrap_or(false);
        let e = self
            .pages
            .entry((day, v.path))
            .or_insert((v.column.clone(), 0, 0));
        e.1 += 1;
        if !own {
            e.2 += 1;
        }
        if let Some(s) = source {
            *self.sources.entry((day, s)).or_insert(0) += 1;
        }
        self.visitors.insert((day, v.visitor));
        if let Some(a) = v.article {
            *self
                .articles
                .entry((a, v.at_ms.div_euclid(3_600_000)))
                .or_insert(0) += 1;
        }
        self.count += 1;
    }
}

/// The writer: runs until every recorder is dropped, writing what arrived every
/// [`FLUSH_EVERY`].
pub async fn run(db: Db, recorder: Recorder, mut rx: mpsc::Receiver<View>) {
    let own_host = recorder.own_host.clone();
    let mut open = true;
    while open {
        let mut batch = Batch::default();
        let deadline = tokio::time::sleep(FLUSH_EVERY);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                v = rx.recv() => match v {
                    Some(v) => batch.add(v, &own_host),
                    None => { open = false; break; }
                },
                () = &mut deadline => break,
            }
        }
        if batch.count == 0 {
            continue;
        }
        let n = batch.count;
        match write(&db, batch).await {
            Ok(()) => {
                recorder.recorded.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                recorder.dropped.fetch_add(n, Ordering::Relaxed);
                tracing::warn!(error = %e, views = n, "page views could not be written");
            }
        }
    }
}

async fn write(db: &Db, b: Batch) -> Result<(), CmsError> {
    with_pool!(db.write(), |p, bk| {
        async {
            let mut tx = begin_write!(p, bk)?;
            for ((day, path), (column, views, entries)) in &b.pages {
                sqlx::query("INSERT INTO page_views_daily (day, path, column_id, views, entries) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, path) DO UPDATE SET views = page_views_daily.views + excluded.views, entries = page_views_daily.entries + excluded.entries")
                    .bind(day).bind(path).bind(column.as_deref()).bind(views).bind(entries)
                    .execute(&mut *tx).await?;
            }
            for ((day, s), views) in &b.sources {
                sqlx::query("INSERT INTO page_referrers_daily (day, source, engine, term, views) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day, source, term) DO UPDATE SET views = page_referrers_daily.views + excluded.views")
                    .bind(day).bind(&s.host).bind(&s.engine).bind(&s.term).bind(views)
                    .execute(&mut *tx).await?;
            }
            for (day, visitor) in &b.visitors {
                sqlx::query("INSERT INTO page_visitors_daily (day, visitor) VALUES ($1, $2) ON CONFLICT (day, visitor) DO NOTHING")
                    .bind(day).bind(visitor)
                    .execute(&mut *tx).await?;
            }
            for ((article, hour), views) in &b.articles {
                sqlx::query("INSERT INTO article_views_hourly (article_id, hour, views) VALUES ($1, $2, $3) ON CONFLICT (article_id, hour) DO UPDATE SET views = article_views_hourly.views + excluded.views")
                    .bind(article).bind(hour).bind(views)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, CmsError>(())
        }
        .await
    })
}

/// The periods of a trend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Month,
    Year,
}

impl Period {
    pub fn parse(t: &str) -> Option<Period> {
        match t {
            "day" => Some(Period::Day),
            "month" => Some(Period::Month),
            "year" => Some(Period::Year),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    fn divisor(self) -> i64 {
        match self {
            Period::Day => 1,
            Period::Month => 100,
            Period::Year => 10_000,
        }
    }

    /// How far back a trend of this period looks, in days (yyyymmdd arithmetic is avoided: the
    /// first day is computed from the clock).
    fn span_days(self) -> i64 {
        match self {
            Period::Day => 30,
            Period::Month => 366,
            Period::Year => 3660,
        }
    }
}

/// One point of a trend: the period (yyyymmdd, yyyymm or yyyy), views and distinct visitors.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Point {
    pub period: i64,
    pub views: i64,
    pub visitors: i64,
}

/// A ranked entry: a page, column, referrer, engine or search term with its count.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Ranked {
    pub key: String,
    pub label: String,
    pub count: i64,
}

/// Everything the statistics page shows.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    pub period: &'static str,
    pub trend: Vec<Point>,
    pub pages: Vec<Ranked>,
    pub entries: Vec<Ranked>,
    pub columns: Vec<Ranked>,
    pub referrers: Vec<Ranked>,
    pub engines: Vec<Ranked>,
    pub terms: Vec<Ranked>,
    pub total_views: i64,
}

/// The report over the period's span up to `now_ms`.
pub async fn report(db: &Db, period: Period, now_ms: i64) -> Result<Report, CmsError> {
    let first = day_of(now_ms - period.span_days() * 86_400_000);
    let d = period.divisor();
    let (trend_views, trend_visitors, pages, entries, columns, referrers, engines, terms) = with_pool!(
        db.read(),
        |p| {
            async {
                let tv: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT day / {d} AS k, CAST(SUM(views) AS BIGINT) FROM page_views_daily WHERE day >= $1 GROUP BY k ORDER BY k"
                )))
                .bind(first)
                .fetch_all(p)
                .await?;
                let tu: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT day / {d} AS k, COUNT(*) FROM page_visitors_daily WHERE day >= $1 GROUP BY k ORDER BY k"
                )))
                .bind(first)
                .fetch_all(p)
                .await?;
                let pages: Vec<(String, i64)> = sqlx::query_as("SELECT path, CAST(SUM(views) AS BIGINT) AS n FROM page_views_daily WHERE day >= $1 GROUP BY path ORDER BY n DESC, path LIMIT 20")
                    .bind(first).fetch_all(p).await?;
                let entries: Vec<(String, i64)> = sqlx::query_as("SELECT path, CAST(SUM(entries) AS BIGINT) AS n FROM page_views_daily WHERE day >= $1 GROUP BY path HAVING SUM(entries) > 0 ORDER BY n DESC, path LIMIT 20")
                    .bind(first).fetch_all(p).await?;
                let columns: Vec<(String, String, i64)> = sqlx::query_as("SELECT c.id, c.name, CAST(SUM(v.views) AS BIGINT) AS n FROM page_views_daily v JOIN content_columns c ON c.id = v.column_id WHERE v.day >= $1 GROUP BY c.id, c.name ORDER BY n DESC, c.id LIMIT 20")
                    .bind(first).fetch_all(p).await?;
                let referrers: Vec<(String, i64)> = sqlx::query_as("SELECT source, CAST(SUM(views) AS BIGINT) AS n FROM page_referrers_daily WHERE day >= $1 GROUP BY source ORDER BY n DESC, source LIMIT 20")
                    .bind(first).fetch_all(p).await?;
                let engines: Vec<(String, i64)> = sqlx::query_as("SELECT engine, CAST(SUM(views) AS BIGINT) AS n FROM page_referrers_daily WHERE day >= $1 AND engine <> '' GROUP BY engine ORDER BY n DESC, engine LIMIT 20")
                    .bind(first).fetch_all(p).await?;
                let terms: Vec<(String, String, i64)> = sqlx::query_as("SELECT engine, term, CAST(SUM(views) AS BIGINT) AS n FROM page_referrers_daily WHERE day >= $1 AND term <> '' GROUP BY engine, term ORDER BY n DESC, term LIMIT 20")
                    .bind(first).fetch_all(p).await?;
                Ok::<_, sqlx::Error>((tv, tu, pages, entries, columns, referrers, engines, terms))
            }
            .await
        }
    )?;
    let visitors: HashMap<i64, i64> = trend_visitors.into_iter().collect();
    let total_views = trend_views.iter().map(|(_, v)| v).sum();
    let ranked = |v: Vec<(String, i64)>| {
        v.into_iter()
            .map(|(k, n)| Ranked {
                label: k.clone(),
                key: k,
                count: n,
            })
            .collect::<Vec<_>>()
    };
    Ok(Report {
        period: period.as_str(),
        trend: trend_views
            .into_iter()
            .map(|(k, v)| Point {
                period: k,
                views: v,
                visitors: visitors.get(&k).copied().unwrap_or(0),
            })
            .collect(),
        pages: ranked(pages),
        entries: ranked(entries),
        columns: columns
            .into_iter()
            .map(|(id, name, n)| Ranked {
                key: id,
                label: name,
                count: n,
            })
            .collect(),
        referrers: ranked(referrers),
        engines: ranked(engines),
        terms: terms
            .into_iter()
            .map(|(e, t, n)| Ranked {
                key: t.clone(),
                label: format!("{e}：{t}"),
                count: n,
            })
            .collect(),
        total_views,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_search_terms() {
        let s = source_of(
            "https://www.baidu.com/s?wd=%E8%B4%B4%E6%81%AF&ie=utf-8",
            "hub.example",
        )
        .unwrap();
        assert_eq!(
            (s.host.as_str(), s.engine.as_str(), s.term.as_str()),
            ("www.baidu.com", "百度", "贴息")
        );
        let s = source_of(
            "https://cn.bing.com/search?q=%E5%BE%81%E4%BF%A1",
            "hub.example",
        )
        .unwrap();
        assert_eq!((s.engine.as_str(), s.term.as_str()), ("必应", "征信"));
        let s = source_of("https://www.longyan.gov.cn/zwgk/", "hub.example").unwrap();
        assert_eq!(
            (s.host.as_str(), s.engine.as_str(), s.term.as_str()),
            ("www.longyan.gov.cn", "", "")
        );
        assert_eq!(
            source_of("https://hub.example/policies", "hub.example"),
            None
        );
        assert_eq!(source_of("not a url", "hub.example"), None);
    }

    #[test]
    fn days_are_china_standard_time() {
        // 2026-12-06T16:00:00Z is midnight of the 7th in Beijing.
        assert_eq!(day_of(1_796_572_800_000), 20261207);
        assert_eq!(day_of(1_796_572_799_999), 20261206);
    }
}
