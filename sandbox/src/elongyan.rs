//! e-Longyan: the portal page, the jump that sends a signed-in user to the hub's entry exactly as
//! docs/ELONGYAN.md states it, and the ticket exchange back channel.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::StatusCode;

use crate::Error;
use crate::config::{ElongyanConfig, SandboxConfig};
use crate::fault::Fault;
use crate::page::{self, Refusal, escape};
use crate::personas::{self, PERSONAS, Persona};
use crate::query;
use crate::signature::{Signer, signing_string, sm4_encrypt};
use crate::state::{ELONGYAN_BASE, Sandbox, clock};

/// How old a `stale-timestamp` entry is: twice the hub's default window.
const STALE_BY_MILLIS: u128 = 10 * 60 * 1000;

/// Parameters of the ticket relay mode, in the order they are sent (`sign` last).
const TICKET_PARAMS: [&str; 4] = ["appId", "ticket", "timestamp", "target"];
/// Parameters of the signed assertion mode, in the order they are sent (`sign` last).
const SIGNED_PARAMS: [&str; 13] = [
    "appId",
    "userId",
    "userName",
    "userType",
    "certType",
    "certNo",
    "companyName",
    "uscc",
    "agentName",
    "agentCertNo",
    "timestamp",
    "nonce",
    "target",
];

/// The two entry shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Ticket,
    Signed,
}

impl Mode {
    fn parse(value: &str) -> Option<Mode> {
        match value {
            "ticket" => Some(Mode::Ticket),
            "signed" => Some(Mode::Signed),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::Ticket => "ticket",
            Mode::Signed => "signed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::Ticket => "票据模式",
            Mode::Signed => "签名断言模式",
        }
    }

    /// Whether `fault` means something in this mode.
    fn allows(self, fault: Fault) -> bool {
        match self {
            Mode::Ticket => true,
            Mode::Signed => matches!(fault, Fault::BadSignature | Fault::StaleTimestamp),
        }
    }
}

/// What one entry is made of, besides the configuration.
pub(crate) struct EntryInput<'a> {
    pub(crate) persona: &'a Persona,
    pub(crate) mode: Mode,
    pub(crate) fault: Option<Fault>,
    pub(crate) target: &'a str,
    /// Now, in milliseconds since the Unix epoch.
    pub(crate) now_millis: u128,
    /// The ticket (ticket mode).
    pub(crate) ticket: &'a str,
    /// The nonce (signed mode).
    pub(crate) nonce: &'a str,
}

/// The entry's parameters in sending order, `sign` last. Empty values (absent attributes) are
/// left out of the URL and count as empty in the signing string.
pub(crate) fn entry_params(
    config: &ElongyanConfig,
    signer: &Signer,
    input: &EntryInput<'_>,
) -> Result<Vec<(String, String)>, Error> {
    let timestamp = if input.fault == Some(Fault::StaleTimestamp) {
        input.now_millis.saturating_sub(STALE_BY_MILLIS)
    } else {
        input.now_millis
    }
    .to_string();
    let p = input.persona;
    let company = p.company.as_ref();
    let mut values: Vec<(&str, String)> = Vec::new();
    let fields = match input.mode {
        Mode::Ticket => {
            for name in TICKET_PARAMS {
                let v = match name {
                    "appId" => config.app_id.clone(),
                    "ticket" => input.ticket.to_owned(),
                    "timestamp" => timestamp.clone(),
                    _ => input.target.to_owned(),
                };
                values.push((name, v));
            }
            &config.ticket_fields
        }
        Mode::Signed => {
            for name in SIGNED_PARAMS {
                let v = match name {
                    "appId" => config.app_id.as_str(),
                    "userId" => p.elongyan_user_id,
                    // For a company, the person signed in is its agent (经办人).
                    "userName" => p.name,
                    "userType" => p.user_type,
                    "certType" => p.cert_type,
                    "certNo" => p.cert_no,
                    "companyName" => company.map_or("", |c| c.name),
                    "uscc" => company.map_or("", |c| c.uscc),
                    "agentName" => company.map_or("", |c| c.agent_name),
                    "agentCertNo" => company.map_or("", |c| c.agent_cert_no),
                    "timestamp" => &timestamp,
                    "nonce" => input.nonce,
                    _ => input.target,
                };
                let v = match config.sm4_key {
                    Some(key)
                        if !v.is_empty() && config.encrypted_fields.iter().any(|f| f == name) =>
                    {
                        sm4_encrypt(&key, config.sm4_mode, v.as_bytes())?
                    }
                    _ => v.to_owned(),
                };
                values.push((name, v));
            }
            &config.signed_fields
        }
    };
    let message = signing_string(fields, |f| {
        values
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, v)| v.as_str())
    });
    let mut raw = signer.sign(&message)?;
    // A flipped bit in the last byte: for SM2 that is the end of `s`, so the DER stays valid
    // and only the signature is wrong.
    if input.fault == Some(Fault::BadSignature)
        && let Some(last) = raw.last_mut()
    {
        *last ^= 0x01;
    }
    let sign = signer.encode(&raw);
    let mut params: Vec<(String, String)> = values
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    params.push(("sign".to_owned(), sign));
    Ok(params)
}

/// `{hub_url}/sso/{provider}/entry?{params}`.
pub(crate) fn entry_url(config: &SandboxConfig, params: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    format!(
        "{}/sso/{}/entry?{}",
        config.hub_url.trim_end_matches('/'),
        query::encode(&config.elongyan.provider),
        query::query_string(&pairs)
    )
}

/// `GET /sandbox/elongyan/jump?persona=ID&target=/path&mode=ticket|signed[&fault=F]`: 302 to
/// the hub's entry. `mode` defaults to `ticket`, `target` to `/`.
pub(crate) async fn jump(
    State(sandbox): State<Arc<Sandbox>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Refusal> {
    let params = query::params(raw.unwrap_or_default().as_bytes());
    let location = build_jump(&sandbox, &params)?;
    Ok(page::redirect(&location, None))
}

fn build_jump(sandbox: &Sandbox, params: &HashMap<String, String>) -> Result<String, Refusal> {
    let persona_id = query::get(params, "persona").unwrap_or_default();
    let persona = personas::persona(persona_id).ok_or_else(|| {
        Refusal::bad_request(format!(
            "未知的测试身份：{persona_id}。可选：personal-1、personal-2、personal-3、legal-1。"
        ))
    })?;
    let mode = match query::get(params, "mode") {
        None => Mode::Ticket,
        Some(m) => Mode::parse(m).ok_or_else(|| {
            Refusal::bad_request(format!("未知的模式：{m}。可选：ticket、signed。"))
        })?,
    };
    let fault = match query::get(params, "fault") {
        None => None,
        Some(f) => Some(Fault::parse(f).filter(|f| mode.allows(*f)).ok_or_else(|| {
            Refusal::bad_request(format!(
                "故障类型 {f} 未知，或不适用于{}（mode={}）。",
                mode.label(),
                mode.as_str()
            ))
        })?),
    };
    let target = query::get(params, "target").unwrap_or("/");
    let signer = sandbox.signer.as_ref().map_err(|e| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("e龙岩沙箱的签名配置无效：{e}"),
        )
    })?;
    let unavailable = || {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "e龙岩沙箱暂时无法生成登录凭据，请稍后重试。",
        )
    };
    let ticket = match mode {
        Mode::Ticket => sandbox
            .elongyan
            .issue_ticket(
                persona,
                fault.filter(|f| f.is_exchange_fault()),
                clock::now(),
            )
            .map_err(|_| unavailable())?,
        Mode::Signed => String::new(),
    };
    let nonce = match mode {
        Mode::Signed => hex::encode(guomi::random_bytes::<16>().map_err(|_| unavailable())?),
        Mode::Ticket => String::new(),
    };
    let input = EntryInput {
        persona,
        mode,
        fault,
        target,
        now_millis: clock::unix_millis(),
        ticket: &ticket,
        nonce: &nonce,
    };
    let entry = entry_params(&sandbox.config.elongyan, signer, &input).map_err(|e| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("e龙岩沙箱无法签名：{e}"),
        )
    })?;
    tracing::info!(persona = persona.id, mode = mode.as_str(), fault = ?fault.map(Fault::as_str), "elongyan: jump to the hub");
    Ok(entry_url(&sandbox.config, &entry))
}

/// `GET /sandbox/elongyan/`: the portal, "already signed in", with links into the hub.
pub(crate) async fn portal() -> Response {
    let jump = |p: &Persona, mode: Mode, target: &str, fault: Option<Fault>| {
        let mut pairs = vec![
            ("persona", p.id),
            ("target", target),
            ("mode", mode.as_str()),
        ];
        if let Some(f) = fault {
            pairs.push(("fault", f.as_str()));
        }
        escape(&format!(
            "{ELONGYAN_BASE}/jump?{}",
            query::query_string(&pairs)
        ))
    };
    let mut body = String::from(
        "<p>在 e龙岩 已登录的用户点击下列链接，即以该身份进入龙岩普惠金融平台（身份联邦枢纽）。</p>\n",
    );
    for p in &PERSONAS {
        body.push_str(&format!("<h2>{}</h2>\n<ul>\n", escape(p.label)));
        for mode in [Mode::Ticket, Mode::Signed] {
            body.push_str(&format!(
                "<li>{}：<a href=\"{}\">进入平台首页</a> · <a href=\"{}\">查看我的身份（/api/me）</a></li>\n",
                escape(mode.label()),
                jump(p, mode, "/", None),
                jump(p, mode, "/api/me", None),
            ));
        }
        body.push_str("</ul>\n");
    }
    body.push_str("<h2>故障演练（张三，个人用户）</h2>\n<ul>\n");
    let p1 = &personas::PERSONAL_1;
    for fault in Fault::ALL {
        for mode in [Mode::Ticket, Mode::Signed] {
            if mode.allows(fault) {
                body.push_str(&format!(
                    "<li><a href=\"{}\">{}：{}（{}）</a></li>\n",
                    jump(p1, mode, "/api/me", Some(fault)),
                    escape(mode.label()),
                    escape(fault.label()),
                    escape(fault.as_str()),
                ));
            }
        }
    }
    body.push_str("</ul>\n");
    page::html(StatusCode::OK, "e龙岩（沙箱）", &body)
}

/// `POST /sandbox/elongyan/AppSerController/invokeservice.do`: services 103 and 033 with the
/// exchange caller code and e-Longyan's user ids.
pub(crate) async fn invoke_service(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let answer = sandbox.elongyan.invoke(&body, clock::now());
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    page::json(&answer.body(&clock::btime()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEMO_ELONGYAN_SECRET, SignatureScheme, Sm4Mode};
    use crate::personas::{LEGAL_1, PERSONAL_1};

    fn demo() -> SandboxConfig {
        SandboxConfig::demo("http://127.0.0.1:8080/")
    }

    fn input<'a>(persona: &'a Persona, mode: Mode, fault: Option<Fault>) -> EntryInput<'a> {
        EntryInput {
            persona,
            mode,
            fault,
            target: "/policies/12",
            now_millis: 1_767_225_600_000,
            ticket: "0123456789abcdef0123456789abcdef",
            nonce: "00112233445566778899aabbccddeeff",
        }
    }

    fn as_map(params: &[(String, String)]) -> HashMap<&str, &str> {
        params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn ticket_entry_matches_the_openssl_vector() {
        let config = demo();
        let signer = Signer::new(&config.elongyan.signature).unwrap();
        let params = entry_params(
            &config.elongyan,
            &signer,
            &input(&PERSONAL_1, Mode::Ticket, None),
        )
        .unwrap();
        let names: Vec<_> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["appId", "ticket", "timestamp", "target", "sign"]);
        // HMAC-SM3 of the signing string, computed with `openssl mac -digest SM3` (see
        // signature.rs).
        assert_eq!(
            as_map(&params)["sign"],
            "1adbf644a587e731cea03361a9fdf8c32b9029ad7ff55ab24f6d54e7bd3ff347"
        );
        assert_eq!(
            entry_url(&config, &params),
            "http://127.0.0.1:8080/sso/elongyan/entry?appId=longyan-hub-demo\
             &ticket=0123456789abcdef0123456789abcdef&timestamp=1767225600000\
             &target=%2Fpolicies%2F12\
             &sign=1adbf644a587e731cea03361a9fdf8c32b9029ad7ff55ab24f6d54e7bd3ff347"
        );
    }

    #[test]
    fn signed_entry_for_a_person_without_encryption_matches_the_openssl_vector() {
        let mut config = demo();
        config.elongyan.sm4_key = None;
        let signer = Signer::new(&config.elongyan.signature).unwrap();
        let mut i = input(&PERSONAL_1, Mode::Signed, None);
        i.target = "/";
        let params = entry_params(&config.elongyan, &signer, &i).unwrap();
        let names: Vec<_> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "appId",
                "userId",
                "userName",
                "userType",
                "certType",
                "certNo",
                "timestamp",
                "nonce",
                "target",
                "sign"
            ]
        );
        let m = as_map(&params);
        assert_eq!(m["userName"], "张三");
        assert_eq!(m["certNo"], "350802199003070029");
        // The SIGNED_STRING vector of signature.rs: absent fields are empty in the string.
        assert_eq!(
            m["sign"],
            "e751aac473a45238ba392617796c66f41d6a8168b6f12eaf8c2162607eea9fc4"
        );
    }

    #[test]
    fn signed_entry_for_a_company_encrypts_and_signs_the_transmitted_values() {
        let mut config = demo();
        config.elongyan.signature = SignatureScheme::HmacSha256 {
            secret: DEMO_ELONGYAN_SECRET.into(),
        };
        let signer = Signer::new(&config.elongyan.signature).unwrap();
        let params = entry_params(
            &config.elongyan,
            &signer,
            &input(&LEGAL_1, Mode::Signed, None),
        )
        .unwrap();
        let m = as_map(&params);
        assert_eq!(m["userId"], "ely-l1");
        assert_eq!(m["userType"], "2");
        assert_eq!(m["userName"], "张三");
        assert_eq!(m["companyName"], "龙岩示例科技有限公司（测试）");
        assert_eq!(m["uscc"], "91350802MA2YLK3N0B");
        assert_eq!(m["agentName"], "张三");
        // `openssl enc -sm4-ecb` of the agent's number (see signature.rs).
        assert_eq!(m["certNo"], "dUpJg8EBrueDl1q9S9KASZQBnPtTsBNyLBr4fTbSRsg=");
        assert_eq!(
            m["agentCertNo"],
            "dUpJg8EBrueDl1q9S9KASZQBnPtTsBNyLBr4fTbSRsg="
        );
        let message = format!(
            "appId=longyan-hub-demo&userId=ely-l1&userName=张三&userType=2&certType=111\
             &certNo={c}&companyName=龙岩示例科技有限公司（测试）&uscc=91350802MA2YLK3N0B\
             &agentName=张三&agentCertNo={c}&timestamp=1767225600000\
             &nonce=00112233445566778899aabbccddeeff&target=/policies/12",
            c = "dUpJg8EBrueDl1q9S9KASZQBnPtTsBNyLBr4fTbSRsg="
        );
        assert_eq!(m["sign"], signer.sign_encoded(&message).unwrap());
    }

    #[test]
    fn cbc_values_carry_their_iv() {
        let mut config = demo();
        config.elongyan.sm4_mode = Sm4Mode::Cbc;
        let signer = Signer::new(&config.elongyan.signature).unwrap();
        let params = entry_params(
            &config.elongyan,
            &signer,
            &input(&PERSONAL_1, Mode::Signed, None),
        )
        .unwrap();
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(as_map(&params)["certNo"])
            .unwrap();
        assert_eq!(raw.len(), 16 + 32);
    }

    #[test]
    fn faults_alter_the_signature_or_the_timestamp() {
        let config = demo();
        let signer = Signer::new(&config.elongyan.signature).unwrap();
        let good = entry_params(
            &config.elongyan,
            &signer,
            &input(&PERSONAL_1, Mode::Ticket, None),
        )
        .unwrap();
        let bad = entry_params(
            &config.elongyan,
            &signer,
            &input(&PERSONAL_1, Mode::Ticket, Some(Fault::BadSignature)),
        )
        .unwrap();
        let (g, b) = (as_map(&good), as_map(&bad));
        assert_ne!(g["sign"], b["sign"]);
        assert_eq!(g["sign"].len(), b["sign"].len());
        assert_eq!(g["timestamp"], b["timestamp"]);

        let stale = entry_params(
            &config.elongyan,
            &signer,
            &input(&PERSONAL_1, Mode::Ticket, Some(Fault::StaleTimestamp)),
        )
        .unwrap();
        let s = as_map(&stale);
        assert_eq!(s["timestamp"], "1767225000000");
        let message = "appId=longyan-hub-demo&ticket=0123456789abcdef0123456789abcdef\
             &timestamp=1767225000000&target=/policies/12";
        assert_eq!(s["sign"], signer.sign_encoded(message).unwrap());
    }

    #[test]
    fn modes_allow_their_faults() {
        for f in Fault::ALL {
            assert!(Mode::Ticket.allows(f));
        }
        assert!(Mode::Signed.allows(Fault::BadSignature));
        assert!(Mode::Signed.allows(Fault::StaleTimestamp));
        assert!(!Mode::Signed.allows(Fault::Fail103));
    }
}
