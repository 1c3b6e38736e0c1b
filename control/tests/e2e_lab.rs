//! End to end: real Linux hosts in network namespaces (the kernel's own sockets and IGMP), the
//! real `mrouter` binary on af_packet ports, real packets on veth links.
//!
//! Needs root (network namespaces). Each test makes its own lab with a unique name and removes
//! it when it ends, pass or fail.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

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
    // One new flow went through the miss path: its miss-to-install time was measured.
    assert_eq!(stats["control"]["miss_to_install_count"], 1, "{stats}");
    assert!(
        stats["control"]["miss_to_install_us_max"].as_u64().unwrap() >= 1,
        "{stats}"
    );
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
    // Per-OIF out counts (fed to the MGM once a second): every packet went out if1 (the
    // warm-up's too), only the 20 above the threshold out if2.
    let out = |e: &serde_json::Value, i: usize| e["oifs"][i]["out_packets"].as_u64().unwrap();
    let entry = |v: &serde_json::Value| mroute(v, "10.0.1.2", "239.3.3.3");
    let v = lab.wait_ctl("per-OIF counts", 10, &["show", "mroute"], |v| {
        let e = entry(v);
        e["packets"].as_u64().unwrap() >= 40 && out(&e, 0) >= 40 && out(&e, 1) >= 20
    });
    let e = entry(&v);
    assert_eq!(oif_names(&e), ["if1", "if2"]);
    assert_eq!(out(&e, 0), e["packets"].as_u64().unwrap(), "{e}");
    assert_eq!(out(&e, 1), 20, "{e}");
    let text = lab.ctl(&["show", "mroute"]);
    assert!(
        text.contains(&format!("if1:{} if2(>10):20", out(&e, 0))),
        "{text}"
    );
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
    // The control socket keeps answering during the storm (each answer within mrouterctl's
    // own timeout; how fast is the bench's business, not a test's).
    let mut answers = 0;
    while storm.try_wait().unwrap().is_none() {
        let stats = lab.ctl_json(&["show", "stats"]);
        assert!(stats["control"]["misses_received"].is_u64());
        answers += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(storm.wait().unwrap().success());
    assert!(answers >= 3, "only {answers} answers during the storm");
    assert!(flow.wait().unwrap().success());
    let got = steady.finish();
    std::thread::sleep(Duration::from_millis(300)); // let held storm packets resolve or expire
    let stats = lab.ctl_json(&["show", "stats"]);
    // The established flow's entry has counted what mrouter read of it (its counters reach
    // `show mroute` once a second) and sent every copy on if1, the only traffic there.
    let p1_out = stats["ports"][1]["opackets"].as_u64().unwrap();
    let entry = lab.wait_entry("10.0.1.2", "239.2.2.2", 10, "the flow's counters", |e| {
        e["oifs"][0]["out_packets"].as_u64() == Some(p1_out)
    });
    assert_eq!(entry["packets"].as_u64(), Some(p1_out), "{entry}");
    let out = router.stop();
    // What reached h1 is exactly what mrouter sent: in order, once each, TTL - 1.
    assert_eq!(got.len() as u64, p1_out, "h1 got what if1 sent: {got:?}");
    assert!(
        got.windows(2).all(|w| w[0].seq < w[1].seq) && got.last().is_none_or(|d| d.seq < 1000),
        "in order, once each: {got:?}"
    );
    assert!(got.iter().all(|d| d.ttl == 7 && d.from == "10.0.1.2"));
    // The established flow lost nothing in mrouter: every datagram it read was forwarded.
    // A loaded machine may keep the worker off its CPU while the storm fills r0's af_packet
    // rings (512 frames each); the kernel then drops frames of both, and counts them
    // (`rx-missed`, the rings' `tp_drops`): every frame h0 sent (1000 + 20,000) was read by
    // mrouter or is in that count, and the datagrams h1 missed are among them.
    let (p0_in, p0_missed) = port_line(&out, "p0");
    let lost = 1000 - p1_out;
    eprintln!("storm: p0 read {p0_in}, the kernel dropped {p0_missed}; the flow lost {lost}");
    assert_eq!(
        p0_in + p0_missed,
        1000 + u64::from(sources),
        "every frame h0 sent was read or counted as missed:\n{out}"
    );
    assert!(lost <= p0_missed, "{lost} lost, {p0_missed} missed:\n{out}");
    // Every storm packet mrouter read is accounted for: dropped on its negative entry, or
    // when the pending queue was full, or after waiting for an entry.
    let storm_drops = counter(&out, "no_outgoing")
        + counter(&out, "pending_overflow")
        + counter(&out, "no_route");
    assert_eq!(storm_drops, p0_in - p1_out, "{out}");
    assert!(
        stats["control"]["mfes_installed"].as_u64().unwrap() > 1000,
        "{stats}"
    );
}

/// (rx-packets, rx-missed) of port `name` in mrouter's final statistics.
fn port_line(out: &str, name: &str) -> (u64, u64) {
    out.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 7 && f[1] == name).then(|| (f[2].parse().unwrap(), f[4].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("no port {name} in:\n{out}"))
}

#[test]
fn igmp_joins_from_kernel_hosts_drive_forwarding_and_leaves_stop_it() {
    let mut lab = Lab::up("igmp");
    lab.igmp = true;
    // No route mentions 239.8.8.8: only IGMP membership can make the router forward it.
    let router = lab.start_router(ROUTES);
    // h2's kernel reports the join (IGMPv3) when the socket joins.
    let r2 = lab.receiver(2, "239.8.8.8", 2500);
    let stats = lab.wait_ctl("the join", 10, &["show", "stats"], |v| {
        v["control"]["igmp_joins"].as_u64() >= Some(1)
    });
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
    lab.wait_ctl("the leave", 10, &["show", "mroute"], |v| {
        v.as_array()
            .unwrap()
            .iter()
            .any(|m| m["group"] == "239.8.8.8" && m["oifs"] == serde_json::json!([]))
    });
    let stats = lab.ctl_json(&["show", "stats"]);
    assert!(
        stats["control"]["igmp_leaves"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert_eq!(stats["control"]["igmp_membership_errors"], 0, "{stats}");
    router.stop();
}

#[test]
fn an_active_entry_outlives_its_lifetime_undisturbed_and_an_idle_one_expires_and_comes_back() {
    let lab = Lab::up("life");
    let router = lab.start_router_with(ROUTES, "limits: { entry_lifetime: 2 }");
    lab.warm_up(0, None, "239.1.1.1");
    let steady = lab.receiver(1, "239.1.1.1", 9000);
    // (On another host: h1's socket would also get 239.3.3.3, joined on the same interface.)
    let r3 = lab.receiver(2, "239.3.3.3", 9000);
    // A flow that keeps sending for 6 s (three lifetimes): re-validated in place each time.
    let mut flow = lab.sender(0, "239.1.1.1", 0, 300, 8, 20);
    // A flow that sends a little and stops: its entry is deleted at the end of a lifetime in
    // which it carried nothing.
    lab.send(0, "239.3.3.3", 5, 16);
    let entry_of_3 = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .any(|m| m["group"] == "239.3.3.3")
    };
    assert!(entry_of_3(&lab.ctl_json(&["show", "mroute"])));
    lab.wait_ctl("the idle entry to expire", 15, &["show", "mroute"], |v| {
        !entry_of_3(v)
    });
    let stats = lab.ctl_json(&["show", "stats"]);
    assert!(
        stats["control"]["mgm_expirations"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert!(
        stats["control"]["mfes_deleted"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    let installed = stats["control"]["mfes_installed"].as_u64().unwrap();
    // The flow comes back: a miss again, a new entry, its first packets held and delivered.
    let st = lab.sender(0, "239.3.3.3", 100, 5, 16, 2).wait().unwrap();
    assert!(st.success());
    assert!(flow.wait().unwrap().success());
    let stats = lab.ctl_json(&["show", "stats"]);
    assert_eq!(
        stats["control"]["mfes_installed"].as_u64().unwrap(),
        installed + 1,
        "{stats}"
    );
    assert!(
        stats["control"]["mgm_revalidations"].as_u64().unwrap() >= 2,
        "the steady flow's entry was re-validated: {stats}"
    );
    assert_eq!(
        steady.finish(),
        all(300, 7),
        "the steady flow lost nothing through its entry's re-validations"
    );
    let mut want3 = all(5, 15);
    want3.extend(seqs(100..105, 15));
    assert_eq!(r3.finish(), want3);
    router.stop();
}

#[test]
fn control_nice_applies_to_the_control_core_thread_only() {
    let lab = Lab::up("nice");
    let router = lab.start_router_with(ROUTES, "control: { nice: -5 }");
    let pid = router.child.as_ref().unwrap().id();
    // (comm, nice) of every thread: /proc/PID/task/TID/stat, fields after the `(comm)`.
    let threads: Vec<(String, i64)> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|t| {
            let stat = std::fs::read_to_string(t.unwrap().path().join("stat")).unwrap();
            let (head, rest) = stat.rsplit_once(')').unwrap();
            let comm = head.split_once('(').unwrap().1.to_string();
            // rest: " state ppid ... priority nice": nice is field 19 overall, 17th after comm.
            let nice = rest.split_whitespace().nth(16).unwrap().parse().unwrap();
            (comm, nice)
        })
        .collect();
    let nice_of = |name: &str| {
        threads
            .iter()
            .find(|(c, _)| c.starts_with(name))
            .unwrap_or_else(|| panic!("no thread {name} in {threads:?}"))
            .1
    };
    assert_eq!(nice_of("mrouter"), -5, "the control core: {threads:?}");
    // mrouter inherits the test's own nice (19 under `nice -n 19 scripts/test.sh`).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let started_at: i64 = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(16)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        nice_of("rte-worker"),
        started_at,
        "a worker keeps the nice it was started with: {threads:?}"
    );
    let out = router.stop();
    assert!(out.contains("mrouter: control core at nice -5"), "{out}");
    // The start log names the classifier the workers run (the lab's config leaves
    // `dataplane.avx2` at its default).
    let note = control::daemon::classifier_note(true, dataplane::worker::has_avx2());
    assert!(out.contains(&format!("mrouter: {note}")), "{out}");
}
