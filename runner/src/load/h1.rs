//! Fast path for plain-text HTTP/1.1: a pre-serialised request written straight to the socket
//! and the response parsed in place (httparse), one request in flight per connection.
//!
//! This is what keeps CPU per request low: no per-request allocation, no task hand-off between
//! a request sender and a connection task (as hyper's client does), and no wasted `read` that
//! returns `EAGAIN`: after a read that drained the socket (fewer bytes than the buffer), the
//! readiness flag is cleared so the next response is awaited through epoll directly. Syscalls
//! per request: one `write`, one `read` (plus the shared `epoll_wait`), as in wrk.
//!
//! Response framing: `Content-Length`, `chunked`, or read-to-close; 1xx responses are skipped;
//! `Connection: close` (or HTTP/1.0 without keep-alive) closes the connection after the
//! response. HEAD, 204 and 304 responses have no body.

use std::io::{self, Read, Write};
use std::net::TcpStream as StdTcpStream;

use tokio::io::unix::AsyncFd;

const BUF: usize = 16 * 1024;

/// One HTTP/1.1 connection.
pub struct H1Conn {
    fd: AsyncFd<StdTcpStream>,
    buf: Vec<u8>,
    /// Bytes of `buf` holding unread data, from `start` to `end`.
    start: usize,
    end: usize,
    head: bool,
}

/// Outcome of one exchange.
pub struct H1Response {
    /// Final status code.
    pub status: u16,
    /// The server asked to close (or the body was close-delimited).
    pub close: bool,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl H1Conn {
    /// Wrap a connected stream (must be in non-blocking mode).
    pub fn new(stream: StdTcpStream, head: bool) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        let _ = stream.set_nodelay(true);
        // `AsyncFd::new` is deprecated in favour of the `unsafe` `register` (I/O-safety concerns
        // for fd types that can swap their descriptor); a std `TcpStream` owns its fd for life,
        // and this crate forbids `unsafe`.
        #[allow(deprecated)]
        let fd = AsyncFd::new(stream)?;
        Ok(H1Conn {
            fd,
            buf: vec![0; BUF],
            start: 0,
            end: 0,
            head,
        })
    }

    async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            // Try first: a request fits in the socket buffer almost always.
            match self.fd.get_ref().write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    data = &data[n..];
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let mut guard = self.fd.writable().await?;
            guard.clear_ready();
        }
        Ok(())
    }

    /// Read more bytes into the buffer; returns the number read (0 = EOF).
    async fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 && self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                // Headers larger than the buffer: grow (rare).
                let n = self.buf.len();
                self.buf.resize(n * 2, 0);
            }
        }
        loop {
            let mut guard = self.fd.readable().await?;
            let spare = self.buf.len() - self.end;
            let end = self.end;
            let buf = &mut self.buf[end..];
            match guard.try_io(|s| s.get_ref().read(buf)) {
                Ok(Ok(n)) => {
                    if n > 0 && n < spare {
                        // The socket is drained: wait for the next edge instead of a read that
                        // would only return EAGAIN.
                        guard.clear_ready();
                    }
                    self.end += n;
                    return Ok(n);
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Send `request` (complete bytes) and read the response, discarding its body.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<H1Response> {
        if self.start != self.end {
            return Err(bad("unexpected bytes before the response"));
        }
        self.start = 0;
        self.end = 0;
        self.write_all(request).await?;
        loop {
            let (status, close, framing, hlen) = loop {
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut resp = httparse::Response::new(&mut headers);
                match resp.parse(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete(hlen)) => {
                        let status = resp.code.unwrap_or(0);
                        let http10 = resp.version == Some(0);
                        let mut close = http10;
                        let mut framing = Framing::Close;
                        for h in resp.headers.iter() {
                            if h.name.eq_ignore_ascii_case("content-length") {
                                let v = std::str::from_utf8(h.value)
                                    .ok()
                                    .and_then(|s| s.trim().parse::<u64>().ok())
                                    .ok_or_else(|| bad("invalid content-length"))?;
                                if !matches!(framing, Framing::Chunked) {
                                    framing = Framing::Length(v);
                                }
                            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                                let v = h.value.trim_ascii_end();
                                if v.len() >= 7 && v[v.len() - 7..].eq_ignore_ascii_case(b"chunked")
                                {
                                    framing = Framing::Chunked;
                                }
                            } else if h.name.eq_ignore_ascii_case("connection") {
                                if contains_ci(h.value, b"close") {
                                    close = true;
                                } else if contains_ci(h.value, b"keep-alive") {
                                    close = false;
                                }
                            }
                        }
                        break (status, close, framing, hlen);
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.fill().await? == 0 {
                            return Err(io::ErrorKind::UnexpectedEof.into());
                        }
                    }
                    Err(_) => return Err(bad("invalid HTTP response")),
                }
            };
            self.start += hlen;
            if (100..200).contains(&status) {
                continue; // interim response; the real one follows
            }
            let no_body = self.head || status == 204 || status == 304;
            let framing = if no_body { Framing::Length(0) } else { framing };
            let close = match framing {
                Framing::Length(n) => {
                    self.skip(n).await?;
                    close
                }
                Framing::Chunked => {
                    self.skip_chunked().await?;
                    close
                }
                Framing::Close => {
                    while self.fill().await? > 0 {
                        self.start = self.end;
                    }
                    true
                }
            };
            return Ok(H1Response { status, close });
        }
    }

    async fn skip(&mut self, mut n: u64) -> io::Result<()> {
        loop {
            let avail = (self.end - self.start) as u64;
            if avail >= n {
                self.start += n as usize;
                return Ok(());
            }
            n -= avail;
            self.start = self.end;
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    async fn line(&mut self) -> io::Result<usize> {
        // Returns the length of the next CRLF-terminated line (without CRLF), consuming it.
        loop {
            if let Some(pos) = self.buf[self.start..self.end]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                return Ok(pos);
            }
            if self.end - self.start > 4096 {
                return Err(bad("chunk line too long"));
            }
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    async fn skip_chunked(&mut self) -> io::Result<()> {
        loop {
            let len = self.line().await?;
            let line = &self.buf[self.start..self.start + len];
            let hex = line.split(|&b| b == b';').next().unwrap_or(&[]);
            let size = std::str::from_utf8(hex)
                .ok()
                .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
                .ok_or_else(|| bad("invalid chunk size"))?;
            self.start += len + 2;
            if size == 0 {
                // trailers until an empty line
                loop {
                    let l = self.line().await?;
                    self.start += l + 2;
                    if l == 0 {
                        return Ok(());
                    }
                }
            }
            self.skip(size + 2).await?;
        }
    }
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

enum Framing {
    Length(u64),
    Chunked,
    Close,
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
