//! `hub demo`: demonstration administrators and tokens on a throw-away embedded store, and the
//! banner that tells a newcomer where to look. Never used by `hub serve`.

use std::path::Path;

use crate::state::AppState;
use orgs::{NewOrganisation, OrgFilter, OrgKind, Page};
use platform::admin::{AdminError, IssuedCredentials, Role};
use platform::context::RequestContext;

/// Writes the demo configuration (providers wired to the sandbox at `addr`) and returns its path.
pub fn write_config(
    data_dir: &Path,
    addr: std::net::SocketAddr,
) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let dir = data_dir.canonicalize()?;
    let sm4 = hex::encode(sandbox::DEMO_ELONGYAN_SM4_KEY);
    let text = format!(
        r#"# Written by `hub demo` at each start: the demonstration settings, for reading.
# The sandbox simulators of the provincial platform and e-Longyan answer on the same port
# under /sandbox/ (demo mode only). Not for production: see deploy/hub.example.toml.

data_dir = "{dir}"

[server]
listen = "{addr}"
public_url = "http://{addr}"

[log]
format = "text"

[providers.fujian]
kind = "fujian"
display_name = "福建省统一身份认证（沙箱）"
base_url = "http://{addr}/sandbox/fujian/dataset"
caller_code = "{caller}"

[providers.elongyan]
kind = "elongyan"
display_name = "e龙岩（沙箱）"
app_id = "{app_id}"
signature = "hmac-sm3"
secret = "{secret}"
sm4_key = "{sm4}"
exchange_url = "http://{addr}/sandbox/elongyan/AppSerController/invokeservice.do"
exchange_caller_code = "{exchange}"

[connectors]
# Connectors without a known public entry lead to the sandbox platforms on this port
# (/sandbox/platforms/{{code}}); `mediation` demonstrates a signed hand-off (docs/HANDOFF.md).
allowed_hosts = ["{host}"]
sign_in_provider = "fujian"

[partners.demo-bank]
# The demo partner: a bank's system that sends messages signed with the gateway HMAC-SHA256
# (docs/EXCHANGE.md); the hub delivers their translations to the sandbox's internal consumer.
display_name = "龙岩示例农村商业银行（演示）"
auth = "hmac-sha256"
access_key = "{partner_key}"
secret = "{partner_secret}"
message_types = ["financing.demand_notice", "receivables.registration_result", "gateway.credit_code_verification_reply"]
deliver_to = "http://{addr}/sandbox/consumer/messages"
# The hub also sends the bank messages (JSON from an internal system, translated to the bank's
# XML), signed with the gateway HMAC-SHA256; the sandbox's bank inbox checks the signature.
outbound_url = "http://{addr}/sandbox/consumer/partner-inbox"
outbound_message_types = ["financing.demand_notice"]
outbound_auth = "hmac-sha256"
outbound_access_key = "{outbound_key}"
outbound_secret = "{outbound_secret}"
"#,
        outbound_key = sandbox::DEMO_OUTBOUND_KEY,
        outbound_secret = sandbox::DEMO_OUTBOUND_SECRET,
        partner_key = DEMO_PARTNER_KEY,
        partner_secret = DEMO_PARTNER_SECRET,
        host = addr.ip(),
        dir = dir.display(),
        caller = sandbox::DEMO_FUJIAN_CALLER_CODE,
        app_id = sandbox::DEMO_ELONGYAN_APP_ID,
        secret = sandbox::DEMO_ELONGYAN_SECRET,
        exchange = sandbox::DEMO_ELONGYAN_EXCHANGE_CALLER_CODE,
    );
    let path = dir.join("hub.demo.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

pub struct Seeded {
    pub admins: Vec<IssuedCredentials>,
    pub tokens: Vec<(Role, String)>,
}

const DEMO_ADMINS: [(&str, &str, Role); 5] = [
    ("sysadmin", "系统管理员（演示）", Role::SystemAdmin),
    ("secadmin", "安全管理员（演示）", Role::SecurityAdmin),
    ("auditor", "审计管理员（演示）", Role::AuditAdmin),
    ("editor", "内容编辑（演示）", Role::ContentEditor),
    ("reviewer", "内容审核（演示）", Role::ContentReviewer),
];

/// Points the connectors that have no public entry yet at the sandbox platforms on `addr`
/// (once: a connector an administrator has configured is left alone), `mediation` with a
/// signed hand-off that its sandbox page verifies.
pub async fn connect_sandbox_platforms(
    state: &AppState,
    addr: &str,
) -> Result<(), connectors::registry::ConnectorError> {
    let ctx = RequestContext::system();
    let unconfigured: Vec<String> = state
        .connectors
        .snapshot()
        .entries
        .iter()
        .filter(|e| e.definition.url.is_none())
        .map(|e| e.definition.code.clone())
        .collect();
    for code in unconfigured {
        let signed = code == "mediation";
        let url = format!("http://{addr}{}/{code}", sandbox::PLATFORMS_BASE);
        state
            .connectors
            .update(
                &code,
                |d| {
                    d.url = Some(url);
                    d.allow_http = true;
                    d.enabled = true;
                    if signed {
                        d.sign_in_required = true;
                        d.handoff = connectors::Handoff::Signed {
                            scheme: connectors::Scheme::HmacSm3,
                            params: connectors::Param::ALL.to_vec(),
                        };
                    }
                },
                signed.then(|| guomi::Secret::new(sandbox::DEMO_HANDOFF_SECRET)),
                None,
                platform::audit::Actor::system(),
                &ctx,
            )
            .await?;
    }
    Ok(())
}

/// The demo partner's access key and shared secret (demo mode only).
pub const DEMO_PARTNER_KEY: &str = "DEMO-BANK";
pub const DEMO_PARTNER_SECRET: &str = "demo-bank-shared-secret-0123456789";

/// The messages the demo partner sends: the shipped mappings' sample documents.
const SAMPLE_NOTICE: &[u8] =
    include_bytes!("../../mappings/tests/fixtures/financing-demand-notice/input.xml");
const SAMPLE_RECEIVABLES: &[u8] =
    include_bytes!("../../mappings/tests/fixtures/receivables-registration-result/input.xml");
const SAMPLE_CREDIT_CODE: &[u8] =
    include_bytes!("../../mappings/tests/fixtures/credit-code-verification-reply/input.xml");
const SAMPLE_NOTICE_JSON: &[u8] =
    include_bytes!("../../mappings/tests/fixtures/financing-demand-notice/expected.json");
const SAMPLE_NOTICE_ID: &str = "FDN20261122000001";

/// Sends one message as the demo partner, signed; returns the HTTP status.
async fn send_as_partner(
    client: &outbound::Client,
    base: &str,
    message_type: &str,
    body: Vec<u8>,
) -> Result<u16, outbound::Error> {
    let path = format!("/exchange/demo-bank/{message_type}");
    let date = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string();
    let signature = exchange::auth::sign_hmac_sha256(
        DEMO_PARTNER_SECRET,
        "POST",
        &path,
        None,
        DEMO_PARTNER_KEY,
        &date,
        &body,
    );
    let res = client
        .post(&format!("{base}{path}"))
        .header("content-type", "application/xml")
        .header("x-access-key", DEMO_PARTNER_KEY)
        .header("x-date", date.as_str())
        .header("x-signature", signature.as_str())
        .body(body)
        .send()
        .await?;
    Ok(res.status().as_u16())
}

/// The demo partner: shortly after start it sends each sample message, one of them twice (the
/// second answer is the first acknowledgement again) and one with an invalid value (rejected,
/// with its line, column and path in the log); then a fresh financing-demand notice every
/// 30 seconds, twenty at most — so that a newcomer sees the message log fill. An internal
/// system also sends the bank one message the other way (JSON → the bank's XML, signed).
pub fn start_demo_partner(state: &AppState, addr: &str) {
    let client = state.platform.outbound.clone();
    let exchange = state.exchange.clone();
    let base = format!("http://{addr}");
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let notice = |n: u32| {
            String::from_utf8_lossy(SAMPLE_NOTICE)
                .replacen(SAMPLE_NOTICE_ID, &format!("DEMO-FDN-{n:06}"), 1)
                .into_bytes()
        };
        let invalid = String::from_utf8_lossy(SAMPLE_NOTICE)
            .replacen(SAMPLE_NOTICE_ID, "DEMO-FDN-INVALID", 1)
            .replacen(
                "<TermMonths>36</TermMonths>",
                "<TermMonths>三年</TermMonths>",
                1,
            )
            .into_bytes();
        let first: [(&str, Vec<u8>); 5] = [
            ("financing.demand_notice", notice(1)),
            ("financing.demand_notice", notice(1)),
            (
                "receivables.registration_result",
                SAMPLE_RECEIVABLES.to_vec(),
            ),
            (
                "gateway.credit_code_verification_reply",
                SAMPLE_CREDIT_CODE.to_vec(),
            ),
            ("financing.demand_notice", invalid),
        ];
        for (message_type, body) in first {
            match send_as_partner(&client, &base, message_type, body).await {
                Ok(status) => tracing::info!(message_type, status, "demo partner sent a message"),
                Err(e) => tracing::warn!(message_type, error = %e, "demo partner could not send"),
            }
        }
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let sent = exchange
            .send(
                exchange::send::Outgoing {
                    partner: "demo-bank",
                    message_type: "financing.demand_notice",
                    headers: &headers,
                    body: axum::body::Bytes::from_static(SAMPLE_NOTICE_JSON),
                },
                platform::audit::Actor::system(),
                &RequestContext::system(),
            )
            .await;
        match sent {
            Ok(r) => {
                tracing::info!(receipt = %r.receipt_id, "demo: a message was sent to the demo bank")
            }
            Err(e) => tracing::warn!(error = %e, "demo: the message to the demo bank was refused"),
        }
        for n in 2..=20 {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            if let Err(e) =
                send_as_partner(&client, &base, "financing.demand_notice", notice(n)).await
            {
                tracing::warn!(error = %e, "demo partner could not send");
            }
        }
    });
}

/// The organisations the demo portal shows (fictional, marked 演示): institutions with their
/// introductions for 入驻机构, a government department and an intermediary. Created approved by
/// the operators (through the demo's system-admin token, so the audit trail says who); left
/// alone when they exist.
const DEMO_ORGANISATIONS: [(OrgKind, &str, &str, &str, &str); 7] = [
    (
        OrgKind::Institution,
        "龙岩农村商业银行（演示）",
        "信贷管理部",
        "0597-2200001",
        "龙岩地区的地方法人银行，专注服务小微企业、个体工商户和“三农”，提供信用贷款、抵押贷款、林权抵押贷款和应收账款质押贷款。",
    ),
    (
        OrgKind::Institution,
        "兴业银行龙岩分行（演示）",
        "普惠金融部",
        "0597-2200002",
        "为龙岩市科技型、绿色低碳企业提供流动资金贷款、排污权与碳排放权质押融资、供应链金融等服务。",
    ),
    (
        OrgKind::Institution,
        "中国建设银行龙岩分行（演示）",
        "普惠金融事业部",
        "0597-2200003",
        "线上“云税贷”“抵押快贷”等普惠产品，支持企业在线申请、快速审批。",
    ),
    (
        OrgKind::Institution,
        "龙岩市融资担保有限责任公司（演示）",
        "担保业务部",
        "0597-2200004",
        "政府性融资担保机构，为缺少抵押物的小微企业和“三农”主体提供融资担保，降低担保费率。",
    ),
    (
        OrgKind::Institution,
        "龙岩市汇金小额贷款有限公司（演示）",
        "业务部",
        "0597-2200005",
        "面向个体工商户和小微企业的小额、短期、灵活的信用贷款。",
    ),
    (
        OrgKind::Government,
        "龙岩市地方金融管理局（演示）",
        "综合科",
        "0597-2200006",
        "负责全市地方金融发展和金融服务实体经济工作，发布金融扶持政策。",
    ),
    (
        OrgKind::Intermediary,
        "闽西会计师事务所（演示）",
        "咨询部",
        "0597-2200007",
        "为企业提供审计、财务咨询与融资辅导服务。",
    ),
];

/// Creates the demo organisations that do not exist yet, acting as the demo's system
/// administrator (`token`, just issued). Returns how many were created.
pub async fn seed_organisations(state: &AppState, token: &str) -> Result<usize, SeedError> {
    let ctx = RequestContext::system();
    let operator = state.platform.admins.token(token, &ctx).await?;
    let mut created = 0;
    for (kind, name, contact, phone, intro) in DEMO_ORGANISATIONS {
        let existing = state
            .orgs
            .list(
                OrgFilter {
                    q: Some(name.to_owned()),
                    ..OrgFilter::default()
                },
                Page::new(1, 1),
            )
            .await?;
        if existing.total > 0 {
            continue;
        }
        let new = NewOrganisation {
            kind: Some(kind),
            name: name.to_owned(),
            uscc: None,
            contact_name: Some(contact.to_owned()),
            contact_phone: Some(phone.to_owned()),
            introduction: Some(intro.to_owned()),
        };
        state.orgs.create_by_operator(&operator, new, &ctx).await?;
        created += 1;
    }
    Ok(created)
}

/// The demo's products (fictional, marked 演示): (institution, name, institution kind, kind,
/// guarantee methods, loan method, amount 万元 min–max, rate % min–max, term months min–max,
/// conditions).
#[allow(clippy::type_complexity)]
const DEMO_PRODUCTS: &[(
    &str,
    &str,
    &str,
    &str,
    &[&str],
    &str,
    (&str, &str),
    (&str, &str),
    (&str, &str),
    &str,
)] = &[
    (
        "龙岩农村商业银行（演示）",
        "普惠信用贷（演示）",
        "bank",
        "debt",
        &["credit"],
        "online",
        ("5", "300"),
        ("3.45", "5.5"),
        ("3", "36"),
        "在龙岩注册经营满一年，纳税信用 B 级以上，无不良信用记录。",
    ),
    (
        "龙岩农村商业银行（演示）",
        "林权抵押贷（演示）",
        "bank",
        "debt",
        &["mortgage"],
        "offline",
        ("10", "1000"),
        ("3.8", "6"),
        ("12", "60"),
        "持有龙岩市辖区内林权证，林地经营正常。",
    ),
    (
        "兴业银行龙岩分行（演示）",
        "碳排放权质押贷（演示）",
        "bank",
        "debt",
        &["pledge"],
        "both",
        ("50", "3000"),
        ("3.3", "4.8"),
        ("6", "36"),
        "纳入碳排放权交易或持有林业碳汇的企业。",
    ),
    (
        "中国建设银行龙岩分行（演示）",
        "云税贷（演示）",
        "bank",
        "debt",
        &["credit"],
        "online",
        ("1", "300"),
        ("3.6", "4.35"),
        ("1", "12"),
        "按时纳税满两年，近一年纳税额 1 万元以上。",
    ),
    (
        "龙岩市融资担保有限责任公司（演示）",
        "小微企业融资担保（演示）",
        "guarantee",
        "debt",
        &["guarantee", "combined"],
        "offline",
        ("10", "1000"),
        ("4", "7"),
        ("6", "36"),
        "缺少足额抵押物的小微企业和“三农”主体，担保费率不超过 1%。",
    ),
    (
        "龙岩市汇金小额贷款有限公司（演示）",
        "个体工商户周转贷（演示）",
        "microloan",
        "debt",
        &["credit", "guarantee"],
        "online",
        ("1", "100"),
        ("6", "15"),
        ("1", "12"),
        "经营满半年的个体工商户与小微企业主。",
    ),
];

/// Enters the demo's products for the demo institutions when there are none yet, as the demo's
/// system administrator (`token`). Returns how many were entered.
pub async fn seed_market(state: &AppState, token: &str) -> Result<usize, SeedError> {
    let ctx = RequestContext::system();
    let operator = state.platform.admins.token(token, &ctx).await?;
    if !state.market.listed().await?.is_empty() {
        return Ok(0);
    }
    let mut entered = 0;
    for (org, name, inst, kind, guarantee, method, amount, rate, term, conditions) in DEMO_PRODUCTS
    {
        let found = state
            .orgs
            .list(
                OrgFilter {
                    q: Some((*org).to_owned()),
                    ..OrgFilter::default()
                },
                Page::new(1, 1),
            )
            .await?;
        let Some(o) = found.items.first() else {
            continue;
        };
        let form = market::ProductForm {
            name: (*name).to_owned(),
            institution_kind: (*inst).to_owned(),
            kind: (*kind).to_owned(),
            guarantee: guarantee.iter().map(|g| (*g).to_owned()).collect(),
            loan_method: (*method).to_owned(),
            amount_min: amount.0.to_owned(),
            amount_max: amount.1.to_owned(),
            rate_min: rate.0.to_owned(),
            rate_max: rate.1.to_owned(),
            term_min: term.0.to_owned(),
            term_max: term.1.to_owned(),
            regions: Vec::new(),
            industries: Vec::new(),
            conditions: (*conditions).to_owned(),
            intro: format!("{name}：{conditions}"),
        };
        state
            .market
            .add_product_for(&operator, &o.id, &form, &ctx)
            .await?;
        state
            .market
            .enter_institution_kind(&operator, &o.id, inst, &ctx)
            .await?;
        entered += 1;
    }
    Ok(entered)
}

/// The demo's articles (fictional, their source marked 演示): (columns, title, tags, body).
const DEMO_ARTICLES: &[(&[&str], &str, &str, &str)] = &[
    (
        &["policy-national"],
        "关于进一步加大对小微企业贷款支持力度的通知（演示）",
        "小微企业，贷款",
        "<p>各银行业金融机构要单列小微企业信贷计划，推广无还本续贷，合理降低小微企业综合融资成本。</p><h2>主要措施</h2><ul><li>加大首贷、信用贷投放；</li><li>用好普惠小微贷款支持工具；</li><li>落实尽职免责。</li></ul>",
    ),
    (
        &["policy-fujian"],
        "福建省政府性融资担保体系建设实施意见（演示）",
        "担保，融资担保",
        "<p>推动政府性融资担保机构聚焦支小支农主业，单户担保金额 1000 万元以下的业务占比不低于 80%，平均担保费率不超过 1%。</p>",
    ),
    (
        &["policy-longyan", "news"],
        "龙岩市中小微企业贷款贴息实施办法（演示）",
        "贴息，小微企业",
        "<p>对在本市注册的中小微企业，按实际支付利息的 30% 给予贷款贴息，单户年度贴息不超过 50 万元。</p><p>申报时间：每季度首月 1 日至 20 日。</p>",
    ),
    (
        &["policy-longyan"],
        "龙岩市应收账款融资服务平台推广方案（演示）",
        "应收账款，供应链金融",
        "<p>鼓励核心企业在中征应收账款融资服务平台确认账款，帮助上下游中小企业盘活应收账款。</p>",
    ),
    (
        &["policy-xinluo"],
        "新罗区科技型企业知识产权质押融资扶持政策（演示）",
        "知识产权，质押",
        "<p>对以知识产权质押方式获得贷款的科技型企业，按贷款额的 1% 给予评估费补助。</p>",
    ),
    (
        &["policy-changting"],
        "长汀县林权抵押贷款风险补偿办法（演示）",
        "林权，抵押",
        "<p>设立林权抵押贷款风险补偿资金，对合作银行发生的林权抵押贷款损失给予 50% 补偿。</p>",
    ),
    (
        &["policy-shanghang"],
        "上杭县乡村振兴产业贷款贴息政策（演示）",
        "乡村振兴，贴息",
        "<p>对新型农业经营主体的产业发展贷款给予贴息支持。</p>",
    ),
    (
        &["education-knowledge"],
        "企业征信报告怎么看：五个要点（演示）",
        "征信",
        "<p>企业征信报告记录了企业的基本信息、信贷记录和公共信息。查看时重点关注未结清信贷、担保信息和欠息记录。</p>",
    ),
    (
        &["education-knowledge"],
        "什么是无还本续贷（演示）",
        "续贷，小微企业",
        "<p>无还本续贷是指贷款到期时，符合条件的企业无需先还本金即可办理续贷。</p>",
    ),
    (
        &["education-law"],
        "《中华人民共和国民法典》中的担保制度要点（演示）",
        "担保，法规",
        "<p>民法典对抵押、质押、保证等担保方式作了系统规定。</p>",
    ),
    (
        &["education-red"],
        "闽西工农银行：红色金融的一段历史（演示）",
        "红色金融",
        "<p>1930 年在龙岩成立的闽西工农银行，是土地革命时期重要的红色金融机构之一。</p>",
    ),
    (
        &["news"],
        "“普惠金融服务进园区”活动在龙岩高新区举行（演示）",
        "普惠金融",
        "<p>多家银行、担保机构现场为园区企业介绍信用贷款、贴息政策和征信服务。</p>",
    ),
    (
        &["notice"],
        "关于平台系统升级维护的通知（演示）",
        "通知",
        "<p>平台将于本周六 22:00 至次日 02:00 进行系统升级，期间部分功能暂停使用。</p>",
    ),
];

/// Writes and publishes the demo's articles when there are none yet, as the demo's editor and
/// reviewer (`editor_token`, `reviewer_token`). Returns how many were published.
pub async fn seed_content(
    state: &AppState,
    editor_token: &str,
    reviewer_token: &str,
) -> Result<usize, SeedError> {
    let ctx = RequestContext::system();
    let existing = state
        .cms
        .list(&cms::ArticleFilter::default(), cms::Page::new(1, 1))
        .await?;
    if existing.total > 0 {
        return Ok(0);
    }
    let editor = cms::Editor::Admin {
        principal: state.platform.admins.token(editor_token, &ctx).await?,
        name: "内容编辑（演示）".to_owned(),
    };
    let reviewer = cms::Editor::Admin {
        principal: state.platform.admins.token(reviewer_token, &ctx).await?,
        name: "内容审核（演示）".to_owned(),
    };
    let mut published = 0;
    for (columns, title, tags, body) in DEMO_ARTICLES {
        let draft = cms::Draft {
            title: (*title).to_owned(),
            body: (*body).to_owned(),
            tags: vec![(*tags).to_owned()],
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            source: Some("演示内容".to_owned()),
            ..cms::Draft::default()
        };
        let a = state.cms.create(&editor, draft, &ctx).await?;
        state.cms.submit(&editor, &a.id, &ctx).await?;
        state
            .cms
            .review(&reviewer, &a.id, cms::Decision::Publish, &ctx)
            .await?;
        published += 1;
    }
    Ok(published)
}

/// Why the demo data could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Orgs(#[from] orgs::OrgError),
    #[error(transparent)]
    Content(#[from] cms::CmsError),
    #[error(transparent)]
    Market(#[from] market::MarketError),
}

/// One administrator and one day-long API token per role. Existing demo administrators get
/// fresh credentials, so the banner is always right.
pub async fn seed(state: &AppState) -> Result<Seeded, AdminError> {
    let ctx = RequestContext::system();
    let admins = &state.platform.admins;
    let mut issued = Vec::new();
    let mut tokens = Vec::new();
    for (username, display, role) in DEMO_ADMINS {
        let creds = match admins.find_by_username(username).await? {
            Some(existing) => admins.reset_credentials(None, &existing.id, &ctx).await?,
            None => admins.create(None, username, display, role, &ctx).await?,
        };
        issued.push(creds);
        let t = admins
            .create_token(
                None,
                "demo",
                role,
                Some(std::time::Duration::from_secs(86_400)),
                &ctx,
            )
            .await?;
        tokens.push((role, t.token));
    }
    Ok(Seeded {
        admins: issued,
        tokens,
    })
}

pub fn banner(addr: &str, data_dir: &Path, s: &Seeded) -> String {
    let mut out = String::new();
    out.push_str("\n龙岩普惠金融平台 · 身份联邦与集成枢纽 — 演示模式 (demo)\n\n");
    out.push_str(&format!(
        "  Open:        http://{addr}/          (the portal: 首页, 用户中心 after 登录)\n"
    ));
    out.push_str(&format!(
        "  Console:     http://{addr}/console   (the administrators below)\n"
    ));
    out.push_str(&format!(
        "  API (OpenAPI 3.1): http://{addr}/openapi.json\n"
    ));
    out.push_str(&format!(
        "  Ready:       http://{addr}/readyz    Metrics: http://{addr}/metrics\n"
    ));
    out.push_str(&format!(
        "  Data:        {} (embedded SQLite; delete it to start afresh)\n",
        data_dir.display()
    ));
    out.push_str(&format!(
        "  Config:      {}\n\n",
        data_dir.join("hub.demo.toml").display()
    ));
    out.push_str(
        "  Sign in as a citizen or a company (sandbox personas personal-1, personal-2, legal-1):\n",
    );
    out.push_str(&format!(
        "    sign-in page        http://{addr}/login   (闽政通个人登录 / 闽政通法人登录)\n"
    ));
    out.push_str(&format!(
        "    e龙岩 portal        http://{addr}/sandbox/elongyan/\n\n"
    ));
    out.push_str("  Online services (connectors; every jump is audited):\n");
    out.push_str(&format!(
        "    list                http://{addr}/api/connectors\n"
    ));
    out.push_str(&format!(
        "    signed hand-off     http://{addr}/go/mediation   (sign in, then a sandbox platform verifies the signature)\n"
    ));
    out.push_str(&format!(
        "    public platform     http://{addr}/go/receivables\n\n"
    ));
    out.push_str("  Partner exchange (the demo partner `demo-bank` sends sample messages now, then one every 30 s):\n");
    out.push_str(&format!(
        "    message log         http://{addr}/api/admin/messages   (system-admin token below)\n"
    ));
    out.push_str(&format!(
        "    internal consumer   http://{addr}/sandbox/consumer/   (and the bank's inbox of messages the hub sends it)\n"
    ));
    out.push_str(
        "    offline             cargo run -p hub -- map --list   (and: map --mapping NAME FILE)\n\n",
    );
    out.push_str(
        "  Demo administrators (password + TOTP; the password must be changed at first sign-in):\n",
    );
    for c in &s.admins {
        out.push_str(&format!(
            "    {:<9} {:<15} password {}  TOTP secret {}\n",
            c.admin.username,
            c.admin.role.as_str(),
            c.password,
            c.totp_secret
        ));
    }
    out.push_str("\n  API tokens (valid 24 h):\n");
    for (role, token) in &s.tokens {
        out.push_str(&format!("    {:<15} {token}\n", role.as_str()));
    }
    if let Some((_, audit_token)) = s.tokens.iter().find(|(r, _)| *r == Role::AuditAdmin) {
        out.push_str(&format!(
            "\n  Try:  curl -s -H 'Authorization: Bearer {audit_token}' http://{addr}/api/admin/audit | head -c 600\n"
        ));
    }
    out
}
