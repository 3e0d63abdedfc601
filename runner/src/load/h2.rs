//! Lean HTTP/2 client connection for the load generator (h2 over TLS and h2c), one request in
//! flight: the request's header block is HPACK-encoded once and only its stream id changes per
//! request; responses are read inline by the requesting task (no connection task, no
//! cross-task wake-ups, no per-request allocation), answering SETTINGS and PING and keeping
//! flow control on the way.
//!
//! Only `:status` is decoded from a response. The client advertises
//! `SETTINGS_HEADER_TABLE_SIZE = 0`, so a conforming server's encoder keeps no dynamic HPACK
//! table and every indexed field is in the static table; response header blocks need no state
//! and the other fields are skipped by their encoded length. `:status` is found as a static
//! index (8-14) or as a literal whose name is static index 8, with a plain or Huffman-coded
//! value (three digits).
//!
//! Windows: the client opens its receive windows to 2^31-1 (stream: `SETTINGS_INITIAL_WINDOW_SIZE`;
//! connection: one `WINDOW_UPDATE`) and refills them after 1 GiB; request bodies are sent
//! within the server's windows and its `SETTINGS_MAX_FRAME_SIZE`.
//!
//! Connection end: a `GOAWAY` that covers the in-flight stream lets its response finish and
//! then retires the connection (`H2Response::close`); one that does not, and a
//! `REFUSED_STREAM` reset, fail the exchange with `ConnectionReset`, so the caller may retry on
//! a fresh connection (the request was not processed).

use std::io;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::load::h1::{RecvBuf, read_stream};

/// The client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
const SETTINGS_ENABLE_PUSH: u16 = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;

/// Largest flow-control window.
const MAX_WINDOW: u32 = (1 << 31) - 1;
/// Initial flow-control window (RFC 9113).
const DEFAULT_WINDOW: u32 = 65_535;
/// Largest frame payload accepted from the server (the default `SETTINGS_MAX_FRAME_SIZE`,
/// which the client leaves unchanged) and the size header blocks are split at.
const MAX_FRAME: usize = 16_384;
/// A receive window is refilled once this much of it was used.
const REFILL: u32 = 1 << 30;
/// Largest response header block kept while waiting for its CONTINUATION frames.
const MAX_HEADER_BLOCK: usize = 256 * 1024;
/// Highest client stream id.
const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// `RST_STREAM` error code: the stream was refused before any processing.
const REFUSED_STREAM: u32 = 0x7;

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Header names that are connection-specific in HTTP/1.1 and not allowed in HTTP/2 (hyper
/// strips the same ones); `te` is kept only as `trailers`.
const CONNECTION_HEADERS: [&str; 5] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// Append an HPACK integer with an `n`-bit prefix whose other bits are `first`.
fn put_int(out: &mut Vec<u8>, first: u8, n: u8, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(first | v as u8);
        return;
    }
    out.push(first | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// Append an HPACK string literal (not Huffman-coded).
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// Append a literal field without indexing whose name is static-table entry `index`.
fn put_indexed_name(out: &mut Vec<u8>, index: usize, value: &[u8]) {
    put_int(out, 0x00, 4, index);
    put_str(out, value);
}

fn frame_head(out: &mut Vec<u8>, len: usize, ty: u8, flags: u8, stream: u32) {
    let len = len as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(ty);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
}

/// The HPACK header block of a request: pseudo-headers from `method` and the absolute `uri`,
/// then `headers` (connection-specific ones dropped), all without indexing or Huffman coding.
fn header_block(method: &Method, uri: &Uri, headers: &HeaderMap) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    // Static table: 1 :authority, 2 :method GET, 3 :method POST, 4 :path /, 6 :scheme http,
    // 7 :scheme https.
    if *method == Method::GET {
        b.push(0x80 | 2);
    } else if *method == Method::POST {
        b.push(0x80 | 3);
    } else {
        put_indexed_name(&mut b, 2, method.as_str().as_bytes());
    }
    b.push(if uri.scheme_str() == Some("https") {
        0x80 | 7
    } else {
        0x80 | 6
    });
    if let Some(auth) = uri.authority() {
        put_indexed_name(&mut b, 1, auth.as_str().as_bytes());
    }
    match uri.path_and_query().map_or("/", |p| p.as_str()) {
        "/" | "" => b.push(0x80 | 4),
        p => put_indexed_name(&mut b, 4, p.as_bytes()),
    }
    let dropped: Vec<String> = headers
        .get(http::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    for (name, value) in headers {
        let n = name.as_str();
        if CONNECTION_HEADERS.contains(&n)
            || dropped.iter().any(|d| d == n)
            || (name == http::header::TE && value != "trailers")
        {
            continue;
        }
        b.push(0x00);
        put_str(&mut b, n.as_bytes());
        put_str(&mut b, value.as_bytes());
    }
    b
}

/// A request encoded once: its HEADERS (+ CONTINUATION) frames, whose stream ids are patched
/// per request, and its body.
#[derive(Debug, Clone)]
pub struct H2Request {
    head: Vec<u8>,
    /// Offsets in `head` of each frame's stream id.
    ids: Vec<usize>,
    body: Bytes,
}

impl H2Request {
    /// Encode `method` on the absolute `uri` with `headers` and `body`.
    pub fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Self {
        let block = header_block(method, uri, headers);
        let mut head = Vec::with_capacity(block.len() + 9);
        let mut ids = Vec::with_capacity(1);
        let chunks: Vec<&[u8]> = if block.is_empty() {
            vec![&[][..]]
        } else {
            block.chunks(MAX_FRAME).collect()
        };
        let last = chunks.len() - 1;
        for (i, c) in chunks.iter().enumerate() {
            let (ty, mut flags) = if i == 0 {
                (HEADERS, if body.is_empty() { END_STREAM } else { 0 })
            } else {
                (CONTINUATION, 0)
            };
            if i == last {
                flags |= END_HEADERS;
            }
            frame_head(&mut head, c.len(), ty, flags, 0);
            ids.push(head.len() - 4);
            head.extend_from_slice(c);
        }
        H2Request { head, ids, body }
    }
}

/// Outcome of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2Response {
    /// Final status code.
    pub status: u16,
    /// The connection must not carry another request (GOAWAY received, stream ids used up, or
    /// the response ended before the request body was sent).
    pub close: bool,
}

/// The in-flight stream.
#[derive(Debug, Default)]
struct Stream {
    id: u32,
    /// Send window (the server's initial window plus its updates).
    send: i64,
    /// Request body bytes sent.
    sent: usize,
    /// Final status, once its HEADERS were decoded.
    status: Option<u16>,
    /// A header block of this stream is waiting for CONTINUATION frames.
    in_block: bool,
    /// The open header block carries END_STREAM.
    block_ends: bool,
    /// DATA bytes received since the last stream WINDOW_UPDATE.
    recv_used: u32,
    /// The response is complete.
    done: bool,
}

/// One HTTP/2 connection with at most one stream open.
pub struct H2Conn<S> {
    io: S,
    rb: RecvBuf,
    /// Frames waiting to be written (control frames, the request).
    out: Vec<u8>,
    /// Header block fragments of the in-flight stream.
    block: Vec<u8>,
    next_id: u32,
    /// Connection send window.
    send_conn: i64,
    /// The server's `SETTINGS_INITIAL_WINDOW_SIZE`.
    peer_window: i64,
    /// The server's `SETTINGS_MAX_FRAME_SIZE`.
    peer_frame: usize,
    /// DATA bytes received since the last connection WINDOW_UPDATE.
    recv_used: u32,
    /// Last stream id of a GOAWAY received.
    goaway: Option<u32>,
    /// The server's first SETTINGS frame has arrived.
    settled: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H2Conn<S> {
    /// Send the connection preface and settings, and wait for the server's settings.
    pub async fn handshake(io: S) -> io::Result<Self> {
        let mut c = H2Conn {
            io,
            rb: RecvBuf::new(),
            out: Vec::with_capacity(256),
            block: Vec::new(),
            next_id: 1,
            send_conn: i64::from(DEFAULT_WINDOW),
            peer_window: i64::from(DEFAULT_WINDOW),
            peer_frame: MAX_FRAME,
            recv_used: 0,
            goaway: None,
            settled: false,
        };
        c.out.extend_from_slice(PREFACE);
        let settings: [(u16, u32); 3] = [
            (SETTINGS_HEADER_TABLE_SIZE, 0),
            (SETTINGS_ENABLE_PUSH, 0),
            (SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW),
        ];
        frame_head(&mut c.out, settings.len() * 6, SETTINGS, 0, 0);
        for (k, v) in settings {
            c.out.extend_from_slice(&k.to_be_bytes());
            c.out.extend_from_slice(&v.to_be_bytes());
        }
        frame_head(&mut c.out, 4, WINDOW_UPDATE, 0, 0);
        c.out
            .extend_from_slice(&(MAX_WINDOW - DEFAULT_WINDOW).to_be_bytes());
        c.flush_out().await?;
        let mut idle = Stream::default();
        while !c.settled {
            if c.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            c.process(&mut idle)?;
        }
        // The SETTINGS ACK goes out now: a paced run may wait long before its first request.
        c.flush_out().await?;
        c.rb.release();
        Ok(c)
    }

    async fn flush_out(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.io.write_all(&self.out).await?;
            self.io.flush().await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Read more bytes; returns the number read (0 = EOF).
    async fn fill(&mut self) -> io::Result<usize> {
        read_stream(&mut self.io, &mut self.rb).await
    }

    /// Queue as much of the request body as the windows allow.
    fn push_body(&mut self, st: &mut Stream, body: &Bytes) {
        while st.sent < body.len() {
            let room = st.send.min(self.send_conn).min(self.peer_frame as i64);
            if room <= 0 {
                return;
            }
            let n = (body.len() - st.sent).min(room as usize);
            let last = st.sent + n == body.len();
            frame_head(
                &mut self.out,
                n,
                DATA,
                if last { END_STREAM } else { 0 },
                st.id,
            );
            self.out.extend_from_slice(&body[st.sent..st.sent + n]);
            st.sent += n;
            st.send -= n as i64;
            self.send_conn -= n as i64;
        }
    }

    /// Send `req` and read its response (the body is discarded).
    pub async fn exchange(&mut self, req: &H2Request) -> io::Result<H2Response> {
        if self.goaway.is_some() || self.next_id > MAX_STREAM_ID {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        if self.rb.start != self.rb.end {
            // Frames that arrived after the last response (e.g. a PING) are handled first.
            let mut idle = Stream::default();
            self.process(&mut idle)?;
            if self.goaway.is_some() {
                return Err(io::ErrorKind::ConnectionReset.into());
            }
        }
        let mut st = Stream {
            id: self.next_id,
            send: self.peer_window,
            ..Stream::default()
        };
        self.next_id += 2;
        let at = self.out.len();
        self.out.extend_from_slice(&req.head);
        let id = st.id.to_be_bytes();
        for &i in &req.ids {
            self.out[at + i..at + i + 4].copy_from_slice(&id);
        }
        self.push_body(&mut st, &req.body);
        self.flush_out().await?;
        loop {
            self.process(&mut st)?;
            if st.done {
                break;
            }
            if st.sent < req.body.len() {
                self.push_body(&mut st, &req.body);
            }
            self.flush_out().await?;
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        // Control frames that came with the response (PING or SETTINGS acks, window updates).
        self.flush_out().await?;
        self.rb.release();
        let status = st.status.ok_or_else(|| bad("response without :status"))?;
        Ok(H2Response {
            status,
            close: self.goaway.is_some()
                || self.next_id > MAX_STREAM_ID
                || st.sent < req.body.len(),
        })
    }

    /// Handle every complete frame in the buffer.
    fn process(&mut self, st: &mut Stream) -> io::Result<()> {
        loop {
            let data = self.rb.data();
            if data.len() < 9 {
                break;
            }
            let len =
                (usize::from(data[0]) << 16) | (usize::from(data[1]) << 8) | usize::from(data[2]);
            if len > MAX_FRAME {
                return Err(bad("frame larger than SETTINGS_MAX_FRAME_SIZE"));
            }
            if data.len() < 9 + len {
                break;
            }
            let (ty, flags) = (data[3], data[4]);
            let sid = u32::from_be_bytes([data[5], data[6], data[7], data[8]]) & MAX_STREAM_ID;
            let start = self.rb.start + 9;
            self.rb.start = start + len;
            self.frame(st, ty, flags, sid, start, len)?;
        }
        if self.recv_used >= REFILL {
            frame_head(&mut self.out, 4, WINDOW_UPDATE, 0, 0);
            self.out.extend_from_slice(&self.recv_used.to_be_bytes());
            self.recv_used = 0;
        }
        if st.recv_used >= REFILL && !st.done {
            frame_head(&mut self.out, 4, WINDOW_UPDATE, 0, st.id);
            self.out.extend_from_slice(&st.recv_used.to_be_bytes());
            st.recv_used = 0;
        }
        Ok(())
    }

    /// Handle one frame whose payload is `self.rb.buf[at..at + len]`.
    fn frame(
        &mut self,
        st: &mut Stream,
        ty: u8,
        flags: u8,
        sid: u32,
        at: usize,
        len: usize,
    ) -> io::Result<()> {
        let payload = &self.rb.buf[at..at + len];
        let ours = sid != 0 && sid == st.id;
        match ty {
            DATA => {
                self.recv_used += len as u32;
                if ours {
                    st.recv_used += len as u32;
                    if flags & END_STREAM != 0 {
                        if st.status.is_none() {
                            return Err(bad("DATA before response headers"));
                        }
                        st.done = true;
                    }
                }
            }
            HEADERS if ours => {
                let frag = strip_headers_frame(payload, flags)?;
                self.block.clear();
                self.block.extend_from_slice(frag);
                st.block_ends = flags & END_STREAM != 0;
                st.in_block = flags & END_HEADERS == 0;
                if !st.in_block {
                    self.end_block(st)?;
                }
            }
            CONTINUATION if ours && st.in_block => {
                if self.block.len() + len > MAX_HEADER_BLOCK {
                    return Err(bad("response header block too large"));
                }
                self.block.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    st.in_block = false;
                    self.end_block(st)?;
                }
            }
            RST_STREAM if ours => {
                let code = payload
                    .get(..4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(0);
                return Err(if code == REFUSED_STREAM && st.status.is_none() {
                    io::Error::new(io::ErrorKind::ConnectionReset, "stream refused")
                } else {
                    io::Error::other(format!("stream reset by the server (error {code})"))
                });
            }
            SETTINGS if sid == 0 => {
                if flags & ACK != 0 {
                    return Ok(());
                }
                if !len.is_multiple_of(6) {
                    return Err(bad("bad SETTINGS frame"));
                }
                for s in payload.chunks_exact(6) {
                    let k = u16::from_be_bytes([s[0], s[1]]);
                    let v = u32::from_be_bytes([s[2], s[3], s[4], s[5]]);
                    match k {
                        SETTINGS_INITIAL_WINDOW_SIZE => {
                            if v > MAX_WINDOW {
                                return Err(bad("bad SETTINGS_INITIAL_WINDOW_SIZE"));
                            }
                            let delta = i64::from(v) - self.peer_window;
                            self.peer_window = i64::from(v);
                            if st.id != 0 {
                                st.send += delta;
                            }
                        }
                        SETTINGS_MAX_FRAME_SIZE => {
                            if !(16_384..=16_777_215).contains(&v) {
                                return Err(bad("bad SETTINGS_MAX_FRAME_SIZE"));
                            }
                            self.peer_frame = v as usize;
                        }
                        _ => {}
                    }
                }
                self.settled = true;
                frame_head(&mut self.out, 0, SETTINGS, ACK, 0);
            }
            PING if sid == 0 && flags & ACK == 0 => {
                if len != 8 {
                    return Err(bad("bad PING frame"));
                }
                let mut p = [0u8; 8];
                p.copy_from_slice(payload);
                frame_head(&mut self.out, 8, PING, ACK, 0);
                self.out.extend_from_slice(&p);
            }
            GOAWAY if sid == 0 => {
                if len < 8 {
                    return Err(bad("bad GOAWAY frame"));
                }
                let last = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                    & MAX_STREAM_ID;
                self.goaway = Some(last);
                if st.id > last && !st.done {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "GOAWAY before the stream was processed",
                    ));
                }
            }
            WINDOW_UPDATE => {
                if len != 4 {
                    return Err(bad("bad WINDOW_UPDATE frame"));
                }
                let inc = i64::from(
                    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & MAX_STREAM_ID,
                );
                if sid == 0 {
                    self.send_conn += inc;
                } else if ours {
                    st.send += inc;
                }
            }
            PUSH_PROMISE => return Err(bad("PUSH_PROMISE although push is disabled")),
            // Frames of earlier streams, PRIORITY, unknown types.
            _ => {}
        }
        Ok(())
    }

    /// A complete header block of the in-flight stream.
    fn end_block(&mut self, st: &mut Stream) -> io::Result<()> {
        if st.status.is_none() {
            let status = decode_status(&self.block)?;
            if !(100..200).contains(&status) {
                st.status = Some(status);
            }
        }
        // Otherwise trailers: nothing to read from them.
        if st.block_ends {
            if st.status.is_none() {
                return Err(bad("stream ended after an informational response"));
            }
            st.done = true;
        }
        Ok(())
    }
}

/// The header block fragment of a HEADERS frame (padding and priority removed).
fn strip_headers_frame(payload: &[u8], flags: u8) -> io::Result<&[u8]> {
    let mut p = payload;
    let mut pad = 0;
    if flags & PADDED != 0 {
        let (&n, rest) = p.split_first().ok_or_else(|| bad("bad HEADERS padding"))?;
        pad = usize::from(n);
        p = rest;
    }
    if flags & PRIORITY != 0 {
        p = p.get(5..).ok_or_else(|| bad("bad HEADERS priority"))?;
    }
    if pad > p.len() {
        return Err(bad("bad HEADERS padding"));
    }
    Ok(&p[..p.len() - pad])
}

/// Read an HPACK integer with an `n`-bit prefix at `b[*pos]`.
fn get_int(b: &[u8], pos: &mut usize, n: u8) -> io::Result<usize> {
    let max = (1usize << n) - 1;
    let first = *b.get(*pos).ok_or_else(|| bad("truncated HPACK integer"))?;
    *pos += 1;
    let mut v = usize::from(first) & max;
    if v < max {
        return Ok(v);
    }
    let mut shift = 0;
    loop {
        let byte = *b.get(*pos).ok_or_else(|| bad("truncated HPACK integer"))?;
        *pos += 1;
        if shift > 28 {
            return Err(bad("HPACK integer too large"));
        }
        v += usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
}

/// Read an HPACK string literal at `b[*pos]`: (Huffman-coded, bytes).
fn get_str<'a>(b: &'a [u8], pos: &mut usize) -> io::Result<(bool, &'a [u8])> {
    let huffman = b.get(*pos).is_some_and(|x| x & 0x80 != 0);
    let len = get_int(b, pos, 7)?;
    let s = b
        .get(*pos..*pos + len)
        .ok_or_else(|| bad("truncated HPACK string"))?;
    *pos += len;
    Ok((huffman, s))
}

/// The status of a response header block, decoded with an empty dynamic table.
fn decode_status(b: &[u8]) -> io::Result<u16> {
    let mut pos = 0;
    while pos < b.len() {
        let first = b[pos];
        if first & 0x80 != 0 {
            // Indexed field.
            let i = get_int(b, &mut pos, 7)?;
            match i {
                8 => return Ok(200),
                9 => return Ok(204),
                10 => return Ok(206),
                11 => return Ok(304),
                12 => return Ok(400),
                13 => return Ok(404),
                14 => return Ok(500),
                1..=61 => {}
                _ => return Err(bad("HPACK index outside the static table")),
            }
            continue;
        }
        if first & 0xe0 == 0x20 {
            // Dynamic table size update: only 0 fits the advertised size.
            if get_int(b, &mut pos, 5)? != 0 {
                return Err(bad("HPACK table size update above the advertised 0"));
            }
            continue;
        }
        // Literal field: with incremental indexing (6-bit prefix), without indexing or never
        // indexed (4-bit prefix).
        let n = if first & 0x40 != 0 { 6 } else { 4 };
        let name = get_int(b, &mut pos, n)?;
        if name == 0 {
            let (huffman, lit) = get_str(b, &mut pos)?;
            let is_status = !huffman && lit == b":status";
            let (huffman, value) = get_str(b, &mut pos)?;
            if is_status {
                return parse_status(huffman, value);
            }
        } else {
            if name > 61 {
                return Err(bad("HPACK index outside the static table"));
            }
            let (huffman, value) = get_str(b, &mut pos)?;
            if (8..=14).contains(&name) {
                return parse_status(huffman, value);
            }
        }
    }
    Err(bad("response without :status"))
}

/// A three-digit status value, plain or Huffman-coded.
fn parse_status(huffman: bool, v: &[u8]) -> io::Result<u16> {
    let mut digits = [0u8; 3];
    if huffman {
        // RFC 7541 Appendix B: '0'-'2' are the 5-bit codes 0-2, '3'-'9' the 6-bit codes
        // 0x19-0x1f; padding is up to 7 one bits.
        let mut bits: u64 = 0;
        let mut nbits = 0u32;
        for &x in v.iter().take(8) {
            bits = (bits << 8) | u64::from(x);
            nbits += 8;
        }
        if v.len() > 3 {
            return Err(bad("bad :status"));
        }
        let mut take = |k: u32| -> Option<u64> {
            if nbits < k {
                return None;
            }
            nbits -= k;
            Some((bits >> nbits) & ((1 << k) - 1))
        };
        for d in &mut digits {
            let five = take(5).ok_or_else(|| bad("bad :status"))?;
            *d = if five < 3 {
                five as u8
            } else {
                let six = (five << 1) | take(1).ok_or_else(|| bad("bad :status"))?;
                if !(0x19..=0x1f).contains(&six) {
                    return Err(bad("bad :status"));
                }
                (six - 0x19 + 3) as u8
            };
        }
        if nbits >= 8 || (bits & ((1 << nbits) - 1)) != (1 << nbits) - 1 {
            return Err(bad("bad :status"));
        }
    } else {
        if v.len() != 3 || !v.iter().all(u8::is_ascii_digit) {
            return Err(bad("bad :status"));
        }
        for (d, c) in digits.iter_mut().zip(v) {
            *d = c - b'0';
        }
    }
    let s = u16::from(digits[0]) * 100 + u16::from(digits[1]) * 10 + u16::from(digits[2]);
    if !(100..=999).contains(&s) {
        return Err(bad("bad :status"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `:status` is found as a static index, as a literal with a static name (plain or
    /// Huffman-coded value, any literal kind) or a plain literal name, after other fields and
    /// a table size update to 0; dynamic indexes and bad values are errors.
    #[test]
    fn status_decoding() {
        let cases: [(&[u8], u16); 9] = [
            (&[0x88], 200),
            (&[0x8d], 404),
            (&[0x20, 0x89], 204),
            (&[0x08, 0x03, b'4', b'1', b'8'], 418),
            (&[0x18, 0x03, b'5', b'0', b'3'], 503),
            (&[0x48, 0x83, 0x68, 0x2f, 0x7f], 418),
            (&[0x08, 0x82, 0x10, 0x01], 200),
            (
                &[
                    0x40, 0x07, b':', b's', b't', b'a', b't', b'u', b's', 0x03, b'2', b'0', b'1',
                ],
                201,
            ),
            // 0x0f 0x10 = index 31 (content-type) without indexing, then :status 500.
            (&[0x0f, 0x10, 0x01, b'x', 0x8e], 500),
        ];
        for (block, want) in cases {
            assert_eq!(decode_status(block).expect("decodes"), want, "{block:02x?}");
        }
        let bad: [&[u8]; 7] = [
            &[],
            &[0xbe],                         // index 62: dynamic table
            &[0x21],                         // table size update to 1
            &[0x08, 0x03, b'4', b'1'],       // truncated
            &[0x08, 0x02, b'4', b'1'],       // two digits
            &[0x08, 0x83, 0x68, 0x2f, 0x7e], // padding not all ones
            &[0x0f, 0x10, 0x01, b'x'],       // no :status
        ];
        for block in bad {
            assert!(decode_status(block).is_err(), "{block:02x?}");
        }
    }

    /// The request's header block: indexed pseudo-headers where the static table has them,
    /// literals otherwise, connection-specific headers dropped, and END_STREAM only without
    /// a body.
    #[test]
    fn request_encoding() {
        let mut h = HeaderMap::new();
        h.insert("x-a", http::HeaderValue::from_static("1"));
        h.insert("connection", http::HeaderValue::from_static("x-b"));
        h.insert("x-b", http::HeaderValue::from_static("2"));
        h.insert("te", http::HeaderValue::from_static("gzip"));
        let uri: Uri = "http://h:1/p?q".parse().expect("uri");
        let r = H2Request::new(&Method::GET, &uri, &h, Bytes::new());
        let mut want = vec![0x82, 0x86, 0x01, 0x03, b'h', b':', b'1'];
        want.extend_from_slice(&[0x04, 0x04, b'/', b'p', b'?', b'q']);
        want.extend_from_slice(&[0x00, 0x03, b'x', b'-', b'a', 0x01, b'1']);
        assert_eq!(&r.head[9..], &want[..]);
        assert_eq!(
            &r.head[..5],
            &[0, 0, want.len() as u8, HEADERS, END_STREAM | END_HEADERS]
        );
        assert_eq!(r.ids, vec![5]);
        let uri: Uri = "https://h/".parse().expect("uri");
        let r = H2Request::new(
            &Method::PUT,
            &uri,
            &HeaderMap::new(),
            Bytes::from_static(b"b"),
        );
        assert_eq!(&r.head[4], &END_HEADERS);
        assert_eq!(
            &r.head[9..],
            &[0x02, 0x03, b'P', b'U', b'T', 0x87, 0x01, 0x01, b'h', 0x84]
        );
        // A header block above the frame size is split into HEADERS + CONTINUATION.
        let mut h = HeaderMap::new();
        h.insert(
            "x-big",
            http::HeaderValue::from_str(&"v".repeat(20_000)).expect("value"),
        );
        let r = H2Request::new(&Method::GET, &uri, &h, Bytes::new());
        assert_eq!(r.ids.len(), 2);
        assert_eq!(&r.head[3..5], &[HEADERS, END_STREAM]);
        let second = 9 + MAX_FRAME;
        assert_eq!(
            &r.head[second + 3..second + 5],
            &[CONTINUATION, END_HEADERS]
        );
    }
}
