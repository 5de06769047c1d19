//! The server's input, readable until SIGINT or SIGTERM: each is turned into a byte on
//! a socket pair of its own (the only thing a signal handler may safely do), and every
//! read of stdin first waits for either stdin or those bytes. So a signal stops the
//! server when it next waits for input, never in the middle of a request, and it ends
//! as `shutdown` ends it: the runtime is shut down and every thread it started is
//! joined. Either signal also sets a flag at once, which a build under way heeds: it
//! stops at its next asset and is answered, and the server stops next.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use signal_hook::consts::{SIGINT, SIGTERM};

/// The signals that stop the server, by name.
const STOP_SIGNALS: [(i32, &str); 2] = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")];

/// Stdin, or the news that a stop signal came.
pub(super) struct StoppableStdin {
    stdin: io::Stdin,
    /// For each of [`STOP_SIGNALS`], a socket readable once it came.
    stopped: [UnixStream; 2],
    /// The signal that came, once one did.
    signal: Option<&'static str>,
    /// Set by either signal the moment it comes, for work that can stop half way (a
    /// build) while no input is waited for.
    stopping: Arc<AtomicBool>,
}

impl StoppableStdin {
    /// Starts listening for SIGINT and SIGTERM; from now on they stop the server
    /// instead of killing it.
    pub(super) fn new() -> io::Result<StoppableStdin> {
        let listen = |signal: i32| -> io::Result<UnixStream> {
            let (stopped, notify) = UnixStream::pair()?;
            notify.set_nonblocking(true)?;
            signal_hook::low_level::pipe::register(signal, notify)?;
            Ok(stopped)
        };
        let stopping = Arc::new(AtomicBool::new(false));
        for (signal, _) in STOP_SIGNALS {
            signal_hook::flag::register(signal, Arc::clone(&stopping))?;
        }
        Ok(StoppableStdin {
            stdin: io::stdin(),
            stopped: [listen(STOP_SIGNALS[0].0)?, listen(STOP_SIGNALS[1].0)?],
            signal: None,
            stopping,
        })
    }

    /// Set once SIGINT or SIGTERM came, even while no input is waited for.
    pub(super) fn stopping(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }

    /// The signal that stopped the input, if one did.
    pub(super) fn signal(&self) -> Option<&'static str> {
        self.signal
    }
}

impl Read for StoppableStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.signal.is_some() {
            return Err(stopped());
        }
        // Straight from the descriptor: a buffer in between could hold input that poll
        // does not see.
        let stdin = self.stdin.as_fd();
        loop {
            let mut fds = [
                PollFd::new(&stdin, PollFlags::IN),
                PollFd::new(&self.stopped[0], PollFlags::IN),
                PollFd::new(&self.stopped[1], PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(errno) => return Err(errno.into()),
            }
            let came = fds[1..]
                .iter()
                .zip(STOP_SIGNALS)
                .find(|(fd, _)| !fd.revents().is_empty())
                .map(|(_, (_, name))| name);
            if let Some(name) = came {
                self.signal = Some(name);
                return Err(stopped());
            }
            if !fds[0].revents().is_empty() {
                return loop {
                    match rustix::io::read(stdin, &mut *buf) {
                        Err(Errno::INTR) => continue,
                        other => break other.map_err(io::Error::from),
                    }
                };
            }
        }
    }
}

/// The error every read gives once a stop signal came (the caller asks `signal` why).
fn stopped() -> io::Error {
    io::Error::other("stopped by a signal")
}
