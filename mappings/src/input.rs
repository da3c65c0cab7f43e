//! The byte side of reading: encoding detection and transcoding, hostile-input size limits and
//! line tracking, all below the XML tokenizer.

use std::io::{self, BufRead, Read};

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

pub(crate) fn charset_by_label(label: &str) -> Result<Charset, Error> {
    match label.trim().to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => Ok(Charset::Utf8),
        "gbk" | "gb2312" | "gb18030" | "cp936" | "x-gbk" => Ok(Charset::Gb18030),
        _ => Err(Error::EncodingUnsupported {
            encoding: label.to_owned(),
        }),
    }
}

/// Finds the declared encoding in the first bytes of a document. Returns the charset and how
/// many bytes of byte-order mark to skip.
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
    Ok((charset_by_label(&label)?, 0))
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

/// Why the tracked reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    TooBig,
    EventTooBig,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("input limit reached")
    }
}

impl std::error::Error for Stop {}

/// A buffered reader that enforces the size limits and knows line and column of what it read.
///
/// Lines are counted lazily: consuming bytes only moves an offset; newlines are counted with a
/// vectorised scan when a position is asked for (at most once per byte, since positions are
/// asked for in increasing order) and, for the rest of a buffer, just before it is refilled.
pub(crate) struct Tracked<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    /// Offset of `buf[0]`.
    buf_start: u64,
    /// Bytes consumed so far.
    offset: u64,
    /// Newlines are counted up to here (`buf_start <= counted <= offset`).
    counted: u64,
    /// Lines completed before `counted` (0-based line of `counted`).
    lines: u64,
    /// Offset of the first byte of the line holding `counted`.
    line_start: u64,
    mark: u64,
    /// (lines, line start) at `mark`, kept when a refill counted past the mark.
    mark_line: Option<(u64, u64)>,
    /// Offsets whose position may be asked for later (the start tags of the open elements),
    /// in increasing order, with (lines, line start) once counting has passed them.
    pins: Vec<(u64, Option<(u64, u64)>)>,
    /// `pins[..resolved]` have their line.
    resolved: usize,
    max_bytes: u64,
    max_event: u64,
}

impl<R: Read> Tracked<R> {
    pub(crate) fn new(inner: R, limits: &Limits) -> Self {
        Tracked {
            inner,
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            pos: 0,
            filled: 0,
            buf_start: 0,
            offset: 0,
            counted: 0,
            lines: 0,
            line_start: 0,
            mark: 0,
            mark_line: None,
            pins: Vec::with_capacity(16),
            resolved: 0,
            max_bytes: limits.max_bytes,
            max_event: (limits.max_text_len as u64).saturating_add(64 * 1024),
        }
    }

    /// Starts a new event: the per-event size limit counts from here.
    pub(crate) fn mark(&mut self) {
        self.mark = self.offset;
        self.mark_line = None;
    }

    /// Lines and line start at `at`, counted from `counted` (which must be at or before `at`,
    /// and `at` within the buffer).
    fn count_to(&self, at: u64) -> (u64, u64) {
        let from = (self.counted - self.buf_start) as usize;
        let to = ((at - self.buf_start) as usize).min(self.filled);
        let chunk = &self.buf[from.min(to)..to];
        match memchr::memrchr(b'\n', chunk) {
            Some(i) => (
                self.lines + 1 + memchr::memchr_iter(b'\n', &chunk[..i]).count() as u64,
                self.buf_start + (from + i) as u64 + 1,
            ),
            None => (self.lines, self.line_start),
        }
    }

    /// Moves the newline count forward to `at` (no further than the bytes consumed), noting
    /// the lines of the pinned offsets passed on the way.
    fn advance(&mut self, at: u64) {
        let at = at.min(self.offset);
        while let Some(&(pin, _)) = self.pins.get(self.resolved) {
            if pin > at {
                break;
            }
            if pin > self.counted {
                (self.lines, self.line_start) = self.count_to(pin);
                self.counted = pin;
            }
            self.pins[self.resolved].1 = Some((self.lines, self.line_start));
            self.resolved += 1;
        }
        if at > self.counted {
            (self.lines, self.line_start) = self.count_to(at);
            self.counted = at;
        }
    }

    /// Remembers `at` (not before any offset pinned or counted so far, except the current
    /// event's start) so that its position can be asked for with `pinned` until `unpin`.
    pub(crate) fn pin(&mut self, at: u64) {
        let line = if at < self.counted {
            Some(match (at == self.mark, self.mark_line) {
                (true, Some(l)) => l,
                _ => (self.lines, self.line_start),
            })
        } else {
            None
        };
        self.pins.push((at, line));
        if line.is_some() && self.resolved + 1 == self.pins.len() {
            self.resolved += 1;
        }
    }

    /// Forgets the last pinned offset.
    pub(crate) fn unpin(&mut self) {
        self.pins.pop();
        self.resolved = self.resolved.min(self.pins.len());
    }

    /// The 1-based (line, column) of the `i`-th pinned offset.
    pub(crate) fn pinned(&self, i: usize) -> (u64, u64) {
        match self.pins.get(i) {
            Some(&(at, Some((lines, line_start)))) => {
                (lines + 1, at.saturating_sub(line_start) + 1)
            }
            Some(&(at, None)) => self.position(at),
            None => (self.lines + 1, 1),
        }
    }

    /// Counts the lines of everything consumed: `lines` and `line_start` then describe `offset`.
    pub(crate) fn sync(&mut self) {
        self.advance(self.offset);
    }

    /// 0-based line and line start of the consumed offset (after `sync`).
    pub(crate) fn line_start(&self) -> u64 {
        self.line_start
    }

    /// The 1-based (line, column) of an absolute offset: exact for offsets from the last
    /// counted one to the end of the buffer and for the current event's start; for an earlier
    /// offset, the line of the counted offset is assumed.
    pub(crate) fn position(&self, at: u64) -> (u64, u64) {
        let (lines, line_start) = if at >= self.counted {
            self.count_to(at.min(self.offset))
        } else if let (true, Some(l)) = (at == self.mark, self.mark_line) {
            l
        } else {
            (self.lines, self.line_start)
        };
        (lines + 1, at.saturating_sub(line_start) + 1)
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Tracked<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.offset > self.max_bytes {
            return Err(io::Error::other(Stop::TooBig));
        }
        if self.offset - self.mark > self.max_event {
            return Err(io::Error::other(Stop::EventTooBig));
        }
        if self.pos == self.filled {
            // Count what is about to be overwritten, keeping the current event's start.
            if self.mark >= self.counted && self.mark < self.offset {
                self.advance(self.mark);
                self.mark_line = Some((self.lines, self.line_start));
            }
            self.sync();
            self.pos = 0;
            self.buf_start = self.offset;
            self.counted = self.offset;
            self.filled = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.filled - self.pos);
        self.offset += amt as u64;
        self.pos += amt;
    }
}

/// Turns an I/O error that surfaced through the tokenizer into the engine's error.
pub(crate) fn classify_io(
    e: &io::Error,
    at: Location,
    limits: &Limits,
    charset: Charset,
) -> Option<Error> {
    let inner = e.get_ref()?;
    if let Some(stop) = inner.downcast_ref::<Stop>() {
        return Some(match stop {
            Stop::TooBig => Error::LimitExceeded {
                at,
                limit: "document size in bytes",
                max: limits.max_bytes,
            },
            Stop::EventTooBig => Error::LimitExceeded {
                at,
                limit: "text length in bytes",
                max: limits.max_text_len as u64,
            },
        });
    }
    if inner.downcast_ref::<Malformed>().is_some() {
        return Some(Error::EncodingInvalid {
            at,
            encoding: charset.name().to_owned(),
        });
    }
    None
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
