//! HTTP/1.1 fast path: the request serialised once, an incremental (sans-I/O) response parser,
//! and the connection on tokio's reactor that drives it (one request in flight per connection).
//!
//! The parser ([`ResponseParser`]) is fed whatever bytes arrived and says how many it consumed
//! and whether the response is complete, so the same framing serves the epoll connection here
//! and the io_uring one (`uring.rs`).
//!
//! [`H1Conn`] carries it on a plain socket ([`Fd`]) or a TLS stream ([`Stream`]), and keeps
//! CPU per request low: no per-request allocation, no task hand-off between a
//! request sender and a connection task (as hyper's client does), and no wasted `read` that
//! returns `EAGAIN`: after a read that drained the socket (fewer bytes than the buffer), the
//! readiness flag is cleared so the next response is awaited through epoll directly. Syscalls
//! per request: one `write`, one `read` (plus the shared `epoll_wait`), as in wrk.
//!
//! Response framing: `Content-Length`, `chunked`, or read-to-close; 1xx responses are skipped;
//! `Connection: close` (or HTTP/1.0 without keep-alive) closes the connection after the
//! response. HEAD, 204 and 304 responses have no body.

use std::io::{self, Read, Write};
use std::net::TcpStream as StdTcpStream;

use std::pin::Pin;
use std::task::Poll;
use tokio::io::unix::AsyncFd;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Receive buffer size (grows only for larger response heads).
pub const BUF: usize = 16 * 1024;

/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

/// Outcome of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H1Response {
    /// Final status code.
    pub status: u16,
    /// The server asked to close (or the body was close-delimited).
    pub close: bool,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Where the parser is within the current response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a complete status line and headers.
    Head,
    /// This many body bytes left.
    Length(u64),
    /// Waiting for a chunk-size line.
    ChunkSize,
    /// This many bytes of chunk data plus its CRLF left.
    ChunkData(u64),
    /// Trailer lines until an empty one.
    Trailers,
    /// Body delimited by the end of the connection.
    UntilClose,
}

/// What a call to [`ResponseParser::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// The response is not complete: feed the unconsumed bytes again with more appended.
    More,
    /// The response is complete.
    Done(H1Response),
}

/// Incremental parser of one HTTP/1.1 response (status, framing, body skipped).
#[derive(Debug, Clone)]
pub struct ResponseParser {
    head_request: bool,
    state: State,
    status: u16,
    close: bool,
    /// The last final response head parsed in full, and what it gave (see [`HeadMemo`]).
    memo: Option<Box<HeadMemo>>,
}

/// A response head and its parse. A server answering the same request repeats the same head
/// (nginx's changes once a second, with its `Date`), and the same bytes parse the same way, so
/// a head equal to the last one is framed from it: one comparison of ~150 bytes instead of
/// parsing every header (two fifths of the client's user-space instructions per request).
#[derive(Debug, Clone)]
struct HeadMemo {
    head: Vec<u8>,
    status: u16,
    close: bool,
    /// The state for the body.
    state: State,
}

/// Longest head remembered (longer ones are parsed every time).
const MEMO_MAX: usize = 1024;

impl ResponseParser {
    /// A parser for responses to a request with this method (`HEAD` responses have no body).
    pub fn new(head_request: bool) -> Self {
        ResponseParser {
            head_request,
            state: State::Head,
            status: 0,
            close: false,
            memo: None,
        }
    }

    /// Start on the next response.
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.status = 0;
        self.close = false;
    }

    /// Consume what it can of `data` (the bytes received and not yet consumed). Returns the
    /// number of bytes consumed and whether the response is complete; after `Done` the parser
    /// is ready for the next response.
    pub fn feed(&mut self, data: &[u8]) -> io::Result<(usize, Parsed)> {
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            match self.state {
                State::Head => {
                    if let Some(m) = &self.memo
                        && rest.starts_with(&m.head)
                    {
                        // The same head as the last one ends at the same place, with the same
                        // status and framing.
                        self.status = m.status;
                        self.close = m.close;
                        self.state = m.state;
                        pos += m.head.len();
                        continue;
                    }
                    let Some(hlen) = self.parse_head(rest)? else {
                        return Ok((pos, Parsed::More));
                    };
                    pos += hlen;
                }
                State::Length(n) => {
                    let take = (rest.len() as u64).min(n);
                    pos += take as usize;
                    if take < n {
                        self.state = State::Length(n - take);
                        return Ok((pos, Parsed::More));
                    }
                    return Ok((pos, self.done()));
                }
                State::ChunkSize => {
                    let Some(len) = line_len(rest)? else {
                        return Ok((pos, Parsed::More));
                    };
                    let hex = rest[..len].split(|&b| b == b';').next().unwrap_or(&[]);
                    let size = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
                        .ok_or_else(|| bad("invalid chunk size"))?;
                    pos += len + 2;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size + 2)
                    };
                }
                State::ChunkData(n) => {
                    let take = (rest.len() as u64).min(n);
                    pos += take as usize;
                    if take < n {
                        self.state = State::ChunkData(n - take);
                        return Ok((pos, Parsed::More));
                    }
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(len) = line_len(rest)? else {
                        return Ok((pos, Parsed::More));
                    };
                    pos += len + 2;
                    if len == 0 {
                        return Ok((pos, self.done()));
                    }
                }
                State::UntilClose => return Ok((data.len(), Parsed::More)),
            }
        }
    }

    /// The peer closed the connection: completes a close-delimited body, anything else is an
    /// unexpected end of file.
    pub fn eof(&mut self) -> io::Result<H1Response> {
        if self.state == State::UntilClose {
            self.close = true;
            match self.done() {
                Parsed::Done(r) => Ok(r),
                Parsed::More => Err(io::ErrorKind::UnexpectedEof.into()),
            }
        } else {
            Err(io::ErrorKind::UnexpectedEof.into())
        }
    }

    fn done(&mut self) -> Parsed {
        let r = H1Response {
            status: self.status,
            close: self.close,
        };
        self.reset();
        Parsed::Done(r)
    }

    /// Parse a response head; `None` until it is complete. Sets the state for the body.
    fn parse_head(&mut self, data: &[u8]) -> io::Result<Option<usize>> {
        // Uninitialised header slots: no 2 KiB of zeroing per response.
        let mut headers = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut resp,
            data,
            &mut headers,
        );
        let hlen = match parsed {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(bad("invalid HTTP response")),
        };
        let status = resp.code.unwrap_or(0);
        let mut close = resp.version == Some(0);
        let mut chunked = false;
        let mut length = None;
        for h in resp.headers.iter() {
            let name = h.name.as_bytes();
            // Compare lengths first: most headers are none of the three.
            match name.len() {
                14 if name.eq_ignore_ascii_case(b"content-length") => {
                    let v = std::str::from_utf8(h.value)
                        .ok()
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .ok_or_else(|| bad("invalid content-length"))?;
                    length = Some(v);
                }
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                    let v = h.value.trim_ascii_end();
                    if v.len() >= 7 && v[v.len() - 7..].eq_ignore_ascii_case(b"chunked") {
                        chunked = true;
                    }
                }
                10 if name.eq_ignore_ascii_case(b"connection") => {
                    if contains_ci(h.value, b"close") {
                        close = true;
                    } else if contains_ci(h.value, b"keep-alive") {
                        close = false;
                    }
                }
                _ => {}
            }
        }
        if (100..200).contains(&status) {
            // Interim response; the real one follows.
            return Ok(Some(hlen));
        }
        self.status = status;
        self.close = close;
        self.state = if self.head_request || status == 204 || status == 304 {
            State::Length(0)
        } else if chunked {
            State::ChunkSize
        } else if let Some(n) = length {
            State::Length(n)
        } else {
            State::UntilClose
        };
        if hlen <= MEMO_MAX {
            let m = self.memo.get_or_insert_with(|| {
                Box::new(HeadMemo {
                    head: Vec::new(),
                    status,
                    close,
                    state: self.state,
                })
            });
            m.head.clear();
            m.head.extend_from_slice(&data[..hlen]);
            m.status = status;
            m.close = close;
            m.state = self.state;
        }
        Ok(Some(hlen))
    }
}

/// Length of the CRLF-terminated line at the start of `data` (without the CRLF), or `None`
/// while it is incomplete.
fn line_len(data: &[u8]) -> io::Result<Option<usize>> {
    match data.windows(2).position(|w| w == b"\r\n") {
        Some(p) => Ok(Some(p)),
        None if data.len() > MAX_LINE => Err(bad("chunk line too long")),
        None => Ok(None),
    }
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Receive buffer: bytes `start..end` are received and not yet consumed.
///
/// The storage is taken on first use and given back with [`RecvBuf::release`] once every byte
/// in it is consumed (after each response), to a free list of the thread's: an idle connection
/// holds no buffer, and a thread needs only as many as it has responses in flight.
#[derive(Debug)]
pub struct RecvBuf {
    /// Storage (`Box` so it can be lent to an io_uring operation and given back); empty while
    /// the connection holds none.
    pub buf: Box<[u8]>,
    /// First unconsumed byte.
    pub start: usize,
    /// End of received bytes.
    pub end: usize,
}

/// Spare buffers a thread keeps; more are freed (after a burst of connections that all read
/// at once, such as the initial fetches).
const MAX_SPARE: usize = 256;

thread_local! {
    /// Buffers of `BUF` bytes given back by this thread's connections (at most `MAX_SPARE`).
    static SPARE: std::cell::RefCell<Vec<Box<[u8]>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl RecvBuf {
    /// An empty buffer (no storage until the first read).
    pub fn new() -> Self {
        RecvBuf {
            buf: Box::default(),
            start: 0,
            end: 0,
        }
    }

    /// Unconsumed bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Make room after `end` for the next read: take storage (a spare one of the thread's, or
    /// new), drop consumed bytes, or grow a buffer full of one unfinished response head.
    pub fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.buf.is_empty() {
            self.buf = SPARE
                .with(|s| s.borrow_mut().pop())
                .unwrap_or_else(|| vec![0; BUF].into_boxed_slice());
            return;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let mut v = std::mem::take(&mut self.buf).into_vec();
                v.resize(v.len() * 2, 0);
                self.buf = v.into_boxed_slice();
            }
        }
    }

    /// Give the storage back to the thread's free list when nothing unconsumed is in it
    /// (a grown buffer is freed instead).
    pub fn release(&mut self) {
        if self.start != self.end || self.buf.is_empty() {
            return;
        }
        self.start = 0;
        self.end = 0;
        let buf = std::mem::take(&mut self.buf);
        if buf.len() == BUF {
            SPARE.with(|s| {
                let mut s = s.borrow_mut();
                if s.len() < MAX_SPARE {
                    s.push(buf);
                }
            });
        }
    }
}

impl Default for RecvBuf {
    fn default() -> Self {
        Self::new()
    }
}

/// The byte stream under an [`H1Conn`]. (Futures need not be `Send`: each connection lives on
/// one current-thread runtime.)
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Write all of `data`.
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Wait for bytes, then read them into `rb` (taking its storage only once they are there);
    /// returns the number read (0 = EOF).
    async fn read_into(&mut self, rb: &mut RecvBuf) -> io::Result<usize>;
}

/// A plain TCP socket registered with tokio's reactor directly (no `TcpStream` layer).
pub struct Fd(AsyncFd<StdTcpStream>);

impl Fd {
    /// Wrap a connected stream (switched to non-blocking mode).
    pub fn new(stream: StdTcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        let _ = stream.set_nodelay(true);
        // `AsyncFd::new` is deprecated in favour of the `unsafe` `register` (I/O-safety concerns
        // for fd types that can swap their descriptor); a std `TcpStream` owns its fd for life,
        // and this crate forbids `unsafe`.
        #[allow(deprecated)]
        let fd = AsyncFd::new(stream)?;
        Ok(Fd(fd))
    }
}

impl Transport for Fd {
    async fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            // Try first: a request fits in the socket buffer almost always.
            match self.0.get_ref().write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    data = &data[n..];
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let mut guard = self.0.writable().await?;
            guard.clear_ready();
        }
        Ok(())
    }

    async fn read_into(&mut self, rb: &mut RecvBuf) -> io::Result<usize> {
        loop {
            let mut guard = self.0.readable().await?;
            rb.make_room();
            let end = rb.end;
            let spare = rb.buf.len() - end;
            match guard.try_io(|s| s.get_ref().read(&mut rb.buf[end..])) {
                Ok(Ok(n)) => {
                    if n > 0 && n < spare {
                        // The socket is drained: wait for the next edge instead of a read that
                        // would only return EAGAIN.
                        guard.clear_ready();
                    }
                    rb.end += n;
                    return Ok(n);
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                // Nothing after all: the storage goes back while the connection waits.
                Err(_would_block) => rb.release(),
            }
        }
    }
}

/// Any tokio byte stream (TLS): writes are flushed at once.
pub struct Stream<S>(pub S);

impl<S: AsyncRead + AsyncWrite + Unpin> Transport for Stream<S> {
    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data).await?;
        self.0.flush().await
    }

    async fn read_into(&mut self, rb: &mut RecvBuf) -> io::Result<usize> {
        read_stream(&mut self.0, rb).await
    }
}

/// Read from a tokio byte stream into `rb`, holding its storage only while a read is being
/// made: while the stream has nothing, the storage goes back to the thread's free list.
pub async fn read_stream<S: AsyncRead + Unpin>(s: &mut S, rb: &mut RecvBuf) -> io::Result<usize> {
    std::future::poll_fn(|cx| {
        rb.make_room();
        let end = rb.end;
        let mut buf = ReadBuf::new(&mut rb.buf[end..]);
        match Pin::new(&mut *s).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len();
                rb.end += n;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                rb.release();
                Poll::Pending
            }
        }
    })
    .await
}

/// One HTTP/1.1 connection on tokio's reactor.
pub struct H1Conn<T> {
    io: T,
    rb: RecvBuf,
    parser: ResponseParser,
}

impl<T: Transport> H1Conn<T> {
    /// A connection on `io` for requests with this method (`HEAD` responses have no body).
    pub fn new(io: T, head: bool) -> Self {
        H1Conn {
            io,
            rb: RecvBuf::new(),
            parser: ResponseParser::new(head),
        }
    }

    /// Read more bytes into the buffer; returns the number read (0 = EOF).
    async fn fill(&mut self) -> io::Result<usize> {
        self.io.read_into(&mut self.rb).await
    }

    /// Send `request` (complete bytes) and read the response, discarding its body.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<H1Response> {
        if self.rb.start != self.rb.end {
            return Err(bad("unexpected bytes before the response"));
        }
        self.rb.start = 0;
        self.rb.end = 0;
        self.parser.reset();
        self.io.write_all(request).await?;
        loop {
            let (used, parsed) = self.parser.feed(self.rb.data())?;
            self.rb.start += used;
            if let Parsed::Done(r) = parsed {
                self.rb.release();
                return Ok(r);
            }
            if self.fill().await? == 0 {
                return self.parser.eof();
            }
        }
    }
}

/// Serialise a request once: request line, headers, body.
pub fn serialize_request(
    method: &http::Method,
    path_and_query: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path_and_query.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (k, v) in headers {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `wire` in pieces of `step` bytes, as reads would deliver it, keeping unconsumed
    /// bytes; returns the responses and the bytes left over.
    fn parse_all(wire: &[u8], step: usize, head: bool) -> io::Result<(Vec<H1Response>, usize)> {
        let mut p = ResponseParser::new(head);
        let mut pending: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for piece in wire.chunks(step) {
            pending.extend_from_slice(piece);
            loop {
                let (used, parsed) = p.feed(&pending)?;
                pending.drain(..used);
                match parsed {
                    Parsed::Done(r) => out.push(r),
                    Parsed::More => break,
                }
            }
        }
        Ok((out, pending.len()))
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n";

    /// Framing is the same whether bytes arrive at once or one at a time.
    #[test]
    fn any_split_gives_the_same_responses() {
        let mut wire = Vec::new();
        wire.extend_from_slice(CHUNKED);
        wire.extend_from_slice(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nabc",
        );
        wire.extend_from_slice(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        wire.extend_from_slice(
            b"HTTP/1.1 503 Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
        );
        let want = vec![
            H1Response {
                status: 200,
                close: false,
            },
            H1Response {
                status: 404,
                close: false,
            },
            H1Response {
                status: 204,
                close: false,
            },
            H1Response {
                status: 503,
                close: true,
            },
        ];
        for step in [1, 2, 3, 7, 64, wire.len()] {
            let (got, left) = parse_all(&wire, step, false).expect("valid responses");
            assert_eq!(got, want, "step {step}");
            assert_eq!(left, 0, "step {step}");
        }
    }

    /// A body without length or chunking ends with the connection; HTTP/1.0 closes unless
    /// keep-alive is asked for.
    #[test]
    fn close_delimited_and_http10() {
        let mut p = ResponseParser::new(false);
        let wire = b"HTTP/1.0 200 OK\r\n\r\nbody until close";
        let (used, parsed) = p.feed(wire).expect("head parses");
        assert_eq!((used, parsed), (wire.len(), Parsed::More));
        assert_eq!(
            p.eof().expect("close ends the body"),
            H1Response {
                status: 200,
                close: true
            }
        );
        let ka = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx";
        let (got, _) = parse_all(ka, 5, false).expect("valid");
        assert_eq!(
            got,
            vec![H1Response {
                status: 200,
                close: false
            }]
        );
    }

    /// A head repeated byte for byte is framed as before (from the memo), and one that differs
    /// in any byte is parsed again: the framing follows each response's own head.
    #[test]
    fn repeated_heads_frame_like_fresh_ones() {
        let a = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        let b = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let c = b"HTTP/1.1 503 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        let mut wire = Vec::new();
        for part in [&a[..], &a[..], &b[..], &b[..], &a[..], &c[..]] {
            wire.extend_from_slice(part);
        }
        let ok = H1Response {
            status: 200,
            close: false,
        };
        let closed = H1Response {
            status: 503,
            close: true,
        };
        for step in [1, 5, wire.len()] {
            let (got, left) = parse_all(&wire, step, false).expect("valid responses");
            assert_eq!(got, vec![ok, ok, ok, ok, ok, closed], "step {step}");
            assert_eq!(left, 0, "step {step}");
        }
    }

    /// HEAD responses have no body even with a Content-Length.
    #[test]
    fn head_has_no_body() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let (got, left) = parse_all(wire, 10, true).expect("valid");
        assert_eq!(got.len(), 2);
        assert_eq!(left, 0);
    }

    /// Truncated responses are an unexpected end of file; garbage is invalid data.
    #[test]
    fn errors() {
        let mut p = ResponseParser::new(false);
        let (_, parsed) = p
            .feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
            .expect("partial body");
        assert_eq!(parsed, Parsed::More);
        assert_eq!(
            p.eof().expect_err("truncated").kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut p = ResponseParser::new(false);
        assert_eq!(
            p.feed(b"SSH-2.0-OpenSSH\r\n\r\n")
                .expect_err("not HTTP")
                .kind(),
            io::ErrorKind::InvalidData
        );
        let mut p = ResponseParser::new(false);
        let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(
            p.feed(bad_chunk).expect_err("bad size").kind(),
            io::ErrorKind::InvalidData
        );
    }

    /// The receive buffer drops consumed bytes before growing.
    #[test]
    fn recv_buf_room() {
        let mut rb = RecvBuf::new();
        rb.make_room();
        assert_eq!(rb.buf.len(), BUF);
        rb.end = BUF;
        rb.start = BUF - 10;
        rb.make_room();
        assert_eq!((rb.start, rb.end, rb.buf.len()), (0, 10, BUF));
        rb.end = BUF;
        rb.make_room();
        assert_eq!((rb.start, rb.end, rb.buf.len()), (0, BUF, 2 * BUF));
    }
}
