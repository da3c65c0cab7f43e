//! Value types of the configuration file: secrets, durations, sizes and key material.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

pub use guomi::Secret;

/// Key material decoded from hex. Redacted like [`Secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct KeyBytes(Zeroizing<Vec<u8>>);

impl KeyBytes {
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        hex::decode(text)
            .map(|b| Self(Zeroizing::new(b)))
            .map_err(|_| {
                "must be hexadecimal (for example the output of `openssl rand -hex 32`)".to_owned()
            })
    }

    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[redacted {} bytes]", self.0.len())
    }
}

/// A duration written the way operators write them: `500ms`, `30s`, `15m`, `12h`, `180d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| {
            format!("`{text}` has no unit; write for example `30s`, `15m`, `12h` or `180d`")
        })?;
        let (number, unit) = text.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` does not start with a whole number"))?;
        let seconds_per_unit = match unit.trim() {
            "ms" => return Ok(Duration::from_millis(n)),
            "s" => 1,
            "m" | "min" => 60,
            "h" => 3_600,
            "d" => 86_400,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`; use ms, s, m, h or d"
                ));
            }
        };
        n.checked_mul(seconds_per_unit)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text)
            .map(HumanDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// A size in bytes: an integer, or a string with a unit (`512KiB`, `1MiB`, `10MB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<u64, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` does not start with a whole number"))?;
        let factor: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`; use B, KiB, MiB, GiB, KB, MB or GB"
                ));
            }
        };
        n.checked_mul(factor)
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            N(u64),
            S(String),
        }
        match Either::deserialize(d)? {
            Either::N(n) => Ok(ByteSize(n)),
            Either::S(s) => Self::parse(&s)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(HumanDuration::parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(HumanDuration::parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(HumanDuration::parse("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(
            HumanDuration::parse("180d"),
            Ok(Duration::from_secs(180 * 86_400))
        );
        assert_eq!(
            HumanDuration::parse("250ms"),
            Ok(Duration::from_millis(250))
        );
        assert!(HumanDuration::parse("30").unwrap_err().contains("no unit"));
        assert!(
            HumanDuration::parse("3w")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(HumanDuration::parse("s").is_err());
        assert!(HumanDuration::parse("99999999999999999999d").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("1MiB"), Ok(1 << 20));
        assert_eq!(ByteSize::parse("512KiB"), Ok(512 << 10));
        assert_eq!(ByteSize::parse("10MB"), Ok(10_000_000));
        assert_eq!(ByteSize::parse("42"), Ok(42));
        assert!(ByteSize::parse("1TB").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let k = KeyBytes::from_hex("00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(format!("{k:?}"), "[redacted 16 bytes]");
        assert!(KeyBytes::from_hex("zz").is_err());
    }
}
