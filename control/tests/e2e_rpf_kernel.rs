//! End to end: RPF from the kernel's routes (`rpf: { kernel: true, table: main }`,
//! `control/src/rib_kernel.rs`). Routes added with `ip route` in mrouter's namespace through
//! the kernel twins decide a source's incoming interface; when the route moves, the entry's
//! incoming interface follows; when it is deleted, the entry becomes negative.
//!
//! Needs root (network namespaces).

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const SOURCE: &str = "10.99.0.5";
const GROUP: &str = "239.7.7.7";

fn ip(lab: &Lab, ns: &str, args: &[&str]) {
    lab.ip_in(ns, args);
}

fn send_from(lab: &Lab, h: u32, count: u32) {
    lab.send_from(h, SOURCE, GROUP, count, 5);
}

/// Waits (generously: the machine is shared) until the entry for (SOURCE, GROUP) satisfies
/// `ok`; returns it.
fn wait_entry(lab: &Lab, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    lab.wait_entry(SOURCE, GROUP, 20, what, ok)
}

fn wait_rpf(lab: &Lab, want: &str) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let rpf = lab.ctl_json(&["show", "rpf", SOURCE]);
        if rpf["interface"] == want {
            return rpf;
        }
        assert!(Instant::now() < end, "show rpf never said {want}: {rpf}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn kernel_routes_decide_the_incoming_interface_and_entries_follow_their_changes() {
    let mut lab = Lab::up("rk");
    lab.igmp = true; // IGMP on if1 and if2: h2's join is the membership
    for h in [0, 1] {
        ip(
            &lab,
            &format!("h{h}"),
            &[
                "addr",
                "add",
                &format!("{SOURCE}/32"),
                "dev",
                &format!("h{h}"),
            ],
        );
    }
    let router = lab.start_router_with("  []", "rpf:\n  kernel: true\n  table: main");
    let before = lab.ctl_json(&["show", "rpf", SOURCE]);
    assert_eq!(
        before["interface"],
        serde_json::Value::Null,
        "no route yet: {before}"
    );

    // A route through if0's twin, as a routing daemon would install it. (A lab link may still
    // be coming up when mrouter starts: the twin follows it, and a route through a twin that
    // is down is refused, so this waits for it.)
    let end = Instant::now() + Duration::from_secs(20);
    while !Command::new("ip")
        .args(["-n", &lab.ns("r"), "route", "add", "10.99.0.0/16"])
        .args(["via", "10.0.1.2", "dev", "if0"])
        .status()
        .unwrap()
        .success()
    {
        assert!(
            Instant::now() < end,
            "ip route add through if0 kept failing"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let rpf = wait_rpf(&lab, "if0");
    assert_eq!(rpf["origin"], "kernel", "{rpf}");
    assert_eq!(rpf["next_hop"], "10.0.1.2", "{rpf}");
    assert_eq!(rpf["prefix"], "10.99.0.0/16", "{rpf}");

    let r2 = lab.receiver(2, GROUP, 4000);
    send_from(&lab, 0, 40);
    let got = r2.finish();
    assert!(
        got.len() >= 20 && got.iter().all(|d| d.from == SOURCE),
        "h2 received h0's traffic from {SOURCE}: {got:?}"
    );
    let entry = wait_entry(&lab, "the entry", |_| true);
    assert_eq!(entry["iif"], "if0", "{entry}");

    // The route moves to if1: the entry's incoming interface follows, and h1's traffic from
    // the same source is forwarded.
    ip(
        &lab,
        "r",
        &[
            "route",
            "replace",
            "10.99.0.0/16",
            "via",
            "10.0.2.2",
            "dev",
            "if1",
        ],
    );
    // (Negative for now if h2's first receiver has left already: the next one joins.)
    wait_entry(&lab, "IIF if1", |e| e["iif"] == "if1");
    let r2 = lab.receiver(2, GROUP, 4000);
    send_from(&lab, 1, 40);
    let got = r2.finish();
    assert!(
        got.len() >= 20 && got.iter().all(|d| d.from == SOURCE),
        "after the move h2 receives h1's traffic: {got:?}"
    );
    let entry = wait_entry(&lab, "forwarding with IIF if1", |e| e["negative"] == false);
    assert_eq!(entry["iif"], "if1", "{entry}");

    // if1's twin goes down (as it does when its port's link does): the kernel removes the
    // routes through it without a message for each; mrouter reads the table again.
    ip(&lab, "r", &["link", "set", "if1", "down"]);
    let end = Instant::now() + Duration::from_secs(20);
    while !lab.ctl_json(&["show", "rpf", SOURCE])["interface"].is_null() {
        assert!(
            Instant::now() < end,
            "the route through the downed twin stayed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_entry(&lab, "negative with the twin down", |e| {
        e["negative"] == true
    });
    ip(&lab, "r", &["link", "set", "if1", "up"]);
    ip(
        &lab,
        "r",
        &[
            "route",
            "add",
            "10.99.0.0/16",
            "via",
            "10.0.2.2",
            "dev",
            "if1",
        ],
    );
    wait_rpf(&lab, "if1");

    // Withdrawn: no route to the source, a negative entry.
    ip(&lab, "r", &["route", "del", "10.99.0.0/16"]);
    wait_entry(&lab, "a negative entry", |e| e["negative"] == true);
    let stats = lab.ctl_json(&["show", "stats"]);
    let c = &stats["control"];
    assert!(
        c["kernel_rib_entries_revalidated"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert!(
        c["kernel_rib_routes_added"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert!(
        c["kernel_rib_routes_removed"].as_u64().unwrap() >= 1,
        "{stats}"
    );

    // A route through an interface mrouter does not own (the router namespace's loopback):
    // the entry is negative.
    ip(&lab, "r", &["route", "add", "10.99.0.0/16", "dev", "lo"]);
    let rpf = wait_rpf(&lab, "-");
    assert_eq!(rpf["origin"], "kernel", "{rpf}");
    let entry = wait_entry(&lab, "still negative", |e| e["negative"] == true);
    assert_eq!(entry["negative"], true);
    drop(router);
}
