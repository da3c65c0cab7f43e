//! The ticket exchange back channel both platforms speak (PROTOCOLS.md §1):
//! `POST …/AppSerController/invokeservice.do` with one form field `POSTPARAM_JSON`; service
//! `103` turns a single-use trust ticket into `USER_ID` + `USER_TOKEN`, service `033` turns those
//! into the profile. Every answer is HTTP 200 with
//! `{"success","data","msg","INVOKELOG_BTIME"}`, failures `success:false` with a Chinese `msg`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::Error;
use crate::fault::Fault;
use crate::personas::Persona;
use crate::store::{Expiring, TICKET_BYTES, TOKEN_BYTES};

/// How long a user token from service 103 stays valid.
pub(crate) const TOKEN_TTL: Duration = Duration::from_secs(600);

pub(crate) const MSG_BAD_REQUEST: &str = "请求参数格式错误：需要 POSTPARAM_JSON（JSON 对象）";
pub(crate) const MSG_CALLER: &str = "调用方编码无效";
pub(crate) const MSG_SERVICE: &str = "不支持的服务编码";
pub(crate) const MSG_TICKET: &str = "票据无效或已过期";
pub(crate) const MSG_FAIL_103: &str = "票据校验失败，请稍后重试（沙箱模拟故障）";
pub(crate) const MSG_TOKEN: &str = "用户令牌无效或已过期";
pub(crate) const MSG_FAIL_033: &str = "获取用户信息失败，请稍后重试（沙箱模拟故障）";

/// What a ticket (and then the user token issued for it) stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grant {
    pub(crate) persona: &'static Persona,
    pub(crate) fault: Option<Fault>,
}

#[derive(Clone, Debug)]
pub(crate) struct TokenGrant {
    grant: Grant,
    user_id: &'static str,
}

/// One platform's exchange: its caller code, its user ids, its tickets and tokens.
pub(crate) struct Exchange {
    /// `fujian` or `elongyan`, for log lines.
    name: &'static str,
    caller_code: String,
    ticket_ttl: Duration,
    slow_delay: Duration,
    user_id: fn(&Persona) -> &'static str,
    tickets: Mutex<Expiring<Grant>>,
    tokens: Mutex<Expiring<TokenGrant>>,
}

/// The outcome of one call, before the wait a `slow` fault asks for.
#[derive(Debug, PartialEq)]
pub(crate) struct Answer {
    pub(crate) delay: Option<Duration>,
    pub(crate) result: Result<Map<String, Value>, &'static str>,
}

impl Answer {
    fn refuse(msg: &'static str) -> Self {
        Self {
            delay: None,
            result: Err(msg),
        }
    }

    /// The JSON body, stamped with `btime` (`yyyy-MM-dd HH:mm:ss`, Beijing time).
    pub(crate) fn body(&self, btime: &str) -> Value {
        match &self.result {
            Ok(data) => json!({
                "success": true, "data": data, "msg": null, "INVOKELOG_BTIME": btime,
            }),
            Err(msg) => json!({
                "success": false, "data": null, "msg": msg, "INVOKELOG_BTIME": btime,
            }),
        }
    }
}

impl Exchange {
    pub(crate) fn new(
        name: &'static str,
        caller_code: String,
        ticket_ttl: Duration,
        slow_delay: Duration,
        user_id: fn(&Persona) -> &'static str,
    ) -> Self {
        Self {
            name,
            caller_code,
            ticket_ttl,
            slow_delay,
            user_id,
            tickets: Mutex::new(Expiring::new()),
            tokens: Mutex::new(Expiring::new()),
        }
    }

    /// Whether `code` is this platform's caller code (compared in constant time).
    pub(crate) fn caller_code_matches(&self, code: &str) -> bool {
        constant_time_eq(code.as_bytes(), self.caller_code.as_bytes())
    }

    /// A fresh single-use ticket for `persona`; with `expired-ticket` it is born expired.
    pub(crate) fn issue_ticket(
        &self,
        persona: &'static Persona,
        fault: Option<Fault>,
        now: Instant,
    ) -> Result<String, Error> {
        let ttl = if fault == Some(Fault::ExpiredTicket) {
            Duration::ZERO
        } else {
            self.ticket_ttl
        };
        let grant = Grant { persona, fault };
        let ticket = lock(&self.tickets).insert(grant, ttl, now, TICKET_BYTES)?;
        tracing::info!(platform = self.name, persona = persona.id, fault = ?fault.map(Fault::as_str), "ticket issued");
        Ok(ticket)
    }

    /// Handles one `invokeservice.do` body (`application/x-www-form-urlencoded`).
    pub(crate) fn invoke(&self, body: &[u8], now: Instant) -> Answer {
        let Some(request) = parse_request(body) else {
            return Answer::refuse(MSG_BAD_REQUEST);
        };
        let caller = text(&request, "INVOKECALLER_CODE").unwrap_or_default();
        if !self.caller_code_matches(&caller) {
            tracing::info!(
                platform = self.name,
                "service call refused: wrong caller code"
            );
            return Answer::refuse(MSG_CALLER);
        }
        let service = text(&request, "INVOKESERVICE_CODE").unwrap_or_default();
        let answer = match service.as_str() {
            "103" => self.redeem_ticket(&request, now),
            "033" => self.profile(&request, now),
            _ => Answer::refuse(MSG_SERVICE),
        };
        tracing::info!(
            platform = self.name,
            service = %service.chars().take(8).collect::<String>(),
            success = answer.result.is_ok(),
            "service call"
        );
        answer
    }

    fn delay_for(&self, fault: Option<Fault>) -> Option<Duration> {
        (fault == Some(Fault::Slow)).then_some(self.slow_delay)
    }

    /// Service 103: the ticket is consumed by the first attempt, whatever its outcome.
    fn redeem_ticket(&self, request: &Map<String, Value>, now: Instant) -> Answer {
        let ticket = text(request, "TRUST_TICKET").unwrap_or_default();
        let Some(grant) = lock(&self.tickets).take(&ticket, now) else {
            return Answer::refuse(MSG_TICKET);
        };
        let delay = self.delay_for(grant.fault);
        if grant.fault == Some(Fault::Fail103) {
            return Answer {
                delay,
                result: Err(MSG_FAIL_103),
            };
        }
        let user_id = (self.user_id)(grant.persona);
        let token =
            lock(&self.tokens).insert(TokenGrant { grant, user_id }, TOKEN_TTL, now, TOKEN_BYTES);
        let Ok(token) = token else {
            return Answer::refuse(MSG_FAIL_103);
        };
        let mut data = Map::new();
        data.insert("USER_ID".into(), user_id.into());
        data.insert("USER_TOKEN".into(), token.into());
        Answer {
            delay,
            result: Ok(data),
        }
    }

    /// Service 033: the token must be live and belong to `USER_ID`; it may be used again.
    fn profile(&self, request: &Map<String, Value>, now: Instant) -> Answer {
        let user_id = text(request, "USER_ID").unwrap_or_default();
        let token = text(request, "USER_TOKEN").unwrap_or_default();
        let found = lock(&self.tokens).get(&token, now);
        let Some(TokenGrant { grant, .. }) = found.filter(|t| t.user_id == user_id) else {
            return Answer::refuse(MSG_TOKEN);
        };
        let delay = self.delay_for(grant.fault);
        if grant.fault == Some(Fault::Fail033) {
            return Answer {
                delay,
                result: Err(MSG_FAIL_033),
            };
        }
        Answer {
            delay,
            result: Ok(grant.persona.profile(&user_id)),
        }
    }
}

/// The decoded `POSTPARAM_JSON` object, if the body has one.
fn parse_request(body: &[u8]) -> Option<Map<String, Value>> {
    let json = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "POSTPARAM_JSON")
        .map(|(_, v)| v.into_owned())?;
    match serde_json::from_str(&json) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A field as text: integrators send the codes as strings, some as numbers.
fn text(request: &Map<String, Value>, field: &str) -> Option<String> {
    match request.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The stores stay consistent even if a holder panicked: every operation is one map call.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The provincial platform's user id of a persona.
pub(crate) fn fujian_user_id(p: &Persona) -> &'static str {
    p.fujian_user_id
}

/// e-Longyan's user id of a persona.
pub(crate) fn elongyan_user_id(p: &Persona) -> &'static str {
    p.elongyan_user_id
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), the platform's `INVOKELOG_BTIME`.
pub(crate) fn beijing_time(now: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    now.to_offset(time::macros::offset!(+8))
        .format(&format)
        .unwrap_or_default()
}

/// The demo's provincial exchange, for tests.
#[cfg(test)]
pub(crate) fn demo_exchange(name: &'static str) -> Exchange {
    Exchange::new(
        name,
        crate::config::DEMO_FUJIAN_CALLER_CODE.into(),
        Duration::from_secs(60),
        Duration::from_secs(5),
        fujian_user_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEMO_FUJIAN_CALLER_CODE as CODE;
    use crate::personas::{self, LEGAL_1, PERSONAL_1};

    fn body(json: Value) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("POSTPARAM_JSON", &json.to_string())
            .finish()
            .into_bytes()
    }

    fn call_103(x: &Exchange, ticket: &str, now: Instant) -> Answer {
        x.invoke(
            &body(json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": CODE, "TRUST_TICKET": ticket})),
            now,
        )
    }

    fn call_033(x: &Exchange, user_id: &str, token: &str, now: Instant) -> Answer {
        x.invoke(
            &body(json!({"INVOKESERVICE_CODE": "033", "INVOKECALLER_CODE": CODE, "USER_ID": user_id, "USER_TOKEN": token})),
            now,
        )
    }

    fn data(a: &Answer) -> &Map<String, Value> {
        a.result.as_ref().unwrap()
    }

    #[test]
    fn ticket_then_token_then_profile() {
        let x = demo_exchange("fujian");
        let now = Instant::now();
        let ticket = x.issue_ticket(&LEGAL_1, None, now).unwrap();
        let a = call_103(&x, &ticket, now);
        assert_eq!(a.delay, None);
        let d = data(&a);
        let mut keys: Vec<_> = d.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["USER_ID", "USER_TOKEN"]);
        assert_eq!(d["USER_ID"], "sandbox-l1");
        let token = d["USER_TOKEN"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 64);

        let p = call_033(&x, "sandbox-l1", &token, now);
        assert_eq!(data(&p), &LEGAL_1.profile("sandbox-l1"));
        // The token may be used again while it lives, then not.
        assert!(
            call_033(&x, "sandbox-l1", &token, now + TOKEN_TTL / 2)
                .result
                .is_ok()
        );
        assert_eq!(
            call_033(&x, "sandbox-l1", &token, now + TOKEN_TTL).result,
            Err(MSG_TOKEN)
        );
    }

    #[test]
    fn a_ticket_is_single_use_and_expires() {
        let x = demo_exchange("fujian");
        let now = Instant::now();
        let t = x.issue_ticket(&PERSONAL_1, None, now).unwrap();
        assert!(call_103(&x, &t, now).result.is_ok());
        assert_eq!(call_103(&x, &t, now).result, Err(MSG_TICKET));

        let t = x.issue_ticket(&PERSONAL_1, None, now).unwrap();
        assert_eq!(
            call_103(&x, &t, now + Duration::from_secs(60)).result,
            Err(MSG_TICKET)
        );
        let t = x.issue_ticket(&PERSONAL_1, None, now).unwrap();
        assert!(
            call_103(&x, &t, now + Duration::from_secs(59))
                .result
                .is_ok()
        );

        let t = x
            .issue_ticket(&PERSONAL_1, Some(Fault::ExpiredTicket), now)
            .unwrap();
        assert_eq!(call_103(&x, &t, now).result, Err(MSG_TICKET));
        assert_eq!(call_103(&x, "", now).result, Err(MSG_TICKET));
    }

    #[test]
    fn the_token_belongs_to_its_user() {
        let x = demo_exchange("fujian");
        let now = Instant::now();
        let t = x.issue_ticket(&PERSONAL_1, None, now).unwrap();
        let a = call_103(&x, &t, now);
        let token = data(&a)["USER_TOKEN"].as_str().unwrap().to_owned();
        assert_eq!(
            call_033(&x, "sandbox-p2", &token, now).result,
            Err(MSG_TOKEN)
        );
        assert_eq!(call_033(&x, "sandbox-p1", "0", now).result, Err(MSG_TOKEN));
    }

    #[test]
    fn faults_ride_with_ticket_and_token() {
        let x = demo_exchange("fujian");
        let now = Instant::now();
        let t = x
            .issue_ticket(&PERSONAL_1, Some(Fault::Fail103), now)
            .unwrap();
        assert_eq!(call_103(&x, &t, now).result, Err(MSG_FAIL_103));
        // Consumed by the failed attempt.
        assert_eq!(call_103(&x, &t, now).result, Err(MSG_TICKET));

        let t = x
            .issue_ticket(&PERSONAL_1, Some(Fault::Fail033), now)
            .unwrap();
        let a = call_103(&x, &t, now);
        let token = data(&a)["USER_TOKEN"].as_str().unwrap().to_owned();
        assert_eq!(
            call_033(&x, "sandbox-p1", &token, now).result,
            Err(MSG_FAIL_033)
        );

        let t = x.issue_ticket(&PERSONAL_1, Some(Fault::Slow), now).unwrap();
        let a = call_103(&x, &t, now);
        assert_eq!(a.delay, Some(Duration::from_secs(5)));
        let token = data(&a)["USER_TOKEN"].as_str().unwrap().to_owned();
        let p = call_033(&x, "sandbox-p1", &token, now);
        assert_eq!(p.delay, Some(Duration::from_secs(5)));
        assert!(p.result.is_ok());
    }

    #[test]
    fn malformed_and_unauthorised_calls_fail() {
        let x = demo_exchange("fujian");
        let now = Instant::now();
        assert_eq!(x.invoke(b"", now).result, Err(MSG_BAD_REQUEST));
        assert_eq!(
            x.invoke(b"POSTPARAM_JSON=%7Bnot+json", now).result,
            Err(MSG_BAD_REQUEST)
        );
        assert_eq!(
            x.invoke(b"POSTPARAM_JSON=%5B%5D", now).result,
            Err(MSG_BAD_REQUEST)
        );
        let wrong = body(
            json!({"INVOKESERVICE_CODE": "103", "INVOKECALLER_CODE": "00", "TRUST_TICKET": "x"}),
        );
        assert_eq!(x.invoke(&wrong, now).result, Err(MSG_CALLER));
        let unknown = body(json!({"INVOKESERVICE_CODE": "999", "INVOKECALLER_CODE": CODE}));
        assert_eq!(x.invoke(&unknown, now).result, Err(MSG_SERVICE));
        // A numeric service code is read as its digits.
        let numeric = body(
            json!({"INVOKESERVICE_CODE": 103, "INVOKECALLER_CODE": CODE, "TRUST_TICKET": "x"}),
        );
        assert_eq!(x.invoke(&numeric, now).result, Err(MSG_TICKET));
    }

    #[test]
    fn answer_shapes() {
        let ok = Answer {
            delay: None,
            result: Ok(Map::from_iter([("USER_ID".to_owned(), json!("u"))])),
        };
        assert_eq!(
            ok.body("2026-01-01 08:00:00"),
            json!({"success": true, "data": {"USER_ID": "u"}, "msg": null, "INVOKELOG_BTIME": "2026-01-01 08:00:00"})
        );
        assert_eq!(
            Answer::refuse(MSG_TICKET).body("2026-01-01 08:00:00"),
            json!({"success": false, "data": null, "msg": "票据无效或已过期", "INVOKELOG_BTIME": "2026-01-01 08:00:00"})
        );
    }

    #[test]
    fn btime_is_beijing_time() {
        let t = time::macros::datetime!(2025-12-31 16:30:05 UTC);
        assert_eq!(beijing_time(t), "2026-01-01 00:30:05");
    }

    #[test]
    fn caller_code_comparison() {
        let x = demo_exchange("fujian");
        assert!(x.caller_code_matches(CODE));
        assert!(!x.caller_code_matches(&CODE[1..]));
        assert!(!x.caller_code_matches(""));
        assert!(!x.caller_code_matches(&CODE.to_uppercase()));
    }

    #[test]
    fn every_persona_has_a_profile() {
        for p in personas::PERSONAS {
            assert_eq!(
                p.profile(p.fujian_user_id)["USER_ID"],
                json!(p.fujian_user_id)
            );
        }
    }
}
