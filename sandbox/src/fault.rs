//! The misbehaviours a test can ask of the simulators, one per sign-in or entry.

use std::fmt;

/// A fault injected into one sign-in (`fault=` on the Fujian login or the e-Longyan jump).
/// Exchange faults ride with the ticket and then with the user token it is exchanged for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `bad-signature`: the entry's signature is altered (e-Longyan).
    BadSignature,
    /// `stale-timestamp`: the entry's timestamp is ten minutes old (e-Longyan).
    StaleTimestamp,
    /// `expired-ticket`: the ticket has already expired when it is issued.
    ExpiredTicket,
    /// `fail-103`: service 103 refuses the (otherwise valid) ticket.
    Fail103,
    /// `fail-033`: service 033 refuses the (otherwise valid) token.
    Fail033,
    /// `slow`: the back channel answers after `SandboxConfig::slow_delay`.
    Slow,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::BadSignature,
        Fault::StaleTimestamp,
        Fault::ExpiredTicket,
        Fault::Fail103,
        Fault::Fail033,
        Fault::Slow,
    ];

    /// The faults of the ticket exchange, which the provincial platform supports too.
    pub const EXCHANGE: [Fault; 4] = [
        Fault::ExpiredTicket,
        Fault::Fail103,
        Fault::Fail033,
        Fault::Slow,
    ];

    /// The `fault=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::BadSignature => "bad-signature",
            Fault::StaleTimestamp => "stale-timestamp",
            Fault::ExpiredTicket => "expired-ticket",
            Fault::Fail103 => "fail-103",
            Fault::Fail033 => "fail-033",
            Fault::Slow => "slow",
        }
    }

    /// The `fault=` value's meaning, for the sandbox pages.
    pub fn label(self) -> &'static str {
        match self {
            Fault::BadSignature => "签名错误",
            Fault::StaleTimestamp => "时间戳过期（10 分钟前）",
            Fault::ExpiredTicket => "票据签发即过期",
            Fault::Fail103 => "票据换取令牌（103）失败",
            Fault::Fail033 => "获取用户信息（033）失败",
            Fault::Slow => "后台接口响应缓慢",
        }
    }

    pub fn parse(value: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.as_str() == value)
    }

    pub(crate) fn is_exchange_fault(self) -> bool {
        Fault::EXCHANGE.contains(&self)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips() {
        for f in Fault::ALL {
            assert_eq!(Fault::parse(f.as_str()), Some(f));
        }
        assert_eq!(Fault::parse("Slow"), None);
        assert_eq!(Fault::parse(""), None);
        assert!(Fault::Slow.is_exchange_fault());
        assert!(!Fault::BadSignature.is_exchange_fault());
    }
}
