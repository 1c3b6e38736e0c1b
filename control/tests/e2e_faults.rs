//! Faults end to end: the real `mrouter` binary on af_packet ports between namespaced Linux
//! hosts. A port's link goes down and comes back while traffic flows; SIGTERM arrives while a
//! sender is running. mrouter must survive the first (counting what it could not send, and
//! forwarding again once the link is back) and exit cleanly from the second, printing its final
//! counters with no mbuf left in use.
//!
//! Needs root (network namespaces). Each test makes its own lab and removes it when it ends.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const ROUTES: &str = r#"
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 }, { interface: if2 } ] }
"#;

/// `ip link set DEV up|down` on the router's end of a link, inside the lab's router namespace.
fn set_link(lab: &Lab, dev: &str, state: &str) {
    let st = Command::new("ip")
        .args(["-n", &lab.ns("r"), "link", "set", dev, state])
        .status()
        .unwrap();
    assert!(st.success(), "ip link set {dev} {state}");
}

#[test]
fn a_port_whose_link_goes_down_is_left_out_until_it_comes_back_and_nothing_else_is_disturbed() {
    let lab = Lab::up("lnk");
    let mut router = lab.start_router(ROUTES);
    lab.warm_up(0, None, "239.1.1.1");
    let r1 = lab.receiver(1, "239.1.1.1", 12_000);
    let r2 = lab.receiver(2, "239.1.1.1", 12_000);
    // 3000 datagrams, one every 2 ms (6 s at least); the link of if2 is down from 1.5 s to
    // 4.5 s, long enough for more copies than the af_packet tx ring holds (512 frames).
    const COUNT: u32 = 3000;
    let mut sender = lab.sender(0, "239.1.1.1", 0, COUNT, 8, 2);
    std::thread::sleep(Duration::from_millis(1500));
    set_link(&lab, "r2", "down");
    // The control core reads link state every 100 ms and takes the port out of the entries.
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let ifaces = lab.ctl_json(&["show", "interfaces"]);
        if ifaces[2]["link_up"] == false {
            assert_eq!(ifaces[1]["link_up"], true, "{ifaces}");
            break;
        }
        assert!(Instant::now() < end, "if2's link still shown up: {ifaces}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let taken_out = lab.ctl_json(&["show", "stats"]);
    std::thread::sleep(Duration::from_millis(2500));
    let during = lab.ctl_json(&["show", "stats"]);
    set_link(&lab, "r2", "up");
    assert!(sender.wait().unwrap().success());
    let (got1, got2) = (r1.finish(), r2.finish());
    assert!(
        router.child.as_mut().unwrap().try_wait().unwrap().is_none(),
        "mrouter is still running:\n{}",
        router.output()
    );
    let stats = lab.ctl_json(&["show", "stats"]);
    let out = router.stop();

    // The worker never blocked on the down port: if1 lost nothing.
    assert_eq!(got1, all(COUNT, 7), "if1 lost nothing while if2 was down");
    // Once the port was out of the entries, no copy was even tried there: its counters stood
    // still for 2.5 s while if1's went on.
    let p2 = |v: &serde_json::Value, k: &str| v["ports"][2][k].as_u64().unwrap();
    assert_eq!(
        (p2(&during, "opackets"), p2(&during, "oerrors")),
        (p2(&taken_out, "opackets"), p2(&taken_out, "oerrors")),
        "no copy went to the down port"
    );
    assert!(
        during["ports"][1]["opackets"].as_u64() > taken_out["ports"][1]["opackets"].as_u64(),
        "if1 kept forwarding"
    );
    assert_eq!(counter(&out, "tx_full"), 0, "{out}");
    assert!(
        stats["control"]["link_changes"].as_u64() >= Some(2),
        "{stats}"
    );
    assert!(
        out.contains("port 2 link down") && out.contains("port 2 link up"),
        "{out}"
    );
    // Forwarding to if2 resumed: the last datagrams (sent about a second or more after the
    // link came back) all arrived, once each and in order.
    let tail: Vec<u32> = got2
        .iter()
        .map(|d| d.seq)
        .filter(|&s| s >= COUNT - 250)
        .collect();
    assert_eq!(tail, (COUNT - 250..COUNT).collect::<Vec<_>>(), "{got2:?}");
    assert!(got2.windows(2).all(|w| w[0].seq < w[1].seq), "{got2:?}");
    // At most the copies queued before the control core noticed (100 ms, ~50 datagrams) can
    // arrive late, sent by af_packet from its ring when the link came back. The link was down
    // for at least 2.6 s, 1300 datagrams at the sender's pace, but a sender descheduled on a
    // loaded machine sends fewer (914 once in a parallel test run); more missing than the tx
    // ring holds (512) shows the down time was not buffered and replayed.
    let missing = COUNT as usize - got2.len();
    assert!(
        missing > 512,
        "h2 missed the down time: only {missing} missing"
    );
    assert_eq!(counter(&out, "no_mbuf"), 0, "{out}");
    assert_eq!(counter(&out, "mbufs_in_use_at_exit"), 0, "{out}");
}

#[test]
fn sigterm_while_forwarding_exits_cleanly_with_final_counters_and_no_leaked_mbuf() {
    let lab = Lab::up("term");
    let mut router = lab.start_router(ROUTES);
    lab.warm_up(0, None, "239.1.1.1");
    let r1 = lab.receiver(1, "239.1.1.1", 4000);
    let mut sender = lab.sender(0, "239.1.1.1", 0, 5000, 8, 1);
    // Wait until traffic is flowing through the router, then SIGTERM in the middle of it.
    // (300 sent on p1, so that h1 has had at least 200 of them: the warm-up's packet went out
    // on p1 too, before h1 joined.)
    let end = Instant::now() + Duration::from_secs(20);
    while lab.ctl_json(&["show", "stats"])["ports"][1]["opackets"]
        .as_u64()
        .unwrap()
        < 300
    {
        assert!(Instant::now() < end, "no traffic forwarded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut child = router.child.take().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < end, "mrouter did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let still_sending = sender.try_wait().unwrap().is_none();
    let _ = sender.kill();
    let _ = sender.wait();
    let got = r1.finish();
    let out = router.output();
    assert_eq!(status.code(), Some(0), "exit status:\n{out}");
    assert!(still_sending, "SIGTERM came while the sender was running");
    assert!(out.contains("mrouter: stopping"), "{out}");
    assert!(
        out.contains("statistics after"),
        "final counters printed:\n{out}"
    );
    // The final worker counters include everything forwarded before the signal.
    let forwarded: u64 = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("worker "))
        .filter_map(|l| {
            l.split("forwarded-copies ")
                .nth(1)?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(
        forwarded >= 2 * got.len() as u64 && got.len() >= 200,
        "forwarded {forwarded}, h1 received {}:\n{out}",
        got.len()
    );
    assert_eq!(
        counter(&out, "mbufs_in_use_at_exit"),
        0,
        "every mbuf back in the pool at exit:\n{out}"
    );
}

#[test]
fn a_port_whose_kernel_interface_is_down_at_start_joins_forwarding_when_it_comes_up() {
    let lab = Lab::up("ldn");
    set_link(&lab, "r1", "down");
    let router = lab.start_router(ROUTES);
    let ifaces = lab.ctl_json(&["show", "interfaces"]);
    assert_eq!(ifaces[1]["link_up"], false, "{ifaces}");
    assert_eq!(ifaces[2]["link_up"], true, "{ifaces}");
    // Still down some seconds after start: a warning, once.
    let end = Instant::now() + Duration::from_secs(10);
    while !router.output().contains("warning: port 1") {
        assert!(Instant::now() < end, "no warning:\n{}", router.output());
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.warm_up(0, None, "239.1.1.1");
    set_link(&lab, "r1", "up");
    lab.wait_ctl("if1's link up", 10, &["show", "interfaces"], |v| {
        v[1]["link_up"] == true
    });
    let r1 = lab.receiver(1, "239.1.1.1", 3000);
    lab.send(0, "239.1.1.1", 50, 8);
    // (Seen once under load: the warm-up's copy reached h1 first, sent late from the
    // af_packet ring when the link came up; it is not part of what is checked here.)
    let got: Vec<Datagram> = r1
        .finish()
        .into_iter()
        .filter(|d| d.seq != 999_999)
        .collect();
    assert_eq!(got, all(50, 7));
    let out = router.stop();
    assert_eq!(
        out.matches("warning: port 1").count(),
        1,
        "one warning:\n{out}"
    );
    assert_eq!(counter(&out, "mbufs_in_use_at_exit"), 0, "{out}");
}

#[test]
fn frames_the_kernel_drops_while_mrouter_is_stopped_are_counted_as_rx_missed() {
    let lab = Lab::up("miss");
    let router = lab.start_router(ROUTES);
    lab.warm_up(0, None, "239.1.1.1");
    // What the kernel received on r0 (read by mrouter or dropped on a full ring).
    let r0_rx = || {
        let out = Command::new("ip")
            .args(["-n", &lab.ns("r"), "-j", "-s", "link", "show", "r0"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
    };
    // mrouter stopped (as a worker descheduled on a loaded machine): r0's af_packet rings
    // (512 frames each) fill, and the kernel drops the rest. DPDK's af_packet driver does not
    // count those; mrouter reads the kernel's count of them.
    let pid = nix::unistd::Pid::from_raw(router.child.as_ref().unwrap().id() as i32);
    let before = r0_rx();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let sent = lab.sender(0, "239.1.1.1", 0, 3000, 8, 0).wait().unwrap();
    let arrived = r0_rx() - before;
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(sent.success());
    assert!(
        arrived > 2 * 512,
        "only {arrived} of 3000 frames reached r0"
    );
    // Every frame r0 received (the warm-up, the 3000 and anything else h0 sent) was read by
    // mrouter or dropped on a full ring, and counted as one or the other.
    let v = lab.wait_ctl("r0's frames accounted for", 20, &["show", "stats"], |v| {
        let p0 = &v["ports"][0];
        p0["ipackets"].as_u64().unwrap() + p0["imissed"].as_u64().unwrap() == r0_rx()
    });
    let missed = v["ports"][0]["imissed"].as_u64().unwrap();
    assert!(
        missed >= arrived - 2 * 512,
        "{arrived} arrived while stopped: {v}"
    );
    let ifaces = lab.ctl_json(&["show", "interfaces"]);
    assert_eq!(ifaces[0]["rx_missed"], missed, "{ifaces}");
    let out = router.stop();
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().nth(1) == Some("p0")
                && l.split_whitespace().nth(4) == Some(&missed.to_string())),
        "rx-missed in the final statistics:\n{out}"
    );
}
