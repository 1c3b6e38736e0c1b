//! The text tables `mrouterctl show ...` prints (admin::render), from views built by hand.

use control::admin::model::PortStatsView;
use control::admin::model::*;
use control::admin::render::*;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn route(src: &str, group: &str) -> MrouteView {
    MrouteView {
        source: a(src),
        group: a(group),
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
                out_packets: 1200,
            },
        ],
        uptime_secs: 65.4,
        expires_secs: Some(835.0),
        packets: 1234,
        bytes: 56789,
        wrong_if: 0,
        negative: false,
        origin: "mgm".into(),
    }
}

/// The cells of the line that starts with `first`, split on runs of spaces.
fn cells<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no line starting with {first} in:\n{text}"))
        .split_whitespace()
        .collect()
}

#[test]
fn durations() {
    assert_eq!(duration(0.0), "00:00:00");
    assert_eq!(duration(65.9), "00:01:05");
    assert_eq!(duration(835.0), "00:13:55");
    assert_eq!(duration(86_400.0 + 2.0 * 3600.0 + 180.0), "1d02h03m");
    assert_eq!(duration(-1.0), "-");
    assert_eq!(duration(f64::NAN), "-");
}

#[test]
fn mroute_table() {
    let mut negative = route("10.0.1.9", "239.9.9.9");
    negative.negative = true;
    negative.oifs.clear();
    let mut star = route("0.0.0.0", "239.3.3.3");
    star.origin = "static".into();
    star.expires_secs = None;
    star.upstream = Some(a("10.0.1.254"));
    star.iif = "a-very-long-interface".into();
    let text = mroutes(&[route("10.0.1.2", "239.1.1.1"), negative, star]);
    let header = cells(&text, "Source");
    assert_eq!(
        header,
        [
            "Source",
            "Group",
            "IIF",
            "Upstream",
            "OIFs",
            "(ttl):out",
            "Uptime",
            "Expires",
            "Packets",
            "Bytes",
            "WrongIf",
            "Flags"
        ]
    );
    assert_eq!(
        cells(&text, "10.0.1.2"),
        [
            "10.0.1.2",
            "239.1.1.1",
            "if0",
            "-",
            "if1:1234",
            "if2(>10):1200",
            "00:01:05",
            "00:13:55",
            "1234",
            "56789",
            "0",
            "D"
        ]
    );
    let neg = cells(&text, "10.0.1.9");
    assert_eq!(neg[4], "(negative)");
    assert_eq!(neg.last(), Some(&"DN"));
    let star = cells(&text, "*");
    assert_eq!(
        &star[..4],
        ["*", "239.3.3.3", "a-very-long-interface", "10.0.1.254"]
    );
    assert_eq!(star[7], "never");
    assert_eq!(star.last(), Some(&"S"));
    // Columns line up: every row's Group starts where the header's does.
    let col = |l: &str| l.find("239.").unwrap();
    let header_line = text.lines().find(|l| l.starts_with("Source")).unwrap();
    let group_col = header_line.find("Group").unwrap();
    for l in text.lines().filter(|l| l.contains("239.")) {
        assert_eq!(col(l), group_col, "{text}");
    }
    assert!(text.starts_with("Flags: S - static"));
    assert_eq!(mroutes(&[]), "No multicast routes.\n");
}

#[test]
fn interface_table() {
    let text = interfaces(&[InterfaceView {
        name: "if0".into(),
        index: 0,
        port: "p0".into(),
        vlan: Some(20),
        unknown_vlan: 9,
        device: "net_af_packet0,iface=r0".into(),
        driver: "net_af_packet".into(),
        mac: "02:00:00:00:00:01".into(),
        address: "10.0.1.1/24".into(),
        owner: Some("static".into()),
        twin: Some("if0".into()),
        twin_to_kernel: 5,
        twin_rate_limited: 0,
        twin_refused: 0,
        twin_from_kernel: 5,
        twin_from_kernel_failed: 0,
        rx_packets: 60,
        tx_packets: 0,
        rx_missed: 1,
        rx_nombuf: 2,
        tx_errors: 3,
        mtu: 1500,
        fragments_out: 7,
        link_up: false,
        running: true,
        control_tx: "worker:0".into(),
        start_failures: 0,
        start_error: None,
        restarts: 0,
        control_frames: 4,
        control_refused: 0,
    }]);
    assert_eq!(
        cells(&text, "Name"),
        [
            "Name",
            "Index",
            "Port",
            "VLAN",
            "Driver",
            "MAC",
            "Address",
            "Owner",
            "Link",
            "Twin",
            "CtlTx",
            "MTU",
            "RxPackets",
            "TxPackets",
            "RxMissed",
            "RxNoMbuf",
            "TxErrors",
            "FragsOut",
            "UnknownVlan"
        ]
    );
    assert_eq!(
        cells(&text, "if0"),
        [
            "if0",
            "0",
            "p0",
            "20",
            "net_af_packet",
            "02:00:00:00:00:01",
            "10.0.1.1/24",
            "static",
            "down",
            "if0",
            "worker:0",
            "1500",
            "60",
            "0",
            "1",
            "2",
            "3",
            "7",
            "9"
        ]
    );
    assert_eq!(interfaces(&[]), "No interfaces.\n");
}

#[test]
fn stats_tables() {
    let drops = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    let view = StatsView {
        uptime_secs: 3725.0,
        ports: vec![PortStatsView {
            name: "p0".into(),
            ipackets: 60,
            opackets: 5,
            ibytes: 6000,
            obytes: 500,
            imissed: 1,
            ierrors: 2,
            oerrors: 3,
            rx_nombuf: 4,
        }],
        workers: vec![
            WorkerView {
                lcore: None,
                rx_packets: 10,
                tx_packets: 7,
                drops: drops(&[("ttl_expired", 20), ("no_route", 0)]),
            },
            WorkerView {
                lcore: Some(3),
                rx_packets: 50,
                tx_packets: 40,
                drops: drops(&[("ttl_expired", 0)]),
            },
        ],
        drops: drops(&[("ttl_expired", 20), ("no_route", 0), ("local_control", 18)]),
        control: drops(&[("misses_received", 12), ("reloads_ok", 1)]),
    };
    let text = stats(&view);
    assert!(text.starts_with("Uptime: 01:02:05\n"), "{text}");
    assert_eq!(
        cells(&text, "p0"),
        ["p0", "60", "5", "6000", "500", "1", "2", "3", "4"]
    );
    assert_eq!(cells(&text, "main"), ["main", "10", "7", "ttl_expired=20"]);
    assert_eq!(cells(&text, "3"), ["3", "50", "40", "-"]);
    // Summed drops list every reason, zero included.
    assert_eq!(cells(&text, "no_route"), ["no_route", "0"]);
    assert_eq!(cells(&text, "local_control"), ["local_control", "18"]);
    assert_eq!(cells(&text, "misses_received"), ["misses_received", "12"]);
    let drops_at = text.find("Drops (all workers):").unwrap();
    let control_at = text.find("Control:").unwrap();
    assert!(drops_at < text.find("local_control").unwrap());
    assert!(control_at < text.find("misses_received").unwrap());
}

#[test]
fn rpf_lines() {
    let mut v = RpfView {
        source: a("10.0.1.2"),
        interface: Some("if0".into()),
        next_hop: None,
        prefix: Some("10.0.1.0/24".into()),
        origin: Some("connected".into()),
    };
    assert_eq!(
        rpf(&v),
        "RPF for 10.0.1.2: interface if0, via directly connected 10.0.1.0/24\n"
    );
    v.next_hop = Some(a("10.0.2.254"));
    v.origin = Some("static".into());
    v.prefix = Some("10.9.0.0/16".into());
    assert_eq!(
        rpf(&v),
        "RPF for 10.0.1.2: interface if0, via 10.0.2.254 (static route 10.9.0.0/16)\n"
    );
    v.interface = None;
    assert_eq!(rpf(&v), "RPF for 10.0.1.2: no route\n");
}

#[test]
fn igmp_interface_counters_are_listed_with_snake_case_reject_reasons() {
    use control::protocols::igmp::{InterfaceCounters, RejectReason};
    let counters = InterfaceCounters {
        queries_sent: 3,
        v2_reports: 1,
        rejected: [(RejectReason::NoRouterAlert, 2), (RejectReason::BadTtl, 1)].into(),
        ..InterfaceCounters::default()
    };
    let view = IgmpInterfaceView {
        name: "if1".into(),
        address: "10.0.2.1/24".into(),
        version: 3,
        querier: a("10.0.2.1"),
        is_querier: true,
        next_query_secs: Some(12.0),
        other_querier_expires_secs: None,
        query_interval_secs: 125.0,
        query_response_interval_secs: 10.0,
        robustness: 2,
        groups: 1,
        sources: 0,
        counters: serde_json::to_value(&counters).unwrap(),
    };
    // JSON: the reasons are keys as `show stats` spells its counters.
    assert_eq!(
        view.counters["rejected"],
        serde_json::json!({"bad_ttl": 1, "no_router_alert": 2})
    );
    let text = igmp_interfaces(&[view]);
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        "if1: queries_sent 3, v2_reports 1, rejected bad_ttl 1, rejected no_router_alert 2"
    );
}

#[test]
fn other_responses() {
    assert_eq!(
        response(&Response::Reloaded {
            message: "reloaded: 2 routes".into()
        }),
        "reloaded: 2 routes\n"
    );
    assert_eq!(response(&Response::error("boom")), "error: boom\n");
}

#[test]
fn pim_tables() {
    assert!(pim_interfaces(&[]).contains("PIM runs on no interface"));
    let i = PimInterfaceView {
        name: "if1".into(),
        address: "10.0.2.1/24".into(),
        dr: a("10.0.2.2"),
        is_dr: false,
        dr_priority: 5,
        neighbors: 1,
        hello_interval_secs: 2.0,
        holdtime_secs: 7.0,
        next_hello_secs: 1.5,
        generation_id: 0xdead_beef,
        override_interval_secs: 2.5,
        propagation_delay_secs: 0.5,
        counters: serde_json::json!({
            "hellos_sent": 4, "neighbors_up": 0,
            "rejected": { "bad_checksum": 2 }, "received": { "assert": 0 }
        }),
    };
    let text = pim_interfaces(&[i]);
    assert_eq!(
        cells(&text, "if1"),
        [
            "if1",
            "10.0.2.1/24",
            "10.0.2.2",
            "5",
            "1",
            "2s",
            "00:00:01",
            "0xdeadbeef"
        ]
    );
    assert!(
        text.contains("if1: hellos_sent 4, rejected bad_checksum 2\n"),
        "{text}"
    );
    let n = PimNeighborView {
        interface: "if1".into(),
        address: a("10.0.2.2"),
        uptime_secs: 3725.0,
        expires_secs: Some(6.2),
        holdtime: 7,
        dr_priority: Some(10),
        generation_id: None,
        is_dr: true,
    };
    let text = pim_neighbors(&[n]);
    assert_eq!(
        cells(&text, "if1"),
        ["if1", "10.0.2.2", "01:02:05", "00:00:06", "7", "10", "-", "yes"]
    );
}

#[test]
fn pim_join_rows_show_upstream_and_downstream() {
    let sg = PimJoinView {
        source: "10.0.9.2".into(),
        group: Ipv4Addr::new(232, 1, 1, 1),
        rp: None,
        rpf_interface: "if1".into(),
        upstream: Some(Ipv4Addr::new(10, 0, 2, 3)),
        joined: true,
        next_join_secs: Some(42.0),
        downstream: vec!["if0:prune_pending".into()],
        local: vec!["if2".into()],
        oifs: vec!["if0".into(), "if2".into()],
        spt_bit: true,
        keepalive_secs: Some(205.0),
    };
    let star = PimJoinView {
        source: "*".into(),
        group: Ipv4Addr::new(239, 1, 1, 1),
        rp: Some(Ipv4Addr::new(10, 0, 9, 9)),
        rpf_interface: "-".into(),
        upstream: None,
        joined: false,
        next_join_secs: None,
        downstream: vec![],
        local: vec![],
        oifs: vec![],
        spt_bit: false,
        keepalive_secs: None,
    };
    let text = pim_joins(&[sg, star]);
    assert_eq!(
        cells(&text, "10.0.9.2"),
        [
            "10.0.9.2",
            "232.1.1.1",
            "if1",
            "10.0.2.3",
            "yes",
            "00:00:42",
            "yes",
            "00:03:25",
            "if0:prune_pending,if2:igmp",
            "if0,if2"
        ]
    );
    assert_eq!(
        cells(&text, "*"),
        ["*", "239.1.1.1", "-", "-", "no", "-", "-", "-", "-", "-"]
    );
}

#[test]
fn pim_assert_rows_show_state_winner_metric_and_timer() {
    let a = PimAssertView {
        interface: "if1".into(),
        source: "10.0.9.2".into(),
        group: Ipv4Addr::new(239, 1, 1, 1),
        state: "loser".into(),
        winner: Ipv4Addr::new(10, 0, 2, 7),
        rpt: false,
        metric_preference: 110,
        metric: 20,
        timer_secs: 179.2,
    };
    let text = pim_asserts(&[a]);
    assert_eq!(
        cells(&text, "if1"),
        [
            "if1",
            "10.0.9.2",
            "239.1.1.1",
            "loser",
            "10.0.2.7",
            "no",
            "110",
            "20",
            "00:02:59"
        ]
    );
}

#[test]
fn pim_register_lists_the_drs_state_the_rps_and_the_counters() {
    let v = PimRegisterView {
        dr: vec![PimRegisterRow {
            source: Ipv4Addr::new(10, 0, 3, 2),
            group: Ipv4Addr::new(239, 1, 2, 3),
            interface: "if2".into(),
            rp: Ipv4Addr::new(10, 0, 2, 3),
            state: "Prune".into(),
            stop_timer_secs: Some(41.2),
            keepalive_secs: 205.0,
        }],
        rp: vec![PimRpRegisterRow {
            source: Ipv4Addr::new(10, 0, 9, 2),
            group: Ipv4Addr::new(239, 1, 2, 4),
            from: vec![Ipv4Addr::new(10, 0, 9, 1)],
            last_secs: 3.0,
            spt: true,
        }],
        counters: serde_json::json!({ "registers_sent": 7, "register_stops_received": 1 }),
    };
    let text = pim_register(&v);
    assert_eq!(
        cells(&text, "10.0.3.2"),
        [
            "10.0.3.2",
            "239.1.2.3",
            "if2",
            "10.0.2.3",
            "Prune",
            "00:00:41",
            "00:03:25"
        ]
    );
    assert_eq!(
        cells(&text, "10.0.9.2"),
        ["10.0.9.2", "239.1.2.4", "yes", "00:00:03", "10.0.9.1"]
    );
    assert_eq!(cells(&text, "registers_sent"), ["registers_sent", "7"]);
    assert_eq!(
        cells(&text, "register_stops_received"),
        ["register_stops_received", "1"]
    );
}
