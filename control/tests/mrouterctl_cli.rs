//! The real `mrouterctl` binary against an `AdminServer` polled by a thread of this test,
//! answering from canned views.

use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use control::admin::{AdminServer, MrouteView, OifView, Request, Response, RpfView, StatsView};

fn mroutes() -> Vec<MrouteView> {
    vec![MrouteView {
        source: Ipv4Addr::new(10, 0, 1, 2),
        group: Ipv4Addr::new(239, 1, 1, 1),
        iif: "if0".into(),
        upstream: None,
        oifs: vec![
            OifView {
                interface: "if1".into(),
                ttl_threshold: 1,
                out_packets: 1234,
            },
            OifView {
                interface: "if2".into(),
                ttl_threshold: 10,
                out_packets: 1230,
            },
        ],
        uptime_secs: 65.0,
        expires_secs: Some(835.0),
        packets: 1234,
        bytes: 56789,
        wrong_if: 0,
        negative: false,
        origin: "mgm".into(),
    }]
}

fn handler(request: Request) -> Response {
    match request {
        Request::ShowMroute => Response::Mroute(mroutes()),
        Request::ShowRpf { source } => Response::Rpf(RpfView {
            source,
            interface: Some("if0".into()),
            next_hop: None,
            prefix: Some("10.0.1.0/24".into()),
            origin: Some("connected".into()),
        }),
        Request::Reload => Response::Reloaded {
            message: "configuration reloaded: 1 route added".into(),
        },
        _ => Response::error("stats are not available in this test"),
    }
}

/// An admin server polled by a background thread until dropped.
struct Daemon {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Daemon {
    fn start(test: &str) -> Daemon {
        Daemon::start_with(test, handler)
    }

    fn start_with(test: &str, mut handler: fn(Request) -> Response) -> Daemon {
        let path = std::env::temp_dir()
            .join(format!("mrouterctl-cli-{}-{test}", std::process::id()))
            .join("mrouter.sock");
        let mut server = AdminServer::bind(&path).expect("bind the admin socket");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                server.poll(&mut handler);
                thread::sleep(Duration::from_millis(1));
            }
        });
        Daemon {
            path,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // The server removed its socket when the thread dropped it; now its directory.
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn mrouterctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mrouterctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run mrouterctl")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn show_mroute_prints_a_table() {
    let daemon = Daemon::start("mroute");
    let out = mrouterctl(&daemon.path, &["show", "mroute"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let row: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("10.0.1.2"))
        .unwrap_or_else(|| panic!("no route line in:\n{text}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        [
            "10.0.1.2",
            "239.1.1.1",
            "if0",
            "-",
            "if1:1234",
            "if2(>10):1230",
            "00:01:05",
            "00:13:55",
            "1234",
            "56789",
            "0",
            "D"
        ]
    );
    assert!(text.lines().any(|l| l.starts_with("Source ")), "{text}");
}

#[test]
fn show_mroute_json_is_the_list() {
    let daemon = Daemon::start("json");
    let out = mrouterctl(&daemon.path, &["show", "mroute", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let routes: Vec<MrouteView> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert_eq!(routes, mroutes());
    // --json before the subcommand works too.
    let out = mrouterctl(&daemon.path, &["--json", "show", "mroute"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again: Vec<MrouteView> = serde_json::from_slice(&out.stdout).expect("a JSON list");
    assert_eq!(again, routes);
}

#[test]
fn show_rpf_prints_one_line() {
    let daemon = Daemon::start("rpf");
    let out = mrouterctl(&daemon.path, &["show", "rpf", "10.0.1.2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "RPF for 10.0.1.2: interface if0, via directly connected 10.0.1.0/24\n"
    );
}

#[test]
fn reload_prints_the_message() {
    let daemon = Daemon::start("reload");
    let out = mrouterctl(&daemon.path, &["reload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "configuration reloaded: 1 route added\n");
}

#[test]
fn error_response_goes_to_stderr_with_status_1() {
    let daemon = Daemon::start("error");
    let out = mrouterctl(&daemon.path, &["show", "stats"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("stats are not available in this test"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_socket_says_so_with_status_1() {
    let path = std::env::temp_dir()
        .join(format!("mrouterctl-cli-{}-missing", std::process::id()))
        .join("nothing.sock");
    let out = mrouterctl(&path, &["show", "mroute"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot reach mrouter at {}", path.display())),
        "{err}"
    );
    assert!(err.contains("is mrouter running? see --socket"), "{err}");
}

fn stats() -> StatsView {
    StatsView {
        uptime_secs: 12.0,
        ports: vec![],
        workers: vec![],
        drops: [("no_route".to_string(), 3)].into(),
        control: [("misses_received".to_string(), 7)].into(),
    }
}

fn stats_handler(request: Request) -> Response {
    match request {
        Request::ShowStats => Response::Stats(stats()),
        other => handler(other),
    }
}

/// Issue #15: sixteen idle connections used to lock the operator out. With 30 connections held
/// open, a third of them stalled half-way through a request, `mrouterctl show stats` still gets
/// its answer within its own timeout (5 s, `client::DEFAULT_TIMEOUT`), every time: each new
/// connection takes the slot of the one idle longest.
#[test]
fn show_stats_answers_with_thirty_connections_held_open_some_half_written() {
    let daemon = Daemon::start_with("crowded", stats_handler);
    let mut held: Vec<UnixStream> = (0..30)
        .map(|i| {
            let mut s = UnixStream::connect(&daemon.path).expect("connect");
            if i % 3 == 0 {
                s.write_all(br#"{"cmd":"show_st"#).expect("half a request");
            }
            s
        })
        .collect();
    // Let the server take them all in (not a timing assertion: slower only means fewer held).
    thread::sleep(Duration::from_millis(200));
    for round in 0..3 {
        let out = mrouterctl(&daemon.path, &["--json", "show", "stats"]);
        assert!(out.status.success(), "round {round}: {}", stderr(&out));
        let got: StatsView = serde_json::from_slice(&out.stdout).expect("a stats object");
        assert_eq!(got, stats());
        // More clients pile up between the rounds, some stalling mid-request.
        for i in 0..10 {
            let mut s = UnixStream::connect(&daemon.path).expect("connect");
            if i % 2 == 0 {
                let _ = s.write_all(br#"{"cmd":"#);
            }
            held.push(s);
        }
        thread::sleep(Duration::from_millis(50));
    }
    let out = mrouterctl(&daemon.path, &["show", "stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("no_route"), "{}", stdout(&out));
    drop(held);
}

/// Runs `mrouterctl` as the unprivileged user `nobody` (via `setpriv`).
fn mrouterctl_as_nobody(socket: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_mrouterctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run setpriv")
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Issue #15: a permission error used to say "is mrouter running?".
#[test]
fn permission_denied_says_so_and_names_the_owner() {
    if !is_root() {
        eprintln!("skipped: needs root to run mrouterctl as another user");
        return;
    }
    // The real server: its directory is 0700 and the socket 0600, both root's.
    let daemon = Daemon::start("perm");
    let out = mrouterctl_as_nobody(&daemon.path, &["show", "mroute"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.contains("owner-only and belongs to root"), "{err}");
    assert!(err.contains("run mrouterctl as root"), "{err}");
    assert!(!err.contains("is mrouter running"), "{err}");

    // A socket in a directory anyone may enter, the socket file itself 0600.
    let dir = std::env::temp_dir().join(format!("mrouterctl-cli-{}-perm2", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.join("mrouter.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = mrouterctl_as_nobody(&path, &["show", "stats"]);
    drop(listener);
    let _ = std::fs::remove_dir_all(&dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.contains("owner-only and belongs to root"), "{err}");
}

#[test]
fn a_stale_socket_is_called_stale() {
    let dir = std::env::temp_dir().join(format!("mrouterctl-cli-{}-stale", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("mrouter.sock");
    // Bound and closed: the file stays, nobody listens (a daemon that was killed).
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let out = mrouterctl(&path, &["show", "mroute"]);
    let _ = std::fs::remove_dir_all(&dir);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(err.contains("a stale socket"), "{err}");
    assert!(err.contains("mrouter is not running"), "{err}");
}
