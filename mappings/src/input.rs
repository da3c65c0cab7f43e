//! The byte side of reading: encoding detection, transcoding and the hostile-input limits, all
//! below the XML tokenizer (which counts lines and enforces the size limits while it reads).

use std::io::{self, Read};

use crate::error::{Error, Location};

/// Limits against hostile input. Every limit is checked while reading, so an oversized document
/// is refused as soon as the limit is crossed, without reading the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total document size in bytes (after transcoding to UTF-8).
    pub max_bytes: u64,
    /// Element nesting depth.
    pub max_depth: usize,
    /// Attributes on one element.
    pub max_attributes: usize,
    /// Length of an element or attribute name, in bytes.
    pub max_name_len: usize,
    /// Length of one element's text, in bytes (also bounds comments and other markup).
    pub max_text_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 << 30,
            max_depth: 64,
            max_attributes: 64,
            max_name_len: 256,
            max_text_len: 1 << 20,
        }
    }
}

/// The encodings the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    Utf8,
    Gb18030,
}

impl Charset {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Gb18030 => "GB18030",
        }
    }
}

/// The charset of an encoding label; the error has no position (the caller knows where the
/// declaration is).
pub(crate) fn charset_by_label(label: &str) -> Result<Charset, Error> {
    match label.trim().to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => Ok(Charset::Utf8),
        "gbk" | "gb2312" | "gb18030" | "cp936" | "x-gbk" => Ok(Charset::Gb18030),
        _ => Err(Error::EncodingUnsupported {
            at: Location::default(),
            encoding: label.to_owned(),
        }),
    }
}

/// Finds the declared encoding in the first bytes of a document. Returns the charset and how
/// many bytes of byte-order mark to skip. An unsupported encoding is reported at the start of
/// the document (where the byte-order mark or the XML declaration is).
pub(crate) fn sniff(head: &[u8]) -> Result<(Charset, usize), Error> {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok((Charset::Utf8, 3));
    }
    if head.starts_with(&[0xFE, 0xFF])
        || head.starts_with(&[0xFF, 0xFE])
        || head.starts_with(&[0, b'<'])
        || head.starts_with(&[b'<', 0])
    {
        return Err(Error::EncodingUnsupported {
            at: Location::at((1, 1), ""),
            encoding: "UTF-16".to_owned(),
        });
    }
    if !head.starts_with(b"<?xml") {
        return Ok((Charset::Utf8, 0));
    }
    let end = head
        .windows(2)
        .position(|w| w == b"?>")
        .unwrap_or(head.len());
    let decl = &head[..end];
    let Some(at) = decl.windows(8).position(|w| w == b"encoding") else {
        return Ok((Charset::Utf8, 0));
    };
    let rest = &decl[at + 8..];
    let rest = rest
        .iter()
        .position(|b| *b == b'"' || *b == b'\'')
        .map(|q| (&rest[q + 1..], rest[q]));
    let Some((value, quote)) = rest else {
        return Ok((Charset::Utf8, 0));
    };
    let len = value
        .iter()
        .position(|b| *b == quote)
        .unwrap_or(value.len());
    let label = String::from_utf8_lossy(&value[..len]);
    let charset = charset_by_label(&label).map_err(|e| e.or_at(Location::at((1, 1), "")))?;
    Ok((charset, 0))
}

/// The 1-based (line, column) of byte offset `at` of `text`, the column in bytes. For error
/// paths only: it scans `text` up to `at`.
#[cold]
pub(crate) fn line_col(text: &[u8], at: usize) -> (u64, u64) {
    let at = at.min(text.len());
    let before = &text[..at];
    match memchr::memrchr(b'\n', before) {
        Some(i) => (
            memchr::memchr_iter(b'\n', before).count() as u64 + 1,
            (at - i) as u64,
        ),
        None => (1, at as u64 + 1),
    }
}

/// Reads up to 1 KiB (or the end of the XML declaration) without losing it.
pub(crate) fn read_head<R: Read>(r: &mut R) -> Result<Vec<u8>, Error> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 256];
    while head.len() < 1024 {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io(e)),
        };
        head.extend_from_slice(&chunk[..n]);
        if head.len() >= 5 && (!head.starts_with(b"<?xml") || head.windows(2).any(|w| w == b"?>")) {
            break;
        }
    }
    Ok(head)
}

/// GB18030 (a superset of GBK) to UTF-8, streaming; malformed bytes are an error.
pub(crate) struct Transcode<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
    /// Decoded bytes that did not fit a small caller buffer.
    spill: Vec<u8>,
    spill_pos: usize,
}

impl<R: Read> Transcode<R> {
    pub(crate) fn new(inner: R) -> Self {
        Transcode {
            inner,
            decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
            buf: vec![0u8; 16 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            done: false,
            spill: Vec::new(),
            spill_pos: 0,
        }
    }
}

/// Marker for a transcoding failure, recognised by the reader when it surfaces.
#[derive(Debug)]
pub(crate) struct Malformed;

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed byte sequence")
    }
}

impl std::error::Error for Malformed {}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.spill_pos < self.spill.len() {
            let n = (self.spill.len() - self.spill_pos).min(out.len());
            out[..n].copy_from_slice(&self.spill[self.spill_pos..self.spill_pos + n]);
            self.spill_pos += n;
            return Ok(n);
        }
        if out.len() < 16 {
            let mut tmp = [0u8; 64];
            let n = self.decode(&mut tmp)?;
            self.spill = tmp[..n].to_vec();
            self.spill_pos = 0;
            return self.read(out);
        }
        self.decode(out)
    }
}

impl<R: Read> Transcode<R> {
    fn decode(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.done {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.buf)?;
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.buf[self.start..self.end],
                out,
                self.eof,
            );
            self.start += read;
            match result {
                encoding_rs::DecoderResult::Malformed(_, _) => {
                    return Err(io::Error::other(Malformed));
                }
                encoding_rs::DecoderResult::InputEmpty if self.eof => self.done = written == 0,
                _ => {}
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_declarations() {
        assert_eq!(
            sniff(b"<?xml version=\"1.0\" encoding=\"GBK\"?><a/>")
                .unwrap()
                .0,
            Charset::Gb18030
        );
        assert_eq!(
            sniff(b"<?xml version='1.0' encoding='utf-8'?>").unwrap().0,
            Charset::Utf8
        );
        assert_eq!(sniff(b"<a/>").unwrap(), (Charset::Utf8, 0));
        assert_eq!(sniff(b"\xEF\xBB\xBF<a/>").unwrap(), (Charset::Utf8, 3));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>")
                .unwrap_err()
                .code(),
            "mapping.encoding_unsupported"
        );
        assert_eq!(
            sniff(b"\xFF\xFE<\0").unwrap_err().code(),
            "mapping.encoding_unsupported"
        );
    }

    #[test]
    fn transcodes_gbk_across_chunk_boundaries() {
        let text = "龙岩".repeat(20_000);
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        let mut t = Transcode::new(&bytes[..]);
        let mut out = String::new();
        t.read_to_string(&mut out).unwrap();
        assert_eq!(out, "龙岩".repeat(20_000));
        let mut t = Transcode::new(&b"\x81"[..]);
        assert!(t.read_to_string(&mut String::new()).is_err());
    }
}
