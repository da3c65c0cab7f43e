//! The simulators' settings: one struct per simulated platform, and the demo defaults that the
//! hub's demo configuration and tests pair with.

pub use crate::signature::{SignatureScheme, Sm4Mode};
use std::fmt;
use std::time::Duration;

/// The provincial platform's caller code in the demo (40 hex characters: "LongyanHubDemoCaller").
pub const DEMO_FUJIAN_CALLER_CODE: &str = "4c6f6e6779616e48756244656d6f43616c6c6572";
/// The e-Longyan application id of the hub in the demo.
pub const DEMO_ELONGYAN_APP_ID: &str = "longyan-hub-demo";
/// The provider id under which the demo hub mounts e-Longyan (`/sso/elongyan/entry`).
pub const DEMO_ELONGYAN_PROVIDER: &str = "elongyan";
/// The HMAC-SM3 secret the demo shares between e-Longyan and the hub.
pub const DEMO_ELONGYAN_SECRET: &str = "elongyan-demo-shared-secret";
/// The SM4 key of the demo's encrypted entry fields (hex `0123456789abcdeffedcba9876543210`).
pub const DEMO_ELONGYAN_SM4_KEY: [u8; 16] = [
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
];
/// The caller code the hub presents to e-Longyan's ticket exchange in the demo.
pub const DEMO_ELONGYAN_EXCHANGE_CALLER_CODE: &str = "elongyan-exchange-demo";

/// The HMAC-SM3 secret the demo's signed hand-offs use between the hub and the sandbox
/// platforms (`/sandbox/platforms/{code}`).
pub const DEMO_HANDOFF_SECRET: &str = "demo-handoff-secret-0123456789";

/// The access key and secret the demo hub signs its messages to the demo bank with
/// (gateway HMAC-SHA256, docs/EXCHANGE.md), checked by the sandbox's partner inbox.
pub const DEMO_OUTBOUND_KEY: &str = "LONGYAN-HUB-DEMO";
pub const DEMO_OUTBOUND_SECRET: &str = "demo-hub-outbound-secret-0123456789";

/// Signed fields of the ticket relay mode, in order (docs/ELONGYAN.md).
pub const DEFAULT_TICKET_FIELDS: [&str; 4] = ["appId", "ticket", "timestamp", "target"];
/// Signed fields of the signed assertion mode, in order (docs/ELONGYAN.md).
pub const DEFAULT_SIGNED_FIELDS: [&str; 13] = [
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
/// Fields SM4-encrypted in the signed assertion mode when a key is configured.
pub const DEFAULT_ENCRYPTED_FIELDS: [&str; 2] = ["certNo", "agentCertNo"];

/// Everything the simulators need. Secrets are redacted from `Debug`.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Origin of the hub, e.g. `http://127.0.0.1:8080`, without a trailing slash (one is
    /// tolerated). e-Longyan sends browsers to `{hub_url}/sso/{provider}/entry`.
    pub hub_url: String,
    /// How long the back channels take to answer for a sign-in made with the `slow` fault.
    pub slow_delay: Duration,
    pub fujian: FujianConfig,
    pub elongyan: ElongyanConfig,
    /// The HMAC-SM3 secret the sandbox platforms verify signed hand-offs with.
    pub handoff_secret: String,
}

/// The provincial platform (PROTOCOLS.md §1).
#[derive(Clone)]
pub struct FujianConfig {
    /// The only caller code accepted, in the browser (`callerCode`) and on the back channel
    /// (`INVOKECALLER_CODE`).
    pub caller_code: String,
    /// Lifetime of a trust ticket.
    pub ticket_ttl: Duration,
}

/// e-Longyan (PROTOCOLS.md §2, docs/ELONGYAN.md).
#[derive(Clone)]
pub struct ElongyanConfig {
    /// `appId` sent to the hub.
    pub app_id: String,
    /// Provider id in the hub's path (`/sso/{provider}/entry`).
    pub provider: String,
    pub signature: SignatureScheme,
    /// Signed fields of the ticket relay mode, in order.
    pub ticket_fields: Vec<String>,
    /// Signed fields of the signed assertion mode, in order.
    pub signed_fields: Vec<String>,
    /// Fields SM4-encrypted in the signed assertion mode (only when `sm4_key` is set).
    pub encrypted_fields: Vec<String>,
    pub sm4_key: Option<[u8; 16]>,
    pub sm4_mode: Sm4Mode,
    /// The only caller code accepted by the ticket exchange back channel.
    pub exchange_caller_code: String,
    /// Lifetime of an entry ticket.
    pub ticket_ttl: Duration,
}

impl SandboxConfig {
    /// The demo defaults, pointing e-Longyan jumps at the hub at `hub_url`.
    pub fn demo(hub_url: &str) -> Self {
        Self {
            hub_url: hub_url.to_owned(),
            slow_delay: Duration::from_secs(5),
            fujian: FujianConfig {
                caller_code: DEMO_FUJIAN_CALLER_CODE.to_owned(),
                ticket_ttl: Duration::from_secs(60),
            },
            elongyan: ElongyanConfig {
                app_id: DEMO_ELONGYAN_APP_ID.to_owned(),
                provider: DEMO_ELONGYAN_PROVIDER.to_owned(),
                signature: SignatureScheme::HmacSm3 {
                    secret: DEMO_ELONGYAN_SECRET.to_owned(),
                },
                ticket_fields: owned(&DEFAULT_TICKET_FIELDS),
                signed_fields: owned(&DEFAULT_SIGNED_FIELDS),
                encrypted_fields: owned(&DEFAULT_ENCRYPTED_FIELDS),
                sm4_key: Some(DEMO_ELONGYAN_SM4_KEY),
                sm4_mode: Sm4Mode::Ecb,
                exchange_caller_code: DEMO_ELONGYAN_EXCHANGE_CALLER_CODE.to_owned(),
                ticket_ttl: Duration::from_secs(60),
            },
            handoff_secret: DEMO_HANDOFF_SECRET.to_owned(),
        }
    }

    /// Checks what can be checked before serving: the hub URL's shape and the signing key.
    /// [`crate::router`] serves an invalid configuration too, answering e-Longyan jumps with an
    /// error page, so a caller that wants to fail early calls this first.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let hub = self.hub_url.trim_end_matches('/');
        let parsed = url::Url::parse(hub).map_err(|_| crate::Error::HubUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(crate::Error::HubUrl);
        }
        crate::signature::Signer::new(&self.elongyan.signature).map(|_| ())
    }
}

fn owned(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

impl fmt::Debug for FujianConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FujianConfig")
            .field("caller_code", &"[redacted]")
            .field("ticket_ttl", &self.ticket_ttl)
            .finish()
    }
}

impl fmt::Debug for ElongyanConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElongyanConfig")
            .field("app_id", &self.app_id)
            .field("provider", &self.provider)
            .field("signature", &self.signature)
            .field("ticket_fields", &self.ticket_fields)
            .field("signed_fields", &self.signed_fields)
            .field("encrypted_fields", &self.encrypted_fields)
            .field("sm4_key", &self.sm4_key.map(|_| "[redacted]"))
            .field("sm4_mode", &self.sm4_mode)
            .field("exchange_caller_code", &"[redacted]")
            .field("ticket_ttl", &self.ticket_ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_caller_code_is_40_hex_characters() {
        assert_eq!(DEMO_FUJIAN_CALLER_CODE.len(), 40);
        assert!(
            DEMO_FUJIAN_CALLER_CODE
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
        assert_eq!(
            hex::encode(DEMO_ELONGYAN_SM4_KEY),
            "0123456789abcdeffedcba9876543210"
        );
    }

    #[test]
    fn debug_redacts_every_secret() {
        let mut config = SandboxConfig::demo("http://127.0.0.1:8080");
        let shown = format!("{config:?}");
        assert!(!shown.contains(DEMO_FUJIAN_CALLER_CODE));
        assert!(!shown.contains(DEMO_ELONGYAN_SECRET));
        assert!(!shown.contains(DEMO_ELONGYAN_EXCHANGE_CALLER_CODE));
        assert!(!shown.contains("[1, 35"));
        config.elongyan.signature = SignatureScheme::Sm2 {
            private_key_pem: "-----BEGIN PRIVATE KEY-----".into(),
        };
        assert!(!format!("{config:?}").contains("BEGIN"));
    }

    #[test]
    fn validate_accepts_the_demo_and_refuses_a_bad_hub_url() {
        assert!(
            SandboxConfig::demo("http://127.0.0.1:8080/")
                .validate()
                .is_ok()
        );
        for bad in ["", "127.0.0.1:8080", "ftp://hub", "http://"] {
            assert!(
                matches!(
                    SandboxConfig::demo(bad).validate(),
                    Err(crate::Error::HubUrl)
                ),
                "{bad}"
            );
        }
    }
}
