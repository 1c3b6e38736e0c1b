//! End to end, issue 17 test 5: Assert (RFC 7761 4.6) between mrouter and FRR 8.4's pimd
//! (inside User-mode Linux, `common/frr_uml.rs`) on a receivers' LAN where both forward.
//!
//! ```text
//!   source h2 10.0.3.2 ── br0 (in h2) ──┬── mrouter if2 10.0.3.1
//!                                        └── FRR vec1 10.0.3.3
//!   receiver h1 10.0.2.2 ── br1 (in h1) ──┬── mrouter if1 10.0.2.1
//!                                        └── FRR vec0 10.0.2.3 (DR: highest address)
//! ```
//!
//! The source is directly connected to both routers (the same upstream). Both forward
//! (10.0.3.2, 232.1.1.1) onto the receivers' LAN: FRR because h1's IGMPv3 member is on its
//! LAN and it is the DR there, mrouter because a downstream PIM router (played by h1's kernel:
//! a raw socket sends its Hellos and one Join(S,G) naming mrouter) joined it. Each then sees
//! the other's copies on an outgoing interface: FRR's kernel signals WRONGVIF to pimd, mrouter's
//! data plane signals a wrong-interface packet to PIM through the MGM. Both are on the SPT of
//! their connected source (mrouter's SPT bit from the data arrivals its PIM gets) and assert
//! (S,G); both must name the same winner (the better metric, then the higher address), the
//! loser stops forwarding on the LAN (mrouter's entry drops if1 if it lost), and a second
//! burst reaches h1 exactly once per datagram.
//!
//! Needs root, FRR and user-mode-linux (scripts/setup.sh installs them).

mod common;
use common::frr_uml::FrrUml;
use common::*;
use dataplane::wire::pim::{EncodedGroup, EncodedSource, GroupSet, Hello, JoinPrune, Repr};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MROUTER_ADDR: &str = "10.0.2.1";
const FRR_ADDR: &str = "10.0.2.3";
const SOURCE: &str = "10.0.3.2";
const GROUP: &str = "232.1.1.1";

const PIMD_CONF: &str = "hostname frr\nlog file /run/frr/pimd.log\ndebug pim events\ndebug pim packets assert\ndebug mroute\n\
interface vec0\n ip pim\n ip pim hello 2 7\n ip igmp\n\
interface vec1\n ip pim\n ip pim hello 2 7\n";

/// The source's LAN shared by mrouter (r2, through h2) and FRR: in h2 a bridge holds the
/// link to mrouter and a veth whose other end, `s0` in h1's namespace, is FRR's vec1; the
/// source's address and routes move to the bridge (no multicast snooping: every port gets
/// the group's traffic).
fn source_lan(lab: &Lab) {
    let (h1, h2) = (lab.ns("h1"), lab.ns("h2"));
    let script = format!(
        "ip -n {h2} link add br0 type bridge mcast_snooping 0; \
         ip -n {h2} addr del 10.0.3.2/24 dev h2; \
         ip -n {h2} route del 224.0.0.0/4 dev h2 2>/dev/null || true; \
         ip -n {h2} link set h2 master br0; \
         ip link add f2 netns {h2} type veth peer name s0 netns {h1}; \
         ip -n {h2} link set f2 master br0; ip -n {h2} link set f2 up; \
         ip -n {h2} link set br0 up; ip -n {h2} addr add 10.0.3.2/24 dev br0; \
         ip -n {h2} route add default via 10.0.3.1; ip -n {h2} route add 224.0.0.0/4 dev br0; \
         ip netns exec {h2} ethtool -K br0 tx off >/dev/null; \
         ip netns exec {h2} ethtool -K f2 tx off >/dev/null; \
         ip -n {h1} link set s0 up"
    );
    let st = Command::new("sh").args(["-ec", &script]).status().unwrap();
    assert!(st.success(), "{script}");
}

/// The receivers' LAN, made a bridge in h1 as well: UML's raw socket on an interface sees
/// the frames the namespace's own kernel sends there as outgoing ones, which its filter drops
/// (they would otherwise include UML's own), so FRR gets a veth of its own, `v0`, whose other
/// end is a bridge port beside the link to mrouter; h1's address moves to the bridge.
fn receiver_lan(lab: &Lab) {
    let h1 = lab.ns("h1");
    let script = format!(
        "ip -n {h1} link add br1 type bridge mcast_snooping 0; \
         ip -n {h1} addr del 10.0.2.2/24 dev h1; \
         ip -n {h1} route del 224.0.0.0/4 dev h1 2>/dev/null || true; \
         ip -n {h1} link set h1 master br1; \
         ip -n {h1} link add v0 type veth peer name b0; \
         ip -n {h1} link set b0 master br1; ip -n {h1} link set b0 up; ip -n {h1} link set v0 up; \
         ip -n {h1} link set br1 up; ip -n {h1} addr add 10.0.2.2/24 dev br1; \
         ip -n {h1} route add default via 10.0.2.1; ip -n {h1} route add 224.0.0.0/4 dev br1; \
         ip netns exec {h1} ethtool -K br1 tx off >/dev/null; \
         ip netns exec {h1} ethtool -K b0 tx off >/dev/null"
    );
    let st = Command::new("sh").args(["-ec", &script]).status().unwrap();
    assert!(st.success(), "{script}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The downstream PIM router on the receivers' LAN, played by h1's kernel (10.0.2.2) through
/// a raw PIM socket: Hellos every 2 s (holdtime 7 s, DR priority 1), and after the first one
/// a single Join(S,G) naming mrouter as its upstream neighbour (holdtime 210 s). A single one:
/// a Join for an assert loser puts it back to NoInfo (4.6.1), and this router, unlike a real
/// one, would not follow the winner. Killed when the returned child is.
fn downstream_router(lab: &Lab) -> std::process::Child {
    let hello = Repr::Hello(Hello {
        holdtime: Some(7),
        dr_priority: Some(1),
        generation_id: Some(0x0102_0304),
        ..Hello::default()
    })
    .to_bytes();
    let join = Repr::JoinPrune(JoinPrune {
        upstream_neighbor: MROUTER_ADDR.parse().unwrap(),
        holdtime: 210,
        groups: vec![GroupSet {
            group: EncodedGroup::host(GROUP.parse().unwrap()),
            joins: vec![EncodedSource::sg(SOURCE.parse().unwrap())],
            prunes: vec![],
        }],
    })
    .to_bytes();
    let script = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 103)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('10.0.2.2'))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
hello, join = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
to = ('224.0.0.13', 0)
for i in range(10000):
    s.sendto(hello, to)
    if i in (1, 2):
        s.sendto(join, to)
    time.sleep(1 if i < 3 else 2)
"#;
    Command::new("ip")
        .args(["netns", "exec", &lab.ns("h1"), "python3", "-c", script])
        .args([hex(&hello), hex(&join)])
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// FRR's `show ip pim assert` line for (SOURCE, GROUP) on vec0 (8.4 has no JSON for it).
fn frr_assert_line(frr: &FrrUml) -> Option<String> {
    frr.vtysh(&["show ip pim assert"])
        .lines()
        .find(|l| l.contains("vec0") && l.contains(SOURCE) && l.contains(GROUP))
        .map(str::to_string)
}

/// Both routers' views, for a failure's message.
fn diagnostics(lab: &Lab, frr: &FrrUml) -> String {
    format!(
        "mrouter mroute: {}\nmrouter pim interface: {}\nmrouter pim join: {}\nmrouter stats: {}\n\
         FRR:\n{}\n{}\n{}\n{}\npimd log tail:\n{}",
        lab.ctl_json(&["show", "mroute"]),
        lab.ctl_json(&["show", "pim", "interface"]),
        lab.ctl_json(&["show", "pim", "join"]),
        lab.ctl(&["show", "stats"]),
        frr.vtysh(&["show ip pim assert"]),
        frr.vtysh(&["show ip mroute"]),
        frr.vtysh(&["show ip pim upstream"]),
        frr.vtysh(&["show ip pim join"]),
        frr.pimd_log()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    )
}

#[test]
fn mrouter_and_frr_assert_on_the_receivers_lan_and_only_the_winner_forwards() {
    let lab = Lab::up("pimas");
    source_lan(&lab);
    receiver_lan(&lab);
    let path = lab.write_config_with("  []", "");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "address: 10.0.2.1/24 }",
        "address: 10.0.2.1/24, pim: { hello_interval: 2 } }",
    );
    std::fs::write(&path, text).unwrap();
    let router = lab.start_router_from(&path);
    let frr = FrrUml::start(
        &lab.ns("h1"),
        &lab.dir.join("frr-uml"),
        &format!("{}-frr", lab.prefix),
        &[("v0", "10.0.2.3/24"), ("s0", "10.0.3.3/24")],
        PIMD_CONF,
    );
    lab.wait_pim("neighbor", 90, "FRR as neighbour on if1", |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|n| n["address"] == FRR_ADDR))
    });

    // h1's member makes FRR, the DR, forward; the source sends (burst 1) until the assert.
    let rx = lab.receiver_from(1, GROUP, Some(SOURCE), 240_000);
    let end = Instant::now() + Duration::from_secs(60);
    while !frr.vtysh(&["show ip igmp sources"]).contains(SOURCE) {
        assert!(
            Instant::now() < end,
            "FRR: h1's member not seen: {}",
            frr.vtysh(&["show ip igmp sources"])
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // FRR sets the SPT bit of (S,G), which CouldAssert needs, from its periodic look at the
    // kernel's counters (up to a minute after the data started). Only then does mrouter start
    // forwarding onto the LAN: otherwise mrouter (its SPT bit within a second, from its data
    // arrivals) asserts against an FRR that cannot assert yet and wins, and FRR 8.4, a loser,
    // keeps forwarding to its IGMP member (its MFC keeps vec0: seen here), so duplicates go on.
    let mut burst1 = lab.sender(2, GROUP, 0, 12000, 8, 20);
    let end = Instant::now() + Duration::from_secs(120);
    let spt = |frr: &FrrUml| {
        frr.vtysh(&["show ip mroute"]).lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 2 && f[0] == SOURCE && f[1] == GROUP && f[2].contains('T')
        })
    };
    while !spt(&frr) {
        assert!(
            Instant::now() < end,
            "FRR: no SPT bit on (S,G): {}",
            frr.vtysh(&["show ip mroute"])
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The downstream router joins mrouter: both forward until the assert.
    let mut downstream = downstream_router(&lab);
    // (mrouter forwards on if1 from then until it loses the assert, which can take only
    // milliseconds: the Join is what is waited for, not if1 among the entry's OIFs.)
    lab.wait_pim("join", 60, "the downstream Join(S,G) on if1", |v| {
        v.as_array().is_some_and(|a| {
            a.iter().any(|j| {
                j["source"] == SOURCE
                    && j["downstream"]
                        .as_array()
                        .is_some_and(|d| d.iter().any(|x| x == "if1:join"))
            })
        })
    });
    let end = Instant::now() + Duration::from_secs(150);
    let rows = loop {
        let v = lab.ctl_json(&["show", "pim", "assert"]);
        if v.as_array().is_some_and(|a| {
            a.iter()
                .any(|r| r["source"] == SOURCE && r["interface"] == "if1")
        }) {
            break v;
        }
        assert!(
            Instant::now() < end,
            "no (S,G) assert state in mrouter on if1: {v}\n{}",
            diagnostics(&lab, &frr)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == SOURCE)
        .unwrap()
        .clone();
    let frr_line = frr_assert_line(&frr);
    eprintln!(
        "mrouter: {row}\nFRR: {frr_line:?}\nFRR's metric: {}",
        frr.vtysh(&["show ip pim assert-metric"])
    );
    // Both assert (S,G) from the SPT of their connected source; whoever wins, both must name
    // the same winner, with the RPT bit clear.
    let winner = row["winner"].as_str().unwrap().to_string();
    assert!(winner == FRR_ADDR || winner == MROUTER_ADDR, "{rows}");
    let mrouter_won = winner == MROUTER_ADDR;
    let want_state = if mrouter_won { "winner" } else { "loser" };
    assert_eq!(
        (&row["state"], &row["rpt"]),
        (&want_state.into(), &false.into()),
        "{rows}"
    );
    let frr_line = frr_line.unwrap_or_else(|| {
        panic!(
            "no (S,G) assert on vec0 in FRR:\n{}",
            frr.vtysh(&["show ip pim assert"])
        )
    });
    let frr_state = if mrouter_won { "LOSER" } else { "WINNER" };
    assert!(
        frr_line.contains(&winner) && frr_line.to_uppercase().contains(frr_state),
        "FRR agrees that {winner} won: {frr_line}"
    );
    // The loser stops forwarding on the LAN: mrouter's entry drops if1 when it lost, keeps it
    // when it won (FRR's kernel then stops forwarding on vec0).
    lab.wait_entry(SOURCE, GROUP, 30, "if1 in or out of mrouter's entry", |e| {
        oif_names(e).iter().any(|o| o == "if1") == mrouter_won
    });
    burst1.kill().unwrap();
    burst1.wait().unwrap();
    std::thread::sleep(Duration::from_secs(1));

    // Burst 2, after the assert settled: each datagram reaches h1 exactly once, from the
    // winner.
    let st = lab.sender(2, GROUP, 100_000, 200, 8, 20).wait().unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_secs(2));
    let pid = nix::unistd::Pid::from_raw(rx.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let got = rx.finish();
    let mut count: BTreeMap<u32, u32> = BTreeMap::new();
    for d in &got {
        *count.entry(d.seq).or_default() += 1;
    }
    let first_dups = count.range(..100_000).filter(|(_, n)| **n > 1).count();
    let second: Vec<(u32, u32)> = count.range(100_000..).map(|(s, n)| (*s, *n)).collect();
    eprintln!(
        "burst 1: {} distinct, {first_dups} duplicated; burst 2: {} of 200",
        count.range(..100_000).count(),
        second.len()
    );
    assert!(first_dups > 0, "both routers forwarded before the assert");
    let dups: Vec<_> = second.iter().filter(|(_, n)| *n > 1).collect();
    assert!(dups.is_empty(), "duplicates after the assert: {dups:?}");
    assert_eq!(second.len(), 200, "every datagram of burst 2 reached h1");
    // mrouter still holds its assert state (Assert_Time is 180 s).
    let rows = lab.ctl_json(&["show", "pim", "assert"]);
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["source"] == SOURCE && r["state"] == want_state));

    downstream.kill().unwrap();
    downstream.wait().unwrap();
    drop(frr);
    let out = router.stop();
    assert!(!out.contains("panicked"), "{out}");
}
