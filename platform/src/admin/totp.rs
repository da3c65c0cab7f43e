//! Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps): the second
//! factor of administrators, compatible with every authenticator app.

use hmac::{KeyInit, Mac};
use sha1::Sha1;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted either side of now, for clock drift between phone and server.
const DRIFT_STEPS: i64 = 1;

/// The RFC 4226 HOTP value of `secret` at `counter`.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = hmac::Hmac::<Sha1>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let code = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    code % 10u32.pow(DIGITS)
}

pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The time step `code` is valid for, if it is valid now and later than `last_used_step`
/// (a code is accepted once: a replayed code is refused).
pub fn accept(secret: &[u8], code: &str, unix_seconds: i64, last_used_step: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = step_at(unix_seconds);
    (now - DRIFT_STEPS..=now + DRIFT_STEPS)
        .filter(|s| *s > last_used_step && *s >= 0)
        .find(|s| {
            let v = hotp(secret, *s as u64);
            // Compare in constant time: the code is a secret until it is used.
            subtle::ConstantTimeEq::ct_eq(&v.to_be_bytes()[..], &wanted.to_be_bytes()[..]).into()
        })
}

/// The code for `unix_seconds`, zero-padded (for tests and tooling).
pub fn code_at(secret: &[u8], unix_seconds: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step_at(unix_seconds) as u64),
        width = DIGITS as usize
    )
}

pub fn base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The `otpauth://` URI an authenticator app imports (usually as a QR code).
pub fn provisioning_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B (SHA-1 seed "12345678901234567890", 8 digits there; the last six
    // digits are the 6-digit codes).
    #[test]
    fn rfc6238_vectors() {
        let seed = b"12345678901234567890";
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(seed, t), eight[2..], "t={t}");
        }
    }

    #[test]
    fn accepts_drift_and_refuses_replay_and_junk() {
        let seed = b"12345678901234567890";
        let t = 1_234_567_890;
        let code = code_at(seed, t);
        let step = accept(seed, &code, t, 0).unwrap();
        assert_eq!(step, step_at(t));
        // 30 s later (one step of drift) still accepted, unless already used.
        assert_eq!(accept(seed, &code, t + 30, 0), Some(step));
        assert_eq!(accept(seed, &code, t + 30, step), None);
        // Two steps later: expired.
        assert_eq!(accept(seed, &code, t + 65, 0), None);
        assert_eq!(accept(seed, "12345", t, 0), None);
        assert_eq!(accept(seed, "12345a", t, 0), None);
        assert_eq!(accept(seed, "", t, 0), None);
    }

    #[test]
    fn provisioning_uri_is_importable() {
        let uri = provisioning_uri("龙岩普惠金融", "alice", b"12345678901234567890");
        assert!(uri.starts_with("otpauth://totp/%E9%BE%99"), "{uri}");
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"),
            "{uri}"
        );
    }
}
