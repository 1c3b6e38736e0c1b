//! The admin socket server, polled from the daemon's control loop.
//!
//! Single-threaded and non-blocking: [`AdminServer::poll`] accepts a few connections, reads what
//! has arrived, answers complete request lines through the caller's handler and writes what the
//! sockets take, then returns. Every step is bounded (connections accepted, bytes read and
//! requests answered per call) and every socket is non-blocking (accept, read, and `send` with
//! `MSG_DONTWAIT`), so a chatty, stalled or hostile client cannot stall the control core.
//! A connection that errors, hangs up or sends an overlong line is dropped; a malformed request
//! gets an error response and the connection stays usable.
//!
//! Clients cannot hold the operator out (what a router's vty lines do: an exec timeout per
//! line, and the oldest idle line given up before a new login is refused):
//!
//! - a connection with nothing in progress is closed after [`DEFAULT_IDLE_TIMEOUT`];
//! - a request line must be complete within [`REQUEST_TIMEOUT`] of its first byte, however
//!   slowly it trickles in (then an error line, and the connection is closed);
//! - an answer the client takes nothing of for [`WRITE_TIMEOUT`] is dropped with its connection;
//! - at [`MAX_CONNECTIONS`], a new connection is not refused: the connection that has made no
//!   progress for longest (no request answered, no answer byte taken) is closed to make room,
//!   after a best-effort line saying why. A new client therefore always gets a slot, and a
//!   client mid-answer is the last to lose its own.

use std::fs;
use std::io::{self, ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, MsgFlags};

use super::model::{Request, Response};

/// Where the daemon listens and `mrouterctl` connects unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/var/run/mrouter/mrouter.sock";

/// Longest request line accepted, newline excluded.
pub const MAX_LINE: usize = 64 * 1024;
/// Most connections open at once; a further one takes the slot of the connection that has made
/// no progress for longest (see the module doc).
pub const MAX_CONNECTIONS: usize = 16;
/// Most connections accepted per [`AdminServer::poll`].
pub const ACCEPTS_PER_POLL: usize = 8;
/// Most requests answered per connection per [`AdminServer::poll`].
pub const REQUESTS_PER_POLL: usize = 16;
/// A connection with nothing in progress (no partial request, no answer waiting) for this long
/// is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A request line must be complete (its newline received) within this of its first byte; the
/// same time `mrouterctl` waits for its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// An answer of which the client takes no byte for this long is dropped with its connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read per `read` call.
const READ_CHUNK: usize = 16 * 1024;
/// A connection's answers waiting to be written stop it from being read further beyond this, so
/// a client that sends but never reads cannot make the daemon buffer without end.
const MAX_PENDING_OUTPUT: usize = 4 * 1024 * 1024;

/// What the server has done to connections on its own account (`show stats`, control section).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdminCounters {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections closed to make room for a new one at [`MAX_CONNECTIONS`].
    pub evicted: u64,
    /// Connections closed by the idle, request or write timeout.
    pub timed_out: u64,
}

/// The admin socket: a listening Unix stream socket and its open connections.
#[derive(Debug)]
pub struct AdminServer {
    listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file this server created, so that drop removes only that
    /// file and not one a later daemon put in its place.
    identity: Option<(u64, u64)>,
    connections: Vec<Connection>,
    timeouts: Timeouts,
    counters: AdminCounters,
}

/// The per-connection deadlines (the constants, shorter in tests).
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    idle: Duration,
    request: Duration,
    write: Duration,
}

#[derive(Debug)]
struct Connection {
    stream: UnixStream,
    /// Bytes received, not yet a complete line.
    input: Vec<u8>,
    /// Response bytes the socket has not taken yet.
    output: Vec<u8>,
    /// The peer has shut down its sending side: answer what is buffered, then close.
    eof: bool,
    /// Close once `output` is written (after an overlong line or a refused connection).
    closing: bool,
    /// The socket failed: drop at once.
    dead: bool,
    /// When the connection was accepted, a request was last answered or the client last took
    /// answer bytes: what the idle and write timeouts and eviction go by. Bytes of a request
    /// that is not complete yet do not count, so trickling a line in keeps nothing alive.
    last_progress: Instant,
    /// When the first byte of the incomplete request line in `input` arrived.
    request_started: Option<Instant>,
}

impl AdminServer {
    /// Listens on `path`, mode 0600 (owner only).
    ///
    /// Creates the parent directory (mode 0700) if it is missing. A socket file already at
    /// `path` is replaced only if nothing answers on it; if a live mrouter owns it, this fails
    /// with [`ErrorKind::AddrInUse`]. Anything at `path` that is not a socket is left alone and
    /// reported.
    pub fn bind(path: &Path) -> io::Result<AdminServer> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(|e| annotate(e, format!("cannot create {}", parent.display())))?;
            }
        }
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
                Ok(_) => {
                    return Err(io::Error::new(
                        ErrorKind::AddrInUse,
                        format!(
                            "{} is in use: another mrouter is running and answers on it \
                             (stop it, or give this one another admin socket path)",
                            path.display()
                        ),
                    ))
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    // Left behind by a daemon that died without cleaning up.
                    fs::remove_file(path).map_err(|e| {
                        annotate(e, format!("cannot remove stale socket {}", path.display()))
                    })?;
                }
                Err(e) => {
                    return Err(annotate(
                        e,
                        format!("cannot check existing socket {}", path.display()),
                    ))
                }
            },
            Ok(_) => {
                return Err(io::Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a socket; not replacing it",
                        path.display()
                    ),
                ))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(annotate(e, format!("cannot inspect {}", path.display()))),
        }
        let listener = UnixListener::bind(path)
            .map_err(|e| annotate(e, format!("cannot listen on {}", path.display())))?;
        // The file exists with the umask's mode until this chmod; the parent directory (0700
        // when we created it) is what keeps others out during that window.
        let server = AdminServer {
            identity: fs::metadata(path).ok().map(|m| (m.dev(), m.ino())),
            listener,
            path: path.to_path_buf(),
            connections: Vec::new(),
            timeouts: Timeouts {
                idle: DEFAULT_IDLE_TIMEOUT,
                request: REQUEST_TIMEOUT,
                write: WRITE_TIMEOUT,
            },
            counters: AdminCounters::default(),
        };
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|e| annotate(e, format!("cannot set the mode of {}", path.display())))?;
        server.listener.set_nonblocking(true)?;
        Ok(server)
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes connections idle for longer than `timeout` (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub fn set_idle_timeout(&mut self, timeout: Duration) {
        self.timeouts.idle = timeout;
    }

    /// Gives a request line `timeout` from its first byte to its newline (default
    /// [`REQUEST_TIMEOUT`]) and a pending answer as long to be taken (default
    /// [`WRITE_TIMEOUT`]).
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.timeouts.request = timeout;
        self.timeouts.write = timeout;
    }

    /// Connections open now.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Connections accepted, evicted and timed out since the server started.
    pub fn counters(&self) -> AdminCounters {
        self.counters
    }

    /// Does a bounded amount of admin work: accepts up to [`ACCEPTS_PER_POLL`] connections,
    /// reads what has arrived on each, answers up to [`REQUESTS_PER_POLL`] complete lines per
    /// connection through `handler`, and writes what the sockets take. Returns the number of
    /// requests handled (malformed ones included). Never blocks.
    pub fn poll(&mut self, handler: &mut dyn FnMut(Request) -> Response) -> usize {
        self.accept();
        let mut handled = 0;
        for conn in &mut self.connections {
            handled += conn.service(handler);
        }
        let now = Instant::now();
        let timeouts = self.timeouts;
        let mut timed_out = 0;
        self.connections.retain_mut(|c| {
            if c.finished() {
                return false;
            }
            if c.timed_out(now, &timeouts) {
                timed_out += 1;
                return false;
            }
            true
        });
        self.counters.timed_out += timed_out;
        handled
    }

    fn accept(&mut self) {
        for _ in 0..ACCEPTS_PER_POLL {
            let stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                // WouldBlock: nobody waiting. Other errors (EMFILE, ECONNABORTED) are
                // per-attempt; try again at the next poll.
                Err(_) => return,
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.counters.accepted += 1;
            if self.connections.len() >= MAX_CONNECTIONS {
                self.evict_one();
            }
            self.connections.push(Connection::new(stream));
        }
    }

    /// Closes the connection that has made no progress for longest, to make room for a new one.
    fn evict_one(&mut self) {
        let Some(oldest) = self
            .connections
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.last_progress)
            .map(|(i, _)| i)
        else {
            return;
        };
        let mut conn = self.connections.swap_remove(oldest);
        // Best effort, so that a client that comes back to it learns why: a short line usually
        // fits the socket buffer whatever the client left unread.
        conn.output.extend_from_slice(
            &Response::error(format!(
                "closed: all {MAX_CONNECTIONS} admin connections were in use and this one had \
                 been idle longest"
            ))
            .to_line(),
        );
        conn.flush();
        self.counters.evicted += 1;
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        let ours = fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()))
            .is_some_and(|id| Some(id) == self.identity);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Connection {
    fn new(stream: UnixStream) -> Connection {
        Connection {
            stream,
            input: Vec::new(),
            output: Vec::new(),
            eof: false,
            closing: false,
            dead: false,
            last_progress: Instant::now(),
            request_started: None,
        }
    }

    /// Past one of its deadlines (see the module doc). A partial request that ran out of time
    /// gets an error line first, best effort.
    fn timed_out(&mut self, now: Instant, timeouts: &Timeouts) -> bool {
        let quiet = now.saturating_duration_since(self.last_progress);
        if !self.output.is_empty() {
            return quiet > timeouts.write;
        }
        if let Some(started) = self.request_started {
            if now.saturating_duration_since(started) > timeouts.request {
                self.output.extend_from_slice(
                    &Response::error(format!(
                        "request line not complete within {:?}; closing the connection",
                        timeouts.request
                    ))
                    .to_line(),
                );
                self.flush();
                return true;
            }
            return false;
        }
        quiet > timeouts.idle
    }

    /// Done with: failed, or closing / hung up with everything answered and written.
    fn finished(&self) -> bool {
        self.dead
            || (self.output.is_empty()
                && (self.closing || (self.eof && !self.input.contains(&b'\n'))))
    }

    /// One poll's worth of work on this connection; returns the requests handled.
    fn service(&mut self, handler: &mut dyn FnMut(Request) -> Response) -> usize {
        self.flush();
        if self.dead || self.closing {
            return 0;
        }
        self.read();
        if self.dead {
            return 0;
        }
        if self.eof && !self.input.is_empty() && !self.input.ends_with(b"\n") {
            // A last request without its newline (`printf ... | nc -U`): answer it too.
            self.input.push(b'\n');
        }
        let mut handled = 0;
        while handled < REQUESTS_PER_POLL && self.output.len() < MAX_PENDING_OUTPUT {
            let Some(end) = self.input.iter().position(|&b| b == b'\n') else {
                if self.input.len() > MAX_LINE {
                    self.reject_overlong();
                }
                break;
            };
            if end > MAX_LINE {
                self.reject_overlong();
                break;
            }
            let line: Vec<u8> = self.input.drain(..=end).collect();
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let response = match Request::from_line(line) {
                Ok(request) => handler(request),
                Err(message) => Response::error(message),
            };
            self.output.extend_from_slice(&response.to_line());
            self.last_progress = Instant::now();
            handled += 1;
        }
        // Whatever is left is the start of the next request (or nothing).
        if self.input.is_empty() {
            self.request_started = None;
        } else if !self.input.contains(&b'\n') {
            self.request_started.get_or_insert_with(Instant::now);
        } else {
            // Complete lines wait for the next poll (REQUESTS_PER_POLL); not the client's delay.
            self.request_started = None;
        }
        self.flush();
        handled
    }

    /// Reads what the socket has, stopping once a full line's worth is buffered (the rest
    /// waits in the socket for a later poll).
    fn read(&mut self) {
        let mut chunk = [0u8; READ_CHUNK];
        while !self.eof && self.input.len() <= MAX_LINE {
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.dead = true;
                    break;
                }
            }
        }
    }

    /// Writes what the socket takes; keeps the rest for the next poll.
    fn flush(&mut self) {
        while !self.output.is_empty() && !self.dead {
            // MSG_NOSIGNAL: a client that hung up must cost a dropped connection (EPIPE), not
            // a SIGPIPE, whatever the daemon's signal setup is.
            let sent = socket::send(
                self.stream.as_raw_fd(),
                &self.output,
                MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
            )
            .map_err(io::Error::from);
            match sent {
                Ok(0) => self.dead = true,
                Ok(n) => {
                    self.output.drain(..n);
                    self.last_progress = Instant::now();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => self.dead = true,
            }
        }
    }

    fn reject_overlong(&mut self) {
        self.input.clear();
        self.closing = true;
        self.output.extend_from_slice(
            &Response::error(format!(
                "request line longer than {MAX_LINE} bytes; closing the connection"
            ))
            .to_line(),
        );
    }
}

fn annotate(e: io::Error, context: String) -> io::Error {
    io::Error::new(e.kind(), format!("{context}: {e}"))
}
