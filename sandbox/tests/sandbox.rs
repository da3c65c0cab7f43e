//! The simulators over real HTTP: `router(SandboxConfig::demo(…))` on an ephemeral loopback
//! port, driven as the hub and a browser would. Signatures and ciphertexts are checked here with
//! the primitive crates directly, not with the sandbox's own signing code.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit as _, Mac as _};
use sandbox::personas::{LEGAL_1, PERSONAL_1, PERSONAL_2, PERSONAS, Persona};
use sandbox::{
    DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, DEMO_ELONGYAN_SECRET, DEMO_ELONGYAN_SM4_KEY,
    DEMO_FUJIAN_CALLER_CODE as CODE, ELONGYAN_EXCHANGE_PATH, FUJIAN_EXCHANGE_PATH, SandboxConfig,
    SignatureScheme, Sm4Mode,
};
use serde_json::{Value, json};

const HUB: &str = "http://hub.test:8080";
const CB: &str = "http://hub.test:8080/sso/fujian/callback?state=s%2B1";

struct Sandbox {
    base: String,
    http: reqwest::Client,
}

async fn start(config: SandboxConfig) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, sandbox::router(config))
            .await
            .unwrap();
    });
    Sandbox {
        base: format!("http://{addr}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

async fn demo() -> Sandbox {
    start(SandboxConfig::demo(HUB)).await
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn location(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), 302, "expected a redirect");
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// The query parameters of a URL, in order.
fn query_of(u: &str) -> Vec<(String, String)> {
    url::Url::parse(u)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(u: &str, name: &str) -> Option<String> {
    query_of(u)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn session_cookie(res: &reqwest::Response) -> String {
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("Path=/sandbox/fujian/"), "{set}");
    assert!(set.contains("HttpOnly"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

async fn body(res: reqwest::Response) -> String {
    res.text().await.unwrap()
}

impl Sandbox {
    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path_and_query}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn get_with_cookie(&self, path_and_query: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path_and_query}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn login(&self, persona: &str, fault: Option<&str>) -> reqwest::Response {
        let mut q = format!(
            "/sandbox/fujian/dataset/UnifiedController/goLogin.do?returnurl={}&callerCode={CODE}&persona={persona}",
            enc(CB)
        );
        if let Some(f) = fault {
            q.push_str(&format!("&fault={f}"));
        }
        self.get(&q).await
    }

    /// A ticket from the login shortcut.
    async fn ticket(&self, persona: &str, fault: Option<&str>) -> String {
        let res = self.login(persona, fault).await;
        param(&location(&res), "trustticket").unwrap()
    }

    async fn invoke_at(&self, path: &str, request: &Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .form(&[("POSTPARAM_JSON", request.to_string())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let v: Value = res.json().await.unwrap();
        assert_answer_shape(&v);
        v
    }

    async fn invoke(&self, request: &Value) -> Value {
        self.invoke_at(FUJIAN_EXCHANGE_PATH, request).await
    }

    async fn call_103(&self, ticket: &str) -> Value {
        self.invoke(&json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": CODE, "TRUST_TICKET": ticket}))
            .await
    }

    async fn call_033(&self, user_id: &str, token: &str) -> Value {
        self.invoke(&json!({"INVOKESERVICE_CODE": "033", "INVOKECALLER_CODE": CODE, "USER_ID": user_id, "USER_TOKEN": token}))
            .await
    }
}

/// `{"success","data","msg","INVOKELOG_BTIME":"yyyy-MM-dd HH:mm:ss"}` and nothing else.
fn assert_answer_shape(v: &Value) {
    let obj = v.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["INVOKELOG_BTIME", "data", "msg", "success"]);
    assert!(v["success"].is_boolean());
    let t = v["INVOKELOG_BTIME"].as_str().unwrap();
    assert_eq!(t.len(), 19, "{t}");
    for (i, c) in t.chars().enumerate() {
        match i {
            4 | 7 => assert_eq!(c, '-'),
            10 => assert_eq!(c, ' '),
            13 | 16 => assert_eq!(c, ':'),
            _ => assert!(c.is_ascii_digit(), "{t}"),
        }
    }
}

fn refused(v: &Value, msg: &str) {
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["data"], Value::Null);
    assert_eq!(v["msg"], msg);
}

/// The 033 profile of each persona, written out in full.
fn expected_profile(p: &Persona, user_id: &str) -> Value {
    let mut v = match p.id {
        "personal-1" => json!({
            "USER_ACCOUNT": "zhangsan", "USER_NAME": "张三", "USER_IDCARD": "350802199003070029",
            "CARD_TYPE": "111", "USER_TYPE": "1", "USER_MOBILE": "13800000001",
            "USER_EMAIL": "zhangsan@example.invalid", "USER_AUTHLEVEL": "3", "LOGIN_TYPE": "1",
            "LEGALPERSON_IDNUM": null, "LEGALPERSON_COMPANYNAME": null, "LEGALPERSON_NAME": null,
            "LEGALPERSON_IDCARD": null, "LEGALPERSON_JBRNAME": null, "LEGALPERSON_JBRIDCARD": null,
            "LEGALPERSON_JBRSJH": null,
        }),
        "personal-2" => json!({
            "USER_ACCOUNT": "lisi", "USER_NAME": "李四", "USER_IDCARD": "350801198511120044",
            "CARD_TYPE": "111", "USER_TYPE": "1", "USER_MOBILE": "13800000002",
            "USER_EMAIL": "lisi@example.invalid", "USER_AUTHLEVEL": "3", "LOGIN_TYPE": "1",
            "LEGALPERSON_IDNUM": null, "LEGALPERSON_COMPANYNAME": null, "LEGALPERSON_NAME": null,
            "LEGALPERSON_IDCARD": null, "LEGALPERSON_JBRNAME": null, "LEGALPERSON_JBRIDCARD": null,
            "LEGALPERSON_JBRSJH": null,
        }),
        "legal-1" => json!({
            "USER_ACCOUNT": "longyan-demo-tech", "USER_TYPE": "2", "USER_NAME": "张三",
            "USER_IDCARD": "350802199003070029", "CARD_TYPE": "111",
            "USER_MOBILE": null, "USER_EMAIL": null, "USER_AUTHLEVEL": null, "LOGIN_TYPE": null,
            "LEGALPERSON_IDNUM": "91350802MA2YLK3N0B",
            "LEGALPERSON_COMPANYNAME": "龙岩示例科技有限公司（测试）",
            "LEGALPERSON_NAME": "王五", "LEGALPERSON_IDCARD": "350821197805210011",
            "LEGALPERSON_JBRNAME": "张三", "LEGALPERSON_JBRIDCARD": "350802199003070029",
            "LEGALPERSON_JBRSJH": "13800000001",
        }),
        other => panic!("unknown persona {other}"),
    };
    v["USER_ID"] = json!(user_id);
    v["CERTS_EFFECTDATE"] = Value::Null;
    v["CERTS_VALIDDATE"] = Value::Null;
    v["IS_SM4ENCRY"] = json!("0");
    v["SWB_ISSM3"] = json!("0");
    v
}

// ---------------------------------------------------------------- provincial platform

#[tokio::test]
async fn fujian_login_shortcut_then_103_then_033_for_each_persona() {
    let sb = demo().await;
    for (p, user_id) in [
        (&PERSONAL_1, "sandbox-p1"),
        (&PERSONAL_2, "sandbox-p2"),
        (&LEGAL_1, "sandbox-l1"),
    ] {
        let res = sb.login(p.id, None).await;
        let loc = location(&res);
        session_cookie(&res);
        assert_eq!(res.headers()["cache-control"], "no-store");
        // The callback comes back byte for byte, with the ticket appended after its query.
        assert!(loc.starts_with(&format!("{CB}&trustticket=")), "{loc}");
        assert!(loc.ends_with("&loginflag=true"), "{loc}");
        let ticket = param(&loc, "trustticket").unwrap();
        assert!(ticket.len() >= 32 && ticket.bytes().all(|b| b.is_ascii_hexdigit()));

        let a = sb.call_103(&ticket).await;
        assert_eq!(a["success"], true, "{a}");
        assert_eq!(a["msg"], Value::Null);
        let data = a["data"].as_object().unwrap();
        let mut keys: Vec<_> = data.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["USER_ID", "USER_TOKEN"]);
        assert_eq!(data["USER_ID"], user_id);
        let token = data["USER_TOKEN"].as_str().unwrap();
        assert!(token.len() >= 32);

        let profile = sb.call_033(user_id, token).await;
        assert_eq!(profile["success"], true, "{profile}");
        assert_eq!(profile["data"], expected_profile(p, user_id), "{}", p.id);
    }
}

#[tokio::test]
async fn fujian_ticket_is_single_use() {
    let sb = demo().await;
    let ticket = sb.ticket("personal-1", None).await;
    assert_eq!(sb.call_103(&ticket).await["success"], true);
    refused(&sb.call_103(&ticket).await, "票据无效或已过期");
    refused(
        &sb.call_103("00000000000000000000000000000000").await,
        "票据无效或已过期",
    );
}

#[tokio::test]
async fn fujian_ticket_expires_after_its_ttl() {
    let mut config = SandboxConfig::demo(HUB);
    config.fujian.ticket_ttl = Duration::from_millis(200);
    let sb = start(config).await;
    let ticket = sb.ticket("personal-2", None).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    refused(&sb.call_103(&ticket).await, "票据无效或已过期");
}

#[tokio::test]
async fn fujian_token_is_bound_to_its_user() {
    let sb = demo().await;
    let ticket = sb.ticket("personal-1", None).await;
    let a = sb.call_103(&ticket).await;
    let token = a["data"]["USER_TOKEN"].as_str().unwrap().to_owned();
    refused(
        &sb.call_033("sandbox-p2", &token).await,
        "用户令牌无效或已过期",
    );
    refused(
        &sb.call_033("sandbox-p1", "x").await,
        "用户令牌无效或已过期",
    );
    // The token is not single use.
    assert_eq!(sb.call_033("sandbox-p1", &token).await["success"], true);
    assert_eq!(sb.call_033("sandbox-p1", &token).await["success"], true);
}

#[tokio::test]
async fn fujian_back_channel_refusals() {
    let sb = demo().await;
    let ticket = sb.ticket("personal-1", None).await;
    let wrong = sb
        .invoke(&json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": "0000000000000000000000000000000000000000", "TRUST_TICKET": ticket}))
        .await;
    refused(&wrong, "调用方编码无效");
    // The refused call did not consume the ticket.
    assert_eq!(sb.call_103(&ticket).await["success"], true);

    let unknown = sb
        .invoke(&json!({"INVOKESERVICE_CODE": "999", "INVOKECALLER_CODE": CODE}))
        .await;
    refused(&unknown, "不支持的服务编码");

    for raw in ["", "POSTPARAM_JSON=%7Bnope", "POSTPARAM_JSON=42", "other=1"] {
        let res = sb
            .http
            .post(format!("{}{FUJIAN_EXCHANGE_PATH}", sb.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        assert_answer_shape(&v);
        assert_eq!(v["success"], false, "{raw}");
        assert!(v["msg"].as_str().unwrap().contains("POSTPARAM_JSON"));
    }

    // e-Longyan's exchange does not know the provincial platform's tickets or caller code.
    let ticket = sb.ticket("personal-1", None).await;
    let v = sb
        .invoke_at(
            ELONGYAN_EXCHANGE_PATH,
            &json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, "TRUST_TICKET": ticket}),
        )
        .await;
    refused(&v, "票据无效或已过期");
    let v = sb
        .invoke_at(
            ELONGYAN_EXCHANGE_PATH,
            &json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": CODE, "TRUST_TICKET": ticket}),
        )
        .await;
    refused(&v, "调用方编码无效");
}

#[tokio::test]
async fn fujian_check_login_status_with_and_without_session() {
    let sb = demo().await;
    let check = format!(
        "/sandbox/fujian/dataset/UnifiedController/checkLoginStatus.do?checkbackurl={}&callerCode={CODE}",
        enc(CB)
    );
    // No session: back with loginflag=false and no ticket.
    let res = sb.get(&check).await;
    assert_eq!(location(&res), format!("{CB}&loginflag=false"));

    // A callback without a query gets `?`.
    let res = sb
        .get(&format!(
            "/sandbox/fujian/dataset/UnifiedController/checkLoginStatus.do?checkbackurl={}&callerCode={CODE}",
            enc("http://hub.test/cb")
        ))
        .await;
    assert_eq!(location(&res), "http://hub.test/cb?loginflag=false");

    // After a sign-in, the silent check issues a fresh ticket for the same persona.
    let login = sb.login("legal-1", None).await;
    let cookie = session_cookie(&login);
    let first = param(&location(&login), "trustticket").unwrap();
    let res = sb.get_with_cookie(&check, &cookie).await;
    let loc = location(&res);
    assert!(loc.starts_with(&format!("{CB}&trustticket=")), "{loc}");
    assert!(loc.ends_with("&loginflag=true"), "{loc}");
    let second = param(&loc, "trustticket").unwrap();
    assert_ne!(first, second);
    let a = sb.call_103(&second).await;
    assert_eq!(a["data"]["USER_ID"], "sandbox-l1");

    // An unknown session id is no session.
    let res = sb
        .get_with_cookie(&check, "SANDBOX_FJ_SESSION=0123456789abcdef")
        .await;
    assert_eq!(location(&res), format!("{CB}&loginflag=false"));

    // Logout ends the session and clears the cookie.
    let res = sb
        .get_with_cookie(
            &format!(
                "/sandbox/fujian/dataset/UnifiedController/goUserCenter.do?uitype=5&callerCode={CODE}&returnurl={}",
                enc("http://hub.test/")
            ),
            &cookie,
        )
        .await;
    assert_eq!(location(&res), "http://hub.test/");
    let cleared = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("SANDBOX_FJ_SESSION=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"));
    let res = sb.get_with_cookie(&check, &cookie).await;
    assert_eq!(location(&res), format!("{CB}&loginflag=false"));
}

#[tokio::test]
async fn fujian_wrong_caller_code_gets_a_chinese_error_page() {
    let sb = demo().await;
    for path in [
        "checkLoginStatus.do?checkbackurl=http%3A%2F%2Fhub.test%2Fcb&callerCode=bad",
        "goLogin.do?returnurl=http%3A%2F%2Fhub.test%2Fcb&callerCode=bad",
        "goLogin.do?returnurl=http%3A%2F%2Fhub.test%2Fcb&callerCode=bad&persona=personal-1",
        "goLogin.do?returnurl=http%3A%2F%2Fhub.test%2Fcb",
        "goUserCenter.do?uitype=5&returnurl=http%3A%2F%2Fhub.test%2F",
    ] {
        let res = sb
            .get(&format!("/sandbox/fujian/dataset/UnifiedController/{path}"))
            .await;
        assert_eq!(res.status(), 400, "{path}");
        assert!(res.headers().get("set-cookie").is_none());
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = body(res).await;
        assert!(html.contains("调用方编码（callerCode）无效"), "{html}");
        assert!(!html.contains(CODE));
    }
}

#[tokio::test]
async fn fujian_login_page_lists_personas_in_a_plain_form() {
    let sb = demo().await;
    let hostile = "http://hub.test/cb?x=\"><script>alert(1)</script>";
    let res = sb
        .get(&format!(
            "/sandbox/fujian/dataset/UnifiedController/goLogin.do?returnurl={}&callerCode={CODE}",
            enc(hostile)
        ))
        .await;
    assert_eq!(res.status(), 200);
    // A policy of its own: no scripts, and its form may end at the application's callback on
    // another site (the hub's default allows forms to its own origin only).
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self' http: https:"), "{csp}");
    let html = body(res).await;
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("<title>福建省统一身份认证平台（沙箱）</title>"));
    assert!(html.contains(
        "<form method=\"post\" action=\"/sandbox/fujian/dataset/UnifiedController/doLogin\">"
    ));
    for p in PERSONAS {
        assert!(
            html.contains(&format!("name=\"persona\" value=\"{}\"", p.id)),
            "{}",
            p.id
        );
    }
    assert!(html.contains("<option value=\"fail-103\">"));
    // The hostile return URL is printed escaped, and nothing active is on the page.
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("style"));
    // Certificate numbers are masked even on the sandbox's page.
    assert!(!html.contains("350802199003070029"));
}

#[tokio::test]
async fn fujian_login_form_post() {
    let sb = demo().await;
    let res = sb
        .http
        .post(format!(
            "{}/sandbox/fujian/dataset/UnifiedController/doLogin",
            sb.base
        ))
        .form(&[("persona", "personal-2"), ("returnurl", CB), ("fault", "")])
        .send()
        .await
        .unwrap();
    let loc = location(&res);
    session_cookie(&res);
    let ticket = param(&loc, "trustticket").unwrap();
    assert_eq!(param(&loc, "loginflag").as_deref(), Some("true"));
    assert_eq!(sb.call_103(&ticket).await["data"]["USER_ID"], "sandbox-p2");

    let res = sb
        .http
        .post(format!(
            "{}/sandbox/fujian/dataset/UnifiedController/doLogin",
            sb.base
        ))
        .form(&[("persona", "nobody"), ("returnurl", CB)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(body(res).await.contains("未知的测试身份"));
}

#[tokio::test]
async fn fujian_unknown_persona_or_fault_is_refused() {
    let sb = demo().await;
    let res = sb.login("nobody", None).await;
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("set-cookie").is_none());
    assert!(body(res).await.contains("未知的测试身份：nobody"));
    let res = sb.login("personal-1", Some("bad-signature")).await;
    assert_eq!(res.status(), 400);
    assert!(body(res).await.contains("未知的故障类型"));
}

#[tokio::test]
async fn fujian_faults() {
    let mut config = SandboxConfig::demo(HUB);
    config.slow_delay = Duration::from_millis(300);
    let sb = start(config).await;

    let t = sb.ticket("personal-1", Some("expired-ticket")).await;
    refused(&sb.call_103(&t).await, "票据无效或已过期");

    let t = sb.ticket("personal-1", Some("fail-103")).await;
    let v = sb.call_103(&t).await;
    assert_eq!(v["success"], false);
    assert!(v["msg"].as_str().unwrap().contains("沙箱模拟故障"));

    let t = sb.ticket("legal-1", Some("fail-033")).await;
    let a = sb.call_103(&t).await;
    assert_eq!(a["success"], true);
    let token = a["data"]["USER_TOKEN"].as_str().unwrap();
    let v = sb.call_033("sandbox-l1", token).await;
    assert_eq!(v["success"], false);
    assert!(v["msg"].as_str().unwrap().contains("获取用户信息失败"));

    let t = sb.ticket("personal-2", Some("slow")).await;
    let started = Instant::now();
    let a = sb.call_103(&t).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(a["success"], true);
    let started = Instant::now();
    let v = sb
        .call_033("sandbox-p2", a["data"]["USER_TOKEN"].as_str().unwrap())
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["data"]["USER_NAME"], "李四");

    // The faults rode with their sign-in only: the session's next ticket is clean.
    let login = sb.login("personal-1", Some("fail-103")).await;
    let cookie = session_cookie(&login);
    let res = sb
        .get_with_cookie(
            &format!(
                "/sandbox/fujian/dataset/UnifiedController/checkLoginStatus.do?checkbackurl={}&callerCode={CODE}",
                enc(CB)
            ),
            &cookie,
        )
        .await;
    let t = param(&location(&res), "trustticket").unwrap();
    assert_eq!(sb.call_103(&t).await["success"], true);
}

#[tokio::test]
async fn fujian_registration_and_user_centre_pages() {
    let sb = demo().await;
    let res = sb
        .get("/sandbox/fujian/dataset/UnifiedController/goRegist.do?returnurl=&callerCode=")
        .await;
    assert_eq!(res.status(), 200);
    assert!(body(res).await.contains("沙箱环境不提供用户注册"));
    let res = sb
        .get(
            "/sandbox/fujian/dataset/UnifiedController/goRegist.do?returnurl=javascript%3Aalert(1)",
        )
        .await;
    assert!(!body(res).await.contains("javascript:"));
    let res = sb
        .get(&format!(
            "/sandbox/fujian/dataset/UnifiedController/goUserCenter.do?uitype=1&callerCode={CODE}&returnurl=x"
        ))
        .await;
    assert_eq!(res.status(), 400);
}

// ---------------------------------------------------------------- e-Longyan

/// The hub's side of the signing string, written independently of the sandbox.
fn signing_string(params: &[(String, String)], fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| {
            let v = params
                .iter()
                .find(|(k, _)| k == f)
                .map_or("", |(_, v)| v.as_str());
            format!("{f}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn hmac_sm3_hex(secret: &str, message: &str) -> String {
    let mut mac = hmac::Hmac::<sm3::Sm3>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn hmac_sha256_hex(secret: &str, message: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn sm4_decrypt(value: &str, mode: Sm4Mode) -> String {
    use ecb::cipher::block_padding::Pkcs7;
    use ecb::cipher::{BlockModeDecrypt as _, KeyInit as _, KeyIvInit as _};
    let data = BASE64.decode(value).unwrap();
    let clear = match mode {
        Sm4Mode::Ecb => ecb::Decryptor::<sm4::Sm4>::new((&DEMO_ELONGYAN_SM4_KEY).into())
            .decrypt_padded_vec::<Pkcs7>(&data)
            .unwrap(),
        Sm4Mode::Cbc => {
            let (iv, ct) = data.split_at(16);
            cbc::Decryptor::<sm4::Sm4>::new((&DEMO_ELONGYAN_SM4_KEY).into(), iv.try_into().unwrap())
                .decrypt_padded_vec::<Pkcs7>(ct)
                .unwrap()
        }
    };
    String::from_utf8(clear).unwrap()
}

const TICKET_FIELDS: [&str; 4] = ["appId", "ticket", "timestamp", "target"];
const SIGNED_FIELDS: [&str; 13] = [
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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Follows a jump and returns the entry URL's parameters, checking where it points.
async fn jump(sb: &Sandbox, query: &str) -> Vec<(String, String)> {
    let res = sb.get(&format!("/sandbox/elongyan/jump?{query}")).await;
    let loc = location(&res);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let u = url::Url::parse(&loc).unwrap();
    assert_eq!(
        format!("{}://{}", u.scheme(), u.host_str().unwrap()),
        "http://hub.test"
    );
    assert_eq!(u.port(), Some(8080));
    assert_eq!(u.path(), "/sso/elongyan/entry");
    // Strict encoding: nothing but unreserved characters and escapes in the query.
    assert!(
        u.query()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%=&".contains(&b)),
        "{loc}"
    );
    query_of(&loc)
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no `{name}` in {params:?}"))
}

fn names(params: &[(String, String)]) -> Vec<&str> {
    params.iter().map(|(k, _)| k.as_str()).collect()
}

#[tokio::test]
async fn elongyan_ticket_jump_verifies_and_exchanges() {
    let sb = demo().await;
    for (p, user_id) in [
        (&PERSONAL_1, "ely-p1"),
        (&PERSONAL_2, "ely-p2"),
        (&LEGAL_1, "ely-l1"),
    ] {
        let params = jump(
            &sb,
            &format!(
                "persona={}&target=%2Fpolicies%2F12%3Fx%3D1&mode=ticket",
                p.id
            ),
        )
        .await;
        assert_eq!(
            names(&params),
            ["appId", "ticket", "timestamp", "target", "sign"]
        );
        assert_eq!(get(&params, "appId"), "longyan-hub-demo");
        assert_eq!(get(&params, "target"), "/policies/12?x=1");
        let ts: i64 = get(&params, "timestamp").parse().unwrap();
        assert!((now_ms() - ts).abs() < 5_000);
        assert_eq!(
            get(&params, "sign"),
            hmac_sm3_hex(
                DEMO_ELONGYAN_SECRET,
                &signing_string(&params, &TICKET_FIELDS)
            )
        );

        let ticket = get(&params, "ticket");
        let a = sb
            .invoke_at(
                ELONGYAN_EXCHANGE_PATH,
                &json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, "TRUST_TICKET": ticket}),
            )
            .await;
        assert_eq!(a["success"], true, "{a}");
        assert_eq!(a["data"]["USER_ID"], user_id);
        let token = a["data"]["USER_TOKEN"].as_str().unwrap();
        let profile = sb
            .invoke_at(
                ELONGYAN_EXCHANGE_PATH,
                &json!({"INVOKESERVICE_CODE": "033", "INVOKECALLER_CODE": DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, "USER_ID": user_id, "USER_TOKEN": token}),
            )
            .await;
        assert_eq!(profile["data"], expected_profile(p, user_id));
        // Single use.
        let again = sb
            .invoke_at(
                ELONGYAN_EXCHANGE_PATH,
                &json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, "TRUST_TICKET": ticket}),
            )
            .await;
        refused(&again, "票据无效或已过期");
        // Nor does the provincial exchange know e-Longyan's tickets.
        let t = get(
            &jump(&sb, &format!("persona={}&target=%2F&mode=ticket", p.id)).await,
            "ticket",
        )
        .to_owned();
        refused(&sb.call_103(&t).await, "票据无效或已过期");
    }
}

#[tokio::test]
async fn elongyan_signed_jump_for_a_person() {
    let sb = demo().await;
    let params = jump(&sb, "persona=personal-2&target=%2F&mode=signed").await;
    assert_eq!(
        names(&params),
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
    assert_eq!(get(&params, "userId"), "ely-p2");
    assert_eq!(get(&params, "userName"), "李四");
    assert_eq!(get(&params, "userType"), "1");
    assert_eq!(get(&params, "certType"), "111");
    assert_eq!(
        sm4_decrypt(get(&params, "certNo"), Sm4Mode::Ecb),
        "350801198511120044"
    );
    assert!(get(&params, "nonce").len() >= 16);
    assert_eq!(
        get(&params, "sign"),
        hmac_sm3_hex(
            DEMO_ELONGYAN_SECRET,
            &signing_string(&params, &SIGNED_FIELDS)
        )
    );
    // A new nonce each time.
    let again = jump(&sb, "persona=personal-2&target=%2F&mode=signed").await;
    assert_ne!(get(&params, "nonce"), get(&again, "nonce"));
}

#[tokio::test]
async fn elongyan_signed_jump_for_a_company_carries_the_agent() {
    let sb = demo().await;
    let params = jump(&sb, "persona=legal-1&target=%2Fapi%2Fme&mode=signed").await;
    assert_eq!(names(&params).len(), 14);
    assert_eq!(get(&params, "userId"), "ely-l1");
    assert_eq!(get(&params, "userType"), "2");
    assert_eq!(get(&params, "userName"), "张三");
    assert_eq!(get(&params, "companyName"), "龙岩示例科技有限公司（测试）");
    assert_eq!(get(&params, "uscc"), "91350802MA2YLK3N0B");
    assert_eq!(get(&params, "agentName"), "张三");
    assert_eq!(
        sm4_decrypt(get(&params, "certNo"), Sm4Mode::Ecb),
        "350802199003070029"
    );
    assert_eq!(
        sm4_decrypt(get(&params, "agentCertNo"), Sm4Mode::Ecb),
        "350802199003070029"
    );
    assert_eq!(get(&params, "target"), "/api/me");
    assert_eq!(
        get(&params, "sign"),
        hmac_sm3_hex(
            DEMO_ELONGYAN_SECRET,
            &signing_string(&params, &SIGNED_FIELDS)
        )
    );
}

#[tokio::test]
async fn elongyan_hmac_sha256_and_cbc() {
    let mut config = SandboxConfig::demo(&format!("{HUB}/"));
    config.elongyan.signature = SignatureScheme::HmacSha256 {
        secret: "another-shared-secret".into(),
    };
    config.elongyan.sm4_mode = Sm4Mode::Cbc;
    let sb = start(config).await;
    let params = jump(&sb, "persona=legal-1&mode=signed").await;
    assert_eq!(get(&params, "target"), "/");
    assert_eq!(
        sm4_decrypt(get(&params, "agentCertNo"), Sm4Mode::Cbc),
        "350802199003070029"
    );
    assert_eq!(
        get(&params, "sign"),
        hmac_sha256_hex(
            "another-shared-secret",
            &signing_string(&params, &SIGNED_FIELDS)
        )
    );
    // Without a key nothing is encrypted.
    let mut config = SandboxConfig::demo(HUB);
    config.elongyan.sm4_key = None;
    let sb = start(config).await;
    let params = jump(&sb, "persona=legal-1&mode=signed").await;
    assert_eq!(get(&params, "certNo"), "350802199003070029");
}

/// A throw-away SM2 key made for these tests with `openssl genpkey -algorithm SM2`.
const SM2_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQgTQn3LE1oCQFWjrx2
yHfH72NSCJbQmJeNM5w6qhqm+BKhRANCAAT73+7NyVvytI3aNhH+5q1vE7qkKPd0
9pGTitNJewI1xSfoFXRC87wVy4Xot6Vk1gHS2dccVRsUEVF8/WoZX5w6
-----END PRIVATE KEY-----
";
const SM2_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE+9/uzclb8rSN2jYR/uatbxO6pCj3
dPaRk4rTSXsCNcUn6BV0QvO8FcuF6LelZNYB0tnXHFUbFBFRfP1qGV+cOg==
-----END PUBLIC KEY-----
";

fn sm2_verifies(message: &str, sign: &str) -> bool {
    use sm2::dsa::signature::Verifier as _;
    use sm2::pkcs8::DecodePublicKey as _;
    let public = sm2::PublicKey::from_public_key_pem(SM2_PUBLIC_PEM).unwrap();
    let key = sm2::dsa::VerifyingKey::new("1234567812345678", public).unwrap();
    let Ok(der) = BASE64.decode(sign) else {
        return false;
    };
    let Ok(signature) = sm2::dsa::Signature::from_der(&der) else {
        return false;
    };
    key.verify(message.as_bytes(), &signature).is_ok()
}

#[tokio::test]
async fn elongyan_sm2_signatures_verify_with_the_public_key() {
    let mut config = SandboxConfig::demo(HUB);
    config.elongyan.signature = SignatureScheme::Sm2 {
        private_key_pem: SM2_PRIVATE_PEM.into(),
    };
    let sb = start(config).await;
    for (mode, fields) in [
        ("ticket", &TICKET_FIELDS[..]),
        ("signed", &SIGNED_FIELDS[..]),
    ] {
        let params = jump(&sb, &format!("persona=legal-1&target=%2F&mode={mode}")).await;
        let message = signing_string(&params, fields);
        assert!(sm2_verifies(&message, get(&params, "sign")), "{mode}");
        let bad = jump(
            &sb,
            &format!("persona=legal-1&target=%2F&mode={mode}&fault=bad-signature"),
        )
        .await;
        let message = signing_string(&bad, fields);
        assert!(!sm2_verifies(&message, get(&bad, "sign")), "{mode}");
    }
}

#[tokio::test]
async fn elongyan_bad_sm2_key_gives_an_error_page() {
    let mut config = SandboxConfig::demo(HUB);
    config.elongyan.signature = SignatureScheme::Sm2 {
        private_key_pem: "garbage".into(),
    };
    assert!(config.validate().is_err());
    let sb = start(config).await;
    let res = sb
        .get("/sandbox/elongyan/jump?persona=personal-1&mode=signed")
        .await;
    assert_eq!(res.status(), 500);
    assert!(body(res).await.contains("签名配置无效"));
}

#[tokio::test]
async fn elongyan_faults() {
    let mut config = SandboxConfig::demo(HUB);
    config.slow_delay = Duration::from_millis(300);
    let sb = start(config).await;
    let exchange = |t: &str| json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, "TRUST_TICKET": t});

    for mode in ["ticket", "signed"] {
        let fields: &[&str] = if mode == "ticket" {
            &TICKET_FIELDS
        } else {
            &SIGNED_FIELDS
        };
        let bad = jump(
            &sb,
            &format!("persona=personal-1&target=%2F&mode={mode}&fault=bad-signature"),
        )
        .await;
        let sign = get(&bad, "sign");
        let right = hmac_sm3_hex(DEMO_ELONGYAN_SECRET, &signing_string(&bad, fields));
        assert_ne!(sign, right);
        assert_eq!(sign.len(), right.len());

        let stale = jump(
            &sb,
            &format!("persona=personal-1&target=%2F&mode={mode}&fault=stale-timestamp"),
        )
        .await;
        let age = now_ms() - get(&stale, "timestamp").parse::<i64>().unwrap();
        assert!((595_000..605_000).contains(&age), "{age}");
        // Stale, but correctly signed.
        assert_eq!(
            get(&stale, "sign"),
            hmac_sm3_hex(DEMO_ELONGYAN_SECRET, &signing_string(&stale, fields))
        );
    }

    let p = jump(&sb, "persona=personal-1&mode=ticket&fault=expired-ticket").await;
    let v = sb
        .invoke_at(ELONGYAN_EXCHANGE_PATH, &exchange(get(&p, "ticket")))
        .await;
    refused(&v, "票据无效或已过期");

    let p = jump(&sb, "persona=personal-1&mode=ticket&fault=fail-103").await;
    let v = sb
        .invoke_at(ELONGYAN_EXCHANGE_PATH, &exchange(get(&p, "ticket")))
        .await;
    assert_eq!(v["success"], false);

    let p = jump(&sb, "persona=personal-1&mode=ticket&fault=fail-033").await;
    let a = sb
        .invoke_at(ELONGYAN_EXCHANGE_PATH, &exchange(get(&p, "ticket")))
        .await;
    let v = sb
        .invoke_at(
            ELONGYAN_EXCHANGE_PATH,
            &json!({"INVOKESERVICE_CODE": "033", "INVOKECALLER_CODE": DEMO_ELONGYAN_EXCHANGE_CALLER_CODE, "USER_ID": "ely-p1", "USER_TOKEN": a["data"]["USER_TOKEN"]}),
        )
        .await;
    assert_eq!(v["success"], false);

    let p = jump(&sb, "persona=personal-1&mode=ticket&fault=slow").await;
    let started = Instant::now();
    let v = sb
        .invoke_at(ELONGYAN_EXCHANGE_PATH, &exchange(get(&p, "ticket")))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["success"], true);

    // Exchange faults make no sense without a ticket; unknown values are refused.
    for q in [
        "persona=personal-1&mode=signed&fault=fail-103",
        "persona=personal-1&mode=ticket&fault=nope",
        "persona=nobody&mode=ticket",
        "persona=personal-1&mode=saml",
    ] {
        let res = sb.get(&format!("/sandbox/elongyan/jump?{q}")).await;
        assert_eq!(res.status(), 400, "{q}");
    }
}

#[tokio::test]
async fn elongyan_portal_links_every_persona_and_mode() {
    let sb = demo().await;
    for path in ["/sandbox/elongyan/", "/sandbox/elongyan"] {
        let res = sb.get(path).await;
        assert_eq!(res.status(), 200);
        let html = body(res).await;
        assert!(html.contains("<title>e龙岩（沙箱）</title>"));
        assert!(!html.contains("<script"));
        for p in PERSONAS {
            for mode in ["ticket", "signed"] {
                let href = format!(
                    "href=\"/sandbox/elongyan/jump?persona={}&amp;target=%2F&amp;mode={mode}\"",
                    p.id
                );
                assert!(html.contains(&href), "{href}");
            }
        }
    }
}

#[tokio::test]
async fn the_router_merges_into_another_app() {
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "hub" }))
        .merge(sandbox::router(SandboxConfig::demo(HUB)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let hub = http.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(hub.text().await.unwrap(), "hub");
    let res = http
        .get(format!("http://{addr}/sandbox/elongyan/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
