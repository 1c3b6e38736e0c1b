//! End to end: real Linux hosts in network namespaces (the kernel's own sockets and IGMP), the
//! real `mrouter` binary on af_packet ports, real packets on veth links.
//!
//! Needs root (network namespaces). Each test makes its own lab with a unique name and removes
//! it when it ends, pass or fail.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MROUTER: &str = env!("CARGO_BIN_EXE_mrouter");
const PROBE: &str = env!("CARGO_BIN_EXE_mcast-probe");
const CTL: &str = env!("CARGO_BIN_EXE_mrouterctl");

fn netlab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/netlab.sh")
}

struct Lab {
    prefix: String,
    dir: PathBuf,
    /// Run IGMP on if1 and if2 (the receivers' side).
    igmp: bool,
}

impl Lab {
    fn up(name: &str) -> Lab {
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
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("mrouter.sock")
    }

    /// `mrouterctl --socket S --json ARGS...` from the host namespace, parsed.
    fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let out = Command::new(CTL)
            .arg("--socket")
            .arg(self.socket())
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mrouterctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Has host `h` send one datagram (from `bind`, if given) to `group` and waits until
    /// mrouter holds an entry for it: for tests about steady forwarding rather than a new
    /// source's first packets. Run it before the receivers join.
    fn warm_up(&self, h: u32, bind: Option<&str>, group: &str) {
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
        let end = Instant::now() + Duration::from_secs(10);
        while !self
            .ctl_json(&["show", "mroute"])
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["group"] == group)
        {
            assert!(
                Instant::now() < end,
                "no entry for {group} after the warm-up datagram"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One DPDK telemetry request to this lab's mrouter (its EAL file prefix is the lab's).
    fn telemetry(&self, cmd: &str) -> serde_json::Value {
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

    fn ns(&self, who: &str) -> String {
        format!("{}-{who}", self.prefix)
    }

    fn write_config(&self, routes: &str) -> PathBuf {
        self.write_config_with(routes, "")
    }

    fn write_config_with(&self, routes: &str, extra: &str) -> PathBuf {
        let cfg = format!(
            r#"eal: ["--no-pci", "--file-prefix", "{prefix}", "--log-level", "*:warning"]
ports:
  - {{ name: p0, device: "net_af_packet0,iface=r0,qpairs=2", rx_queues: 2 }}
  - {{ name: p1, device: "net_af_packet1,iface=r1,qpairs=2", rx_queues: 2 }}
  - {{ name: p2, device: "net_af_packet2,iface=r2,qpairs=2", rx_queues: 2 }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24 }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24{igmp} }}
  - {{ name: if2, port: p2, address: 10.0.3.1/24{igmp} }}
routes:
{routes}
workers: [1]
{extra}
"#,
            prefix = self.prefix,
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

    fn start_router(&self, routes: &str) -> Router {
        self.start_router_with(routes, "")
    }

    fn start_router_with(&self, routes: &str, extra: &str) -> Router {
        let path = self.write_config_with(routes, extra);
        let out_path = self.dir.join("router.out");
        let out = std::fs::File::create(&out_path).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns("r"), MROUTER, "--", "--config"])
            .arg(&path)
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
    fn receiver(&self, h: u32, group: &str, duration_ms: u64) -> Receiver {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns(&format!("h{h}")),
                PROBE,
                "recv",
                "--group",
                group,
            ])
            .args(["--duration-ms", &duration_ms.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("receiver output").unwrap();
        assert_eq!(first, "ready");
        let reader = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
        Receiver {
            child,
            reader: Some(reader),
        }
    }

    fn send(&self, h: u32, group: &str, count: u32, ttl: u8) {
        let st = self.sender(h, group, 0, count, ttl, 2).wait().unwrap();
        assert!(st.success(), "sender failed");
    }

    /// A sender in the background: `count` datagrams from sequence `start`, every `interval_ms`.
    fn sender(
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

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(netlab())
            .args(["down", &self.prefix])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Router {
    child: Option<Child>,
    out_path: PathBuf,
}

impl Router {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    /// SIGHUP, then wait until the output has one more line containing `marker`.
    fn reload(&self, marker: &str) {
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
    fn stop(mut self) -> String {
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

struct Receiver {
    child: Child,
    reader: Option<std::thread::JoinHandle<Vec<String>>>,
}

/// One received datagram.
#[derive(Debug, PartialEq)]
struct Datagram {
    seq: u32,
    ttl: u8,
    from: String,
}

impl Receiver {
    fn finish(mut self) -> Vec<Datagram> {
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
                Datagram {
                    seq: field("seq=").parse().unwrap(),
                    ttl: field("ttl=").parse().unwrap(),
                    from: field("from="),
                }
            })
            .collect()
    }
}

fn all(count: u32, ttl: u8) -> Vec<Datagram> {
    seqs(0..count, ttl)
}

fn seqs(range: std::ops::Range<u32>, ttl: u8) -> Vec<Datagram> {
    range
        .map(|seq| Datagram {
            seq,
            ttl,
            from: "10.0.1.2".into(),
        })
        .collect()
}

/// The entry for (source, group) in `show mroute --json` output.
fn mroute(list: &serde_json::Value, source: &str, group: &str) -> serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["source"] == source && m["group"] == group)
        .unwrap_or_else(|| panic!("no ({source}, {group}) in {list}"))
        .clone()
}

/// The outgoing interface names of an entry.
fn oif_names(entry: &serde_json::Value) -> Vec<String> {
    entry["oifs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["interface"].as_str().unwrap().to_string())
        .collect()
}

/// A named counter from mrouter's final statistics.
fn counter(out: &str, name: &str) -> u64 {
    out.lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(name)).then(|| it.next().unwrap().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no counter {name} in:\n{out}"))
}

const ROUTES: &str = r#"
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 }, { interface: if2 } ] }
  - { group: 239.2.2.2, source: 10.0.1.2, iif: if0, oifs: [ { interface: if1 } ] }
  - { group: 239.3.3.3, iif: if0, oifs: [ { interface: if1 }, { interface: if2, ttl_threshold: 10 } ] }
"#;

#[test]
fn star_g_route_delivers_every_datagram_to_every_receiver_with_ttl_decremented() {
    let lab = Lab::up("sg");
    let router = lab.start_router(ROUTES);
    let r1 = lab.receiver(1, "239.1.1.1", 3000);
    let r2 = lab.receiver(2, "239.1.1.1", 3000);
    lab.send(0, "239.1.1.1", 50, 8);
    let (got1, got2) = (r1.finish(), r2.finish());
    // The first packets of the new source waited in the pending queue until the control core
    // created the entry; on a loaded machine a few beyond the queue's 8 may be dropped, and
    // are counted. Everything else arrives once, in order, with TTL - 1, at both receivers.
    let overflow = lab.ctl_json(&["show", "stats"])["drops"]["pending_overflow"]
        .as_u64()
        .unwrap();
    assert!(overflow <= 42, "{overflow}");
    for got in [&got1, &got2] {
        assert_eq!(got.len() as u64, 50 - overflow, "{got:?}");
        assert!(
            got.windows(2).all(|w| w[0].seq < w[1].seq),
            "in order: {got:?}"
        );
        assert!(
            got.iter().all(|d| d.ttl == 7 && d.from == "10.0.1.2"),
            "{got:?}"
        );
        assert_eq!(&got[..8], &all(8, 7)[..], "the held packets lead");
    }
    assert_eq!(got1, got2, "both receivers got the same datagrams");
    // Only (*,G) is configured: the (S,G) entry was created on demand from the first packet.
    let mroutes = lab.ctl_json(&["show", "mroute"]);
    let entry = mroute(&mroutes, "10.0.1.2", "239.1.1.1");
    assert_eq!(entry["iif"], "if0");
    let oifs = oif_names(&entry);
    assert_eq!(oifs, ["if1", "if2"]);
    assert_eq!(entry["negative"], false);
    assert_eq!(entry["origin"], "mgm");
    let stats = lab.ctl_json(&["show", "stats"]);
    assert_eq!(
        stats["control"]["mfes_installed"], 2,
        "this one and the static (S,G): {stats}"
    );
    // The receivers' kernels reported their joins with IGMP: handed to the control core, not
    // forwarded and not dropped.
    assert!(
        stats["control"]["punted_igmp"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert_eq!(stats["drops"]["control_ring_full"], 0, "{stats}");
    let rpf = lab.ctl_json(&["show", "rpf", "10.0.1.2"]);
    assert_eq!(rpf["interface"], "if0");
    // The same state through DPDK telemetry (published once a second).
    std::thread::sleep(Duration::from_millis(1200));
    let tel = lab.telemetry("/mrouter/mroute");
    assert_eq!(
        tel,
        serde_json::json!([
            "(10.0.1.2, 239.1.1.1) iif if0 oifs if1,if2 mgm",
            "(10.0.1.2, 239.2.2.2) iif if0 oifs if1 static"
        ])
    );
    let stats = lab.telemetry("/mrouter/stats");
    assert_eq!(stats["p1_tx_packets"], got1.len() as u64, "{stats}");
    assert_eq!(stats["control_mfes_installed"], 2, "{stats}");
    // Per-entry counters from the workers, summed by the control core.
    let mroutes = lab.ctl_json(&["show", "mroute"]);
    assert_eq!(mroutes[0]["group"], "239.1.1.1");
    assert_eq!(mroutes[0]["packets"], got1.len() as u64, "{mroutes}");
    let out = router.stop();
    assert_eq!(counter(&out, "tx_full"), 0);
    assert_eq!(counter(&out, "no_mbuf"), 0);
}

#[test]
fn sg_route_reaches_only_its_outgoing_interface() {
    let lab = Lab::up("only");
    let router = lab.start_router(ROUTES);
    let r1 = lab.receiver(1, "239.2.2.2", 3000);
    let r2 = lab.receiver(2, "239.2.2.2", 3000);
    lab.send(0, "239.2.2.2", 40, 16);
    assert_eq!(r1.finish(), all(40, 15), "h1 is on the route");
    assert_eq!(r2.finish(), vec![], "h2 is not on the route");
    router.stop();
}

#[test]
fn ttl_1_is_not_forwarded_and_is_counted() {
    let lab = Lab::up("ttl");
    let router = lab.start_router(ROUTES);
    let r1 = lab.receiver(1, "239.1.1.1", 2000);
    let r2 = lab.receiver(2, "239.1.1.1", 2000);
    lab.send(0, "239.1.1.1", 25, 1);
    assert_eq!(r1.finish(), vec![]);
    assert_eq!(r2.finish(), vec![]);
    let out = router.stop();
    assert_eq!(counter(&out, "ttl_expired"), 25);
}

#[test]
fn ttl_threshold_keeps_low_ttl_packets_off_an_interface() {
    let lab = Lab::up("thr");
    let router = lab.start_router(ROUTES);
    lab.warm_up(0, None, "239.3.3.3");
    let r1 = lab.receiver(1, "239.3.3.3", 3000);
    let r2 = lab.receiver(2, "239.3.3.3", 3000);
    lab.send(0, "239.3.3.3", 20, 8); // 8 > 1 for if1; 8 <= 10 for if2
    lab.send(0, "239.3.3.3", 20, 11); // passes both
    let mut want1 = all(20, 7);
    want1.extend(all(20, 10));
    assert_eq!(r1.finish(), want1);
    assert_eq!(r2.finish(), all(20, 10));
    router.stop();
}

#[test]
fn traffic_from_the_wrong_interface_or_for_an_unrouted_group_is_dropped_and_counted() {
    let lab = Lab::up("wif");
    let router = lab.start_router(ROUTES);
    let r0 = lab.receiver(0, "239.1.1.1", 2500);
    let r2 = lab.receiver(2, "239.1.1.1", 2500);
    let r2b = lab.receiver(2, "239.9.9.9", 2500);
    lab.send(1, "239.1.1.1", 15, 8); // h1 is on if1; the route's iif is if0
    lab.send(0, "239.9.9.9", 12, 8); // no route for this group: a negative entry
    assert_eq!(r0.finish(), vec![]);
    assert_eq!(r2.finish(), vec![]);
    assert_eq!(r2b.finish(), vec![]);
    let mroutes = lab.ctl_json(&["show", "mroute"]);
    let find = |s: &str, g: &str| mroute(&mroutes, s, g);
    let wrong = find("10.0.2.2", "239.1.1.1");
    assert_eq!(
        wrong["iif"], "if0",
        "the static route's incoming interface, not h1's"
    );
    assert!(wrong["wrong_if"].as_u64().unwrap() >= 1, "{wrong}");
    let negative = find("10.0.1.2", "239.9.9.9");
    assert_eq!(negative["negative"], true);
    assert_eq!(negative["oifs"], serde_json::json!([]));
    let out = router.stop();
    // Every packet is accounted for: the first ones of each flow waited in the pending queue
    // (a few may overflow it when the machine is loaded), then hit the entry the control core
    // installed: wrong interface for h1's flow, negative for the unrouted group.
    let (wif, neg) = (
        counter(&out, "wrong_interface"),
        counter(&out, "no_outgoing"),
    );
    let overflow = counter(&out, "pending_overflow");
    assert_eq!(wif + neg + overflow, 15 + 12, "{out}");
    assert!(wif >= 15 - 8 && neg >= 12 - 8, "{out}");
    assert_eq!(
        counter(&out, "no_route"),
        0,
        "every miss was resolved by the control core"
    );
}

#[test]
fn reload_adds_an_outgoing_interface_without_loss_on_unchanged_flows_and_refuses_a_broken_file() {
    let lab = Lab::up("rld");
    let before = r#"
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 } ] }
  - { group: 239.2.2.2, source: 10.0.1.2, iif: if0, oifs: [ { interface: if1 } ] }
"#;
    let after = r#"
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 }, { interface: if2 } ] }
  - { group: 239.2.2.2, source: 10.0.1.2, iif: if0, oifs: [ { interface: if1 } ] }
"#;
    let router = lab.start_router(before);
    let steady = lab.receiver(1, "239.2.2.2", 6000);
    let r2 = lab.receiver(2, "239.1.1.1", 6000);
    // The unchanged flow runs through both reloads: 400 datagrams, one every 5 ms.
    let mut flow = lab.sender(0, "239.2.2.2", 0, 400, 8, 5);
    lab.send(0, "239.1.1.1", 30, 8); // if2 is not on the route yet
    std::thread::sleep(Duration::from_millis(200));
    lab.write_config(after);
    router.reload("mrouter: reloaded");
    let mut more = lab.sender(0, "239.1.1.1", 1000, 40, 8, 2);
    assert!(more.wait().unwrap().success());
    std::fs::write(
        lab.dir.join("router.yaml"),
        "ports: [ this is not a config\n",
    )
    .unwrap();
    router.reload("reload refused");
    let mut last = lab.sender(0, "239.1.1.1", 2000, 20, 8, 2);
    assert!(last.wait().unwrap().success());
    assert!(flow.wait().unwrap().success());
    assert_eq!(
        steady.finish(),
        all(400, 7),
        "the unchanged flow lost or duplicated nothing"
    );
    let mut want2 = seqs(1000..1040, 7);
    want2.extend(seqs(2000..2020, 7));
    assert_eq!(
        r2.finish(),
        want2,
        "if2 receives from the reload on, and after the refused one"
    );
    let out = router.stop();
    assert!(out.contains("reload refused: "), "{out}");
}

#[test]
fn a_remote_source_is_forwarded_only_with_an_rpf_route_toward_it() {
    let lab = Lab::up("rpf");
    // h0 also owns 10.9.0.5, off every subnet the router is on.
    let st = Command::new("ip")
        .args([
            "-n",
            &lab.ns("h0"),
            "addr",
            "add",
            "10.9.0.5/32",
            "dev",
            "h0",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let send_remote = |count: u32| {
        let st = Command::new("ip")
            .args([
                "netns",
                "exec",
                &lab.ns("h0"),
                PROBE,
                "send",
                "--group",
                "239.1.1.1",
            ])
            .args([
                "--bind",
                "10.9.0.5",
                "--count",
                &count.to_string(),
                "--ttl",
                "8",
                "--interval-ms",
                "2",
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
    };
    let remote = |n: u32| -> Vec<Datagram> {
        (0..n)
            .map(|seq| Datagram {
                seq,
                ttl: 7,
                from: "10.9.0.5".into(),
            })
            .collect()
    };

    // Without a route toward 10.9.0.0/16 the MGM makes a negative entry with no IIF.
    let router = lab.start_router(ROUTES);
    let r1 = lab.receiver(1, "239.1.1.1", 2000);
    send_remote(20);
    assert_eq!(r1.finish(), vec![]);
    let mroutes = lab.ctl_json(&["show", "mroute"]);
    let entry = &mroutes.as_array().unwrap()[0];
    assert_eq!(
        (entry["source"].as_str(), entry["negative"].as_bool()),
        (Some("10.9.0.5"), Some(true)),
        "{mroutes}"
    );
    let rpf = lab.ctl_json(&["show", "rpf", "10.9.0.5"]);
    assert_eq!(rpf["interface"], serde_json::Value::Null);
    router.stop();

    // With one, the (*,G) route forwards it.
    let router = lab.start_router_with(
        ROUTES,
        "rpf_routes:\n  - { prefix: 10.9.0.0/16, interface: if0, next_hop: 10.0.1.2 }",
    );
    lab.warm_up(0, Some("10.9.0.5"), "239.1.1.1");
    let r1 = lab.receiver(1, "239.1.1.1", 2000);
    send_remote(20);
    assert_eq!(r1.finish(), remote(20));
    let rpf = lab.ctl_json(&["show", "rpf", "10.9.0.5"]);
    assert_eq!(rpf["interface"], "if0");
    assert_eq!(rpf["origin"], "static");
    assert_eq!(rpf["next_hop"], "10.0.1.2");
    let mroutes = lab.ctl_json(&["show", "mroute"]);
    assert_eq!(mroutes[0]["upstream"], "10.0.1.2", "{mroutes}");
    // A reload that drops the RPF route takes effect for RPF lookups at once.
    lab.write_config(ROUTES);
    router.reload("mrouter: reloaded");
    let rpf = lab.ctl_json(&["show", "rpf", "10.9.0.5"]);
    assert_eq!(rpf["interface"], serde_json::Value::Null, "{rpf}");
    assert!(
        router.output().contains("1 RPF routes changed"),
        "{}",
        router.output()
    );
    router.stop();
}

#[test]
fn a_miss_storm_does_not_disturb_an_established_flow_or_the_control_socket() {
    let lab = Lab::up("storm");
    let router = lab.start_router(ROUTES);
    let steady = lab.receiver(1, "239.2.2.2", 7000);
    // The established flow: a static (S,G) route, 1000 sequence-numbered datagrams over 3 s.
    let mut flow = lab.sender(0, "239.2.2.2", 0, 1000, 8, 3);
    std::thread::sleep(Duration::from_millis(300));
    // 20,000 new sources at 10,000 per second on a group nobody routes.
    let sources = 20_000u32;
    let mut storm = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns("h0"),
            PROBE,
            "storm",
            "--group",
            "239.77.0.1",
        ])
        .args([
            "--first-source",
            "10.200.0.1",
            "--sources",
            &sources.to_string(),
        ])
        .args(["--rate", "10000", "--dev", "h0"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The control socket keeps answering during the storm.
    let mut answers = 0;
    while storm.try_wait().unwrap().is_none() {
        let t = Instant::now();
        let stats = lab.ctl_json(&["show", "stats"]);
        assert!(stats["control"]["misses_received"].is_u64());
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "show stats took {:?}",
            t.elapsed()
        );
        answers += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(storm.wait().unwrap().success());
    assert!(answers >= 3, "only {answers} answers during the storm");
    assert!(flow.wait().unwrap().success());
    assert_eq!(
        steady.finish(),
        all(1000, 7),
        "the established flow lost nothing"
    );
    std::thread::sleep(Duration::from_millis(300)); // let held storm packets resolve or expire
    let stats = lab.ctl_json(&["show", "stats"]);
    let out = router.stop();
    // Every storm packet is accounted for: dropped on its negative entry, or when the pending
    // queue was full, or after waiting for an entry.
    let storm_drops = counter(&out, "no_outgoing")
        + counter(&out, "pending_overflow")
        + counter(&out, "no_route");
    assert_eq!(storm_drops, u64::from(sources), "{out}");
    assert!(
        stats["control"]["mfes_installed"].as_u64().unwrap() > 1000,
        "{stats}"
    );
}

#[test]
fn igmp_joins_from_kernel_hosts_drive_forwarding_and_leaves_stop_it() {
    let mut lab = Lab::up("igmp");
    lab.igmp = true;
    // No route mentions 239.8.8.8: only IGMP membership can make the router forward it.
    let router = lab.start_router(ROUTES);
    let wait_for = |what: &str, ok: &dyn Fn(&serde_json::Value) -> bool, args: &[&str]| {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let v = lab.ctl_json(args);
            if ok(&v) {
                return v;
            }
            assert!(Instant::now() < end, "timed out waiting for {what}: {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // h2's kernel reports the join (IGMPv3) when the socket joins.
    let r2 = lab.receiver(2, "239.8.8.8", 2500);
    let stats = wait_for(
        "the join",
        &|v| v["control"]["igmp_joins"].as_u64() >= Some(1),
        &["show", "stats"],
    );
    assert!(
        stats["control"]["igmp_sent"].as_u64().unwrap() >= 1,
        "startup queries went out: {stats}"
    );
    // The router's view of it: mrouterctl show igmp groups / interfaces.
    let groups = lab.ctl_json(&["show", "igmp", "groups"]);
    let g = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "239.8.8.8")
        .unwrap_or_else(|| panic!("{groups}"))
        .clone();
    assert_eq!(
        (g["interface"].as_str(), g["filter_mode"].as_str()),
        (Some("if2"), Some("exclude")),
        "{g}"
    );
    assert_eq!(g["last_reporter"], "10.0.3.2");
    let ifaces = lab.ctl_json(&["show", "igmp", "interfaces"]);
    let names: Vec<&str> = ifaces
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["if1", "if2"]);
    assert!(
        ifaces
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["is_querier"] == true),
        "{ifaces}"
    );
    lab.send(0, "239.8.8.8", 30, 8);
    let got = r2.finish();
    let overflow = lab.ctl_json(&["show", "stats"])["drops"]["pending_overflow"]
        .as_u64()
        .unwrap();
    assert_eq!(got.len() as u64, 30 - overflow, "{got:?}");
    assert!(got.iter().all(|d| d.ttl == 7 && d.from == "10.0.1.2"));
    let mroutes = lab.ctl_json(&["show", "mroute"]);
    let entry = mroute(&mroutes, "10.0.1.2", "239.8.8.8");
    let oifs = oif_names(&entry);
    assert_eq!(oifs, ["if2"], "only the interface with a member: {entry}");
    assert_eq!(entry["iif"], "if0");
    // The receiver is gone: its kernel sent a leave; after the last-member queries the
    // router takes if2 off the entry.
    wait_for(
        "the leave",
        &|v| {
            v.as_array()
                .unwrap()
                .iter()
                .any(|m| m["group"] == "239.8.8.8" && m["oifs"] == serde_json::json!([]))
        },
        &["show", "mroute"],
    );
    let stats = lab.ctl_json(&["show", "stats"]);
    assert!(
        stats["control"]["igmp_leaves"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert_eq!(stats["control"]["igmp_membership_errors"], 0, "{stats}");
    router.stop();
}
