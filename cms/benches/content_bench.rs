#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Content benchmarks (issue: Chinese search, sensitive words, page views), side by side in one
//! run, printed as markdown tables (progress goes to stderr).
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-bench cargo bench -p cms --bench content_bench
//! # options: --docs 100000 --queries 2000 --only search|words|stats --tantivy-only
//! #          --pg postgres://postgres@127.0.0.1:5432/test (or BENCH_PG_URL; "none" skips it)
//! ```
//!
//! 1. Search over a generated corpus of Chinese articles (deterministic: xorshift from a fixed
//!    seed, ~300 finance and policy words drawn with a Zipf-like skew, filler characters and
//!    punctuation; titles 10–30 characters, bodies 300–800): our tantivy + jieba index
//!    (`cms::search::SearchIndex` on disk in a temporary directory, top 20 with highlighted
//!    snippets), SQLite FTS5 with the `trigram` tokenizer (through sqlx, a file in a temporary
//!    directory), and PostgreSQL `ILIKE` (a schema of its own, dropped afterwards). Indexing
//!    time, then p50/p95/p99 of warm queries by class (2-character words, longer words,
//!    several words), each engine alone on the machine.
//! 2. The sensitive-word check (`cms::words::Matcher`): a 10 KB text against 1k, 10k and 50k
//!    generated words: build time and per-check time.
//! 3. Page views (`cms::stats`): the cost of `Recorder::record` with a consumer draining the
//!    queue, and the real writer (`cms::stats::run`) into a migrated SQLite store, fed at fixed
//!    rates.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use cms::search::{IndexedDoc, SearchIndex, SearchQuery};
use cms::stats::{Recorder, View};
use cms::words::Matcher;

// ---------------------------------------------------------------- deterministic generation

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// In `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The vocabulary, most frequent first (word `i` is drawn with weight 1/(i+1)^0.9). The words
/// searched for sit at various ranks: 贷款 2nd, 担保 16th, 征信 31st, 贴息 61st, 林权 121st,
/// 碳汇 201st, 动产融资 251st.
const VOCAB: &[&str] = &[
    "金融",
    "贷款",
    "企业",
    "普惠金融",
    "银行",
    "政策",
    "服务",
    "融资",
    "小微企业",
    "支持",
    "龙岩",
    "福建",
    "机构",
    "利率",
    "信用",
    "担保",
    "发展",
    "保险",
    "农户",
    "资金",
    "平台",
    "办理",
    "申请",
    "额度",
    "产品",
    "贷款期限",
    "部门",
    "风险",
    "市场",
    "经营",
    "征信",
    "补助",
    "实施",
    "项目",
    "抵押",
    "乡村振兴",
    "合作社",
    "还款",
    "中小企业",
    "科技",
    "数字",
    "信息",
    "数据",
    "财政",
    "监管",
    "国有",
    "改革",
    "创新",
    "投资",
    "证券",
    "基金",
    "债券",
    "授信",
    "审批",
    "流程",
    "材料",
    "营业执照",
    "个体工商户",
    "新型农业经营主体",
    "龙头企业",
    "贴息",
    "贴息贷款",
    "信用贷款",
    "抵押贷款",
    "保证贷款",
    "创业担保贷款",
    "应急转贷",
    "续贷",
    "无还本续贷",
    "首贷",
    "上杭",
    "长汀",
    "永定",
    "武平",
    "连城",
    "漳平",
    "新罗",
    "闽西",
    "革命老区",
    "苏区",
    "人民银行",
    "金融监管局",
    "农商银行",
    "农业银行",
    "建设银行",
    "工商银行",
    "邮储银行",
    "兴业银行",
    "村镇银行",
    "应收账款",
    "应收账款质押",
    "供应链金融",
    "知识产权",
    "专利权质押",
    "商标",
    "仓单",
    "存货",
    "订单融资",
    "票据",
    "贴现",
    "再贷款",
    "再贴现",
    "降准",
    "贷款市场报价利率",
    "基点",
    "年化",
    "费率",
    "担保费",
    "风险补偿",
    "风险分担",
    "融资担保",
    "政府性融资担保",
    "再担保",
    "代偿",
    "反担保",
    "不良贷款",
    "核销",
    "逾期",
    "展期",
    "违约",
    "林权",
    "林权抵押",
    "林业",
    "茶叶",
    "烟叶",
    "稀土",
    "钢铁",
    "机械",
    "物流",
    "文旅",
    "红色旅游",
    "客家",
    "土楼",
    "农产品",
    "电商",
    "直播",
    "冷链",
    "种植",
    "养殖",
    "生猪",
    "家庭农场",
    "种粮大户",
    "农机",
    "农房",
    "宅基地",
    "集体经营性建设用地",
    "承包经营权",
    "确权",
    "颁证",
    "评估",
    "外汇",
    "跨境",
    "结算",
    "汇率",
    "避险",
    "出口",
    "进口",
    "外贸",
    "跨境人民币",
    "经常项目",
    "资本项目",
    "便利化",
    "白名单",
    "稳外贸",
    "出口信用保险",
    "关税",
    "海关",
    "口岸",
    "台商",
    "台企",
    "对台",
    "两岸",
    "融合发展",
    "营商环境",
    "放管服",
    "一网通办",
    "最多跑一次",
    "减税降费",
    "留抵退税",
    "社保",
    "稳岗",
    "就业",
    "创业",
    "大学生",
    "退役军人",
    "返乡",
    "妇女",
    "残疾人",
    "脱贫户",
    "防止返贫",
    "监测",
    "帮扶",
    "驻村",
    "第一书记",
    "金融顾问",
    "金融特派员",
    "信用村",
    "信用户",
    "整村授信",
    "网格化",
    "碳汇",
    "碳达峰",
    "碳中和",
    "绿色金融",
    "绿色信贷",
    "环境权益",
    "排污权",
    "用能权",
    "碳排放权",
    "生态",
    "水土保持",
    "光伏",
    "储能",
    "新能源",
    "节能",
    "环保",
    "转型",
    "技改",
    "设备更新",
    "以旧换新",
    "消费",
    "信用卡",
    "分期",
    "理财",
    "存款",
    "储蓄",
    "养老",
    "个人养老金",
    "医疗",
    "商业保险",
    "农业保险",
    "政策性保险",
    "保费",
    "理赔",
    "保额",
    "防灾",
    "巨灾",
    "指数保险",
    "价格保险",
    "收入保险",
    "反诈",
    "非法集资",
    "电信诈骗",
    "金融知识",
    "消费者权益",
    "投诉",
    "纠纷",
    "调解",
    "仲裁",
    "诉讼",
    "动产融资",
    "动产融资统一登记",
    "登记",
    "公示",
    "查询",
    "征信报告",
    "信用报告",
    "信用修复",
    "异议",
    "授权",
    "大数据",
    "模型",
    "风控",
    "线上",
    "线下",
    "移动端",
    "小程序",
    "公众号",
    "网点",
    "客户经理",
    "尽职调查",
    "免责",
    "容错",
    "考核",
    "激励",
    "奖补",
    "专项资金",
    "财政贴息",
    "贴息资金",
    "拨付",
    "年度",
    "季度",
    "截至",
    "累计",
    "同比",
    "增长",
    "余额",
    "发放",
    "笔数",
    "户数",
    "通知",
    "办法",
    "细则",
    "意见",
    "方案",
    "公告",
    "解读",
    "指南",
    "问答",
    "案例",
];

const FILLER: &[&str] = &[
    "的",
    "的",
    "的",
    "了",
    "和",
    "在",
    "对",
    "为",
    "与",
    "及",
    "等",
    "是",
    "有",
    "将",
    "按",
    "向",
    "由",
    "从",
    "并",
    "可",
    "已",
    "其",
    "该",
    "各",
    "所",
    "于",
    "以",
    "也",
    "要",
    "把",
    "被",
    "进一步",
    "加快",
    "推动",
    "做好",
    "落实",
    "强化",
    "优化",
    "提升",
    "完善",
    "符合条件",
    "相关",
];

const PUNCT: &[&str] = &["，", "，", "，", "。", "。", "；", "、", "：", "“", "”"];

const TITLE_PREFIX: &[&str] = &["关于", "", "", "", "解读：", "新闻：", "龙岩市", "福建省"];
const TITLE_SUFFIX: &[&str] = &[
    "的通知",
    "实施细则",
    "工作方案",
    "政策解读",
    "问答",
    "",
    "",
    "指南",
    "的意见",
];

/// Zipf-like draws over `VOCAB`.
struct Words {
    cumulative: Vec<f64>,
}

impl Words {
    fn new() -> Words {
        let mut total = 0.0;
        let cumulative = (0..VOCAB.len())
            .map(|i| {
                total += 1.0 / ((i + 1) as f64).powf(0.9);
                total
            })
            .collect();
        Words { cumulative }
    }

    fn pick(&self, rng: &mut Rng) -> &'static str {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let i = self.cumulative.partition_point(|c| *c < x);
        VOCAB[i.min(VOCAB.len() - 1)]
    }
}

fn body(words: &Words, rng: &mut Rng, chars: usize) -> String {
    let mut s = String::with_capacity(chars * 3 + 16);
    let mut n = 0;
    while n < chars {
        let w = words.pick(rng);
        s.push_str(w);
        n += w.chars().count();
        if rng.chance(45) {
            let f = FILLER[rng.below(FILLER.len())];
            s.push_str(f);
            n += f.chars().count();
        }
        if rng.chance(18) {
            s.push_str(PUNCT[rng.below(PUNCT.len())]);
            n += 1;
        }
    }
    s.push('。');
    s
}

fn title(words: &Words, rng: &mut Rng) -> String {
    let want = rng.range(10, 30);
    let mut s = String::from(TITLE_PREFIX[rng.below(TITLE_PREFIX.len())]);
    let suffix = TITLE_SUFFIX[rng.below(TITLE_SUFFIX.len())];
    let room = want.saturating_sub(suffix.chars().count()).max(4);
    while s.chars().count() < room {
        s.push_str(words.pick(rng));
        if rng.chance(25) {
            s.push_str(FILLER[rng.below(FILLER.len())]);
        }
    }
    s.push_str(suffix);
    s.chars().take(30).collect()
}

const COLUMNS: &[&str] = &["policy", "news", "education", "notices"];

fn corpus(n: usize) -> Vec<IndexedDoc> {
    let words = Words::new();
    let mut rng = Rng::new(0x5EED_2026_1207);
    (0..n)
        .map(|i| {
            let t = title(&words, &mut rng);
            let len = rng.range(300, 800);
            let b = body(&words, &mut rng, len);
            let column = COLUMNS[rng.below(COLUMNS.len())];
            IndexedDoc {
                id: format!("a{i:06}"),
                title: t,
                body_text: b,
                columns: vec![column.to_owned()],
                published_at: 1_767_225_600_000 + i as i64 * 600_000,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- measurement helpers

#[derive(Clone, Copy, Debug)]
struct Stats {
    n: usize,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    Stats {
        n: v.len(),
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: v[v.len() - 1],
    }
}

fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m >= 100.0 {
        format!("{m:.0} ms")
    } else if m >= 10.0 {
        format!("{m:.1} ms")
    } else {
        format!("{m:.2} ms")
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// Runs `f` over `queries` round-robin until `max` runs or `budget` elapsed (after one warm-up
/// pass of every query), returning each run's latency.
fn measure<F: FnMut(&str)>(
    queries: &[&str],
    max: usize,
    budget: Duration,
    mut f: F,
) -> Vec<Duration> {
    for q in queries {
        f(q);
    }
    let start = Instant::now();
    let mut out = Vec::with_capacity(max);
    for i in 0..max {
        let q = queries[i % queries.len()];
        let t = Instant::now();
        f(q);
        out.push(t.elapsed());
        if start.elapsed() > budget && out.len() >= queries.len() {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------- 1. search

const CLASSES: &[(&str, &[&str])] = &[
    (
        "2-character word",
        &["征信", "贴息", "担保", "外汇", "林权", "碳汇"],
    ),
    (
        "longer word (≥ 3 characters)",
        &[
            "小微企业",
            "普惠金融",
            "应收账款",
            "乡村振兴",
            "动产融资",
            "融资担保",
        ],
    ),
    (
        "several words",
        &[
            "小微企业 贷款",
            "普惠金融 政策 龙岩",
            "林权 抵押 贷款",
            "应收账款 融资",
            "征信 报告 银行",
            "碳汇 保险",
        ],
    ),
];

struct Row {
    engine: &'static str,
    class: &'static str,
    stats: Option<Stats>,
    note: String,
}

fn print_rows(rows: &[Row]) {
    println!("| engine | queries | n | p50 | p95 | p99 | max | note |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        match r.stats {
            Some(s) => println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.engine,
                r.class,
                s.n,
                ms(s.p50),
                ms(s.p95),
                ms(s.p99),
                ms(s.max),
                r.note
            ),
            None => println!(
                "| {} | {} | — | — | — | — | — | {} |",
                r.engine, r.class, r.note
            ),
        }
    }
}

/// Documents containing every word (title or body, as a substring): what FTS5 trigram and
/// `ILIKE` find.
fn substring_matches(docs: &[IndexedDoc], q: &str) -> usize {
    let words: Vec<&str> = q.split_whitespace().collect();
    docs.iter()
        .filter(|d| {
            words
                .iter()
                .all(|w| d.title.contains(w) || d.body_text.contains(w))
        })
        .count()
}

fn search_bench(rt: &tokio::runtime::Runtime, docs: &[IndexedDoc], opts: &Opts) {
    let text_bytes: usize = docs.iter().map(|d| d.title.len() + d.body_text.len()).sum();
    let chars: usize = docs
        .iter()
        .map(|d| d.title.chars().count() + d.body_text.chars().count())
        .sum();
    println!(
        "\n### Search: {} articles, {} characters ({}) of text\n",
        docs.len(),
        chars,
        mib(text_bytes as u64)
    );
    let mut indexing: Vec<(String, String, String)> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let tmp = tempfile::tempdir().unwrap();

    // --- tantivy + jieba
    eprintln!("tantivy: indexing {} articles…", docs.len());
    let dir = tmp.path().join("search");
    let index = SearchIndex::open(&dir).unwrap();
    let t = Instant::now();
    index.rebuild(docs, 1).unwrap();
    let took = t.elapsed();
    assert_eq!(index.num_docs(), docs.len() as u64);
    indexing.push((
        "tantivy + jieba (`SearchIndex::rebuild`, one writer thread, on disk)".into(),
        secs(took),
        mib(dir_size(&dir)),
    ));
    let mut totals: Vec<(String, usize, usize)> = Vec::new();
    for (_, qs) in CLASSES {
        for q in *qs {
            let found = index
                .search(&SearchQuery {
                    q: (*q).to_owned(),
                    limit: 20,
                    ..Default::default()
                })
                .unwrap();
            totals.push(((*q).to_owned(), found.total, substring_matches(docs, q)));
        }
    }
    for (class, qs) in CLASSES {
        eprintln!("tantivy: {class}…");
        let lat = measure(qs, opts.queries, Duration::from_secs(60), |q| {
            let f = index
                .search(&SearchQuery {
                    q: q.to_owned(),
                    limit: 20,
                    ..Default::default()
                })
                .unwrap();
            black_box(f);
        });
        rows.push(Row {
            engine: "tantivy + jieba",
            class,
            stats: Some(stats(lat)),
            note: "top 20 by score, with highlighted title and snippet".into(),
        });
    }
    // Where the time goes: the same queries asking for one result (one document loaded and
    // highlighted instead of twenty; matching, scoring and counting unchanged).
    for (class, qs) in CLASSES {
        eprintln!("tantivy (top 1): {class}…");
        let lat = measure(qs, opts.queries.min(500), Duration::from_secs(30), |q| {
            let f = index
                .search(&SearchQuery {
                    q: q.to_owned(),
                    limit: 1,
                    ..Default::default()
                })
                .unwrap();
            black_box(f);
        });
        rows.push(Row {
            engine: "tantivy + jieba, top 1 (diagnostic)",
            class,
            stats: Some(stats(lat)),
            note: "the same queries with one hit to load and highlight instead of 20".into(),
        });
    }
    drop(index);
    if !opts.others {
        print_search(&indexing, &rows, &totals);
        return;
    }

    // --- SQLite FTS5 trigram
    eprintln!("sqlite fts5: indexing…");
    let sqlite = rt.block_on(sqlite_bench(docs, tmp.path(), opts));
    indexing.extend(sqlite.0);
    rows.extend(sqlite.1);

    // --- PostgreSQL ILIKE
    match &opts.pg {
        Some(url) => {
            eprintln!("postgres: loading…");
            match rt.block_on(pg_bench(docs, url, opts)) {
                Ok((i, r)) => {
                    indexing.extend(i);
                    rows.extend(r);
                }
                Err(e) => rows.push(Row {
                    engine: "PostgreSQL ILIKE",
                    class: "—",
                    stats: None,
                    note: format!("skipped: {e}"),
                }),
            }
        }
        None => rows.push(Row {
            engine: "PostgreSQL ILIKE",
            class: "—",
            stats: None,
            note: "skipped (--pg none)".into(),
        }),
    }

    print_search(&indexing, &rows, &totals);
}

fn print_search(
    indexing: &[(String, String, String)],
    rows: &[Row],
    totals: &[(String, usize, usize)],
) {
    println!("| engine | indexing | size |");
    println!("|---|---|---|");
    for (e, t, s) in indexing {
        println!("| {e} | {t} | {s} |");
    }
    println!();
    print_rows(rows);
    println!(
        "\nMatches (whole corpus): documents tantivy finds (every word of jieba's cut) / documents containing every word as a substring (what FTS5 trigram and ILIKE match)\n"
    );
    println!("| query | tantivy | substring |");
    println!("|---|---|---|");
    for (q, t, s) in totals {
        println!("| {q} | {t} | {s} |");
    }
}

fn like(w: &str) -> String {
    format!("%{w}%")
}

/// An FTS5 query: the words of 3 characters or more in `MATCH` (ranked by bm25, the title
/// weighing 3), the shorter ones as `instr` filters on the rows it finds (`LIKE` there makes
/// SQLite refuse the plan: "unable to use function MATCH in the requested context"); without
/// any long word, a scan with `LIKE` (trigrams cannot index fewer than 3 characters), titles
/// first.
fn fts5_sql(q: &str) -> (String, Option<String>, Vec<String>) {
    let words: Vec<&str> = q.split_whitespace().collect();
    let long: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| w.chars().count() >= 3)
        .collect();
    let short: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| w.chars().count() < 3)
        .collect();
    if long.is_empty() {
        let mut sql = String::from("SELECT rowid FROM docs WHERE ");
        let mut order = Vec::new();
        for (i, _) in short.iter().enumerate() {
            if i > 0 {
                sql.push_str(" AND ");
            }
            sql.push_str(&format!("(title LIKE ${n} OR body LIKE ${n})", n = i + 1));
            order.push(format!("(title LIKE ${})", i + 1));
        }
        sql.push_str(&format!(" ORDER BY {} DESC LIMIT 20", order.join(" + ")));
        (sql, None, short.iter().map(|w| like(w)).collect())
    } else {
        let mut sql = String::from("SELECT rowid FROM docs WHERE docs MATCH $1");
        for (i, _) in short.iter().enumerate() {
            sql.push_str(&format!(
                " AND (instr(title, ${n}) > 0 OR instr(body, ${n}) > 0)",
                n = i + 2
            ));
        }
        sql.push_str(" ORDER BY bm25(docs, 3.0, 1.0) LIMIT 20");
        let m = long
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ");
        (
            sql,
            Some(m),
            short.iter().map(|w| (*w).to_owned()).collect(),
        )
    }
}

async fn sqlite_bench(
    docs: &[IndexedDoc],
    dir: &Path,
    opts: &Opts,
) -> (Vec<(String, String, String)>, Vec<Row>) {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let path = dir.join("fts.db");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal),
        )
        .await
        .unwrap();
    let version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='trigram')")
        .execute(&pool)
        .await
        .unwrap();
    let t = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    for (i, d) in docs.iter().enumerate() {
        sqlx::query("INSERT INTO docs (rowid, title, body) VALUES ($1, $2, $3)")
            .bind(i as i64 + 1)
            .bind(&d.title)
            .bind(&d.body_text)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let load = t.elapsed();
    let t = Instant::now();
    sqlx::query("INSERT INTO docs (docs) VALUES ('optimize')")
        .execute(&pool)
        .await
        .unwrap();
    let optimize = t.elapsed();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let indexing = vec![(
        format!("SQLite {version} FTS5 `trigram` (one transaction of INSERTs, then `optimize`)"),
        format!(
            "{} ({} load + {} optimize)",
            secs(load + optimize),
            secs(load),
            secs(optimize)
        ),
        mib(size),
    )];
    // A 2-character phrase is shorter than a trigram: MATCH finds nothing.
    let two: i64 = sqlx::query_scalar("SELECT count(*) FROM docs WHERE docs MATCH '\"征信\"'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut rows = Vec::new();
    for (class, qs) in CLASSES {
        eprintln!("sqlite fts5: {class}…");
        let scans = qs.iter().any(|q| fts5_sql(q).1.is_none());
        let budget = Duration::from_secs(if scans { 40 } else { 60 });
        let prepared: Vec<(String, Option<String>, Vec<String>)> =
            qs.iter().map(|q| fts5_sql(q)).collect();
        let mut lat = Vec::new();
        // Round-robin by hand (async).
        for (sql, m, likes) in &prepared {
            run_fts5(&pool, sql, m.as_deref(), likes).await;
        }
        let start = Instant::now();
        for i in 0..opts.queries {
            let (sql, m, likes) = &prepared[i % prepared.len()];
            let t = Instant::now();
            run_fts5(&pool, sql, m.as_deref(), likes).await;
            lat.push(t.elapsed());
            if start.elapsed() > budget && lat.len() >= prepared.len() {
                break;
            }
        }
        let note = if *class == "2-character word" {
            format!(
                "`LIKE '%征信%'` scan (`MATCH '\"征信\"'` finds {two} rows: trigrams need ≥ 3 characters); titles first, no relevance"
            )
        } else if scans {
            "MATCH on the long words, bm25; the 2-character words as `instr` filters on its rows"
                .into()
        } else {
            "MATCH, ordered by bm25 (title 3, body 1)".into()
        };
        rows.push(Row {
            engine: "SQLite FTS5 trigram",
            class,
            stats: Some(stats(lat)),
            note,
        });
    }
    pool.close().await;
    (indexing, rows)
}

async fn run_fts5(pool: &sqlx::SqlitePool, sql: &str, m: Option<&str>, likes: &[String]) {
    let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()));
    if let Some(m) = m {
        query = query.bind(m.to_owned());
    }
    for l in likes {
        query = query.bind(l.clone());
    }
    let ids: Vec<i64> = query.fetch_all(pool).await.unwrap();
    black_box(ids);
}

async fn pg_bench(
    docs: &[IndexedDoc],
    url: &str,
    opts: &Opts,
) -> Result<(Vec<(String, String, String)>, Vec<Row>), String> {
    use sqlx::postgres::PgPoolOptions;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    for s in [
        "DROP SCHEMA IF EXISTS bench_content CASCADE",
        "CREATE SCHEMA bench_content",
        "CREATE TABLE bench_content.docs (id integer PRIMARY KEY, title text NOT NULL, body text NOT NULL)",
    ] {
        sqlx::query(s)
            .execute(&pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    let t = Instant::now();
    for (c, chunk) in docs.chunks(2000).enumerate() {
        let ids: Vec<i32> = (0..chunk.len())
            .map(|i| (c * 2000 + i + 1) as i32)
            .collect();
        let titles: Vec<&str> = chunk.iter().map(|d| d.title.as_str()).collect();
        let bodies: Vec<&str> = chunk.iter().map(|d| d.body_text.as_str()).collect();
        sqlx::query("INSERT INTO bench_content.docs (id, title, body) SELECT * FROM UNNEST($1::integer[], $2::text[], $3::text[])")
            .bind(ids)
            .bind(titles)
            .bind(bodies)
            .execute(&pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    sqlx::query("ANALYZE bench_content.docs")
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let load = t.elapsed();
    let size: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('bench_content.docs')")
        .fetch_one(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let indexing = vec![(
        format!(
            "PostgreSQL {} (no index: `ILIKE` scans; multi-row INSERTs of 2,000 + ANALYZE)",
            version.split_whitespace().next().unwrap_or("?")
        ),
        secs(load),
        mib(size as u64),
    )];
    let mut rows = Vec::new();
    for (class, qs) in CLASSES {
        eprintln!("postgres: {class}…");
        let prepared: Vec<(String, Vec<String>)> = qs
            .iter()
            .map(|q| {
                let words: Vec<&str> = q.split_whitespace().collect();
                let filter = (1..=words.len())
                    .map(|n| format!("(title ILIKE ${n} OR body ILIKE ${n})"))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let order = (1..=words.len())
                    .map(|n| format!("(title ILIKE ${n})::int"))
                    .collect::<Vec<_>>()
                    .join(" + ");
                (
                    format!(
                        "SELECT id FROM bench_content.docs WHERE {filter} ORDER BY {order} DESC LIMIT 20"
                    ),
                    words.iter().map(|w| like(w)).collect(),
                )
            })
            .collect();
        for (sql, likes) in &prepared {
            run_pg(&pool, sql, likes).await?;
        }
        let budget = Duration::from_secs(40);
        let start = Instant::now();
        let mut lat = Vec::new();
        for i in 0..opts.queries {
            let (sql, likes) = &prepared[i % prepared.len()];
            let t = Instant::now();
            run_pg(&pool, sql, likes).await?;
            lat.push(t.elapsed());
            if start.elapsed() > budget && lat.len() >= prepared.len() {
                break;
            }
        }
        rows.push(Row {
            engine: "PostgreSQL ILIKE",
            class,
            stats: Some(stats(lat)),
            note:
                "`title ILIKE $1 OR body ILIKE $1`, titles first, no relevance (parallel seq scan)"
                    .into(),
        });
    }
    sqlx::query("DROP SCHEMA bench_content CASCADE")
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    pool.close().await;
    Ok((indexing, rows))
}

async fn run_pg(pool: &sqlx::PgPool, sql: &str, likes: &[String]) -> Result<(), String> {
    let mut query = sqlx::query_scalar::<_, i32>(sqlx::AssertSqlSafe(sql.to_owned()));
    for l in likes {
        query = query.bind(l.clone());
    }
    let ids: Vec<i32> = query.fetch_all(pool).await.map_err(|e| e.to_string())?;
    black_box(ids);
    Ok(())
}

// ---------------------------------------------------------------- 2. sensitive words

/// Words a real library holds; planted in the text so that checks find something.
const PLANTED: &[&str] = &["赌博", "代开发票", "套现", "高利贷", "洗钱", "刷单返利"];

/// `n` distinct words of 2–6 characters drawn from `pool`, `PLANTED` first.
fn word_list(rng: &mut Rng, n: usize, pool: &[char]) -> Vec<String> {
    let mut seen: HashSet<String> = PLANTED.iter().map(|w| (*w).to_owned()).collect();
    let mut out: Vec<String> = PLANTED.iter().map(|w| (*w).to_owned()).collect();
    while out.len() < n {
        let len = rng.range(2, 6);
        let w: String = (0..len).map(|_| pool[rng.below(pool.len())]).collect();
        if seen.insert(w.clone()) {
            out.push(w);
        }
    }
    out
}

fn words_bench(opts: &Opts) {
    let words = Words::new();
    let mut rng = Rng::new(0xC0FF_EE00_0050_0000);
    // A 10 KB article with the planted words in it.
    let mut text = String::new();
    while text.len() < 10 * 1024 {
        text.push_str(&body(&words, &mut rng, 200));
        let p = PLANTED[rng.below(PLANTED.len())];
        if text.len() < 10 * 1024 - 64 {
            text.push_str(p);
        }
    }
    let mut cut = 10 * 1024;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    // Pools: the whole CJK Unified Ideographs block (a word rarely occurs in the text), and
    // the characters of the text itself (many words begin like the text: the automaton's
    // worst case, and many more hits).
    let cjk: Vec<char> = ('\u{4e00}'..='\u{9fa5}').collect();
    let own: Vec<char> = {
        let set: HashSet<char> = VOCAB.iter().chain(FILLER).flat_map(|w| w.chars()).collect();
        let mut v: Vec<char> = set.into_iter().collect();
        v.sort_unstable();
        v
    };
    println!(
        "\n### Sensitive words: a {} byte ({} character) text\n",
        text.len(),
        text.chars().count()
    );
    println!("| words | drawn from | build | check p50 | check p99 | MB/s at p50 | words found |");
    println!("|---|---|---|---|---|---|---|");
    for (label, pool) in [
        ("CJK block (20,902 characters)", &cjk),
        ("the text's own characters", &own),
    ] {
        let all = word_list(&mut Rng::new(0x5EED_0000_0000_0001), 50_000, pool);
        for n in [1_000usize, 10_000, 50_000] {
            let list = &all[..n];
            let t = Instant::now();
            let m = Matcher::new(list);
            let build = t.elapsed();
            assert_eq!(m.len(), n);
            let found = m.find(&text).len();
            let lat = measure(
                &[text.as_str()],
                opts.checks,
                Duration::from_secs(20),
                |t| {
                    black_box(m.find(black_box(t)));
                },
            );
            let s = stats(lat);
            println!(
                "| {n} | {label} | {} | {} | {} | {:.0} | {found} |",
                ms(build),
                us(s.p50),
                us(s.p99),
                text.len() as f64 / s.p50.as_secs_f64() / 1e6
            );
        }
    }
}

// ---------------------------------------------------------------- 3. page views

struct ViewGen {
    rng: Rng,
    paths: Vec<(String, Option<String>, Option<String>)>,
    visitors: Vec<Vec<u8>>,
    terms: Words,
}

impl ViewGen {
    /// 5 section pages and the home page, 2,000 articles; 5,000 visitors.
    fn new() -> ViewGen {
        let mut paths: Vec<(String, Option<String>, Option<String>)> = [
            ("/", None),
            ("/policies", Some("policy")),
            ("/news", Some("news")),
            ("/education", Some("education")),
            ("/notices", Some("notices")),
            ("/services", None),
        ]
        .iter()
        .map(|(p, c)| ((*p).to_owned(), c.map(str::to_owned), None))
        .collect();
        for i in 0..2000 {
            let id = format!("0193c0de-0000-7000-8000-{i:012}");
            paths.push((
                format!("/articles/{id}"),
                Some(COLUMNS[i % COLUMNS.len()].to_owned()),
                Some(id),
            ));
        }
        let mut rng = Rng::new(0x0005_7A75);
        let visitors = (0..5000)
            .map(|_| rng.next().to_le_bytes().repeat(2))
            .collect();
        ViewGen {
            rng,
            paths,
            visitors,
            terms: Words::new(),
        }
    }

    fn view(&mut self, at_ms: i64) -> View {
        let r = &mut self.rng;
        // Half the views are of the six pages, half of articles.
        let p = if r.chance(50) {
            &self.paths[r.below(6)]
        } else {
            &self.paths[6 + r.below(self.paths.len() - 6)]
        };
        let referrer = match r.below(100) {
            0..=49 => None,
            50..=79 => Some("https://hub.example/policies".to_owned()),
            80..=91 => Some(format!(
                "https://www.baidu.com/s?wd={}&ie=utf-8",
                self.terms.pick(r)
            )),
            _ => Some("https://www.longyan.gov.cn/zwgk/".to_owned()),
        };
        View {
            at_ms,
            path: p.0.clone(),
            column: p.1.clone(),
            article: p.2.clone(),
            referrer,
            visitor: self.visitors[r.below(self.visitors.len())].clone(),
        }
    }
}

/// CPU time in clock ticks (100 a second on Linux): the whole machine's busy time (all but
/// idle, iowait and steal) and this process's.
fn cpu_ticks() -> (u64, u64) {
    let all = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let v: Vec<u64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            (v.len() >= 8).then(|| v[..8].iter().sum::<u64>() - v[3] - v[4] - v[7])
        })
        .unwrap_or(0);
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    (all, own)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn stats_bench(rt: &tokio::runtime::Runtime, opts: &Opts) {
    println!("\n### Page views\n");
    // --- record() into the queue, a task draining it.
    let (rec, mut rx) = Recorder::new("hub.example");
    let drained = rt.spawn(async move {
        let mut n = 0u64;
        while let Some(v) = rx.recv().await {
            black_box(v);
            n += 1;
        }
        n
    });
    let mut g = ViewGen::new();
    let at = now_ms();
    let pre: Vec<View> = (0..opts.records).map(|_| g.view(at)).collect();
    let mut lat = Vec::with_capacity(opts.records);
    let t = Instant::now();
    for v in pre {
        let s = Instant::now();
        rec.record(v);
        lat.push(s.elapsed());
    }
    let total = t.elapsed();
    let dropped = rec.dropped();
    drop(rec);
    let consumed = rt.block_on(drained).unwrap();
    let s = stats(lat);
    println!("| figure | measured |");
    println!("|---|---|");
    println!(
        "| `Recorder::record` (try_send of a prepared view; a task drains the queue), {} calls from one thread | {:.0} ns per call on average ({:.1} M calls/s), p50 {:.0} ns, p99 {:.0} ns (timer included); {consumed} consumed, {dropped} dropped |",
        opts.records,
        total.as_secs_f64() * 1e9 / opts.records as f64,
        opts.records as f64 / total.as_secs_f64() / 1e6,
        s.p50.as_secs_f64() * 1e9,
        s.p99.as_secs_f64() * 1e9,
    );

    // --- the real writer into a migrated SQLite store.
    let tmp = tempfile::tempdir().unwrap();
    let db = rt.block_on(async {
        let cfg = platform::config::DatabaseConfig {
            url: platform::config::DatabaseUrl::Sqlite(tmp.path().join("hub.db")),
            max_connections: 4,
            connect_timeout: Duration::from_secs(10),
        };
        let db = platform::store::Db::connect(&cfg).await.unwrap();
        db.migrate().await.unwrap();
        db
    });
    let (rec, rx) = Recorder::new("hub.example");
    let writer = rt.spawn(cms::stats::run(db.clone(), rec.clone(), rx));
    let mut g = ViewGen::new();
    let mut sent_before = 0u64;
    let mut written_before = 0u64;
    let mut dropped_before = 0u64;
    println!();
    println!(
        "| offered rate | offered for | sent | written | dropped | written per second offered | last views written after the offer stopped |"
    );
    println!("|---|---|---|---|---|---|---|");
    for rate in opts.rates.iter().copied() {
        eprintln!("writer: {rate}/s…");
        let secs_each = opts.rate_seconds;
        let start = Instant::now();
        let mut sent = 0u64;
        // Send in slices of 1 ms.
        while start.elapsed() < Duration::from_secs(secs_each) {
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            let at = now_ms();
            while sent < due {
                rec.record(g.view(at));
                sent += 1;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let offered = start.elapsed();
        // Wait for the writer to take everything.
        let stop = Instant::now();
        while rec.recorded() + rec.dropped() < sent_before + sent
            && stop.elapsed() < Duration::from_secs(120)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        let drained = stop.elapsed();
        let written = rec.recorded() - written_before;
        let dropped = rec.dropped() - dropped_before;
        println!(
            "| {rate}/s | {} | {sent} | {written} | {dropped} | {:.0} | {} |",
            secs(offered),
            written as f64 / offered.as_secs_f64(),
            ms(drained)
        );
        sent_before += sent;
        written_before = rec.recorded();
        dropped_before = rec.dropped();
    }
    let stored: i64 = rt.block_on(async {
        platform::store::with_pool!(db.read(), |p| {
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(views), 0) AS BIGINT) FROM page_views_daily",
            )
            .fetch_one(p)
            .await
            .unwrap()
        })
    });
    println!(
        "\nSUM(views) in page_views_daily: {stored} (written counter {})",
        rec.recorded()
    );
    writer.abort();
    rt.block_on(db.close());
}

// ---------------------------------------------------------------- main

struct Opts {
    docs: usize,
    queries: usize,
    checks: usize,
    records: usize,
    rates: Vec<u64>,
    rate_seconds: u64,
    only: Option<String>,
    pg: Option<String>,
    /// SQLite and PostgreSQL too (`--tantivy-only` leaves them out).
    others: bool,
}

fn opts() -> Opts {
    let mut o = Opts {
        docs: 100_000,
        queries: 2_000,
        checks: 20_000,
        records: 500_000,
        rates: vec![20_000, 50_000, 100_000, 200_000, 400_000],
        rate_seconds: 5,
        only: None,
        others: true,
        pg: Some(
            std::env::var("BENCH_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
        ),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--docs" => o.docs = val.parse().unwrap(),
            "--queries" => o.queries = val.parse().unwrap(),
            "--checks" => o.checks = val.parse().unwrap(),
            "--records" => o.records = val.parse().unwrap(),
            "--rate-seconds" => o.rate_seconds = val.parse().unwrap(),
            "--rates" => o.rates = val.split(',').map(|r| r.parse().unwrap()).collect(),
            "--only" => o.only = Some(val),
            "--pg" => o.pg = (val != "none").then_some(val),
            "--tantivy-only" => {
                o.others = false;
                i += 1;
                continue;
            }
            // `cargo bench` passes `--bench`; anything else is ignored too.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

fn main() {
    let o = opts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    println!(
        "## content_bench: {} cores · {cpu}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let started = Instant::now();
    let want = |s: &str| o.only.as_deref().is_none_or(|x| x == s);
    let section = |f: &dyn Fn()| {
        let (all0, own0) = cpu_ticks();
        let t = Instant::now();
        f();
        let took = t.elapsed();
        let (all1, own1) = cpu_ticks();
        let other = (all1 - all0).saturating_sub(own1 - own0) as f64 / 100.0;
        println!(
            "\n(section: {}; this process used {:.2} cores on average, the rest of the machine {:.2} (the PostgreSQL server is part of it in the search section))",
            secs(took),
            (own1 - own0) as f64 / 100.0 / took.as_secs_f64(),
            other / took.as_secs_f64()
        );
    };
    if want("search") {
        section(&|| {
            eprintln!("generating {} articles…", o.docs);
            let t = Instant::now();
            let docs = corpus(o.docs);
            eprintln!("generated in {}", secs(t.elapsed()));
            search_bench(&rt, &docs, &o);
        });
    }
    if want("words") {
        section(&|| words_bench(&o));
    }
    if want("stats") {
        section(&|| stats_bench(&rt, &o));
    }
    eprintln!("total {}", secs(started.elapsed()));
}
