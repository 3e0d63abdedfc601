//! io_uring path for plain-text HTTP/1.1 load (Linux): each load thread runs a monoio runtime
//! whose connections queue their `send`/`recv` operations in the ring; one `io_uring_enter`
//! submits the operations of every connection that is ready and waits for completions, in
//! place of a `write`, a `read` and a share of `epoll_wait` per request on the epoll path.
//!
//! The ring is set up with `SINGLE_ISSUER | DEFER_TASKRUN` where the kernel has them (6.1+):
//! completions are processed when the thread asks for them, without interrupting it. The same
//! request loop ([`crate::load::worker::measure`]), response framing
//! ([`crate::load::h1::ResponseParser`]) and metrics as on the epoll path are used.
//!
//! Availability is probed once per process ([`available`]): container runtimes' default
//! seccomp profiles and `kernel.io_uring_disabled` block io_uring, and then the epoll path runs.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt, OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;

use crate::load::h1::{H1Response, Parsed, RecvBuf, ResponseParser};
use crate::load::worker::{Fetch, Plan, WorkerOut, measure_into, within};

type Runtime = monoio::Runtime<monoio::time::TimeDriver<monoio::IoUringDriver>>;

/// Ring size for `connections` connections on one thread: a send or receive per connection,
/// plus room for cancellations and closes; at least 64 entries.
fn ring_entries(connections: usize) -> u32 {
    ((connections * 4 + 16).next_power_of_two()).clamp(64, 4096) as u32
}

/// A monoio runtime on the current thread, with the cheapest completion mode the kernel has.
fn build_runtime(entries: u32) -> io::Result<Runtime> {
    let mut last = io::Error::other("no io_uring setup was tried");
    for mode in 0..3 {
        let mut b = io_uring::IoUring::builder();
        match mode {
            0 => {
                b.setup_single_issuer().setup_defer_taskrun();
            }
            1 => {
                b.setup_coop_taskrun();
            }
            _ => {}
        }
        match monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .with_entries(entries)
            .uring_builder(b)
            .enable_timer()
            .build()
        {
            Ok(rt) => return Ok(rt),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn probe() -> Result<(), String> {
    let ring = io_uring::IoUring::new(8).map_err(|e| format!("io_uring_setup: {e}"))?;
    let mut p = io_uring::Probe::new();
    ring.submitter()
        .register_probe(&mut p)
        .map_err(|e| format!("io_uring probe: {e}"))?;
    use io_uring::opcode::{AsyncCancel, Close, Connect, Recv, Send};
    for (code, name) in [
        (Connect::CODE, "connect"),
        (Send::CODE, "send"),
        (Recv::CODE, "recv"),
        (AsyncCancel::CODE, "async cancel"),
        (Close::CODE, "close"),
    ] {
        if !p.is_supported(code) {
            return Err(format!("the kernel's io_uring has no {name} operation"));
        }
    }
    drop(ring);
    // What the load threads will build, so a failure shows here rather than mid-run.
    build_runtime(ring_entries(1))
        .map(drop)
        .map_err(|e| format!("io_uring runtime: {e}"))
}

/// Whether io_uring can run the plain HTTP/1.1 path here; the reason when it cannot. Probed
/// once per process.
pub fn available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

/// What every connection of a run shares.
pub(crate) struct Setup {
    /// Resolved target addresses, tried in order on each connect.
    pub addrs: Vec<SocketAddr>,
    /// The serialised request.
    pub request: Vec<u8>,
    /// The method is HEAD (responses have no body).
    pub head: bool,
    /// Per-request timeout (connect + request + response).
    pub timeout: Duration,
}

/// Resolve `host:port` once for the run.
pub(crate) fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}

/// One connection on the ring (split so a send and a receive can be queued together).
struct Conn {
    rh: OwnedReadHalf<TcpStream>,
    wh: OwnedWriteHalf<TcpStream>,
    rb: RecvBuf,
    parser: ResponseParser,
    /// Has served a request (a failure may mean the server closed it while idle).
    reused: bool,
}

impl Conn {
    async fn connect(addrs: &[SocketAddr], head: bool) -> io::Result<Conn> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
        for &a in addrs {
            match TcpStream::connect_addr(a).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    let (rh, wh) = stream.into_split();
                    return Ok(Conn {
                        rh,
                        wh,
                        rb: RecvBuf::new(),
                        parser: ResponseParser::new(head),
                        reused: false,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Send the request and read the response, discarding its body. The first receive is
    /// queued with the send, so one submission carries both.
    async fn exchange(&mut self, request: &Rc<Vec<u8>>) -> io::Result<H1Response> {
        let Conn {
            rh, wh, rb, parser, ..
        } = self;
        if rb.start != rb.end {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "unexpected bytes before the response",
            ));
        }
        rb.start = 0;
        rb.end = 0;
        parser.reset();
        let mut first = true;
        loop {
            rb.make_room();
            // The buffer is lent to the kernel for the receive and given back with its result;
            // a receive cut short by the timeout takes it along, and the connection with it.
            let end = rb.end;
            let buf = std::mem::take(&mut rb.buf);
            let (res, slice) = if first {
                first = false;
                let send = std::pin::pin!(async { wh.write_all(request.clone()).await.0 });
                let recv = std::pin::pin!(rh.read(buf.slice_mut(end..)));
                send_then_recv(send, recv).await?
            } else {
                rh.read(buf.slice_mut(end..)).await
            };
            rb.buf = slice.into_inner();
            let n = res?;
            if n == 0 {
                return parser.eof();
            }
            rb.end += n;
            let (used, parsed) = parser.feed(rb.data())?;
            rb.start += used;
            if let Parsed::Done(r) = parsed {
                rb.release();
                return Ok(r);
            }
        }
    }
}

/// Drive a send and a receive together: both operations are queued before the thread next
/// enters the kernel. Returns the receive's output once the send is done too; a failed send
/// ends it at once (dropping the receive cancels it).
async fn send_then_recv<S, R, T>(mut send: Pin<&mut S>, mut recv: Pin<&mut R>) -> io::Result<T>
where
    S: Future<Output = io::Result<usize>>,
    R: Future<Output = T>,
{
    let mut sent = false;
    let mut got: Option<T> = None;
    std::future::poll_fn(move |cx| {
        if !sent {
            match send.as_mut().poll(cx) {
                Poll::Ready(Ok(_)) => sent = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if got.is_none()
            && let Poll::Ready(v) = recv.as_mut().poll(cx)
        {
            got = Some(v);
        }
        if sent && let Some(v) = got.take() {
            return Poll::Ready(Ok(v));
        }
        Poll::Pending
    })
    .await
}

/// A connection slot: connects lazily, reconnects after a close or failure.
struct Slot {
    setup: Arc<Setup>,
    request: Rc<Vec<u8>>,
    conn: Option<Conn>,
    /// The per-request timeout's timer (see [`within`]).
    timer: Option<Pin<Box<monoio::time::Sleep>>>,
}

impl Slot {
    /// One exchange; retries once on a fresh connection when a kept-alive connection turns out
    /// to be closed by the server (as the epoll path does).
    async fn fetch_once(&mut self) -> i32 {
        for _ in 0..2 {
            if self.conn.is_none() {
                match Conn::connect(&self.setup.addrs, self.setup.head).await {
                    Ok(c) => self.conn = Some(c),
                    Err(_) => return -1,
                }
            }
            let c = self.conn.as_mut().expect("connected just above");
            match c.exchange(&self.request).await {
                Ok(r) => {
                    if r.close {
                        self.conn = None;
                    } else {
                        c.reused = true;
                    }
                    return i32::from(r.status);
                }
                Err(e) => {
                    let stale = c.reused
                        && matches!(
                            e.kind(),
                            io::ErrorKind::UnexpectedEof
                                | io::ErrorKind::ConnectionReset
                                | io::ErrorKind::BrokenPipe
                                | io::ErrorKind::ConnectionAborted
                        );
                    self.conn = None;
                    if !stale {
                        return -1;
                    }
                }
            }
        }
        -1
    }
}

impl Fetch for Slot {
    async fn fetch(&mut self, sent: Instant) -> i32 {
        let deadline = sent + self.setup.timeout;
        // The connection's timer, armed once (see `within`); out of `self` while the exchange
        // borrows it.
        let mut timer = self.timer.take().unwrap_or_else(|| {
            Box::pin(monoio::time::sleep_until(monoio::time::Instant::from_std(
                deadline,
            )))
        });
        let code = within(self.fetch_once(), timer.as_mut(), deadline).await;
        self.timer = Some(timer);
        code.unwrap_or_else(|| {
            // Timed out: dropping the connection cancels its pending operation.
            self.conn = None;
            -1
        })
    }

    async fn sleep_until(&mut self, t: Instant) {
        monoio::time::sleep_until(monoio::time::Instant::from_std(t)).await;
    }
}

/// How a load thread meets the others: after the initial fetches, the start time is set once
/// for all; a thread that could not start aborts the run.
pub(crate) struct Sync {
    pub barrier: Barrier,
    pub failed: OnceLock<io::Error>,
}

/// Body of one load thread: `mine` lists (connection index, request quota).
pub(crate) fn thread_main(
    sh: &crate::load::http::Shared,
    setup: Arc<Setup>,
    sync: &Sync,
    mine: Vec<(usize, Option<u64>)>,
) -> Vec<WorkerOut> {
    let rt = build_runtime(ring_entries(mine.len()));
    let mut rt = match rt {
        Ok(rt) => Some(rt),
        Err(e) => {
            let _ = sync.failed.set(e);
            None
        }
    };
    let request = Rc::new(setup.request.clone());
    let mut slots: Vec<Slot> = mine
        .iter()
        .map(|_| Slot {
            setup: setup.clone(),
            request: request.clone(),
            conn: None,
            timer: None,
        })
        .collect();
    if let Some(rt) = rt.as_mut()
        && sh.initial_fetch
    {
        let codes = rt.block_on(async {
            let handles: Vec<_> = slots
                .drain(..)
                .map(|mut s| {
                    monoio::spawn(async move {
                        let code = s.fetch(Instant::now()).await;
                        (s, code)
                    })
                })
                .collect();
            let mut codes = Vec::new();
            for h in handles {
                let (s, code) = h.await;
                slots.push(s);
                codes.push(code);
            }
            codes
        });
        for code in codes {
            sh.initial_result(code);
        }
    }
    if sync.barrier.wait().is_leader() {
        let _ = sh.start.set(Instant::now());
    }
    sync.barrier.wait();
    let Some(rt) = rt.as_mut() else {
        return Vec::new();
    };
    if sh.aborted() || sync.failed.get().is_some() {
        return Vec::new();
    }
    let start = *sh
        .start
        .get()
        .expect("the barrier leader set the start time");
    let plans: Vec<Plan> = mine.iter().map(|&(k, q)| sh.plan(start, k, q)).collect();
    // One tally per thread, shared by its connections (see `measure_into`).
    let out = Rc::new(RefCell::new(WorkerOut::new()));
    rt.block_on(async {
        let handles: Vec<_> = slots
            .into_iter()
            .zip(plans)
            .map(|(mut s, plan)| {
                let done = sh.done_counter();
                let out = out.clone();
                monoio::spawn(async move { measure_into(&mut s, &plan, &done, &out).await })
            })
            .collect();
        for h in handles {
            h.await;
        }
    });
    Rc::try_unwrap(out)
        .map(RefCell::into_inner)
        .into_iter()
        .collect()
}
