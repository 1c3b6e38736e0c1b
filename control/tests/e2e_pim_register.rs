//! End to end, issue 17 (3) and (4): PIM's register path between mrouter and FRR 8.4's pimd
//! (inside User-mode Linux, see `common/frr_uml.rs`) on h1's link, mrouter's if1 (10.0.2.1;
//! FRR is 10.0.2.3 on its vec0). FRR's second link, vec1 (10.0.9.1), goes to host h3
//! (10.0.9.2), a namespace of the lab's.
//!
//! - (3) mrouter is the first-hop DR of h2's source (if2), FRR the RP with a receiver on h3:
//!   mrouter's Registers reach FRR (its (S,G) upstream state), FRR joins toward the source and
//!   sends Register-Stop, mrouter's register state goes to Prune and it stops encapsulating
//!   (its counters), and h3 gets the datagrams (sequence numbers checked);
//! - (4) mrouter is the RP and FRR the first-hop DR of h3's source, a receiver on h2 behind
//!   mrouter: FRR's Registers are decapsulated and forwarded to h2, mrouter joins toward the
//!   source and sends Register-Stop once the data arrives natively, and FRR's register state
//!   goes to Prune.
//!
//! Needs root, FRR and user-mode-linux (scripts/setup.sh installs them). Waits are generous
//! (shared machine; UML is slow).

mod common;
use common::frr_uml::FrrUml;
use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const MROUTER_ADDR: &str = "10.0.2.1";
const FRR_ADDR: &str = "10.0.2.3";
const GROUP: &str = "239.1.2.3";

/// FRR on h1's link and on vec1 toward h3: PIM with Hellos every 2 s, holdtime 7 s.
const PIMD_CONF: &str = "hostname frr\nlog file /run/frr/pimd.log\ninterface vec0\n ip pim\n ip pim hello 2 7\ninterface vec1\n ip pim\n ip pim hello 2 7\n";

/// Host h3 (10.0.9.2) behind FRR's vec1 (`frr_uml::source_link`).
fn far_link(lab: &Lab) {
    common::frr_uml::source_link(&lab.ns("h1"), &lab.ns("h3"));
}

fn start_frr(lab: &Lab, extra: &str) -> FrrUml {
    FrrUml::start(
        &lab.ns("h1"),
        &lab.dir.join("frr-uml"),
        &format!("{}-frr", lab.prefix),
        &[("h1", "10.0.2.3/24"), ("s0", "10.0.9.1/24")],
        &format!("{PIMD_CONF}{extra}"),
    )
}

/// mrouter's config: PIM on if1 and if2 (IGMPv2 on if2 too), the static RP, and `extra`.
fn config(lab: &Lab, rp: &str, extra: &str) -> PathBuf {
    let path = lab.write_config_with(
        "  []",
        &format!("{extra}pim:\n  rp:\n    - {{ address: {rp}, groups: 239.0.0.0/8 }}"),
    );
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "address: 10.0.2.1/24 }",
            "address: 10.0.2.1/24, pim: { hello_interval: 2 } }",
        )
        .replace(
            "address: 10.0.3.1/24 }",
            "address: 10.0.3.1/24, pim: { hello_interval: 2 }, igmp: { version: 2, query_interval: 10, query_response_interval: 1, last_member_query_interval: 0.5 } }",
        );
    std::fs::write(&path, text).unwrap();
    path
}

/// Both see each other as PIM neighbours on h1's link.
fn neighbours(lab: &Lab, frr: &FrrUml) {
    lab.wait_pim("neighbor", 90, "FRR as neighbour on if1", |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|n| n["address"] == FRR_ADDR))
    });
    frr.wait_json(
        "show ip pim neighbor json",
        90,
        "mrouter as neighbour",
        |v| v["vec0"][MROUTER_ADDR].is_object(),
    );
}

/// What a receiver got, as sequence numbers: (first, missing after the first, duplicates).
fn gaps(got: &[Datagram], count: u32) -> (u32, Vec<u32>, Vec<u32>) {
    let mut seen = std::collections::BTreeMap::<u32, u32>::new();
    for d in got {
        *seen.entry(d.seq).or_default() += 1;
    }
    let first = *seen.keys().next().expect("nothing received");
    let missing = (first..count).filter(|s| !seen.contains_key(s)).collect();
    let dups = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(s, _)| *s)
        .collect();
    (first, missing, dups)
}

fn stop_receiver(rx: Receiver) -> Vec<Datagram> {
    let pid = nix::unistd::Pid::from_raw(rx.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    rx.finish()
}

const COUNT: u32 = 1500;

/// (3) mrouter is the first-hop DR of h2 (10.0.3.2, on if2) and FRR the RP (`ip pim rp
/// 10.0.2.3`, mrouter's static RP the same) with a receiver on h3: mrouter's Registers reach
/// FRR, FRR joins (S,G) toward mrouter and sends Register-Stop; mrouter's register state goes
/// to Prune and it sends no more Registers; h3 gets every datagram after the first.
#[test]
fn mrouter_registers_to_frr_as_the_rp_until_register_stop() {
    let lab = Lab::up("pimregdr");
    far_link(&lab);
    let path = config(&lab, FRR_ADDR, "");
    let _router = lab.start_router_from(&path);
    let frr = start_frr(
        &lab,
        &format!("ip pim rp {FRR_ADDR} 239.0.0.0/8\ninterface vec1\n ip igmp\n"),
    );
    neighbours(&lab, &frr);
    // FRR's route back to the source's subnet, through mrouter (its RPF for the (S,G) join).
    // (A kernel route in UML, which zebra learns: staticd does not run there.)
    frr.run("ip route add 10.0.3.0/24 via 10.0.2.1");
    let source = "10.0.3.2";

    let rx = lab.receiver(3, GROUP, 120_000);
    frr.wait_json("show ip igmp groups json", 90, "h3's membership", |v| {
        v.to_string().contains(GROUP)
    });
    // 1500 datagrams, one every 20 ms: 30 s of data.
    let sender = lab.sender(2, GROUP, 0, COUNT, 8, 20);

    // mrouter registers (its state Join, then the Register-Stop makes it Prune).
    let end = Instant::now() + Duration::from_secs(90);
    let reg = loop {
        let v = lab.ctl_json(&["show", "pim", "register"]);
        if v["dr"].as_array().is_some_and(|a| {
            a.iter()
                .any(|r| r["source"] == source && r["state"] == "Prune")
        }) {
            break v;
        }
        assert!(
            Instant::now() < end,
            "mrouter's register state is not Prune: {v}\nmroute: {}\nFRR upstream: {}\nFRR mroute: {}\nFRR log: {}",
            lab.ctl(&["show", "mroute"]),
            frr.json("show ip pim upstream json"),
            frr.json("show ip mroute json"),
            frr.pimd_log(),
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let c = &reg["counters"];
    eprintln!("mrouter's register counters: {c}");
    assert!(c["registers_sent"].as_u64().unwrap() > 0, "{reg}");
    assert!(c["register_stops_received"].as_u64().unwrap() > 0, "{reg}");
    let row = reg["dr"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == source)
        .unwrap();
    assert_eq!(
        (&row["group"], &row["rp"], &row["interface"]),
        (&GROUP.into(), &FRR_ADDR.into(), &"if2".into()),
        "{reg}"
    );
    // FRR saw the Registers and joined toward the source: its (S,G) upstream state is joined,
    // and mrouter forwards (S,G) natively out of if1.
    let up = frr.wait_json("show ip pim upstream json", 60, "FRR's (S,G) join", |v| {
        v[GROUP][source]["joinState"] == "Joined"
    });
    eprintln!("FRR upstream: {}", up[GROUP][source]);
    let entry = lab.wait_entry(source, GROUP, 60, "(S,G) out of if1", |e| {
        oif_names(e) == ["if1"]
    });
    assert_eq!(entry["iif"], "if2", "{entry}");
    // Prune: no more Registers while the source still sends (Null-Registers may go).
    let sent = |v: &serde_json::Value| v["counters"]["registers_sent"].as_u64().unwrap();
    let before = sent(&lab.ctl_json(&["show", "pim", "register"]));
    std::thread::sleep(Duration::from_secs(3));
    let now = lab.ctl_json(&["show", "pim", "register"]);
    assert!(
        now["dr"][0]["state"] != "Join" || sent(&now) == before,
        "Registers sent in Prune: {before} then {now}"
    );
    let text = lab.ctl(&["show", "pim", "register"]);
    assert!(
        text.lines().any(|l| l
            .split_whitespace()
            .take(5)
            .eq([source, GROUP, "if2", FRR_ADDR, "Prune"])),
        "{text}"
    );

    let st = { sender }.wait().unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_secs(1));
    let got = stop_receiver(rx);
    let (first, missing, dups) = gaps(&got, COUNT);
    eprintln!(
        "h3 received {} of {COUNT} datagrams, first {first}, {} missing after it, {} duplicated",
        got.len(),
        missing.len(),
        dups.len()
    );
    assert!(got.iter().all(|d| d.from == source), "{got:?}");
    assert!(missing.is_empty(), "missing after the first: {missing:?}");
    assert!(dups.is_empty(), "duplicated: {dups:?}");
}

/// (4) mrouter is the RP (10.0.2.1, FRR's `ip pim rp` the same) and FRR the first-hop DR of
/// h3 (10.0.9.2, behind FRR's vec1); h2 behind mrouter joins with IGMPv2. FRR's Registers
/// are decapsulated to h2; mrouter joins (S,G) toward FRR (its RPF route to 10.0.9.0/24),
/// the data arrives natively and mrouter sends Register-Stop: FRR's register state is Prune.
#[test]
fn frr_registers_to_mrouter_as_the_rp() {
    let lab = Lab::up("pimregrp");
    far_link(&lab);
    let path = config(
        &lab,
        MROUTER_ADDR,
        "rpf_routes:\n  - { prefix: 10.0.9.0/24, interface: if1, next_hop: 10.0.2.3 }\n",
    );
    let _router = lab.start_router_from(&path);
    // FRR's Registers come from its vec1 address (10.0.9.1): the Register-Stops go back
    // through mrouter's kernel, which needs a route there (as a routing daemon would add).
    lab.ip_in("r", &["route", "add", "10.0.9.0/24", "via", FRR_ADDR]);
    let frr = start_frr(&lab, &format!("ip pim rp {MROUTER_ADDR} 239.0.0.0/8\n"));
    neighbours(&lab, &frr);
    let source = "10.0.9.2";

    let rx = lab.receiver(2, GROUP, 120_000);
    lab.wait_pim("join", 30, "h2's (*,G)", |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|j| j["group"] == GROUP && j["source"] == "*"))
    });
    let sender = lab.sender(3, GROUP, 0, COUNT, 8, 20);

    // FRR registers; mrouter decapsulates, joins toward the source, then stops it.
    let end = Instant::now() + Duration::from_secs(90);
    let up = loop {
        let v = frr.json("show ip pim upstream json");
        if v[GROUP][source]["regState"] == "RegPrune" {
            break v;
        }
        assert!(
            Instant::now() < end,
            "FRR's register state is not Prune: {v}\nmrouter: {}\n{}\n{}",
            lab.ctl(&["show", "pim", "register"]),
            lab.ctl(&["show", "stats"]),
            lab.ctl(&["show", "mroute"]),
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("FRR upstream: {}", up[GROUP][source]);
    let reg = lab.ctl_json(&["show", "pim", "register"]);
    let c = &reg["counters"];
    assert!(c["registers_received"].as_u64().unwrap() > 0, "{reg}");
    assert!(c["decapsulated"].as_u64().unwrap() > 0, "{reg}");
    assert!(c["register_stops_sent"].as_u64().unwrap() > 0, "{reg}");
    assert_eq!(c["dropped_malformed"], 0, "{reg}");
    let rp = reg["rp"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == source)
        .cloned()
        .unwrap_or_else(|| panic!("no RP state for the source: {reg}"));
    // FRR registers from the address of the source's interface (vec1).
    assert_eq!(rp["from"], serde_json::json!(["10.0.9.1"]), "{reg}");
    assert_eq!(rp["spt"], true, "{reg}");
    // The SPT: mrouter's (S,G) entry from if1 to h2's if2, FRR's (S,G) join from mrouter.
    let entry = lab.wait_entry(source, GROUP, 60, "(S,G) to if2", |e| {
        oif_names(e) == ["if2"]
    });
    assert_eq!(entry["iif"], "if1", "{entry}");
    frr.wait_json("show ip pim join json", 60, "mrouter's (S,G) Join", |v| {
        v["vec0"][GROUP][source]["channelJoinName"] == "JOIN"
    });

    let st = { sender }.wait().unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_secs(1));
    let got = stop_receiver(rx);
    let (first, missing, dups) = gaps(&got, COUNT);
    eprintln!(
        "h2 received {} of {COUNT} datagrams, first {first}, {} missing after it, {} duplicated",
        got.len(),
        missing.len(),
        dups.len()
    );
    assert!(got.iter().all(|d| d.from == source), "{got:?}");
    // From the first one that arrived (decapsulated, or already on the SPT) nothing is lost
    // once the data flows natively. Around the switch from Registers to native data (the
    // first second: 50 datagrams at 20 ms) a few can be, on either side: mrouter drops
    // Registers that arrive after its SPT bit is set (RFC 7761 4.4.2, counted `dropped_spt`)
    // and a native flow's first packets held longer than the pending queue's 100 ms on a
    // loaded machine (`no_route`); FRR's kernel sends a packet natively or through its
    // register vif depending on when pimd updated its MFC, which mrouter cannot count (seen in
    // CI: 2 missing, 1 counted). (A duplicate there is possible too, 4.4.2 tolerates it:
    // reported above, not asserted.)
    let stats = lab.ctl_json(&["show", "stats"]);
    let reg = lab.ctl_json(&["show", "pim", "register"]);
    let late: Vec<&u32> = missing.iter().filter(|&&q| q >= first + 50).collect();
    assert!(
        late.is_empty(),
        "missing once the data flowed natively: {late:?} (all missing: {missing:?}); {stats} {reg}"
    );
}
