//! The Studio HTTP server: 127.0.0.1 only, one thread per connection, every thread
//! joined on shutdown.
//!
//! Shutdown is a flag and three wake-ups: the event streams hear their `closing`
//! channel disconnect, the accept loop is woken by a connection to itself, and every
//! connection still reading is shut down under its thread, which then ends. Requests
//! already running finish first (a build, told to stop by then, at its next asset):
//! their threads are joined, not abandoned.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::error::StudioError;
use crate::guard::{self, Token};
use crate::http::{self, Request, Response};
use crate::routes::{self, Routed};
use crate::sse;
use crate::workspace::AssetsWorkspace;

/// How the server listens.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// How long a connection may take to send its whole request, however it trickles
    /// in: a client that sends a byte now and then does not keep its connection.
    pub request_timeout: Duration,
    /// How often an idle event stream sends a comment line, for proxies that close
    /// quiet connections.
    pub heartbeat: Duration,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            port: 0,
            request_timeout: IO_TIMEOUT,
            heartbeat: HEARTBEAT,
        }
    }
}

/// Connections served at once; more are answered 503 straight away. A page needs a
/// handful (its event stream, a few requests, thumbnails).
pub const MAX_CONNECTIONS: usize = 64;

/// How long a connection may take to send its request, or to take a response.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an idle event stream sends a keep-alive comment, by default.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
    stop_requests: Receiver<()>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) workspace: Arc<AssetsWorkspace>,
    pub(crate) token: Token,
    port: u16,
    request_timeout: Duration,
    pub(crate) heartbeat: Duration,
    stopping: AtomicBool,
    connections: Mutex<Connections>,
    /// Dropped at shutdown: every event stream selects on `closed` and ends.
    closing: Mutex<Option<Sender<()>>>,
    pub(crate) closed: Receiver<()>,
    /// Where the API's `shutdown` asks the host to stop.
    pub(crate) stop_request: Sender<()>,
}

#[derive(Debug, Default)]
struct Connections {
    next: u64,
    /// A handle on each open connection, to shut it down under its thread.
    streams: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Listens on 127.0.0.1 and serves `workspace` to requests that carry `token`.
    pub fn start(
        workspace: Arc<AssetsWorkspace>,
        token: Token,
        config: &ServerConfig,
    ) -> Result<Server, StudioError> {
        let listen = |error| StudioError::Listen {
            port: config.port,
            error,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).map_err(listen)?;
        let addr = listener.local_addr().map_err(listen)?;
        let (closing, closed) = crossbeam_channel::bounded(0);
        let (stop_request, stop_requests) = crossbeam_channel::bounded(1);
        let shared = Arc::new(Shared {
            workspace,
            token,
            port: addr.port(),
            request_timeout: config.request_timeout,
            heartbeat: config.heartbeat,
            stopping: AtomicBool::new(false),
            connections: Mutex::new(Connections::default()),
            closing: Mutex::new(Some(closing)),
            closed,
            stop_request,
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = std::thread::Builder::new()
            .name("studio-accept".to_owned())
            .spawn(move || accept(&accept_shared, &listener))
            .map_err(StudioError::Thread)?;
        Ok(Server {
            addr,
            shared,
            accept_thread: Some(accept_thread),
            stop_requests,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn token(&self) -> &Token {
        &self.shared.token
    }

    /// The page's address, token included: what a person opens.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.shared.token.as_str())
    }

    /// Receives once when a client asked Studio to stop (`POST /api/shutdown`).
    pub fn stop_requests(&self) -> &Receiver<()> {
        &self.stop_requests
    }

    /// Stops accepting, ends the event streams and joins every thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(accept_thread) = self.accept_thread.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        lock(&self.shared.closing).take();
        // Wakes the accept loop, which sees the flag and returns. If the connection
        // fails the listener is already gone, and so is the loop.
        let _ = TcpStream::connect(self.addr);
        let _ = accept_thread.join();
        let (streams, threads) = {
            let mut connections = lock(&self.shared.connections);
            (
                std::mem::take(&mut connections.streams),
                std::mem::take(&mut connections.threads),
            )
        };
        for stream in streams.values() {
            let _ = stream.shutdown(Shutdown::Read);
        }
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept(shared: &Arc<Shared>, listener: &TcpListener) {
    for incoming in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match incoming {
            Ok(stream) => stream,
            // Out of descriptors and the like: let connections finish before trying
            // again, instead of spinning on the error. Shutdown cuts the wait short.
            Err(_) => {
                let _ = shared.closed.recv_timeout(Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let mut connections = lock(&shared.connections);
        reap(&mut connections);
        if connections.threads.len() >= MAX_CONNECTIONS {
            drop(connections);
            let mut stream = stream;
            let _ = Response::text(503, "too many connections; try again").write_to(&mut stream);
            continue;
        }
        let id = connections.next;
        connections.next += 1;
        if let Ok(handle) = stream.try_clone() {
            connections.streams.insert(id, handle);
        }
        let thread_shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name(format!("studio-connection-{id}"))
            .spawn(move || {
                serve(&thread_shared, stream);
                lock(&thread_shared.connections).streams.remove(&id);
            });
        match spawned {
            Ok(thread) => connections.threads.push(thread),
            Err(_) => {
                connections.streams.remove(&id);
            }
        }
    }
}

/// Joins the threads of connections that have ended, so they do not pile up.
fn reap(connections: &mut Connections) {
    let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut connections.threads)
        .into_iter()
        .partition(JoinHandle::is_finished);
    connections.threads = running;
    for thread in done {
        let _ = thread.join();
    }
}

/// Serves the one request of a connection.
fn serve(shared: &Shared, mut stream: TcpStream) {
    let until = Instant::now() + shared.request_timeout;
    // Refusals are decided on the head alone: an unauthorised body is never read.
    let request = match http::read_head(&mut Deadline::new(&stream, until)) {
        Ok(head) => match guard::check(&head.request, shared.port, &shared.token) {
            Ok(()) => head.read_body(&mut Deadline::new(&stream, until)),
            Err(refusal) => {
                let _ = Response::text(403, refusal.message()).write_to(&mut stream);
                return;
            }
        },
        Err(error) => Err(error),
    };
    let request = match request {
        Ok(request) => request,
        Err(error) => {
            if let Some(status) = error.status() {
                let _ = Response::text(status, &error.to_string()).write_to(&mut stream);
            }
            return;
        }
    };
    match routes::route(shared, &request) {
        Routed::Response(response) => {
            let _ = response.write_to(&mut stream);
        }
        Routed::EventStream => {
            let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
            stream_events(shared, &request, &stream);
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

/// Writes the event stream for as long as the page listens. The page sends nothing
/// more, so a read on the connection ends only when it hangs up (or shutdown closes the
/// connection): a watcher thread waits for that, and the stream then ends at once
/// instead of holding its connection until a write fails, a heartbeat later.
fn stream_events(shared: &Shared, request: &Request, stream: &TcpStream) {
    let _ = stream.set_read_timeout(None);
    let (hung_up, gone) = crossbeam_channel::bounded::<()>(0);
    std::thread::scope(|scope| {
        let watcher = std::thread::Builder::new()
            .name("studio-stream-watch".to_owned())
            .spawn_scoped(scope, move || {
                let _hung_up = hung_up;
                let mut reader = stream;
                let mut sink = [0u8; 512];
                loop {
                    match reader.read(&mut sink) {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return,
                    }
                }
            });
        // Without a watcher the stream ends when a write fails, as it always can.
        let gone = if watcher.is_ok() {
            gone
        } else {
            crossbeam_channel::never()
        };
        let _ = sse::stream(shared, request, &mut { stream }, &gone);
        // Ends the watcher's read if the page is still there.
        let _ = stream.shutdown(Shutdown::Read);
    });
}

/// Reads a connection against one deadline for the whole request, not a timeout per
/// read, which a byte every few seconds would renew for ever.
struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl<'a> Deadline<'a> {
    fn new(stream: &'a TcpStream, until: Instant) -> Deadline<'a> {
        Deadline { stream, until }
    }
}

impl Read for Deadline<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self
            .until
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "the request took too long"))?;
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buffer)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The server's tables are changed by single inserts, removes and takes, which
    // cannot leave them half-changed: a poisoned lock still guards a whole table.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
