//! Chinese commercial cryptography (商用密码, GB/T 39786-2021) for the hub: SM3 digests,
//! HMAC-SM3 integrity tags, SM4-GCM encryption of stored sensitive fields, SM2 signatures for
//! federation partners, and SM4-ECB/CBC for the encrypted fields some partners send.
//!
//! Every other crate reaches these primitives through the small traits here ([`Mac`],
//! [`FieldCipher`], [`Verifier`]) so that a certified hardware security module can replace the
//! software implementation without touching callers. Secret keys are wiped on drop (as a best
//! effort for the SM2 signing key, see [`Sm2Signer`]) and never implement `Debug` with their
//! bytes. This crate does no I/O: where keys come from is the
//! caller's business.
//!
//! SM2 ([`Sm2Verifier`], [`Sm2Signer`]) follows GB/T 32918.2 and GM/T 0009: SM3 digest, a
//! distinguishing ID agreed per partner ([`SM2_DEFAULT_DISTID`] unless agreed otherwise), DER or
//! raw `r ‖ s` signatures, and PEM or hex keys. [`Sm4Cipher`] speaks SM4-ECB and SM4-CBC with
//! PKCS#7 padding; those modes are unauthenticated and exist only for partners' formats.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use hmac::Mac as _;
use sm3::{Digest, Sm3};
use zeroize::Zeroizing;

mod hexcode;
mod secret;
mod sm2dsa;
mod sm4_modes;

pub use secret::Secret;
pub use sm2dsa::{SM2_DEFAULT_DISTID, Sm2SignatureFormat, Sm2Signer, Sm2Verifier};
pub use sm4_modes::{Sm4Cipher, Sm4Mode};

/// The SM3 digest of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// An incremental SM3 digest, for data that arrives in pieces (archive files).
#[derive(Clone, Default)]
pub struct Sm3Hasher(Sm3);

impl Sm3Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        Digest::update(&mut self.0, data);
    }

    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl std::fmt::Debug for Sm3Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm3Hasher")
    }
}

/// Fills a fresh array with bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| Error::RandomUnavailable)?;
    Ok(out)
}

/// A fresh vector of `len` bytes from the operating system's CSPRNG.
pub fn random_vec(len: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; len];
    getrandom::fill(&mut out).map_err(|_| Error::RandomUnavailable)?;
    Ok(out)
}

/// Failures of the cryptographic primitives. None of them carries key or plaintext material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    #[error("key has {actual} bytes, expected {expected}")]
    KeyLength {
        expected: &'static str,
        actual: usize,
    },
    #[error("ciphertext is malformed or was not produced with this key")]
    Decrypt,
    #[error("ciphertext uses unknown format version {0}")]
    UnknownVersion(u8),
    #[error("the operating system's random number generator is unavailable")]
    RandomUnavailable,
    #[error("key is malformed, of another algorithm, or not a valid SM2 key")]
    InvalidKey,
    #[error("SM2 distinguishing ID is longer than 8191 bytes")]
    InvalidDistId,
    #[error("SM2 signing failed")]
    Sign,
}

/// A keyed message-authentication function over a sequence of byte strings.
///
/// Implementations must be deterministic for a given key; the audit chain and blind indexes
/// rely on that.
pub trait Mac: Send + Sync {
    /// The tag over the concatenation of `parts`.
    fn tag(&self, parts: &[&[u8]]) -> [u8; 32];

    /// Whether `tag` is the tag over `parts`, compared in constant time.
    fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.tag(parts);
        tag.len() == expected.len() && bool::from(expected.as_slice().ct_eq(tag))
    }
}

/// Verification of a public-key signature, so that a hardware module can take over from the
/// software [`Sm2Verifier`].
///
/// Implementations are bound to one public key and whatever else the scheme needs (for SM2, the
/// distinguishing ID); they answer only yes or no, never panicking on malformed input. Symmetric
/// tags (HMAC-SM3) are not signatures: they are checked with [`Mac::verify`].
pub trait Verifier: Send + Sync {
    /// Whether `signature` is a valid signature over `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// HMAC-SM3 with a software key.
pub struct HmacSm3 {
    key: Zeroizing<Vec<u8>>,
}

impl HmacSm3 {
    /// The minimum key length accepted: 128 bits, the strength of SM4.
    pub const MIN_KEY_LEN: usize = 16;

    pub fn new(key: &[u8]) -> Result<Self, Error> {
        if key.len() < Self::MIN_KEY_LEN {
            return Err(Error::KeyLength {
                expected: "at least 16",
                actual: key.len(),
            });
        }
        Ok(Self {
            key: Zeroizing::new(key.to_vec()),
        })
    }
}

impl std::fmt::Debug for HmacSm3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSm3([redacted])")
    }
}

impl Mac for HmacSm3 {
    fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length, so construction cannot fail for the lengths `new`
        // admits; the fallback keeps the function total without a panic path.
        let Ok(mut mac) = hmac::Hmac::<Sm3>::new_from_slice(&self.key) else {
            return [0u8; 32];
        };
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Authenticated encryption of individual stored fields (certificate numbers, TOTP secrets).
///
/// `aad` binds a ciphertext to its context (table, column, row) so that a value cannot be moved
/// to another row and still decrypt.
pub trait FieldCipher: Send + Sync {
    fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error>;
    fn decrypt(&self, ciphertext: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error>;
}

type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;

/// SM4 in GCM mode with a random 96-bit nonce per value.
///
/// Wire format: `0x01 ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`. The leading version
/// byte leaves room for a future format (another mode, or a key identifier for rotation).
pub struct Sm4GcmCipher {
    key: Zeroizing<[u8; 16]>,
}

impl Sm4GcmCipher {
    const VERSION: u8 = 1;
    const NONCE_LEN: usize = 12;
    const TAG_LEN: usize = 16;

    pub fn new(key: &[u8]) -> Result<Self, Error> {
        let key: [u8; 16] = key.try_into().map_err(|_| Error::KeyLength {
            expected: "16",
            actual: key.len(),
        })?;
        Ok(Self {
            key: Zeroizing::new(key),
        })
    }

    fn cipher(&self) -> Result<Sm4Gcm, Error> {
        Sm4Gcm::new_from_slice(self.key.as_slice()).map_err(|_| Error::KeyLength {
            expected: "16",
            actual: self.key.len(),
        })
    }
}

impl std::fmt::Debug for Sm4GcmCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm4GcmCipher([redacted])")
    }
}

impl FieldCipher for Sm4GcmCipher {
    fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce: [u8; Self::NONCE_LEN] = random_bytes()?;
        let sealed = self
            .cipher()?
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::Decrypt)?;
        let mut out = Vec::with_capacity(1 + Self::NONCE_LEN + sealed.len());
        out.push(Self::VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn decrypt(&self, ciphertext: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let (&version, rest) = ciphertext.split_first().ok_or(Error::Decrypt)?;
        if version != Self::VERSION {
            return Err(Error::UnknownVersion(version));
        }
        if rest.len() < Self::NONCE_LEN + Self::TAG_LEN {
            return Err(Error::Decrypt);
        }
        let (nonce, sealed) = rest.split_at(Self::NONCE_LEN);
        let nonce: [u8; Self::NONCE_LEN] = nonce.try_into().map_err(|_| Error::Decrypt)?;
        self.cipher()?
            .decrypt(&nonce.into(), Payload { msg: sealed, aad })
            .map(Zeroizing::new)
            .map_err(|_| Error::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // GB/T 32905-2016 appendix A, example 1.
    #[test]
    fn sm3_matches_the_standard_vector() {
        assert_eq!(
            hex::encode(sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    // Reference value computed with `openssl mac -digest SM3 -macopt hexkey:... HMAC`.
    #[test]
    fn incremental_sm3_equals_one_shot() {
        let mut h = Sm3Hasher::new();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finalize(), sm3(b"abc"));
    }

    #[test]
    fn hmac_sm3_matches_openssl() {
        let mac = HmacSm3::new(b"0123456789abcdef").unwrap();
        assert_eq!(
            hex::encode(mac.tag(&[b"longyan ", b"hub"])),
            OPENSSL_HMAC_SM3_LONGYAN_HUB
        );
        assert!(mac.verify(&[b"longyan hub"], &mac.tag(&[b"longyan ", b"hub"])));
        assert!(!mac.verify(&[b"longyan hub!"], &mac.tag(&[b"longyan hub"])));
        assert!(!mac.verify(&[b"longyan hub"], &[0u8; 31]));
    }

    const OPENSSL_HMAC_SM3_LONGYAN_HUB: &str =
        "d65cb921e4ed666cd26b706e11b2250fe93ae183c758a3e971556371bc2b7b4c";

    #[test]
    fn hmac_sm3_refuses_short_keys() {
        assert!(matches!(
            HmacSm3::new(&[0u8; 15]),
            Err(Error::KeyLength { actual: 15, .. })
        ));
    }

    #[test]
    fn sm4_gcm_round_trips_and_binds_context() {
        let c = Sm4GcmCipher::new(&[7u8; 16]).unwrap();
        let ct = c
            .encrypt(b"350802199001011234", b"accounts.cert:42")
            .unwrap();
        assert_eq!(ct.len(), 1 + 12 + 18 + 16);
        assert_eq!(
            c.decrypt(&ct, b"accounts.cert:42").unwrap().as_slice(),
            b"350802199001011234"
        );
        // Moved to another row: refused.
        assert_eq!(c.decrypt(&ct, b"accounts.cert:43"), Err(Error::Decrypt));
        // Another key: refused.
        let other = Sm4GcmCipher::new(&[8u8; 16]).unwrap();
        assert_eq!(other.decrypt(&ct, b"accounts.cert:42"), Err(Error::Decrypt));
        // Tampered: refused.
        let mut bad = ct.clone();
        bad[20] ^= 1;
        assert_eq!(c.decrypt(&bad, b"accounts.cert:42"), Err(Error::Decrypt));
        // Truncated and versioned.
        assert_eq!(c.decrypt(&ct[..10], b""), Err(Error::Decrypt));
        assert_eq!(c.decrypt(&[], b""), Err(Error::Decrypt));
        let mut v2 = ct;
        v2[0] = 2;
        assert_eq!(c.decrypt(&v2, b""), Err(Error::UnknownVersion(2)));
        // Fresh nonce per value.
        assert_ne!(c.encrypt(b"x", b"").unwrap(), c.encrypt(b"x", b"").unwrap());
    }

    // Reference computed with Python `cryptography` (OpenSSL's SM4-GCM) for the key of the
    // GB/T 32907-2016 appendix A example, an all-zero nonce and the plaintext "hub"; the same
    // value was also derived by hand from `openssl enc -sm4-ecb` blocks and a GHASH.
    #[test]
    fn sm4_gcm_matches_openssl() {
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let nonce = [0u8; 12];
        let c = Sm4Gcm::new_from_slice(&key).unwrap();
        let out = c
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: b"hub",
                    aad: b"",
                },
            )
            .unwrap();
        assert_eq!(hex::encode(out), OPENSSL_SM4_GCM_HUB);
    }

    const OPENSSL_SM4_GCM_HUB: &str = "db660ed9b802b847585373e451d9d403abccdc";
}
