//! The seal: how a record's bytes are laid out for HMAC-SM3, and the rules that find the first
//! broken link. Pure functions, no I/O.

use guomi::Mac;

use super::record::AuditRecord;

pub const GENESIS_HASH: [u8; 32] = [0u8; 32];

const RECORD_DOMAIN: &[u8] = b"hub.audit.record.v1";
const HEAD_DOMAIN: &[u8] = b"hub.audit.head.v1";
const ARCHIVE_DOMAIN: &[u8] = b"hub.audit.archive.v1";

/// The fields a seal covers, borrowed from a record being written or read.
pub struct Sealed<'a> {
    pub seq: i64,
    pub ts: i64,
    pub text: [Option<&'a str>; 13],
}

impl<'a> Sealed<'a> {
    pub fn of(r: &'a AuditRecord) -> Self {
        Sealed {
            seq: r.seq,
            ts: r.ts,
            text: [
                r.request_id.as_deref(),
                Some(r.actor_kind.as_str()),
                r.actor_id.as_deref(),
                r.actor_name.as_deref(),
                r.acting_for.as_deref(),
                r.agent.as_deref(),
                Some(r.event.as_str()),
                r.target.as_deref(),
                Some(r.outcome.as_str()),
                r.reason.as_deref(),
                r.source_ip.as_deref(),
                r.user_agent.as_deref(),
                r.details.as_deref(),
            ],
        }
    }

    /// Unambiguous encoding: fixed field order, each text length-prefixed, absent fields marked,
    /// so that moving bytes between fields changes the seal.
    fn encode(&self, prev_hash: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(RECORD_DOMAIN);
        out.extend_from_slice(&(prev_hash.len() as u32).to_be_bytes());
        out.extend_from_slice(prev_hash);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.ts.to_be_bytes());
        for field in &self.text {
            match field {
                None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
                Some(s) => {
                    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }

    pub fn seal(&self, mac: &dyn Mac, prev_hash: &[u8], buf: &mut Vec<u8>) -> [u8; 32] {
        self.encode(prev_hash, buf);
        mac.tag(&[buf])
    }
}

pub fn head_mac(mac: &dyn Mac, seq: i64, hash: &[u8]) -> [u8; 32] {
    mac.tag(&[HEAD_DOMAIN, &seq.to_be_bytes(), hash])
}

/// The fields of an archive row that its MAC covers.
pub struct ArchiveSeal<'a> {
    pub created_at: i64,
    pub from_seq: i64,
    pub up_to_seq: i64,
    pub last_hash: &'a [u8],
    pub record_count: i64,
    pub file_name: &'a str,
    pub file_sm3: &'a [u8],
}

impl ArchiveSeal<'_> {
    pub fn mac(&self, mac: &dyn Mac) -> [u8; 32] {
        mac.tag(&[
            ARCHIVE_DOMAIN,
            &self.created_at.to_be_bytes(),
            &self.from_seq.to_be_bytes(),
            &self.up_to_seq.to_be_bytes(),
            &(self.last_hash.len() as u32).to_be_bytes(),
            self.last_hash,
            &self.record_count.to_be_bytes(),
            &(self.file_name.len() as u32).to_be_bytes(),
            self.file_name.as_bytes(),
            self.file_sm3,
        ])
    }
}

/// What is wrong at the first broken link.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The record's content no longer matches its seal: modified, or moved from another position.
    Modified,
    /// One or more records are missing before this position.
    Missing,
    /// A validly sealed record sits where it does not belong (inserted or reordered).
    OutOfPlace,
    /// Records were removed from the end of the chain.
    Truncated,
    /// A record exists beyond the sealed head: inserted without the writer.
    BeyondHead,
    /// The head or an archive anchor is not sealed with this key.
    AnchorForged,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ChainBreak {
    /// The first record (position) at which the chain is broken.
    pub seq: i64,
    pub kind: BreakKind,
    pub detail: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}: {}", self.seq, self.detail)
    }
}

/// Walks records in `seq` order from an anchor and stops at the first broken link.
pub struct Verifier<'m> {
    mac: &'m dyn Mac,
    expected_seq: i64,
    prev: Vec<u8>,
    buf: Vec<u8>,
    pub checked: u64,
}

impl<'m> Verifier<'m> {
    pub fn new(mac: &'m dyn Mac, anchor_seq: i64, anchor_hash: &[u8]) -> Self {
        Verifier {
            mac,
            expected_seq: anchor_seq + 1,
            prev: anchor_hash.to_vec(),
            buf: Vec::with_capacity(512),
            checked: 0,
        }
    }

    pub fn check(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if r.seq > self.expected_seq {
            return Err(ChainBreak {
                seq: self.expected_seq,
                kind: BreakKind::Missing,
                detail: if r.seq == self.expected_seq + 1 {
                    format!("record {} is missing", self.expected_seq)
                } else {
                    format!("records {} to {} are missing", self.expected_seq, r.seq - 1)
                },
            });
        }
        let computed = Sealed::of(r).seal(self.mac, &r.prev_hash, &mut self.buf);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            computed.as_slice(),
            r.hash.as_slice(),
        )) {
            return Err(ChainBreak {
                seq: r.seq,
                kind: BreakKind::Modified,
                detail:
                    "content does not match its seal (modified, or moved from another position)"
                        .into(),
            });
        }
        if r.prev_hash != self.prev {
            return Err(ChainBreak {
                seq: r.seq,
                kind: BreakKind::OutOfPlace,
                detail:
                    "sealed after a different record than the one before it (inserted or reordered)"
                        .into(),
            });
        }
        self.prev.clone_from(&r.hash);
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// Checks the end of the chain against the sealed head `(seq, hash, mac)`.
    pub fn finish(
        &self,
        head_seq: i64,
        head_hash: &[u8],
        head_mac_value: &[u8],
    ) -> Result<(), ChainBreak> {
        let last = self.expected_seq - 1;
        if head_seq > 0
            && !self.mac.verify(
                &[HEAD_DOMAIN, &head_seq.to_be_bytes(), head_hash],
                head_mac_value,
            )
        {
            return Err(ChainBreak {
                seq: head_seq,
                kind: BreakKind::AnchorForged,
                detail: "the chain head is not sealed with this key".into(),
            });
        }
        if head_seq > last {
            return Err(ChainBreak {
                seq: last + 1,
                kind: BreakKind::Truncated,
                detail: if head_seq == last + 1 {
                    format!("record {head_seq} was removed from the end")
                } else {
                    format!(
                        "records {} to {head_seq} were removed from the end",
                        last + 1
                    )
                },
            });
        }
        if head_seq < last {
            return Err(ChainBreak {
                seq: head_seq + 1,
                kind: BreakKind::BeyondHead,
                detail: format!("records after {head_seq} were added outside the audit writer"),
            });
        }
        if head_seq > 0 && head_hash != self.prev.as_slice() {
            return Err(ChainBreak {
                seq: head_seq,
                kind: BreakKind::Modified,
                detail: "the last record differs from the sealed head".into(),
            });
        }
        Ok(())
    }
}

/// Whether the sealed head `(seq, hash, mac)` was sealed with `mac`'s key.
pub fn head_seal_matches(mac: &dyn guomi::Mac, seq: i64, hash: &[u8], tag: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(
        head_mac(mac, seq, hash).as_slice(),
        tag,
    ))
}

/// The result of checking the chain.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// The first position checked (after the newest archive anchor).
    pub from_seq: i64,
    /// The sealed head position.
    pub head_seq: i64,
    /// `true` when nothing is broken.
    pub intact: bool,
    /// The first broken link, when there is one.
    pub first_break: Option<ChainBreak>,
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.first_break {
            None => write!(
                f,
                "audit chain intact: {} records checked (positions {} to {})",
                self.records, self.from_seq, self.head_seq
            ),
            Some(b) => write!(f, "audit chain BROKEN at {b}"),
        }
    }
}

/// An audit record as administrators and archive files see it: times in RFC 3339, hashes in
/// hex, details as JSON.
#[cfg(test)]
mod tests {
    use super::*;
    use guomi::HmacSm3;

    fn rec(seq: i64, event: &str) -> AuditRecord {
        AuditRecord {
            seq,
            ts: 1_000 + seq,
            request_id: Some(format!("req-{seq}")),
            actor_kind: "admin".into(),
            actor_id: Some("a1".into()),
            actor_name: None,
            acting_for: None,
            agent: None,
            event: event.into(),
            target: None,
            outcome: "success".into(),
            reason: None,
            source_ip: Some("127.0.0.1".into()),
            user_agent: None,
            details: Some("{}".into()),
            prev_hash: Vec::new(),
            hash: Vec::new(),
        }
    }

    fn chain(mac: &dyn Mac, n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_vec();
        let mut buf = Vec::new();
        (1..=n)
            .map(|i| {
                let mut r = rec(i, "admin.login");
                r.prev_hash = prev.clone();
                r.hash = Sealed::of(&r).seal(mac, &prev, &mut buf).to_vec();
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(mac: &dyn Mac, rs: &[AuditRecord], head: i64) -> Result<(), ChainBreak> {
        let mut v = Verifier::new(mac, 0, &GENESIS_HASH);
        for r in rs {
            v.check(r)?;
        }
        let head_hash = rs
            .iter()
            .find(|r| r.seq == head)
            .map(|r| r.hash.clone())
            .unwrap_or_else(|| GENESIS_HASH.to_vec());
        v.finish(head, &head_hash, &head_mac(mac, head, &head_hash))
    }

    #[test]
    fn intact_chain_verifies() {
        let mac = HmacSm3::new(&[1u8; 32]).unwrap();
        let rs = chain(&mac, 5);
        assert_eq!(verify(&mac, &rs, 5), Ok(()));
        assert_eq!(verify(&mac, &[], 0), Ok(()));
    }

    #[test]
    fn each_kind_of_tampering_names_the_first_broken_record() {
        let mac = HmacSm3::new(&[1u8; 32]).unwrap();
        let rs = chain(&mac, 5);

        let mut modified = rs.clone();
        modified[2].outcome = "failure".into();
        assert_eq!(
            verify(&mac, &modified, 5).unwrap_err().kind,
            BreakKind::Modified
        );
        assert_eq!(verify(&mac, &modified, 5).unwrap_err().seq, 3);

        // Moving bytes between adjacent fields changes the seal too.
        let mut shifted = rs.clone();
        shifted[1].request_id = Some("req-2admin".into());
        shifted[1].actor_kind = String::new();
        assert_eq!(verify(&mac, &shifted, 5).unwrap_err().seq, 2);

        let mut deleted = rs.clone();
        deleted.remove(1);
        let e = verify(&mac, &deleted, 5).unwrap_err();
        assert_eq!((e.seq, e.kind), (2, BreakKind::Missing));

        // Swap positions: the seal covers seq, so a moved record no longer matches.
        let mut reordered = rs.clone();
        reordered.swap(1, 2);
        let (a, b) = (reordered[1].seq, reordered[2].seq);
        reordered[1].seq = b;
        reordered[2].seq = a;
        let e = verify(&mac, &reordered, 5).unwrap_err();
        assert_eq!((e.seq, e.kind), (2, BreakKind::Modified));

        // A record sealed with the key but chained after the wrong predecessor.
        let other = chain(&mac, 3);
        let mut inserted = rs.clone();
        let mut forged = rec(3, "admin.login");
        forged.prev_hash = other[0].hash.clone();
        let mut buf = Vec::new();
        forged.hash = Sealed::of(&forged)
            .seal(&mac, &forged.prev_hash, &mut buf)
            .to_vec();
        inserted[2] = forged;
        let e = verify(&mac, &inserted, 5).unwrap_err();
        assert_eq!((e.seq, e.kind), (3, BreakKind::OutOfPlace));

        let truncated = rs[..3].to_vec();
        let mut v = Verifier::new(&mac, 0, &GENESIS_HASH);
        for r in &truncated {
            v.check(r).unwrap();
        }
        let e = v
            .finish(5, &rs[4].hash, &head_mac(&mac, 5, &rs[4].hash))
            .unwrap_err();
        assert_eq!((e.seq, e.kind), (4, BreakKind::Truncated));

        let e = verify(&mac, &rs, 4).unwrap_err();
        assert_eq!((e.seq, e.kind), (5, BreakKind::BeyondHead));

        // Another key cannot produce a valid chain or head.
        let other_key = HmacSm3::new(&[2u8; 32]).unwrap();
        assert_eq!(verify(&other_key, &rs, 5).unwrap_err().seq, 1);
    }
}
