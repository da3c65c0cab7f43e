//! XML → JSON throughput on a large financing-demand notice.
//!
//! ```text
//! cargo bench -p mappings --bench throughput                  # generate into a temp file, measure
//! cargo bench -p mappings --bench throughput -- PATH          # measure PATH (generated if absent)
//! cargo bench -p mappings --bench throughput -- --write-only PATH   # only write the document
//! cargo bench -p mappings --bench throughput -- --size-mb 20  # a smaller document
//! ```
//!
//! The document is generated deterministically (same bytes on every run), so figures from
//! different machines and from `benches/peers.sh` (npm fast-xml-parser, PyPI xmltodict) are
//! measured on the same input. Reported: raw quick-xml event parsing of the file (the ceiling),
//! `Mapping::xml_to_json_stream` into a sink, both streaming from the file through a 64 KiB
//! buffer, and the peak-RSS (VmHWM) growth across the conversions, which shows that memory
//! stays flat however large the document.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use mappings::Catalog;
use quick_xml::events::Event;

const RUNS: usize = 5;

/// Which measurements to run (`--only raw|ns|convert`, for profilers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    Raw,
    Ns,
    Convert,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut write_only: Option<PathBuf> = None;
    let mut path: Option<PathBuf> = None;
    let mut size_mb: u64 = 100;
    let mut only = Only::All;
    let mut runs = RUNS;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--write-only" => write_only = Some(args.next().expect("--write-only PATH").into()),
            "--size-mb" => {
                size_mb = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--size-mb N")
            }
            "--only" => {
                only = match args.next().as_deref() {
                    Some("raw") => Only::Raw,
                    Some("ns") => Only::Ns,
                    Some("convert") => Only::Convert,
                    _ => panic!("--only raw|ns|convert"),
                }
            }
            "--runs" => runs = args.next().and_then(|s| s.parse().ok()).expect("--runs N"),
            // Passed by `cargo bench`.
            "--bench" => {}
            s if s.starts_with("--") => panic!("unknown option {s}"),
            s => path = Some(s.into()),
        }
    }
    let target = size_mb * 1_000_000;
    if let Some(p) = write_only {
        let n = write_document(&p, target);
        println!("wrote {} ({:.1} MB)", p.display(), n as f64 / 1e6);
        return;
    }
    let (path, remove) = match path {
        Some(p) if p.exists() => (p, false),
        Some(p) => {
            write_document(&p, target);
            (p, false)
        }
        None => {
            let p = std::env::temp_dir().join(format!(
                "mappings-bench-fdn-{size_mb}mb-{}.xml",
                std::process::id()
            ));
            write_document(&p, target);
            (p, true)
        }
    };
    let len = std::fs::metadata(&path).expect("document").len();
    println!("document: {} ({:.1} MB)", path.display(), len as f64 / 1e6);

    let catalog = Catalog::builtin().expect("catalog");
    let m = catalog.get("financing-demand-notice").expect("mapping");

    if only == Only::All {
        // Check once that the document converts and what it gives.
        let mut out = CountingSink(0);
        m.xml_to_json_stream(open(&path), &mut out)
            .expect("document converts");
        println!(
            "{} demands; JSON output {:.1} MB",
            count_demands(&path),
            out.0 as f64 / 1e6
        );
    }

    let runs = runs.max(1);
    let rss_before = vm_hwm_kib();
    let skip = (0.0, 0.0);
    let raw = match only {
        Only::All | Only::Raw => best_of(len, runs, || raw_events(&path)),
        _ => skip,
    };
    let ns = match only {
        Only::All | Only::Ns => best_of(len, runs, || ns_events(&path)),
        _ => skip,
    };
    let conv = match only {
        Only::All | Only::Convert => best_of(len, runs, || {
            m.xml_to_json_stream(open(&path), std::io::sink())
                .expect("document converts");
        }),
        _ => skip,
    };
    let rss_after = vm_hwm_kib();
    // In memory, zero-copy (the whole document held): what the tokenizer does without the
    // buffered reader's copying.
    let slice = match only {
        Only::All | Only::Raw => {
            let data = std::fs::read(&path).expect("document");
            best_of(len, runs, || raw_slice_events(&data))
        }
        _ => skip,
    };

    println!();
    println!("{:<58} {:>10} {:>10}", "", "best MB/s", "median");
    report("quick-xml Reader::read_event_into (ceiling)", raw);
    report("quick-xml Reader::read_event, whole file in memory", slice);
    report("quick-xml NsReader + attributes + text decoding", ns);
    report("Mapping::xml_to_json_stream → sink", conv);
    println!(
        "share of the ceiling: {:.0} %",
        100.0 * conv.0 / raw.0.max(f64::MIN_POSITIVE)
    );
    println!(
        "peak RSS (VmHWM): {} KiB before, {} KiB after: +{} KiB for {:.0} MB read",
        rss_before,
        rss_after,
        rss_after.saturating_sub(rss_before),
        len as f64 / 1e6 * (3 * runs) as f64
    );
    if remove {
        let _ = std::fs::remove_file(&path);
    }
}

fn report(name: &str, (best, median): (f64, f64)) {
    println!("{name:<58} {best:>10.0} {median:>10.0}");
}

fn open(path: &Path) -> BufReader<File> {
    BufReader::with_capacity(64 * 1024, File::open(path).expect("document"))
}

/// Runs `f` `runs` times; (best, median) MB/s.
fn best_of(len: u64, runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut rates: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            len as f64 / t.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    rates.sort_by(|a, b| b.total_cmp(a));
    (rates[0], rates[runs / 2])
}

/// The ceiling: every event of the document, nothing done with it.
fn raw_events(path: &Path) {
    let mut r = quick_xml::Reader::from_reader(open(path));
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0u64;
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).expect("well-formed") {
            Event::Eof => break,
            _ => n += 1,
        }
    }
    std::hint::black_box(n);
}

fn raw_slice_events(data: &[u8]) {
    let mut r = quick_xml::Reader::from_reader(data);
    let mut n = 0u64;
    loop {
        match r.read_event().expect("well-formed") {
            Event::Eof => break,
            _ => n += 1,
        }
    }
    std::hint::black_box(n);
}

/// What any converter must do at least: namespaces resolved, attributes split, text decoded.
fn ns_events(path: &Path) {
    let mut r = quick_xml::NsReader::from_reader(open(path));
    r.config_mut().expand_empty_elements = true;
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0usize;
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).expect("well-formed") {
            Event::Eof => break,
            Event::Start(e) => {
                let (res, local) = r.resolver().resolve_element(e.name());
                n += local.as_ref().len()
                    + matches!(res, quick_xml::name::ResolveResult::Bound(_)) as usize;
                for a in e.attributes() {
                    n += a.expect("attribute").value.len();
                }
            }
            Event::Text(t) => n += t.xml10_content().len(),
            _ => n += 1,
        }
    }
    std::hint::black_box(n);
}

fn count_demands(path: &Path) -> u64 {
    let mut r = quick_xml::Reader::from_reader(open(path));
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).expect("well-formed") {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == "Demand" => n += 1,
            _ => {}
        }
    }
    n
}

struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A small deterministic generator (xorshift64*), so every run writes the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const REGIONS: &[&str] = &[
    "350802", "350803", "350821", "350823", "350824", "350825", "350881",
];
const PREFIXES: &[&str] = &[
    "龙岩", "新罗", "永定", "上杭", "武平", "长汀", "连城", "漳平", "闽西", "古田",
];
const TRADES: &[&str] = &[
    "示例机械",
    "示例茶业",
    "示例食品",
    "示例建材",
    "示例电子",
    "示例物流",
    "示例纺织",
    "示例林业",
    "示例矿业",
    "示例医药",
];
const FORMS: &[&str] = &[
    "有限公司",
    "股份有限公司",
    "合作社",
    "有限责任公司",
    "商贸行",
];
const PURPOSES: &[&str] = &[
    "购置生产设备 &amp; 补充流动资金",
    "补充流动资金",
    "厂房扩建",
    "采购原材料",
    "技术改造升级",
    "支付货款 &amp; 工资",
];
const SURNAMES: &[&str] = &["张", "李", "王", "陈", "林", "黄", "吴", "赖", "邱", "郭"];
const GIVEN: &[&str] = &[
    "三", "四", "伟", "芳", "强", "敏", "静", "磊", "洋", "丽", "建国", "小红",
];
const ROLES: &[&str] = &["财务负责人", "法定代表人", "经办人", "总经理"];
const CARDS: &[&str] = &["111", "114", "414", "511", "516"];
const FILES: &[(&str, &str)] = &[
    ("营业执照.pdf", "application/pdf"),
    (
        "财务报表2025.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("购销合同.pdf", "application/pdf"),
    ("厂房照片.jpg", "image/jpeg"),
    ("纳税证明.pdf", "application/pdf"),
];

/// Writes a financing-demand notice of at least `target` bytes; returns its size.
fn write_document(path: &Path, target: u64) -> u64 {
    let mut w = CountingWriter {
        inner: BufWriter::with_capacity(1 << 20, File::create(path).expect("create document")),
        n: 0,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    write!(
        w,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Fictional data only: generated by mappings/benches/throughput.rs. -->
<FinancingDemandNotice version="1.0">
  <Header>
    <MessageId> FDN20261129000001 </MessageId>
    <SendTime>2026-11-29T09:30:00+08:00</SendTime>
    <BankCode>0402</BankCode>
    <BankName>龙岩示例农村商业银行</BankName>
  </Header>
"#
    )
    .unwrap();
    let tail = "</FinancingDemandNotice>\n";
    let mut i = 0u64;
    while w.n + (tail.len() as u64) < target {
        i += 1;
        write_demand(&mut w, &mut rng, i);
    }
    w.write_all(tail.as_bytes()).unwrap();
    w.inner.flush().unwrap();
    w.n
}

fn write_demand(w: &mut impl Write, rng: &mut Rng, i: u64) {
    let amount = rng.below(5_000_000_000) + 1_000;
    writeln!(w, "  <Demand>").unwrap();
    writeln!(w, "    <DemandNo>{i:08}</DemandNo>").unwrap();
    writeln!(w, "    <Enterprise>").unwrap();
    writeln!(w, "      <USCC>9135080{}MA{:08X}</USCC>", rng.below(10), i).unwrap();
    writeln!(
        w,
        "      <Name>{}{}{}</Name>",
        rng.pick(PREFIXES),
        rng.pick(TRADES),
        rng.pick(FORMS)
    )
    .unwrap();
    if rng.chance(80) {
        writeln!(w, "      <RegionCode>{}</RegionCode>", rng.pick(REGIONS)).unwrap();
    }
    writeln!(w, "    </Enterprise>").unwrap();
    if rng.chance(70) {
        writeln!(
            w,
            "    <Amount currency=\"CNY\">{}.{:02}</Amount>",
            amount / 100,
            amount % 100
        )
        .unwrap();
    } else {
        writeln!(
            w,
            "    <Amount>{}.{:02}</Amount>",
            amount / 100,
            amount % 100
        )
        .unwrap();
    }
    writeln!(
        w,
        "    <TermMonths>{}</TermMonths>",
        [3, 6, 12, 24, 36, 60][rng.below(6) as usize]
    )
    .unwrap();
    writeln!(
        w,
        "    <GuaranteeMethod>0{}</GuaranteeMethod>",
        rng.below(4) + 1
    )
    .unwrap();
    if rng.chance(85) {
        writeln!(w, "    <Purpose>{}</Purpose>", rng.pick(PURPOSES)).unwrap();
    }
    if rng.chance(75) {
        writeln!(
            w,
            "    <ExpectedDate>2027{:02}{:02}</ExpectedDate>",
            rng.below(12) + 1,
            rng.below(28) + 1
        )
        .unwrap();
    }
    if rng.chance(50) {
        writeln!(
            w,
            "    <Urgent>{}</Urgent>",
            rng.pick(&["1", "0", "true", "false"])
        )
        .unwrap();
    }
    if rng.chance(90) {
        writeln!(w, "    <Contacts>").unwrap();
        for c in 0..rng.below(3) + 1 {
            if c == 0 {
                writeln!(w, "      <Contact primary=\"true\">").unwrap();
            } else {
                writeln!(w, "      <Contact>").unwrap();
            }
            writeln!(
                w,
                "        <Name>{}{}</Name>",
                rng.pick(SURNAMES),
                rng.pick(GIVEN)
            )
            .unwrap();
            if rng.chance(70) {
                writeln!(
                    w,
                    "        <Phone>1{:010}</Phone>",
                    rng.below(10_000_000_000)
                )
                .unwrap();
            } else {
                writeln!(
                    w,
                    "        <Phone> 0597-{:07} </Phone>",
                    rng.below(10_000_000)
                )
                .unwrap();
            }
            if rng.chance(80) {
                writeln!(w, "        <CardType>{}</CardType>", rng.pick(CARDS)).unwrap();
            }
            if rng.chance(50) {
                writeln!(w, "        <Role>{}</Role>", rng.pick(ROLES)).unwrap();
            }
            writeln!(w, "      </Contact>").unwrap();
        }
        writeln!(w, "    </Contacts>").unwrap();
    }
    if rng.chance(60) {
        writeln!(w, "    <Attachments>").unwrap();
        for _ in 0..rng.below(3) + 1 {
            let (name, ty) = FILES[rng.below(FILES.len() as u64) as usize];
            writeln!(w, "      <Attachment>").unwrap();
            writeln!(w, "        <FileName>{name}</FileName>").unwrap();
            writeln!(w, "        <FileType>{ty}</FileType>").unwrap();
            writeln!(
                w,
                "        <SizeBytes>{}</SizeBytes>",
                rng.below(20_000_000)
            )
            .unwrap();
            if rng.chance(70) {
                writeln!(
                    w,
                    "        <UploadedAt>2026-11-{:02}T{:02}:{:02}:{:02}</UploadedAt>",
                    rng.below(28) + 1,
                    rng.below(24),
                    rng.below(60),
                    rng.below(60)
                )
                .unwrap();
            }
            writeln!(w, "      </Attachment>").unwrap();
        }
        writeln!(w, "    </Attachments>").unwrap();
    }
    writeln!(w, "  </Demand>").unwrap();
}

struct CountingWriter<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
