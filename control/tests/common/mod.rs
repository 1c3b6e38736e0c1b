//! The lab helpers the end-to-end tests share: a lab of namespaced Linux hosts, the real
//! `mrouter` on af_packet ports, receivers and senders (`mcast-probe`), `mrouterctl` queries.
#![allow(dead_code)] // each test binary uses a different part
pub mod frr_uml;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const MROUTER: &str = env!("CARGO_BIN_EXE_mrouter");
pub const PROBE: &str = env!("CARGO_BIN_EXE_mcast-probe");
pub const CTL: &str = env!("CARGO_BIN_EXE_mrouterctl");

pub fn netlab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/netlab.sh")
}

pub struct Lab {
    pub prefix: String,
    pub dir: PathBuf,
    /// Run IGMP on if1 and if2 (the receivers' side).
    pub igmp: bool,
    /// The router's address on if2 (default 10.0.3.1/24, below h2's 10.0.3.2): a test of
    /// querier election sets one above h2's.
    pub if2_address: String,
    /// af_packet queue pairs per port (`qpairs=`), and rx queues: 2 (the control core gets
    /// a tx queue of its own) or 1 (its frames go through the worker).
    pub qpairs: u16,
    /// More af_packet devargs for every port (`,framesz=...`), empty by default.
    pub port_args: String,
}

impl Lab {
    /// Waits (at most `secs`: the machine is shared) until the entry for (source, group) in
    /// `show mroute` satisfies `ok`; returns it.
    pub fn wait_entry(
        &self,
        source: &str,
        group: &str,
        secs: u64,
        what: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let list = self.ctl_json(&["show", "mroute"]);
            if let Some(e) = list
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["source"] == source && m["group"] == group)
            {
                if ok(e) {
                    return e.clone();
                }
            }
            assert!(Instant::now() < end, "timed out waiting for {what}: {list}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `ip -n NS ARGS` in the lab's namespace `ns` (h0, r, ...), which must succeed.
    pub fn ip_in(&self, ns: &str, args: &[&str]) {
        let out = Command::new("ip")
            .args(["-n", &self.ns(ns)])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Host `h` sends `count` datagrams to `group` from `bind` (TTL 8, one every
    /// `interval_ms`), with no warm-up: a new source's first packets meet a miss.
    pub fn send_from(&self, h: u32, bind: &str, group: &str, count: u32, interval_ms: u32) {
        let st = Command::new("ip")
            .args(["netns", "exec", &self.ns(&format!("h{h}")), PROBE, "send"])
            .args(["--group", group, "--bind", bind])
            .args(["--count", &count.to_string(), "--ttl", "8"])
            .args(["--interval-ms", &interval_ms.to_string()])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "sender on h{h} from {bind}");
    }

    pub fn up(name: &str) -> Lab {
        assert!(
            nix::unistd::geteuid().is_root(),
            "end-to-end tests create network namespaces and need root"
        );
        let prefix = format!("mrt{}{name}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("bash")
            .arg(netlab())
            .args(["up", &prefix, "3"])
            .status()
            .unwrap();
        assert!(st.success(), "netlab up failed");
        Lab {
            prefix,
            dir,
            igmp: false,
            if2_address: "10.0.3.1/24".into(),
            qpairs: 2,
            port_args: String::new(),
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("mrouter.sock")
    }

    /// `mrouterctl --socket S ARGS...` from the host namespace: its standard output.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new(CTL)
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mrouterctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `mrouterctl --socket S --json ARGS...` from the host namespace, parsed.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        serde_json::from_str(&self.ctl(&with_json)).unwrap()
    }

    /// Polls `mrouterctl --json ARGS` until `ok` holds; panics with the last answer after
    /// `secs` seconds.
    pub fn wait_ctl(
        &self,
        what: &str,
        secs: u64,
        args: &[&str],
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.ctl_json(args);
            if ok(&v) {
                return v;
            }
            assert!(Instant::now() < end, "timed out waiting for {what}: {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `mrouterctl --json show pim WHAT_SHOW` until `ok` holds; panics with the last
    /// answer after `secs` seconds.
    pub fn wait_pim(
        &self,
        what_show: &str,
        secs: u64,
        what: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        self.wait_ctl(what, secs, &["show", "pim", what_show], ok)
    }

    /// Has host `h` send one datagram (from `bind`, if given) to `group` and waits until
    /// mrouter holds an entry for it: for tests about steady forwarding rather than a new
    /// source's first packets. Run it before the receivers join.
    pub fn warm_up(&self, h: u32, bind: Option<&str>, group: &str) {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.ns(&format!("h{h}")),
            PROBE,
            "send",
            "--group",
            group,
        ])
        .args(["--count", "1", "--ttl", "8", "--start-seq", "999999"]);
        if let Some(b) = bind {
            cmd.args(["--bind", b]);
        }
        assert!(cmd.stdout(Stdio::null()).status().unwrap().success());
        // The entry of this source: a group may have entries for other sources already.
        let host = format!("10.0.{}.2", h + 1);
        let source = bind.unwrap_or(&host);
        let this = |m: &&serde_json::Value| m["group"] == group && m["source"] == source;
        let end = Instant::now() + Duration::from_secs(10);
        while !self
            .ctl_json(&["show", "mroute"])
            .as_array()
            .unwrap()
            .iter()
            .any(|m| this(&m))
        {
            assert!(
                Instant::now() < end,
                "no entry for ({source}, {group}) after the warm-up datagram"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The datagram waited in the worker's pending queue while its entry was made, and goes
        // out at the worker's next turn; on a loaded machine that turn can come after the
        // caller's receivers joined, which would then get it. Wait until the entry has counted
        // it (the counters reach `show mroute` once a second), for at most 2 s: an entry that
        // forwards nothing never counts it.
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end
            && !self
                .ctl_json(&["show", "mroute"])
                .as_array()
                .unwrap()
                .iter()
                .any(|m| this(&m) && m["packets"].as_u64().unwrap_or(0) >= 1)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One DPDK telemetry request to this lab's mrouter (its EAL file prefix is the lab's).
    pub fn telemetry(&self, cmd: &str) -> serde_json::Value {
        use nix::sys::socket::{
            connect, recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr,
        };
        use std::os::fd::AsRawFd;
        let path = format!("/var/run/dpdk/{}/dpdk_telemetry.v2", self.prefix);
        let fd = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::empty(),
            None,
        )
        .unwrap();
        connect(fd.as_raw_fd(), &UnixAddr::new(path.as_str()).unwrap()).unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap(); // greeting
        assert!(n > 0);
        send(fd.as_raw_fd(), cmd.as_bytes(), MsgFlags::empty()).unwrap();
        let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        v[cmd].clone()
    }

    pub fn ns(&self, who: &str) -> String {
        format!("{}-{who}", self.prefix)
    }

    pub fn write_config(&self, routes: &str) -> PathBuf {
        self.write_config_with(routes, "")
    }

    pub fn write_config_with(&self, routes: &str, extra: &str) -> PathBuf {
        let cfg = format!(
            r#"eal: ["--no-pci", "--file-prefix", "{prefix}", "--log-level", "*:warning"]
ports:
  - {{ name: p0, device: "net_af_packet0,iface=r0,qpairs={q}{a}", rx_queues: {q} }}
  - {{ name: p1, device: "net_af_packet1,iface=r1,qpairs={q}{a}", rx_queues: {q} }}
  - {{ name: p2, device: "net_af_packet2,iface=r2,qpairs={q}{a}", rx_queues: {q} }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24 }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24{igmp} }}
  - {{ name: if2, port: p2, address: {if2}{igmp} }}
routes:
{routes}
workers: [1]
{extra}
"#,
            prefix = self.prefix,
            if2 = self.if2_address,
            q = self.qpairs,
            a = self.port_args,
            igmp = if self.igmp {
                ", igmp: { query_interval: 10, query_response_interval: 1, last_member_query_interval: 0.5 }"
            } else {
                ""
            },
        );
        let path = self.dir.join("router.yaml");
        std::fs::write(&path, cfg).unwrap();
        path
    }

    pub fn start_router(&self, routes: &str) -> Router {
        self.start_router_with(routes, "")
    }

    pub fn start_router_with(&self, routes: &str, extra: &str) -> Router {
        let path = self.write_config_with(routes, extra);
        self.start_router_from(&path)
    }

    /// Starts mrouter on the config file at `path` and waits until it forwards.
    pub fn start_router_from(&self, path: &Path) -> Router {
        let out_path = self.dir.join("router.out");
        let out = std::fs::File::create(&out_path).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns("r"), MROUTER, "--", "--config"])
            .arg(path)
            .arg("--socket")
            .arg(self.socket())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut router = Router {
            child: Some(child),
            out_path,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !router.output().contains("forwarding on") {
            if let Some(st) = router.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "mrouter exited ({st}) before forwarding:\n{}",
                    router.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "mrouter did not start:\n{}",
                router.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        router
    }

    /// Starts a receiver on host `h` that joins `group`; returns once it has joined.
    pub fn receiver(&self, h: u32, group: &str, duration_ms: u64) -> Receiver {
        self.receiver_from(h, group, None, duration_ms)
    }

    /// A receiver that joins `group`, for `source`'s traffic only if one is given
    /// (IP_ADD_SOURCE_MEMBERSHIP); returns once it has joined.
    pub fn receiver_from(
        &self,
        h: u32,
        group: &str,
        source: Option<&str>,
        duration_ms: u64,
    ) -> Receiver {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.ns(&format!("h{h}")),
            PROBE,
            "recv",
            "--group",
            group,
        ])
        .args(["--duration-ms", &duration_ms.to_string()]);
        if let Some(s) = source {
            cmd.args(["--source", s]);
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("receiver output").unwrap();
        assert_eq!(first, "ready");
        let reader = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
        Receiver {
            child,
            reader: Some(reader),
        }
    }

    pub fn send(&self, h: u32, group: &str, count: u32, ttl: u8) {
        let st = self.sender(h, group, 0, count, ttl, 2).wait().unwrap();
        assert!(st.success(), "sender failed");
    }

    /// A sender in the background: `count` datagrams from sequence `start`, every `interval_ms`.
    pub fn sender(
        &self,
        h: u32,
        group: &str,
        start: u32,
        count: u32,
        ttl: u8,
        interval_ms: u32,
    ) -> Child {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns(&format!("h{h}")),
                PROBE,
                "send",
                "--group",
                group,
            ])
            .args(["--count", &count.to_string(), "--ttl", &ttl.to_string()])
            .args([
                "--start-seq",
                &start.to_string(),
                "--interval-ms",
                &interval_ms.to_string(),
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }
}

impl Lab {
    /// Runs a command in host `h`'s namespace and asserts that it succeeded.
    pub fn host_cmd(&self, h: u32, args: &[&str]) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns(&format!("h{h}"))])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "h{h}: {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `tcpdump -i hH ARGS` in host `h`'s namespace with the given stdout; returns once it is
    /// listening, its stderr drained from then on so it never blocks.
    pub fn tcpdump(&self, h: u32, args: &[&str], stdout: Stdio) -> Child {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.ns(&format!("h{h}"))])
            .args(["tcpdump", "-i", &format!("h{h}")])
            .args(args)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            let line = err
                .next()
                .expect("tcpdump exited before listening")
                .unwrap();
            if line.contains("listening on") {
                break;
            }
        }
        std::thread::spawn(move || err.map_while(Result::ok).for_each(drop));
        child
    }

    /// tcpdump on host `h`'s link (`-n -l`, one line per packet) with a pcap `filter`;
    /// returns once tcpdump is listening.
    pub fn capture(&self, h: u32, filter: &str) -> Capture {
        let mut child = self.tcpdump(h, &["-n", "-l", filter], Stdio::piped());
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = BufReader::new(child.stdout.take().unwrap()).lines();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            // (tcpdump ends its output with an empty line when interrupted.)
            for l in out.map_while(Result::ok).filter(|l| !l.is_empty()) {
                sink.lock().unwrap().push(l);
            }
        });
        Capture {
            child: Some(child),
            lines,
            reader: Some(reader),
        }
    }
}

/// A running tcpdump (see [`Lab::capture`]).
pub struct Capture {
    child: Option<Child>,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    /// The packets captured so far, one line each.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until `ok` holds for the lines captured so far; panics after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&[String]) -> bool) {
        let end = Instant::now() + timeout;
        loop {
            let lines = self.lines();
            if ok(&lines) {
                return;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting for {what}; captured:\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGINT to tcpdump (it flushes what it has), then every line captured.
    pub fn stop(mut self) -> Vec<String> {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.lines()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(netlab())
            .args(["down", &self.prefix])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
        // mrouter removes its DPDK runtime directory when it exits cleanly; this is for a
        // router the test killed (a failed test's Router drop), which also leaves its
        // hugepage files behind.
        remove_dpdk_files(&self.prefix);
    }
}

/// Removes what a DPDK process with file prefix `prefix` leaves behind when it is killed or
/// crashes: its runtime directory and its hugepage files (`/dev/hugepages/PREFIXmap_N`, which
/// hold their pages until removed, so free hugepages shrank over a suite run). Only this
/// prefix's files (the name must be the prefix, `map_` and a number), and only once the
/// process is gone (the callers drop their Router first).
pub fn remove_dpdk_files(prefix: &str) {
    let _ = std::fs::remove_dir_all(Path::new("/var/run/dpdk").join(prefix));
    let Ok(dir) = std::fs::read_dir("/dev/hugepages") else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let ours = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix)?.strip_prefix("map_"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if ours {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub struct Router {
    pub child: Option<Child>,
    pub out_path: PathBuf,
}

impl Router {
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    /// SIGHUP, then wait until the output has one more line containing `marker`.
    pub fn reload(&self, marker: &str) {
        let before = self.output().matches(marker).count();
        let pid = nix::unistd::Pid::from_raw(self.child.as_ref().unwrap().id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while self.output().matches(marker).count() == before {
            assert!(
                Instant::now() < end,
                "no {marker:?} after SIGHUP:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGINT, wait, and return everything it printed (the final statistics included).
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        let st = child.wait().unwrap();
        let out = self.output();
        assert!(st.success(), "mrouter exited with {st}:\n{out}");
        out
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub struct Receiver {
    pub child: Child,
    pub reader: Option<std::thread::JoinHandle<Vec<String>>>,
}

/// One received datagram.
#[derive(Debug, PartialEq)]
pub struct Datagram {
    pub seq: u32,
    pub ttl: u8,
    pub from: String,
}

impl Receiver {
    pub fn finish(self) -> Vec<Datagram> {
        self.finish_sized().into_iter().map(|(d, _)| d).collect()
    }

    /// Like [`Receiver::finish`], with each datagram's length in bytes, or `None` when its
    /// `--size` padding did not arrive intact.
    pub fn finish_sized(mut self) -> Vec<(Datagram, Option<usize>)> {
        self.child.wait().unwrap();
        let lines = self.reader.take().unwrap().join().unwrap();
        lines
            .iter()
            .filter(|l| l.starts_with("seq="))
            .map(|l| {
                let field = |k: &str| {
                    l.split(' ')
                        .find_map(|kv| kv.strip_prefix(k))
                        .unwrap_or_else(|| panic!("no {k} in {l}"))
                        .to_string()
                };
                let d = Datagram {
                    seq: field("seq=").parse().unwrap(),
                    ttl: field("ttl=").parse().unwrap(),
                    from: field("from="),
                };
                let len = (field("intact=") == "1").then(|| field("len=").parse().unwrap());
                (d, len)
            })
            .collect()
    }
}

pub fn all(count: u32, ttl: u8) -> Vec<Datagram> {
    seqs(0..count, ttl)
}

pub fn seqs(range: std::ops::Range<u32>, ttl: u8) -> Vec<Datagram> {
    range
        .map(|seq| Datagram {
            seq,
            ttl,
            from: "10.0.1.2".into(),
        })
        .collect()
}

/// The entry for (source, group) in `show mroute --json` output.
pub fn mroute(list: &serde_json::Value, source: &str, group: &str) -> serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["source"] == source && m["group"] == group)
        .unwrap_or_else(|| panic!("no ({source}, {group}) in {list}"))
        .clone()
}

/// The outgoing interface names of an entry.
pub fn oif_names(entry: &serde_json::Value) -> Vec<String> {
    entry["oifs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["interface"].as_str().unwrap().to_string())
        .collect()
}

/// A named counter from mrouter's final statistics.
pub fn counter(out: &str, name: &str) -> u64 {
    out.lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(name)).then(|| it.next().unwrap().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no counter {name} in:\n{out}"))
}
