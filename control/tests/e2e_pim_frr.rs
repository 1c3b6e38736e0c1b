//! End to end, issue 17: FRR 8.4's pimd as mrouter's PIM neighbour. pimd runs inside
//! User-mode Linux (this kernel has no multicast routing; see `common/frr_uml.rs`), attached to
//! host h1's link, which is mrouter's if1 (10.0.2.1; FRR is 10.0.2.3):
//!
//! - (1) they become neighbours: each one's `show` lists the other; the DR is FRR by address
//!   while the priorities are equal, then mrouter by priority once a reload raises its own;
//!   mrouter's goodbye when it stops makes FRR drop it at once, long before its holdtime;
//! - (7) FRR's pimd dies without a goodbye: mrouter drops it when its holdtime (7 s) runs out;
//! - pimd restarts within its holdtime: mrouter sees a new Generation ID (a restart, RFC 7761
//!   4.3.1), keeps the neighbour and answers with a Hello, and FRR lists mrouter again;
//!   FRR's DR priority going up makes FRR the DR on mrouter's side;
//! - (6) SSM: an IGMPv3 (S,G) member behind mrouter is joined through FRR;
//! - (2) FRR as RP: an any-source member's (*,G) Join, a source behind FRR down the shared
//!   tree, and mrouter's switch to the SPT at the first packet;
//! - RFC 5059: a Bootstrap router behind mrouter (a host sending Hellos and Bootstraps) gives
//!   mrouter its RP set, and FRR the same through the Bootstraps mrouter forwards.
//!
//! Hellos every 2 s on both sides keep the test short; waits are generous (shared machine).
//! Needs root, FRR and user-mode-linux (scripts/setup.sh installs them).

mod common;
use common::frr_uml::FrrUml;
use common::*;
use std::path::PathBuf;
use std::time::Duration;

const MROUTER_ADDR: &str = "10.0.2.1";
const FRR_ADDR: &str = "10.0.2.3";

/// FRR on h1's link: PIM with Hellos every 2 s, holdtime 7 s, DR priority 1 (FRR's default).
const PIMD_CONF: &str =
    "hostname frr\nlog file /run/frr/pimd.log\ninterface vec0\n ip pim\n ip pim hello 2 7\n";

/// mrouter's config with PIM on if1 (`pim` is its section there).
fn config(lab: &Lab, pim: &str) -> PathBuf {
    let path = lab.write_config_with("  []", "");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "address: 10.0.2.1/24 }",
        &format!("address: 10.0.2.1/24, pim: {pim} }}"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// IGMPv3 with short timers, for receivers' interfaces.
const IGMP3: &str = "igmp: { version: 3, query_interval: 10, query_response_interval: 1, last_member_query_interval: 0.5 }";

/// mrouter's config with PIM (Hellos every 2 s) on if1 (toward FRR) and on if2 (`if2_extra`
/// added there, e.g. [`IGMP3`]), and `rest` at the top level.
fn config_two(lab: &Lab, rest: &str, if2_extra: &str) -> PathBuf {
    let path = lab.write_config_with("  []", rest);
    let sep = if if2_extra.is_empty() { "" } else { ", " };
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            "address: 10.0.2.1/24 }",
            "address: 10.0.2.1/24, pim: { hello_interval: 2 } }",
        )
        .replace(
            "address: 10.0.3.1/24 }",
            &format!("address: 10.0.3.1/24, pim: {{ hello_interval: 2 }}{sep}{if2_extra} }}"),
        );
    std::fs::write(&path, text).unwrap();
    path
}

fn start_frr(lab: &Lab) -> FrrUml {
    start_frr_with(lab, PIMD_CONF)
}

fn start_frr_with(lab: &Lab, pimd_conf: &str) -> FrrUml {
    FrrUml::start(
        &lab.ns("h1"),
        &lab.dir.join("frr-uml"),
        &format!("{}-frr", lab.prefix),
        &[("h1", "10.0.2.3/24")],
        pimd_conf,
    )
}

/// mrouter's one neighbour on if1, once it is FRR.
fn mrouter_sees_frr(lab: &Lab) -> serde_json::Value {
    let n = lab.wait_pim("neighbor", 90, "FRR as neighbour on if1", |v| {
        v.as_array()
            .is_some_and(|a| a.len() == 1 && a[0]["address"] == FRR_ADDR)
    });
    n[0].clone()
}

/// FRR's neighbour on vec0, once it is mrouter.
fn frr_sees_mrouter(frr: &FrrUml, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let v = frr.wait_json(
        "show ip pim neighbor json",
        90,
        "mrouter as neighbour",
        |v| v["vec0"][MROUTER_ADDR].is_object() && ok(&v["vec0"][MROUTER_ADDR]),
    );
    v["vec0"][MROUTER_ADDR].clone()
}

fn frr_dr(frr: &FrrUml) -> String {
    frr.json("show ip pim interface vec0 json")["vec0"]["drAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn frr_and_mrouter_become_neighbours_and_elect_the_dr_by_priority_then_address() {
    let lab = Lab::up("pimnb");
    let path = config(&lab, "{ hello_interval: 2, holdtime: 105 }");
    let router = lab.start_router_from(&path);
    let frr = start_frr(&lab);

    // Each lists the other, with what the other's Hellos said.
    let n = mrouter_sees_frr(&lab);
    let frr_if = frr.json("show ip pim interface vec0 json");
    assert_eq!(n["interface"], "if1", "{n}");
    assert_eq!(n["holdtime"], 7, "FRR's `ip pim hello 2 7`: {n}");
    assert_eq!(n["dr_priority"], 1, "{n}");
    assert_eq!(
        n["generation_id"], frr_if["vec0"]["helloGenerationId"],
        "the Generation ID FRR sends: {n} {frr_if}"
    );
    let f = frr_sees_mrouter(&frr, |_| true);
    assert_eq!(f["holdTimeMax"], 105, "our holdtime: {f}");
    assert_eq!(f["drPriority"], 1, "{f}");
    assert!(
        router
            .output()
            .contains("mrouter: pim: neighbor 10.0.2.3 up on if1"),
        "logged:\n{}",
        router.output()
    );
    let text = lab.ctl(&["show", "pim", "neighbor"]);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().take(2).eq(["if1", FRR_ADDR])),
        "{text}"
    );

    // Equal priorities: the higher address, FRR's, is the DR on both sides.
    let i = lab.wait_pim("interface", 60, "FRR as DR", |v| v[0]["dr"] == FRR_ADDR);
    assert_eq!(i[0]["is_dr"], false, "{i}");
    assert_eq!(i[0]["neighbors"], 1, "{i}");
    frr.wait_json(
        "show ip pim interface vec0 json",
        60,
        "FRR as its own DR",
        |v| v["vec0"]["drAddress"] == FRR_ADDR,
    );

    // mrouter's priority goes up by a reload: its Hello carries it at once and the lower
    // address wins by priority, on both sides.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("hello_interval: 2,", "hello_interval: 2, dr_priority: 10,");
    std::fs::write(&path, text).unwrap();
    router.reload("reloaded");
    let i = lab.wait_pim("interface", 60, "mrouter as DR", |v| {
        v[0]["dr"] == MROUTER_ADDR
    });
    assert_eq!(
        (i[0]["is_dr"].clone(), i[0]["dr_priority"].clone()),
        (true.into(), 10.into())
    );
    frr_sees_mrouter(&frr, |n| n["drPriority"] == 10);
    frr.wait_json(
        "show ip pim interface vec0 json",
        60,
        "mrouter as FRR's DR",
        |v| v["vec0"]["drAddress"] == MROUTER_ADDR,
    );

    // mrouter stops: its goodbye (holdtime 0) makes FRR drop it at once, long before the
    // 105 s it advertised.
    router.stop();
    frr.wait_json(
        "show ip pim neighbor json",
        45,
        "FRR to drop mrouter on its goodbye",
        |v| !v["vec0"][MROUTER_ADDR].is_object(),
    );
    assert_eq!(frr_dr(&frr), FRR_ADDR);
}

#[test]
fn mrouter_drops_frr_when_its_holdtime_runs_out() {
    let lab = Lab::up("pimho");
    let _router = lab.start_router_from(&config(&lab, "{ hello_interval: 2 }"));
    let frr = start_frr(&lab);
    mrouter_sees_frr(&lab);
    frr_sees_mrouter(&frr, |_| true);
    lab.wait_pim("interface", 60, "FRR as DR", |v| v[0]["dr"] == FRR_ADDR);

    // pimd dies without a goodbye: only its holdtime (7 s) tells mrouter.
    frr.kill_pimd();
    lab.wait_pim("neighbor", 60, "FRR dropped", |v| {
        v.as_array().is_some_and(|a| a.is_empty())
    });
    let i = lab.ctl_json(&["show", "pim", "interface"]);
    let c = &i[0]["counters"];
    assert_eq!(
        (
            c["neighbors_expired"].clone(),
            c["neighbors_goodbye"].clone()
        ),
        (1.into(), 0.into()),
        "by holdtime, not by a goodbye: {i}"
    );
    assert_eq!(
        i[0]["dr"], MROUTER_ADDR,
        "alone again, mrouter is the DR: {i}"
    );
    assert_eq!(i[0]["neighbors"], 0, "{i}");
}

#[test]
fn a_restarted_pimd_is_a_new_generation_and_its_priority_counts() {
    let lab = Lab::up("pimgen");
    let _router = lab.start_router_from(&config(&lab, "{ hello_interval: 2, dr_priority: 10 }"));
    // A long holdtime (60 s): the restart comes well within it.
    let frr = start_frr_with(&lab, &PIMD_CONF.replace("hello 2 7", "hello 2 60"));
    let before = mrouter_sees_frr(&lab);
    frr_sees_mrouter(&frr, |_| true);
    lab.wait_pim("interface", 60, "mrouter as DR by priority", |v| {
        v[0]["dr"] == MROUTER_ADDR
    });

    frr.kill_pimd();
    frr.start_pimd();
    let after = lab.wait_pim("neighbor", 60, "FRR's new Generation ID", |v| {
        v[0]["generation_id"] != before["generation_id"] && !v[0]["generation_id"].is_null()
    });
    assert_eq!(after.as_array().unwrap().len(), 1, "{after}");
    let i = lab.ctl_json(&["show", "pim", "interface"]);
    let c = &i[0]["counters"];
    assert_eq!(
        (
            c["neighbors_restarted"].clone(),
            c["neighbors_expired"].clone()
        ),
        (1.into(), 0.into()),
        "a restart, not an expiry: {i}"
    );
    // The restarted pimd learns of mrouter again (its first Hellos, or our triggered one).
    frr_sees_mrouter(&frr, |n| n["drPriority"] == 10);

    // FRR's priority goes above mrouter's: FRR is the DR on mrouter's side too.
    frr.vtysh(&[
        "configure terminal",
        "interface vec0",
        "ip pim drpriority 50",
    ]);
    let n = lab.wait_pim("neighbor", 60, "FRR's priority 50", |v| {
        v[0]["dr_priority"] == 50
    });
    assert_eq!(n[0]["is_dr"], true, "{n}");
    let i = lab.ctl_json(&["show", "pim", "interface"]);
    assert_eq!(
        (i[0]["dr"].clone(), i[0]["is_dr"].clone()),
        (FRR_ADDR.into(), false.into())
    );
}

/// Host h3 (10.0.9.2) behind FRR's vec1 (`frr_uml::source_link`).
fn source_link(lab: &Lab) {
    common::frr_uml::source_link(&lab.ns("h1"), &lab.ns("h3"));
}

const SOURCE: &str = "10.0.9.2";
const SSM_GROUP: &str = "232.1.1.1";

/// (6) SSM, no RP: host h2 behind mrouter (if2, PIM and IGMPv3) joins (10.0.9.2, 232.1.1.1)
/// with IGMPv3; mrouter's RPF toward the source is FRR (an `rpf_routes` entry via 10.0.2.3
/// on if1), so an (S,G) Join goes to FRR, which shows the downstream join on vec0; the
/// source's datagrams cross FRR (UML's kernel, pimd's MFC) and mrouter to h2; when h2 leaves,
/// mrouter prunes and FRR's state goes.
#[test]
fn an_igmpv3_source_specific_member_behind_mrouter_is_joined_through_frr() {
    let lab = Lab::up("pimssm");
    source_link(&lab);
    let path = config_two(
        &lab,
        "rpf_routes:\n  - { prefix: 10.0.9.0/24, interface: if1, next_hop: 10.0.2.3 }",
        IGMP3,
    );
    let _router = lab.start_router_from(&path);
    let conf = format!("{PIMD_CONF}interface vec1\n ip pim\n ip pim hello 2 7\n");
    let frr = FrrUml::start(
        &lab.ns("h1"),
        &lab.dir.join("frr-uml"),
        &format!("{}-frr", lab.prefix),
        &[("h1", "10.0.2.3/24"), ("s0", "10.0.9.1/24")],
        &conf,
    );
    mrouter_sees_frr(&lab);
    frr_sees_mrouter(&frr, |_| true);

    // h2 joins (S,G) with IGMPv3; the Join reaches FRR.
    let rx = lab.receiver_from(2, SSM_GROUP, Some(SOURCE), 180_000);
    let joins = frr.wait_json("show ip pim join json", 90, "mrouter's (S,G) Join", |v| {
        v["vec0"][SSM_GROUP][SOURCE].is_object()
    });
    let j = &joins["vec0"][SSM_GROUP][SOURCE];
    assert_eq!(j["channelJoinName"], "JOIN", "{joins}");
    let up = frr.json("show ip pim upstream json");
    assert_eq!(
        up[SSM_GROUP][SOURCE]["joinState"], "Joined",
        "FRR joined toward its connected source: {up}"
    );

    let rows = lab.ctl_json(&["show", "pim", "join"]);
    assert_eq!(
        (&rows[0]["source"], &rows[0]["upstream"], &rows[0]["joined"]),
        (&SOURCE.into(), &FRR_ADDR.into(), &true.into()),
        "{rows}"
    );

    // The source sends: FRR forwards to mrouter, mrouter to h2.
    let sender = lab.sender(3, SSM_GROUP, 0, 400, 8, 20);
    let mr = frr.wait_json("show ip mroute json", 90, "FRR's (S,G) route", |v| {
        v[SSM_GROUP][SOURCE]["oil"]["vec0"].is_object()
    });
    assert_eq!(mr[SSM_GROUP][SOURCE]["iif"], "vec1", "{mr}");
    let entry = lab.wait_entry(SOURCE, SSM_GROUP, 90, "the entry toward h2", |e| {
        oif_names(e) == ["if2"]
    });
    assert_eq!(entry["iif"], "if1", "{entry}");
    let st = { sender }.wait().unwrap();
    assert!(st.success());

    // h2 leaves (its socket closes: IGMPv3 leave); mrouter prunes; FRR's state goes.
    let pid = nix::unistd::Pid::from_raw(rx.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let got = rx.finish();
    assert!(!got.is_empty(), "h2 received nothing from the source");
    assert!(
        got.iter().all(|d| d.from == SOURCE),
        "only the joined source: {got:?}"
    );
    eprintln!("h2 received {} of 400 datagrams", got.len());
    // FRR keeps the (S,G) line a while with no join state (NOINFO), or drops it.
    frr.wait_json(
        "show ip pim join json",
        90,
        "the Prune to end FRR's join",
        |v| {
            let j = &v["vec0"][SSM_GROUP][SOURCE];
            !j.is_object() || j["channelJoinName"] == "NOINFO"
        },
    );
    frr.wait_json(
        "show ip mroute json",
        90,
        "vec0 out of FRR's (S,G) route",
        |v| !v[SSM_GROUP][SOURCE]["oil"]["vec0"].is_object(),
    );
}

const ASM_GROUP: &str = "239.1.2.3";

/// (2) FRR is the RP (`ip pim rp 10.0.2.3 239.0.0.0/8`, and mrouter's static RP the same):
/// host h2 behind mrouter joins 239.1.2.3 for any source; mrouter's Join(*,G) goes to FRR,
/// whose `show ip pim join json` has the (*,G) join on vec0. Then a source behind FRR (h3)
/// sends: its datagrams come down the shared tree to h2, and mrouter, the last hop, switches
/// to the shortest-path tree at once (its default policy, FRR's too): an (S,G) Join to FRR,
/// which FRR shows on vec0; mrouter's (S,G) gets its SPT bit and a running Keepalive Timer.
/// When h2 leaves, the Prunes end both joins.
#[test]
fn an_any_source_member_behind_mrouter_is_joined_toward_frr_as_the_rp_then_switches_to_the_spt() {
    let lab = Lab::up("pimrp");
    source_link(&lab);
    let path = config_two(
        &lab,
        "rpf_routes:\n  - { prefix: 10.0.9.0/24, interface: if1, next_hop: 10.0.2.3 }\n\
         pim:\n  rp:\n    - { address: 10.0.2.3, groups: 239.0.0.0/8 }",
        IGMP3,
    );
    let _router = lab.start_router_from(&path);
    let frr = FrrUml::start(
        &lab.ns("h1"),
        &lab.dir.join("frr-uml"),
        &format!("{}-frr", lab.prefix),
        &[("h1", "10.0.2.3/24"), ("s0", "10.0.9.1/24")],
        &format!(
            "{PIMD_CONF}interface vec1\n ip pim\n ip pim hello 2 7\nip pim rp {FRR_ADDR} 239.0.0.0/8\n"
        ),
    );
    mrouter_sees_frr(&lab);
    frr_sees_mrouter(&frr, |_| true);

    let rx = lab.receiver(2, ASM_GROUP, 180_000);
    let star = |v: &serde_json::Value| -> Option<serde_json::Value> {
        v["vec0"][ASM_GROUP]
            .as_object()?
            .values()
            .find(|e| e["source"] == "*")
            .cloned()
    };
    let joins = frr.wait_json("show ip pim join json", 90, "mrouter's (*,G) Join", |v| {
        star(v).is_some_and(|e| e["channelJoinName"] == "JOIN")
    });
    assert_eq!(star(&joins).unwrap()["group"], ASM_GROUP, "{joins}");
    let rp = frr.json("show ip pim rp-info json");
    assert!(rp.to_string().contains(FRR_ADDR), "FRR is the RP: {rp}");
    // mrouter's side: joined toward the RP, h2's link the member and the outgoing interface.
    let rows = lab.ctl_json(&["show", "pim", "join"]);
    let row = &rows[0];
    assert_eq!(
        (&row["source"], &row["group"], &row["rp"]),
        (&"*".into(), &ASM_GROUP.into(), &FRR_ADDR.into()),
        "{rows}"
    );
    assert_eq!(
        (&row["upstream"], &row["joined"], &row["rpf_interface"]),
        (&FRR_ADDR.into(), &true.into(), &"if1".into()),
        "{rows}"
    );
    assert_eq!(row["oifs"], serde_json::json!(["if2"]), "{rows}");
    let text = lab.ctl(&["show", "pim", "join"]);
    assert!(
        text.lines().any(|l| l
            .split_whitespace()
            .take(4)
            .eq(["*", ASM_GROUP, "if1", FRR_ADDR])),
        "{text}"
    );

    // The source behind FRR sends (up to 60 s at 20 ms; stopped at the end): down the shared
    // tree to h2, then the switch.
    let sender = lab.sender(3, ASM_GROUP, 0, 3000, 8, 20);
    let sg = frr.wait_json("show ip pim join json", 90, "mrouter's (S,G) Join", |v| {
        v["vec0"][ASM_GROUP][SOURCE]["channelJoinName"] == "JOIN"
    });
    assert_eq!(
        sg["vec0"][ASM_GROUP][SOURCE]["source"], SOURCE,
        "FRR holds mrouter's (S,G) join on vec0: {sg}"
    );
    let row = |v: &serde_json::Value| -> Option<serde_json::Value> {
        v.as_array()?
            .iter()
            .find(|r| r["source"] == SOURCE && r["group"] == ASM_GROUP)
            .cloned()
    };
    let rows = lab.wait_pim("join", 90, "the SPT bit of (S,G)", |v| {
        row(v).is_some_and(|r| r["spt_bit"] == true)
    });
    let r = row(&rows).unwrap();
    assert_eq!(
        (&r["rpf_interface"], &r["upstream"], &r["joined"]),
        (&"if1".into(), &FRR_ADDR.into(), &true.into()),
        "{rows}"
    );
    assert!(r["keepalive_secs"].as_f64().is_some(), "KAT runs: {rows}");
    assert_eq!(r["oifs"], serde_json::json!(["if2"]), "{rows}");
    let entry = lab.wait_entry(SOURCE, ASM_GROUP, 30, "the entry toward h2", |e| {
        oif_names(e) == ["if2"]
    });
    assert_eq!(entry["iif"], "if1", "{entry}");
    // The Keepalive Timer follows the data: restarted from the entry's counters while the
    // source sends (it starts at 210 s and the counters are read every second: 8 s later it
    // is still above 205 only if the traffic restarted it).
    std::thread::sleep(Duration::from_secs(8));
    let kat = |v: &serde_json::Value| row(v).and_then(|r| r["keepalive_secs"].as_f64());
    let later = kat(&lab.ctl_json(&["show", "pim", "join"])).unwrap();
    assert!(later > 205.0, "KAT restarted by the traffic: {later}");

    let pid = nix::unistd::Pid::from_raw(rx.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let got = rx.finish();
    let mut sender = sender;
    let _ = sender.kill();
    let _ = sender.wait();
    assert!(
        got.iter().any(|d| d.from == SOURCE),
        "h2 received the source's datagrams: {} datagrams",
        got.len()
    );
    eprintln!("h2 received {} datagrams from {SOURCE}", got.len());
    frr.wait_json(
        "show ip pim join json",
        90,
        "the Prunes to end FRR's (*,G) and (S,G) joins",
        |v| {
            let sg = &v["vec0"][ASM_GROUP][SOURCE];
            star(v).is_none_or(|e| e["channelJoinName"] == "NOINFO")
                && (!sg.is_object() || sg["channelJoinName"] != "JOIN")
        },
    );
}

/// Sends PIM messages from a host: each argument is `SECONDS:HEX`, the IP payload (a whole PIM
/// message) to 224.0.0.13 with TTL 1 every SECONDS (first at once), until killed.
const PIM_SENDER: &str = r#"
import socket, sys, time
iface_addr = sys.argv[1]
msgs = [(float(a.split(":")[0]), bytes.fromhex(a.split(":")[1])) for a in sys.argv[2:]]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 103)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface_addr))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xC0)
due = [0.0] * len(msgs)
start = time.time()
while True:
    now = time.time() - start
    for k, (every, msg) in enumerate(msgs):
        if now >= due[k]:
            s.sendto(msg, ("224.0.0.13", 0))
            due[k] = now + every
    time.sleep(0.1)
"#;

/// RFC 5059 through mrouter: host h2 (10.0.3.2, on mrouter's if2) plays a Bootstrap router,
/// a PIM neighbour of mrouter's that sends Bootstraps naming itself the BSR and 10.0.3.2 the RP
/// of 239.0.0.0/8. mrouter takes the RP set (`show pim rp`) and forwards the Bootstraps to
/// FRR, which (its route to 10.0.3.0/24 via mrouter) accepts them from mrouter, its RPF
/// neighbour toward the BSR: FRR's `show ip pim bsr` names the BSR and its `rp-info` has the
/// range from the BSR.
#[test]
fn a_bootstrap_routers_rp_set_reaches_mrouter_and_through_it_frr() {
    use dataplane::wire::pim::{Bootstrap, BsrGroup, BsrRp, EncodedGroup, Hello, Repr};
    let lab = Lab::up("pimbsr");
    let path = config_two(&lab, "", "");
    let _router = lab.start_router_from(&path);
    let frr = start_frr(&lab);
    // FRR's route toward the BSR's subnet goes through mrouter.
    frr.run("ip route add 10.0.3.0/24 via 10.0.2.1");
    mrouter_sees_frr(&lab);
    frr_sees_mrouter(&frr, |_| true);

    let bsr: std::net::Ipv4Addr = "10.0.3.2".parse().unwrap();
    let hello = Repr::Hello(Hello {
        holdtime: Some(30),
        dr_priority: Some(1),
        generation_id: Some(0x5eed),
        ..Hello::default()
    })
    .to_bytes();
    let bootstrap = Repr::Bootstrap(Bootstrap {
        no_forward: false,
        fragment_tag: 0x1234,
        hash_mask_len: 30,
        bsr_priority: 100,
        bsr_address: bsr,
        groups: vec![BsrGroup {
            group: EncodedGroup {
                addr: "239.0.0.0".parse().unwrap(),
                mask_len: 8,
                bidir: false,
                admin_scope: false,
            },
            rp_count: 1,
            rps: vec![BsrRp {
                address: bsr,
                holdtime: 150,
                priority: 0,
            }],
        }],
    })
    .to_bytes();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let script = lab.dir.join("pim-sender.py");
    std::fs::write(&script, PIM_SENDER).unwrap();
    let mut sender = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.ns("h2"), "python3"])
        .arg(&script)
        .arg("10.0.3.2")
        .arg(format!("5:{}", hex(&hello)))
        .arg(format!("5:{}", hex(&bootstrap)))
        .spawn()
        .unwrap();

    let rp = lab.wait_pim("rp", 60, "the RP set from h2's Bootstraps", |v| {
        v["bsr"]["address"] == "10.0.3.2"
            && v["mappings"]
                .as_array()
                .is_some_and(|m| m.iter().any(|e| e["origin"] == "bsr"))
    });
    let m = &rp["mappings"][0];
    assert_eq!(
        (&m["groups"], &m["rp"], &m["priority"]),
        (&"239.0.0.0/8".into(), &"10.0.3.2".into(), &0.into()),
        "{rp}"
    );
    assert_eq!(rp["bsr"]["priority"], 100, "{rp}");
    let text = lab.ctl(&["show", "pim", "rp"]);
    assert!(text.contains("BSR 10.0.3.2 priority 100"), "{text}");

    let b = frr.wait_json("show ip pim bsr json", 90, "h2 as FRR's BSR", |v| {
        v.to_string().contains("10.0.3.2")
    });
    let info = frr.json("show ip pim rp-info json");
    let s = info.to_string();
    assert!(
        s.contains("239.0.0.0/8") && s.contains("BSR"),
        "FRR's RP set from the BSR: {info} (bsr {b})"
    );
    let forwarded = lab.ctl_json(&["show", "pim", "rp"])["bootstrap"]["forwarded"]
        .as_u64()
        .unwrap();
    assert!(forwarded >= 1, "mrouter forwarded the Bootstraps");
    let _ = sender.kill();
    let _ = sender.wait();
}
