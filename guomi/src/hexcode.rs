//! Minimal hexadecimal decoding and encoding for keys and signatures given as text.
//!
//! Kept here rather than taken from a crate so that decoded key material goes straight into a
//! zeroize-on-drop buffer.

use zeroize::Zeroizing;

/// Decodes hexadecimal text (either case, surrounding whitespace ignored) into bytes.
/// `None` when the text has an odd number of digits or anything that is not a hex digit.
pub(crate) fn decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let digits = text.trim().as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks_exact(2) {
        let high = nibble(pair[0])?;
        let low = nibble(pair[1])?;
        out.push((high << 4) | low);
    }
    Some(out)
}

/// Lower-case hexadecimal text of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_encodes_like_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = hex::encode(&bytes);
        assert_eq!(encode(&bytes), text);
        assert_eq!(decode(&text).unwrap().as_slice(), bytes.as_slice());
        assert_eq!(
            decode(&text.to_uppercase()).unwrap().as_slice(),
            bytes.as_slice()
        );
        assert_eq!(decode("  0aFf\n").unwrap().as_slice(), &[0x0a, 0xff]);
        assert_eq!(decode("").unwrap().as_slice(), &[] as &[u8]);
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in ["0", "abc", "0g", "zz", "0x00", "00 11", "é0", "０0"] {
            assert!(decode(bad).is_none(), "{bad:?}");
        }
    }
}
