//! Serving connections: HTTP/1.1 with a cap on open connections (a connection over it gets a
//! polite 503 and is closed), a deadline for each request head, an idle deadline between
//! requests, and a graceful stop. Slow or silent clients cannot hold connections for ever.
//!
//! The deadlines follow Go's `net/http`: a kept-alive connection may wait up to the idle timeout
//! for its next request; once the first byte of a request arrives, its head must be complete
//! within the header timeout. Request bodies have their own deadline where they are read
//! (`http::error::read_body`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use futures_util::task::AtomicWaker;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

use crate::config::HttpLimits as Limits;
use crate::router::{Front, FrontConn};

/// How long a graceful stop waits for requests still running.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Accepts and serves connections until `shutdown` resolves, then stops accepting and lets the
/// requests in flight finish (for at most [`STOP_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    front: Front,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let epoch = Instant::now();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let phase = Arc::new(Phase::new(epoch));
        let io = TokioIo::new(Deadlines::new(stream, phase.clone(), limits));
        let service = Connection {
            front: front.connection(peer),
            phase,
            body_timeout: limits.body_timeout,
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(STOP_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the grace period; stopping anyway");
    }
    Ok(())
}

/// Tells a client over the connection cap to come back later, and closes.
async fn refuse(mut stream: TcpStream) {
    let body =
        r#"{"error":"Too many open connections, please try again shortly.","code":"SERVICE_UNAVAILABLE"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Where a connection is: waiting for a request (since when), reading a request's head (since
/// its first byte), or busy with requests. Milliseconds since the server's epoch, with the state
/// in the two top bits.
struct Phase {
    epoch: Instant,
    word: AtomicU64,
    /// The connection's reader, parked while busy (no deadline): becoming idle wakes it so that
    /// it arms the idle deadline even when no further bytes arrive.
    parked: AtomicWaker,
}

const IDLE: u64 = 0;
const HEAD: u64 = 1 << 62;
const BUSY: u64 = 2 << 62;
const STATE: u64 = 3 << 62;

impl Phase {
    fn new(epoch: Instant) -> Phase {
        let p = Phase {
            epoch,
            word: AtomicU64::new(0),
            parked: AtomicWaker::new(),
        };
        p.set(IDLE);
        p
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 & !STATE
    }

    fn set(&self, state: u64) {
        self.word.store(state | self.now(), Ordering::Release);
        if state == IDLE {
            self.parked.wake();
        }
    }

    /// The first byte of a request arrived on an idle connection.
    fn bytes_read(&self) {
        let w = self.word.load(Ordering::Acquire);
        if w & STATE == IDLE {
            let _ = self
                .word
                .compare_exchange(w, HEAD | self.now(), Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// When the connection's current wait runs out, if it has one.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let w = self.word.load(Ordering::Acquire);
        let since = self.epoch + Duration::from_millis(w & !STATE);
        match w & STATE {
            IDLE => Some(since + limits.idle_timeout),
            HEAD => Some(since + limits.header_timeout),
            _ => None,
        }
    }
}

/// The connection's socket, failing a read that waits past the connection's deadline (hyper
/// then closes the connection).
struct Deadlines {
    inner: TcpStream,
    phase: Arc<Phase>,
    limits: Limits,
    timer: Pin<Box<Sleep>>,
}

impl Deadlines {
    fn new(inner: TcpStream, phase: Arc<Phase>, limits: Limits) -> Deadlines {
        Deadlines {
            inner,
            phase,
            limits,
            timer: Box::pin(tokio::time::sleep(limits.idle_timeout)),
        }
    }
}

impl AsyncRead for Deadlines {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.phase.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                self.phase.parked.register(cx.waker());
                let Some(deadline) = self.phase.deadline(&self.limits) else {
                    return Poll::Pending;
                };
                if Instant::now() >= deadline {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client too slow")));
                }
                let deadline = tokio::time::Instant::from_std(deadline);
                if self.timer.deadline() != deadline {
                    self.timer.as_mut().reset(deadline);
                }
                match self.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client too slow")))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Deadlines {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// One connection's requests: each is busy from the moment its head is complete until its
/// answer has been written; then the connection waits for the next one.
struct Connection {
    front: FrontConn,
    phase: Arc<Phase>,
    body_timeout: Duration,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Connection {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Answer;

    fn call(&self, req: hyper::Request<hyper::body::Incoming>) -> Answer {
        self.phase.set(BUSY);
        let mut front = self.front.clone();
        let phase = self.phase.clone();
        let until = Instant::now() + self.body_timeout;
        let req = req.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                Body::new(BodyDeadline {
                    inner: body,
                    until: tokio::time::Instant::from_std(until),
                    timer: None,
                })
            }
        });
        Box::pin(async move {
            let res = tower::Service::call(&mut front, req)
                .await
                .unwrap_or_else(|never| match never {});
            if http_body::Body::is_end_stream(res.body()) {
                phase.set(IDLE);
                return Ok(res);
            }
            // A body still to be written: the connection is busy until it is.
            Ok(res.map(|inner| {
                Body::new(IdleWhenDone {
                    inner,
                    phase: Some(phase),
                })
            }))
        })
    }
}

/// A request body that must arrive within the body timeout, counted from the end of its head.
/// Reading it later fails with [`crate::http::error::BodyTimedOut`] (answered 408).
struct BodyDeadline {
    inner: hyper::body::Incoming,
    until: tokio::time::Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

impl http_body::Body for BodyDeadline {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let until = self.until;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(crate::http::error::BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that marks its connection idle once its last frame has been handed out.
struct IdleWhenDone {
    inner: Body,
    phase: Option<Arc<Phase>>,
}

impl IdleWhenDone {
    fn done(&mut self) {
        if let Some(p) = self.phase.take() {
            p.set(IDLE);
        }
    }
}

impl http_body::Body for IdleWhenDone {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        match &frame {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.done(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.done(),
            _ => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
