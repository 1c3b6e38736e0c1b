//! The admin socket server (admin::server) against real Unix sockets: requests and errors,
//! permissions, stale sockets, the connection limit, timeouts and bounded work per poll.

use control::admin::model::*;
use control::admin::model::{MrouteView, RpfView};
use control::admin::server::*;
use std::fs;
use std::io::ErrorKind;
use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// Removes a test's directory when the test ends, pass or fail.
struct TestDir(PathBuf);

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fresh socket path in its own not-yet-existing directory, so `bind` creates it.
fn socket_path(test: &str) -> (PathBuf, TestDir) {
    let dir = std::env::temp_dir().join(format!("mrouter-admin-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    (dir.join("admin.sock"), TestDir(dir))
}

fn handler(request: Request) -> Response {
    match request {
        Request::ShowMroute => Response::Mroute(vec![MrouteView {
            source: Ipv4Addr::new(10, 0, 1, 2),
            group: Ipv4Addr::new(239, 1, 1, 1),
            iif: "if0".into(),
            upstream: None,
            oifs: vec![],
            uptime_secs: 1.0,
            expires_secs: None,
            packets: 0,
            bytes: 0,
            wrong_if: 0,
            negative: true,
            origin: "mgm".into(),
        }]),
        Request::ShowRpf { source } => Response::Rpf(RpfView {
            source,
            interface: None,
            next_hop: None,
            prefix: None,
            origin: None,
        }),
        Request::Reload => Response::Reloaded {
            message: "reloaded".into(),
        },
        _ => Response::error("not in this test"),
    }
}

/// Polls `server` from this thread until `client`, running on another, is done.
fn serve_while<T: Send + 'static>(
    server: &mut AdminServer,
    client: impl FnOnce() -> T + Send + 'static,
) -> T {
    let client = thread::spawn(client);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !client.is_finished() {
        assert!(Instant::now() < deadline, "client did not finish");
        server.poll(&mut handler);
        thread::sleep(Duration::from_millis(1));
    }
    client.join().expect("client thread panicked")
}

struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    fn connect(path: &Path) -> Client {
        let stream = UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    fn receive(&mut self) -> Option<Response> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        assert!(line.ends_with('\n'));
        Some(serde_json::from_str(&line).unwrap())
    }

    fn ask(&mut self, line: &str) -> Response {
        self.send(format!("{line}\n").as_bytes());
        self.receive().expect("connection closed")
    }

    /// Asks from this thread, polling `server` for the answer.
    fn ask_polled(&mut self, server: &mut AdminServer, line: &str) -> Response {
        self.send(format!("{line}\n").as_bytes());
        server.poll(&mut handler);
        self.receive().expect("connection closed")
    }
}

fn error_message(r: Response) -> String {
    match r {
        Response::Error { message } => message,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn answers_good_and_bad_requests_on_one_connection() {
    let (path, _dir) = socket_path("mixed");
    let mut server = AdminServer::bind(&path).unwrap();
    let p = path.clone();
    serve_while(&mut server, move || {
        let mut c = Client::connect(&p);
        assert!(matches!(c.ask(r#"{"cmd":"show_mroute"}"#), Response::Mroute(v) if v.len() == 1));
        let e = error_message(c.ask("{not json"));
        assert!(e.contains("not valid JSON"), "{e}");
        let e = error_message(c.ask(r#"{"cmd":"show_bananas"}"#));
        assert!(e.contains("unknown command `show_bananas`"), "{e}");
        let e = error_message(c.ask(r#"{"cmd":"show_rpf","source":"10.0.1.256"}"#));
        assert!(e.contains("bad arguments to `show_rpf`"), "{e}");
        // Still usable after all that.
        assert_eq!(
            c.ask(r#"{"cmd":"show_rpf","source":"10.0.1.2"}"#),
            handler(Request::ShowRpf {
                source: Ipv4Addr::new(10, 0, 1, 2)
            })
        );
        // Blank lines are ignored, CRLF is accepted.
        assert!(matches!(
            c.ask("\n\r\n{\"cmd\":\"reload\"}\r"),
            Response::Reloaded { .. }
        ));
    });
}

#[test]
fn two_requests_in_one_write_and_one_split_across_two() {
    let (path, _dir) = socket_path("framing");
    let mut server = AdminServer::bind(&path).unwrap();
    let p = path.clone();
    serve_while(&mut server, move || {
        let mut c = Client::connect(&p);
        c.send(b"{\"cmd\":\"reload\"}\n{\"cmd\":\"show_mroute\"}\n");
        assert!(matches!(c.receive(), Some(Response::Reloaded { .. })));
        assert!(matches!(c.receive(), Some(Response::Mroute(_))));
        c.send(b"{\"cmd\":\"show_rpf\",");
        thread::sleep(Duration::from_millis(50));
        c.send(b"\"source\":\"10.0.1.2\"}\n");
        assert!(matches!(c.receive(), Some(Response::Rpf(_))));
        // A last request without a newline is answered when the client shuts down writing.
        c.send(b"{\"cmd\":\"reload\"}");
        c.writer.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(matches!(c.receive(), Some(Response::Reloaded { .. })));
        assert_eq!(c.receive(), None);
    });
    assert_eq!(server.connection_count(), 0);
}

#[test]
fn overlong_line_gets_an_error_and_the_connection_closes() {
    let (path, _dir) = socket_path("overlong");
    let mut server = AdminServer::bind(&path).unwrap();
    let p = path.clone();
    serve_while(&mut server, move || {
        let mut c = Client::connect(&p);
        let long = vec![b' '; MAX_LINE + 10];
        // The server may close before taking all of it; a failed write is fine here.
        let _ = c.writer.write_all(&long);
        let e = error_message(c.receive().expect("an error response"));
        assert!(e.contains("longer than 65536 bytes"), "{e}");
        // Closed: end of stream, or a reset if Linux saw bytes we sent left unread.
        let mut rest = String::new();
        match c.reader.read_line(&mut rest) {
            Ok(n) => assert_eq!(n, 0, "{rest}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
    });
    // A line of exactly MAX_LINE bytes is still accepted.
    let p = path.clone();
    serve_while(&mut server, move || {
        let mut c = Client::connect(&p);
        let request = br#"{"cmd":"reload"}"#;
        let mut line = vec![b' '; MAX_LINE - request.len()];
        line.extend_from_slice(request);
        assert_eq!(line.len(), MAX_LINE);
        line.push(b'\n');
        c.send(&line);
        assert!(matches!(c.receive(), Some(Response::Reloaded { .. })));
    });
}

#[test]
fn socket_is_owner_only_and_removed_on_drop() {
    let (path, _dir) = socket_path("mode");
    let server = AdminServer::bind(&path).unwrap();
    let meta = fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let dir = fs::metadata(path.parent().unwrap()).unwrap();
    assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    drop(server);
    assert!(!path.exists());
}

#[test]
fn second_bind_on_a_live_socket_fails_and_leaves_it_alone() {
    let (path, _dir) = socket_path("live");
    let mut server = AdminServer::bind(&path).unwrap();
    let err = AdminServer::bind(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert!(err.to_string().contains("another mrouter"), "{err}");
    // The first server still serves.
    let p = path.clone();
    serve_while(&mut server, move || {
        let mut c = Client::connect(&p);
        assert!(matches!(
            c.ask(r#"{"cmd":"reload"}"#),
            Response::Reloaded { .. }
        ));
    });
}

#[test]
fn stale_socket_is_replaced_and_other_files_are_not() {
    let (path, _dir) = socket_path("stale");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    drop(UnixListener::bind(&path).unwrap()); // leaves the file, nobody listening
    assert!(path.exists());
    let mut server = AdminServer::bind(&path).unwrap();
    let p = path.clone();
    serve_while(&mut server, move || {
        let mut c = Client::connect(&p);
        assert!(matches!(
            c.ask(r#"{"cmd":"reload"}"#),
            Response::Reloaded { .. }
        ));
    });
    drop(server);

    fs::write(&path, b"not a socket").unwrap();
    let err = AdminServer::bind(&path).unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"not a socket");
}

#[test]
fn at_the_limit_a_new_connection_takes_the_slot_of_the_longest_idle_one() {
    let (path, _dir) = socket_path("limit");
    let mut server = AdminServer::bind(&path).unwrap();
    // Unix stream connects complete in the listen backlog, so one thread can do both sides.
    let mut oldest = Client::connect(&path);
    server.poll(&mut handler);
    thread::sleep(Duration::from_millis(5));
    let mut clients: Vec<Client> = (0..MAX_CONNECTIONS - 1)
        .map(|_| Client::connect(&path))
        .collect();
    for _ in 0..10 {
        server.poll(&mut handler);
    }
    assert_eq!(server.connection_count(), MAX_CONNECTIONS);
    // The oldest has asked and been answered since: it is no longer the longest idle.
    thread::sleep(Duration::from_millis(5));
    assert!(matches!(
        oldest.ask_polled(&mut server, r#"{"cmd":"reload"}"#),
        Response::Reloaded { .. }
    ));
    let mut newcomer = Client::connect(&path);
    server.poll(&mut handler);
    assert_eq!(server.connection_count(), MAX_CONNECTIONS);
    assert_eq!(server.counters().evicted, 1);
    assert!(matches!(
        newcomer.ask_polled(&mut server, r#"{"cmd":"reload"}"#),
        Response::Reloaded { .. }
    ));
    // Exactly one of the idle ones was told why and closed.
    let mut told = 0;
    for c in &mut clients {
        c.reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut line = String::new();
        if let Ok(n) = c.reader.read_line(&mut line) {
            if n > 0 {
                let r: Response = serde_json::from_str(&line).unwrap();
                let e = error_message(r);
                assert!(e.contains("idle longest"), "{e}");
                told += 1;
            }
        }
    }
    assert_eq!(told, 1);
    assert!(matches!(
        oldest.ask_polled(&mut server, r#"{"cmd":"reload"}"#),
        Response::Reloaded { .. }
    ));
    // Hung-up clients are dropped.
    drop(clients);
    drop(oldest);
    drop(newcomer);
    server.poll(&mut handler);
    assert_eq!(server.connection_count(), 0);
}

#[test]
fn a_half_written_request_gets_an_error_when_its_time_is_up_however_it_trickles() {
    let (path, _dir) = socket_path("halfline");
    let mut server = AdminServer::bind(&path).unwrap();
    server.set_request_timeout(Duration::from_millis(100));
    let mut stalled = Client::connect(&path);
    let mut trickler = Client::connect(&path);
    stalled.send(br#"{"cmd":"sh"#);
    server.poll(&mut handler);
    assert_eq!(server.connection_count(), 2);
    let until = Instant::now() + Duration::from_secs(5);
    while server.connection_count() > 0 {
        assert!(
            Instant::now() < until,
            "partial requests were not timed out"
        );
        // One more byte every few milliseconds: bytes alone do not keep a line alive.
        let _ = trickler.writer.write_all(b" ");
        server.poll(&mut handler);
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.counters().timed_out, 2);
    let e = error_message(stalled.receive().expect("an error line"));
    assert!(e.contains("not complete within"), "{e}");
    assert_eq!(stalled.receive(), None);
}

#[test]
fn idle_and_vanished_clients_are_dropped() {
    let (path, _dir) = socket_path("idle");
    let mut server = AdminServer::bind(&path).unwrap();
    server.set_idle_timeout(Duration::from_millis(50));
    let mut idle = Client::connect(&path);
    server.poll(&mut handler);
    assert_eq!(server.connection_count(), 1);
    thread::sleep(Duration::from_millis(100));
    server.poll(&mut handler);
    assert_eq!(server.connection_count(), 0);
    assert_eq!(idle.receive(), None);

    // A client that asks a lot and leaves without reading costs a dropped connection.
    let mut gone = Client::connect(&path);
    gone.send(b"{\"cmd\":\"show_mroute\"}\n".repeat(1000).as_slice());
    drop(gone);
    for _ in 0..200 {
        server.poll(&mut handler);
    }
    assert_eq!(server.connection_count(), 0);
}

#[test]
fn work_per_poll_is_bounded() {
    let (path, _dir) = socket_path("bounded");
    let mut server = AdminServer::bind(&path).unwrap();
    let mut c = Client::connect(&path);
    c.send(
        b"{\"cmd\":\"reload\"}\n"
            .repeat(REQUESTS_PER_POLL * 2 + 1)
            .as_slice(),
    );
    let mut counts = Vec::new();
    for _ in 0..4 {
        counts.push(server.poll(&mut handler));
    }
    assert_eq!(counts, [REQUESTS_PER_POLL, REQUESTS_PER_POLL, 1, 0]);
    for _ in 0..REQUESTS_PER_POLL * 2 + 1 {
        assert!(matches!(c.receive(), Some(Response::Reloaded { .. })));
    }
}
