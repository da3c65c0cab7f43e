//! A small JSON text writer: the streaming path writes JSON without building a value tree.

/// Appends `s` as a JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    // Most values need no escaping: find the next byte that does, copy the run before it.
    while let Some(i) = find_escape(bytes, start) {
        let b = bytes[i];
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// The first byte at or after `from` that needs escaping, eight bytes at a time.
fn find_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Per byte: below 0x20, equal to `"`, equal to `\` (the lowest flagged byte is exact, and
    // bytes that are not flagged cause no false flags above them).
    let flags = |chunk: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        let x = u64::from_le_bytes(a);
        let ctl = x.wrapping_sub(LO * 0x20) & !x;
        let q = x ^ (LO * u64::from(b'"'));
        let q = q.wrapping_sub(LO) & !q;
        let bs = x ^ (LO * u64::from(b'\\'));
        let bs = bs.wrapping_sub(LO) & !bs;
        (ctl | q | bs) & HI
    };
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let m = flags(chunk);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i >= bytes.len() {
        return None;
    }
    if bytes.len() >= 8 {
        // The last eight bytes, those before `i` (already clean) left out.
        let j = bytes.len() - 8;
        let m = flags(&bytes[j..]) & (u64::MAX << (8 * (i - j)));
        return (m != 0).then(|| j + (m.trailing_zeros() / 8) as usize);
    }
    bytes[i..]
        .iter()
        .position(|&b| needs_escape(b))
        .map(|k| i + k)
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "plain",
            "q\"b\\",
            "ctl\u{1}\n\t\r\u{1f}\u{0}",
            "中文",
            "",
            "\"",
            "a\\",
            "0123456789abcdef\"",
            "01234567\u{7f}\u{80}é\n89abcdef\\x",
            "long text without anything to escape, 中文 included",
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn finds_every_byte_that_needs_escaping_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut v = vec![b'a'; len];
                    v[at] = b;
                    let want = v.iter().position(|&c| needs_escape(c));
                    assert_eq!(find_escape(&v, 0), want, "{b:#x} at {at} of {len}");
                    // Bytes that borrow in the word arithmetic, before and after.
                    v[..at].fill(0x80);
                    assert_eq!(find_escape(&v, 0), want, "{b:#x} at {at} of {len}");
                }
            }
        }
    }
}
