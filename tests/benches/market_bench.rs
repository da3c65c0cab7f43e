//! The marketplace's figures (docs/BENCHMARKS.md, "Marketplace"):
//!
//! 1. the public product list with filters over 10,000 listed products: `market::filter_products`
//!    in memory (2,000 queries of a realistic mix, page 1 of 20), then `GET /api/products` over
//!    HTTP against a real hub holding the 10,000 products in its store (1,000 sequential
//!    requests; target p99 ≤ 15 ms);
//! 2. matching one new demand against the 10,000 products: `market::matching::best(…, 5)` for
//!    2,000 generated demands (target ≤ 5 ms);
//! 3. 抢单: 100 open demands × 10 take attempts each (5 per institution), all 1,000 fired at
//!    once through `POST /api/market/demands/{id}/take`; exactly one `200` per demand, the rest
//!    `409`; wall time and attempts/s — on SQLite and on PostgreSQL.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p tests --bench market_bench
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p tests --bench market_bench -- --only memory
//! ```
//! `--only memory|sqlite|postgres` (repeatable) runs a part. PostgreSQL as for the e2e tests
//! (`HUB_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use market::matching::{self, Wanted};
use market::money::{bp_to_percent, fen_to_wan};
use market::{Product, ProductFilter, ProductForm, ProductSort, ProductStatus, filter_products};
use platform::admin::Role;
use platform::context::RequestContext;
use platform::paging::Page;
use tests::anyhow::{Context, Result, bail, ensure};
use tests::{Backend, Browser, Env, TestHub, federated_hub};

const PRODUCTS: usize = 10_000;
const LIST_QUERIES: usize = 2_000;
const MATCH_DEMANDS: usize = 2_000;
const HTTP_QUERIES: usize = 1_000;
const DEMANDS: usize = 100;
const ATTEMPTS_PER_DEMAND: usize = 10;

// ---- generated data ------------------------------------------------------------------------

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn code(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// 1..=max distinct items of `xs`.
    fn some<T: Copy + PartialEq>(&mut self, xs: &[T], max: usize) -> Vec<T> {
        let n = 1 + self.below(max);
        let mut out = Vec::new();
        while out.len() < n {
            let x = *self.pick(xs);
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    }
}

const GUARANTEES: [&str; 5] = ["credit", "mortgage", "pledge", "guarantee", "combined"];
const INDUSTRIES: [&str; 8] = [
    "agriculture",
    "manufacturing",
    "construction",
    "wholesale",
    "logistics",
    "tech",
    "tourism",
    "other",
];
const REGIONS: [&str; 7] = [
    "xinluo",
    "yongding",
    "zhangping",
    "changting",
    "shanghang",
    "wuping",
    "liancheng",
];
/// (kind, weight %).
const INSTITUTION_KINDS: [(&str, usize); 6] = [
    ("bank", 50),
    ("guarantee", 20),
    ("microloan", 15),
    ("insurance", 5),
    ("securities", 5),
    ("other", 5),
];
const LOAN_METHODS: [&str; 3] = ["online", "offline", "both"];
const NAME_STEMS: [&str; 16] = [
    "普惠信用贷",
    "科技成长贷",
    "林权抵押贷",
    "应收账款质押融资",
    "创业担保贷",
    "税易贷",
    "惠农贷",
    "供应链金融",
    "知识产权质押贷",
    "厂房按揭贷",
    "商户经营贷",
    "专精特新贷",
    "政采贷",
    "茶农贷",
    "文旅振兴贷",
    "股权融资计划",
];
const INTRO_PARTS: [&str; 10] = [
    "面向小微企业的纯信用贷款，线上申请，随借随还。",
    "以厂房、土地使用权抵押，额度高、期限长。",
    "以应收账款、存货质押，盘活流动资产。",
    "政府性融资担保机构提供担保，担保费率不超过 1%。",
    "纳税信用 B 级以上企业凭纳税记录申请。",
    "支持专精特新、高新技术企业研发投入。",
    "服务龙岩市涉农经营主体，支持林业、茶叶、烟叶种植。",
    "无还本续贷，到期可申请续贷。",
    "适用于政府采购中标企业，凭合同申请。",
    "股权投资，投后提供管理咨询服务。",
];
const QUERY_WORDS: [&str; 14] = [
    "信用",
    "抵押",
    "科技",
    "林权",
    "应收账款",
    "担保",
    "纳税",
    "农",
    "续贷",
    "质押",
    "银行",
    "小微",
    "专精特新",
    "股权",
];
const PLACES: [&str; 8] = [
    "龙岩", "新罗", "永定", "漳平", "长汀", "上杭", "武平", "连城",
];
const ORG_TYPES: [(&str, &str); 6] = [
    ("bank", "农村商业银行"),
    ("guarantee", "融资担保有限公司"),
    ("microloan", "小额贷款有限公司"),
    ("insurance", "财产保险支公司"),
    ("securities", "证券营业部"),
    ("other", "融资租赁有限公司"),
];

/// One product as generated: the fields a form or a listed product needs, in store units.
#[derive(Clone)]
struct Spec {
    name: String,
    institution_kind: &'static str,
    kind: &'static str,
    guarantee: Vec<&'static str>,
    loan_method: &'static str,
    amount_min_fen: i64,
    amount_max_fen: i64,
    rate_min_bp: i64,
    rate_max_bp: i64,
    term_min_months: i64,
    term_max_months: i64,
    regions: Vec<&'static str>,
    industries: Vec<&'static str>,
    conditions: String,
    intro: String,
}

const FEN_PER_WAN: i64 = 1_000_000;

fn specs(rng: &mut Rng) -> Vec<Spec> {
    (0..PRODUCTS)
        .map(|i| {
            let mut w = rng.below(100);
            let mut institution_kind = "other";
            for (k, weight) in INSTITUTION_KINDS {
                if w < weight {
                    institution_kind = k;
                    break;
                }
                w -= weight;
            }
            let kind = if rng.chance(10) { "equity" } else { "debt" };
            let min_wan = *rng.pick(&[1_i64, 5, 10, 20, 50, 100]);
            let max_wan = (min_wan * *rng.pick(&[5_i64, 10, 20, 50, 100])).min(5_000);
            let rate_min_bp = 300 + 10 * rng.below(60) as i64;
            let rate_max_bp = rate_min_bp + 50 * (1 + rng.below(12)) as i64;
            let term_min_months = *rng.pick(&[1_i64, 3, 6, 12]);
            let term_max_months = *rng.pick(&[12_i64, 24, 36, 60, 120]);
            let regions = if rng.chance(60) {
                Vec::new()
            } else {
                rng.some(&REGIONS, 3)
            };
            let industries = if rng.chance(60) {
                Vec::new()
            } else {
                rng.some(&INDUSTRIES, 3)
            };
            let intro = format!("{}{}", rng.pick(&INTRO_PARTS), rng.pick(&INTRO_PARTS));
            Spec {
                name: format!("{}{}号", rng.pick(&NAME_STEMS), i % 97 + 1),
                institution_kind,
                kind,
                guarantee: rng.some(&GUARANTEES, 3),
                loan_method: rng.code(&LOAN_METHODS),
                amount_min_fen: min_wan * FEN_PER_WAN,
                amount_max_fen: max_wan * FEN_PER_WAN,
                rate_min_bp,
                rate_max_bp,
                term_min_months,
                term_max_months,
                regions,
                industries,
                conditions: "在龙岩市注册经营满一年，纳税信用 B 级以上".to_owned(),
                intro,
            }
        })
        .collect()
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|x| (*x).to_owned()).collect()
}

/// The listed products as the service holds them (newest first), of 60 institutions.
fn products(specs: &[Spec], rng: &mut Rng) -> Vec<Product> {
    let orgs: Vec<(String, String)> = (0..60)
        .map(|i| {
            let (kind, suffix) = ORG_TYPES[i % ORG_TYPES.len()];
            (
                kind.to_owned(),
                format!("{}{suffix}", PLACES[i % PLACES.len()]),
            )
        })
        .collect();
    let now: i64 = 1_796_000_000_000;
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let o = rng.below(orgs.len());
            Product {
                id: format!("{:032x}", rng.next()),
                org_id: format!("org-{o}"),
                org_name: orgs[o].1.clone(),
                institution_kind: s.institution_kind.to_owned(),
                name: s.name.clone(),
                kind: s.kind.to_owned(),
                guarantee: strings(&s.guarantee),
                loan_method: s.loan_method.to_owned(),
                amount_min_fen: s.amount_min_fen,
                amount_max_fen: s.amount_max_fen,
                rate_min_bp: s.rate_min_bp,
                rate_max_bp: s.rate_max_bp,
                term_min_months: s.term_min_months,
                term_max_months: s.term_max_months,
                regions: strings(&s.regions),
                industries: strings(&s.industries),
                conditions: s.conditions.clone(),
                intro: s.intro.clone(),
                status: ProductStatus::Listed,
                reject_reason: None,
                held_words: Vec::new(),
                revision: 1,
                created_at: now - i as i64 * 60_000,
                updated_at: now - i as i64 * 60_000,
                listed_at: Some(now - i as i64 * 60_000),
            }
        })
        .collect()
}

fn form(s: &Spec) -> ProductForm {
    ProductForm {
        name: s.name.clone(),
        institution_kind: s.institution_kind.to_owned(),
        kind: s.kind.to_owned(),
        guarantee: strings(&s.guarantee),
        loan_method: s.loan_method.to_owned(),
        amount_min: fen_to_wan(s.amount_min_fen),
        amount_max: fen_to_wan(s.amount_max_fen),
        rate_min: bp_to_percent(s.rate_min_bp),
        rate_max: bp_to_percent(s.rate_max_bp),
        term_min: s.term_min_months.to_string(),
        term_max: s.term_max_months.to_string(),
        regions: strings(&s.regions),
        industries: strings(&s.industries),
        conditions: s.conditions.clone(),
        intro: s.intro.clone(),
    }
}

/// A visitor's filters: a few of guarantee, amount, rate, term, kinds, method, a word; a sort.
fn filter(rng: &mut Rng) -> ProductFilter {
    let kind_of = |rng: &mut Rng| INSTITUTION_KINDS[rng.below(INSTITUTION_KINDS.len())].0;
    ProductFilter {
        institution_kind: rng.chance(30).then(|| kind_of(rng).to_owned()),
        kind: rng
            .chance(20)
            .then(|| if rng.chance(80) { "debt" } else { "equity" }.to_owned()),
        guarantee: rng.chance(50).then(|| (*rng.pick(&GUARANTEES)).to_owned()),
        loan_method: rng
            .chance(15)
            .then(|| (*rng.pick(&["online", "offline"])).to_owned()),
        amount_fen: rng.chance(50).then(|| {
            *rng.pick(&[10_i64, 30, 50, 100, 150, 200, 300, 500, 1_000, 2_000]) * FEN_PER_WAN
        }),
        max_rate_bp: rng.chance(40).then(|| 400 + 50 * rng.below(9) as i64),
        term_months: rng.chance(40).then(|| *rng.pick(&[6_i64, 12, 24, 36])),
        org_id: None,
        q: rng.chance(25).then(|| (*rng.pick(&QUERY_WORDS)).to_owned()),
        sort: ProductSort::ALL[rng.below(ProductSort::ALL.len())].0,
    }
}

/// The filter as `/api/products`' query (amounts in 万元, rates in %).
fn query(f: &ProductFilter) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(v) = &f.institution_kind {
        q.append_pair("institution_kind", v);
    }
    if let Some(v) = &f.kind {
        q.append_pair("kind", v);
    }
    if let Some(v) = &f.guarantee {
        q.append_pair("guarantee", v);
    }
    if let Some(v) = &f.loan_method {
        q.append_pair("loan_method", v);
    }
    if let Some(v) = f.amount_fen {
        q.append_pair("amount", &fen_to_wan(v));
    }
    if let Some(v) = f.max_rate_bp {
        q.append_pair("rate", &bp_to_percent(v));
    }
    if let Some(v) = f.term_months {
        q.append_pair("term", &v.to_string());
    }
    if let Some(v) = &f.q {
        q.append_pair("q", v);
    }
    let sort = ProductSort::ALL
        .iter()
        .find(|(s, _, _)| *s == f.sort)
        .map_or("newest", |(_, c, _)| *c);
    q.append_pair("sort", sort);
    q.append_pair("page", "1");
    q.append_pair("size", "20");
    q.finish()
}

struct WantedOwned {
    amount_fen: i64,
    term_months: i64,
    max_rate_bp: i64,
    guarantee: &'static str,
    industry: &'static str,
    region: &'static str,
}

fn wanted(rng: &mut Rng) -> WantedOwned {
    WantedOwned {
        amount_fen: *rng.pick(&[20_i64, 50, 80, 100, 150, 200, 300, 500, 800, 1_000]) * FEN_PER_WAN,
        term_months: *rng.pick(&[6_i64, 12, 18, 24, 36]),
        max_rate_bp: 350 + 25 * rng.below(20) as i64,
        guarantee: rng.code(&GUARANTEES),
        industry: rng.code(&INDUSTRIES),
        region: rng.code(&REGIONS),
    }
}

// ---- figures -------------------------------------------------------------------------------

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

struct Dist {
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
    n: usize,
}

fn dist(mut xs: Vec<Duration>) -> Dist {
    xs.sort();
    Dist {
        p50: pct(&xs, 0.50),
        p95: pct(&xs, 0.95),
        p99: pct(&xs, 0.99),
        max: xs.last().copied().unwrap_or_default(),
        n: xs.len(),
    }
}

fn row(what: &str, d: &Dist) -> String {
    format!(
        "| {what} | {} | {} | {} | {} | {} |",
        d.n,
        ms(d.p50),
        ms(d.p95),
        ms(d.p99),
        ms(d.max)
    )
}

const DIST_HEAD: &str = "| figure | n | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|";

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    format!(
        "| machine | |\n|---|---|\n| nproc | {cores} |\n| CPU | {cpu} |\n| load average at start | {} |\n| commit | {commit}{} |",
        loadavg(),
        if dirty { " + uncommitted changes" } else { "" }
    )
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---- in memory -----------------------------------------------------------------------------

fn in_memory(all: &[Product], rng: &mut Rng) {
    let page = Page::new(1, 20);
    // Warm-up.
    for _ in 0..200 {
        std::hint::black_box(filter_products(all, &filter(rng), page));
    }
    let mut times = Vec::with_capacity(LIST_QUERIES);
    let mut hits = Vec::with_capacity(LIST_QUERIES);
    let mut with_word = Vec::new();
    for _ in 0..LIST_QUERIES {
        let f = filter(rng);
        let t = Instant::now();
        let r = std::hint::black_box(filter_products(all, &f, page));
        let e = t.elapsed();
        times.push(e);
        hits.push(r.total);
        if f.q.is_some() {
            with_word.push(e);
        }
    }
    // The worst case: no filter, a sort over every product.
    let mut sorted_all = Vec::new();
    for i in 0..200 {
        let f = ProductFilter {
            sort: ProductSort::ALL[1 + i % 3].0,
            ..ProductFilter::default()
        };
        let t = Instant::now();
        std::hint::black_box(filter_products(all, &f, page));
        sorted_all.push(t.elapsed());
    }
    hits.sort_unstable();
    let mut matching = Vec::with_capacity(MATCH_DEMANDS);
    let mut found = Vec::with_capacity(MATCH_DEMANDS);
    for _ in 0..100 {
        let w = wanted(rng);
        std::hint::black_box(matching::best(&as_wanted(&w), all, 5));
    }
    for _ in 0..MATCH_DEMANDS {
        let w = wanted(rng);
        let t = Instant::now();
        let best = std::hint::black_box(matching::best(&as_wanted(&w), all, 5));
        matching.push(t.elapsed());
        found.push(best.len());
    }
    let full = found.iter().filter(|n| **n == 5).count();
    println!("\n### In memory: {PRODUCTS} listed products\n\n{DIST_HEAD}");
    println!(
        "{}",
        row(
            "`filter_products`, mixed filters + sort, page 1 × 20",
            &dist(times)
        )
    );
    println!(
        "{}",
        row("— of which with a keyword (`q`)", &dist(with_word))
    );
    println!(
        "{}",
        row(
            "`filter_products`, no filter, sorted by rate/amount/term (worst case)",
            &dist(sorted_all)
        )
    );
    println!(
        "{}",
        row("`matching::best(&wanted, &products, 5)`", &dist(matching))
    );
    println!(
        "\nHits per list query: median {}, p90 {}, max {}; matching: {full} of {MATCH_DEMANDS} demands found 5 recommended products.",
        hits[hits.len() / 2],
        hits[hits.len() * 9 / 10],
        hits.last().copied().unwrap_or(0)
    );
}

fn as_wanted(w: &WantedOwned) -> Wanted<'static> {
    Wanted {
        amount_fen: w.amount_fen,
        term_months: w.term_months,
        max_rate_bp: w.max_rate_bp,
        guarantee: w.guarantee,
        industry: w.industry,
        region: w.region,
    }
}

// ---- end to end ----------------------------------------------------------------------------

fn html_browser() -> Browser {
    let mut b = Browser::new();
    b.accept = Some("text/html,application/xhtml+xml".into());
    b
}

fn csrf(body: &str) -> Result<String> {
    let at = body
        .find("name=\"csrf\" value=\"")
        .context("no form token on the page")?;
    let rest = &body[at + "name=\"csrf\" value=\"".len()..];
    Ok(rest[..rest.find('"').context("unterminated token")?].to_owned())
}

/// Signs in through the provincial sandbox as `persona` (as tests/e2e/portal.rs does).
async fn sign_in(b: &mut Browser, hub: &TestHub, persona: &str) -> Result<()> {
    let base = hub.base.clone();
    b.follow(
        &hub.base,
        &hub.url("/sso/fujian/login"),
        |u| {
            if u.contains("/goLogin.do?") {
                format!("{u}&persona={persona}")
            } else {
                u
            }
        },
        |u| !u.starts_with(&base) || !(u.contains("/sso/") || u.contains("/sandbox/")),
    )
    .await?;
    Ok(())
}

async fn console(hub: &TestHub, name: &str, role: Role) -> Result<Browser> {
    let admin = hub.admin(name, role).await?;
    let mut b = html_browser();
    let (k, v) = admin.cookie.split_once('=').context("cookie")?;
    b.jar.insert(k.to_owned(), v.to_owned());
    Ok(b)
}

/// Registers and approves an institution of `persona` (as tests/e2e/portal.rs `approved_org`).
async fn approved_institution(
    hub: &TestHub,
    b: &mut Browser,
    op: &mut Browser,
    persona: &str,
    name: &str,
) -> Result<String> {
    sign_in(b, hub, persona).await?;
    let page = b.get(&hub.url("/user/organisation")).await?;
    ensure!(page.status == 200, "{} {}", page.status, page.body);
    let token = csrf(&page.body)?;
    let done = b
        .request(
            reqwest::Method::POST,
            &hub.url("/user/organisation"),
            Some(&[
                ("csrf", token.as_str()),
                ("kind", "institution"),
                ("name", name),
            ]),
        )
        .await?;
    ensure!(done.status == 303, "{} {}", done.status, done.body);
    let me = b.me(hub).await?.json()?;
    let id = me["organisation"]["id"]
        .as_str()
        .context("no organisation")?
        .to_owned();
    let detail = op
        .get(&hub.url(&format!("/console/organisations/{id}")))
        .await?;
    let t = csrf(&detail.body)?;
    let ok = op
        .request(
            reqwest::Method::POST,
            &hub.url(&format!("/console/organisations/{id}/review")),
            Some(&[("csrf", t.as_str()), ("decision", "approve")]),
        )
        .await?;
    ensure!(ok.status == 303, "{} {}", ok.status, ok.body);
    Ok(id)
}

fn cookies(b: &Browser) -> String {
    b.jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn api(
    hub: &TestHub,
    b: &Browser,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
    status: u16,
) -> Result<serde_json::Value> {
    let mut req = hub
        .http
        .request(method, hub.url(path))
        .header("cookie", cookies(b))
        .header("origin", &hub.base)
        .header("accept", "application/json");
    if let Some(b) = body {
        req = req.json(&b);
    }
    tests::json(req.send().await?, status).await
}

struct E2e {
    backend: &'static str,
    insert: Duration,
    cold: Vec<Duration>,
    http: Dist,
    take_wall: Duration,
    take_latency: Dist,
    winners: usize,
    refusals: BTreeMap<(u16, String), usize>,
    other: BTreeMap<(u16, String), usize>,
    taken_events: i64,
}

async fn end_to_end(backend: Backend, specs: &[Spec], seed: u64) -> Result<E2e> {
    let env = Env::new(backend);
    let r = end_to_end_on(&env, backend, specs, seed).await;
    env.cleanup().await;
    r
}

async fn end_to_end_on(env: &Env, backend: Backend, specs: &[Spec], seed: u64) -> Result<E2e> {
    let hub = federated_hub(env, &[]).await?;
    let mut op = console(&hub, "operator1", Role::SystemAdmin).await?;
    let mut ent = html_browser();
    sign_in(&mut ent, &hub, "legal-1").await?;
    let mut bank = html_browser();
    let bank_id =
        approved_institution(&hub, &mut bank, &mut op, "personal-1", "龙岩农村商业银行").await?;
    let mut guarantor = html_browser();
    let guarantor_id = approved_institution(
        &hub,
        &mut guarantor,
        &mut op,
        "personal-2",
        "闽西融资担保有限公司",
    )
    .await?;

    // 10,000 products entered by an operator through the service, 32 at a time.
    let ctx = RequestContext::system();
    let token = hub.token(Role::SystemAdmin).await?;
    let operator = hub.state.platform.admins.token(&token, &ctx).await?;
    let t = Instant::now();
    for (c, chunk) in specs.chunks(32).enumerate() {
        let mut set = tokio::task::JoinSet::new();
        for (i, s) in chunk.iter().enumerate() {
            let market = hub.state.market.clone();
            let operator = operator.clone();
            let org = if (c * 32 + i) % 2 == 0 {
                bank_id.clone()
            } else {
                guarantor_id.clone()
            };
            let f = form(s);
            set.spawn(async move {
                market
                    .add_product_for(&operator, &org, &f, &RequestContext::system())
                    .await
            });
        }
        while let Some(r) = set.join_next().await {
            r?.map_err(|e| tests::anyhow::anyhow!("add_product_for: {e}"))?;
        }
    }
    let insert = t.elapsed();
    let listed = hub
        .state
        .market
        .listed()
        .await
        .map_err(|e| tests::anyhow::anyhow!("{e}"))?;
    ensure!(listed.len() == PRODUCTS, "{} listed", listed.len());

    // The list over HTTP: first the reloads of the node's copy (every 5 s of the clock), then
    // 1,000 requests on the warm copy, each checked against the same filter in memory.
    let mut cold = Vec::new();
    for _ in 0..5 {
        hub.clock.advance(Duration::from_secs(6));
        let t = Instant::now();
        let res = hub.get("/api/products?sort=rate").await?;
        ensure!(res.status() == 200);
        res.bytes().await?;
        cold.push(t.elapsed());
    }
    let mut rng = Rng(seed);
    for _ in 0..50 {
        let res = hub
            .get(&format!("/api/products?{}", query(&filter(&mut rng))))
            .await?;
        res.bytes().await?;
    }
    let mut times = Vec::with_capacity(HTTP_QUERIES);
    let listed = hub
        .state
        .market
        .listed()
        .await
        .map_err(|e| tests::anyhow::anyhow!("{e}"))?;
    for _ in 0..HTTP_QUERIES {
        let f = filter(&mut rng);
        let path = format!("/api/products?{}", query(&f));
        let t = Instant::now();
        let res = hub.get(&path).await?;
        let status = res.status().as_u16();
        let body = res.bytes().await?;
        times.push(t.elapsed());
        ensure!(status == 200, "{path}: {status}");
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let want = filter_products(&listed, &f, Page::new(1, 20));
        ensure!(
            v["total"].as_u64() == Some(want.total)
                && v["items"][0]["id"].as_str() == want.items.first().map(|p| p.id.as_str()),
            "{path}: {} against {}",
            v["total"],
            want.total
        );
    }
    let http = dist(times);

    // 100 open demands of the enterprise.
    let mut ids = Vec::with_capacity(DEMANDS);
    for i in 0..DEMANDS {
        let created = api(
            &hub,
            &ent,
            reqwest::Method::POST,
            "/api/me/demands",
            Some(serde_json::json!({
                "amount": (50 + 10 * i).to_string(),
                "term": "12",
                "max_rate": "5",
                "guarantee": GUARANTEES[i % GUARANTEES.len()],
                "industry": INDUSTRIES[i % INDUSTRIES.len()],
                "region": REGIONS[i % REGIONS.len()],
                "purpose": "采购原材料，扩大生产线",
                "tags": "纳税A级 高新技术企业",
                "contact_name": "林经理",
                "contact_phone": "13800000001",
            })),
            201,
        )
        .await?;
        let id = created["id"].as_str().context("id")?.to_owned();
        let open = api(
            &hub,
            &op,
            reqwest::Method::POST,
            &format!("/api/admin/market/demands/{id}/review"),
            Some(serde_json::json!({ "decision": "approve" })),
            200,
        )
        .await?;
        ensure!(open["status"] == "open", "{open}");
        ids.push(id);
    }

    // 抢单: every attempt prepared, then all 1,000 fired at once.
    let (bank_cookies, guarantor_cookies) = (cookies(&bank), cookies(&guarantor));
    let mut requests = Vec::with_capacity(DEMANDS * ATTEMPTS_PER_DEMAND);
    for (d, id) in ids.iter().enumerate() {
        for a in 0..ATTEMPTS_PER_DEMAND {
            let c = if a % 2 == 0 {
                &bank_cookies
            } else {
                &guarantor_cookies
            };
            let req = hub
                .http
                .post(hub.url(&format!("/api/market/demands/{id}/take")))
                .header("cookie", c)
                .header("origin", &hub.base)
                .header("accept", "application/json");
            requests.push((d, req));
        }
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len() + 1));
    let mut set = tokio::task::JoinSet::new();
    for (d, req) in requests {
        let start = start.clone();
        set.spawn(async move {
            start.wait().await;
            let t = Instant::now();
            let res = req.send().await;
            let latency = t.elapsed();
            let (status, code) = match res {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body: serde_json::Value = res.json().await.unwrap_or_default();
                    (status, body["code"].as_str().unwrap_or("").to_owned())
                }
                Err(e) => (0, e.to_string()),
            };
            (d, status, code, latency)
        });
    }
    start.wait().await;
    let t = Instant::now();
    let mut wins = vec![0_usize; DEMANDS];
    let mut refusals = BTreeMap::new();
    let mut other = BTreeMap::new();
    let mut latencies = Vec::new();
    while let Some(r) = set.join_next().await {
        let (d, status, code, latency) = r?;
        latencies.push(latency);
        match status {
            200 => wins[d] += 1,
            409 => *refusals.entry((status, code)).or_insert(0) += 1,
            _ => *other.entry((status, code)).or_insert(0) += 1,
        }
    }
    let take_wall = t.elapsed();
    let db = hub.store.connect().await?;
    let taken_events = db
        .scalar_i64("SELECT COUNT(*) FROM market_demand_events WHERE action = 'taken'")
        .await?;
    db.close().await;
    let bad: Vec<usize> = wins
        .iter()
        .enumerate()
        .filter(|(_, n)| **n != 1)
        .map(|(d, _)| d)
        .collect();
    if !bad.is_empty() {
        bail!(
            "{}: demands without exactly one winner: {bad:?} (winners {wins:?}); refusals {refusals:?}; other {other:?}",
            backend.name()
        );
    }
    hub.stop().await?;
    Ok(E2e {
        backend: backend.name(),
        insert,
        cold,
        http,
        take_wall,
        take_latency: dist(latencies),
        winners: wins.iter().sum(),
        refusals,
        other,
        taken_events,
    })
}

fn print_e2e(r: &E2e) {
    let attempts = DEMANDS * ATTEMPTS_PER_DEMAND;
    println!(
        "\n### End to end on {} ({PRODUCTS} products in the store)\n",
        r.backend
    );
    println!(
        "Entering {PRODUCTS} products through `Market::add_product_for` (32 at a time): {:.1} s ({:.0}/s).",
        r.insert.as_secs_f64(),
        PRODUCTS as f64 / r.insert.as_secs_f64()
    );
    let mut cold = r.cold.clone();
    cold.sort();
    println!(
        "`GET /api/products` that reloads the node's copy of the listed products (every 5 s): {} (5 reloads: {}).\n",
        ms(pct(&cold, 0.5)),
        cold.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ")
    );
    println!("{DIST_HEAD}");
    println!(
        "{}",
        row(
            "`GET /api/products?…` mixed filters + sort, sequential, warm copy",
            &r.http
        )
    );
    println!(
        "{}",
        row(
            "`POST /api/market/demands/{id}/take`, latency of each of the 1,000 concurrent attempts",
            &r.take_latency
        )
    );
    println!(
        "\n抢单: {DEMANDS} demands × {ATTEMPTS_PER_DEMAND} attempts = {attempts} at once: **{} winners** (exactly one per demand), refusals {:?}, other {:?}; `taken` events in the store: {}; wall time {} → **{:.0} attempts/s**.",
        r.winners,
        r.refusals,
        r.other,
        r.taken_events,
        ms(r.take_wall),
        attempts as f64 / r.take_wall.as_secs_f64()
    );
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; `--only <part>` picks parts.
    let args: Vec<String> = std::env::args().collect();
    let only: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--only")
        .map(|w| w[1].as_str())
        .collect();
    let runs = |part: &str| only.is_empty() || only.contains(&part);
    println!("## Marketplace benchmark\n\n{}", machine());
    let mut rng = Rng(0x6D61_726B_6574);
    let specs = specs(&mut rng);
    if runs("memory") {
        let all = products(&specs, &mut rng);
        in_memory(&all, &mut rng);
    }
    let mut failed = Vec::new();
    for (part, backend) in [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)] {
        if !runs(part) {
            continue;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        match rt.block_on(end_to_end(backend, &specs, 0x5EED)) {
            Ok(r) => print_e2e(&r),
            Err(e) => {
                println!("\n### End to end on {part}: FAILED: {e:#}");
                failed.push(part);
            }
        }
    }
    println!("\nload average at the end: {}", loadavg());
    if !failed.is_empty() {
        bail!("failed: {failed:?}");
    }
    Ok(())
}
