//! End to end, on the lab's af_packet ports: datagrams larger than a link, as real hosts send
//! them. The sender's kernel fragments what does not fit its own link; DPDK 22.11's af_packet
//! driver hands mrouter the datagram the router namespace's kernel reassembled (its socket
//! fan-out group defragments), in one jumbo mbuf; mrouter sends it on as fragments that fit
//! each outgoing interface, or whole where it fits, or not at all when Don't Fragment is set
//! (counted `mtu_exceeded`). Receivers are the kernel's own sockets, which check the datagram's
//! length and its padding pattern (`mcast-probe --size`).
//!
//! Needs root (network namespaces). Each test makes its own lab with a unique name and removes
//! it when it ends, pass or fail.

mod common;
use common::*;
use std::process::Command;

/// Ring frames of 10,240 bytes (two per 20 KiB block): a frame holds a 10,192-byte packet
/// with its Ethernet header; the mbufs hold what the ring does.
const JUMBO_PORTS: &str = ",blocksz=20480,framesz=10240,framecnt=512";
const JUMBO_MBUFS: &str = "dataplane: { mbuf_data_room: 10240 }";

const ROUTES: &str = r#"
  - { group: 239.1.1.1, iif: if0, oifs: [ { interface: if1 }, { interface: if2 } ] }
  - { group: 239.5.5.5, iif: if0, oifs: [ { interface: if1 } ] }
"#;

fn jumbo_lab(name: &str) -> Lab {
    let mut lab = Lab::up(name);
    lab.port_args = JUMBO_PORTS.into();
    lab
}

/// Sets the MTU of link `i` at both ends (router side `r{i}`, host side `h{i}`).
fn set_link_mtu(lab: &Lab, i: u32, mtu: u32) {
    for (ns, dev) in [
        ("r".to_string(), format!("r{i}")),
        (format!("h{i}"), format!("h{i}")),
    ] {
        let st = Command::new("ip")
            .args([
                "-n",
                &lab.ns(&ns),
                "link",
                "set",
                &dev,
                "mtu",
                &mtu.to_string(),
            ])
            .status()
            .unwrap();
        assert!(st.success(), "ip link set {dev} mtu {mtu}");
    }
}

/// Host `h` sends `count` datagrams of `size` bytes to `group` with TTL 8, 20 ms apart, from
/// sequence `start`; `df`: `Some("on")`/`Some("off")` or the kernel's default.
fn send_sized(
    lab: &Lab,
    h: u32,
    group: &str,
    start: u32,
    count: u32,
    size: usize,
    df: Option<&str>,
) {
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &lab.ns(&format!("h{h}")),
        PROBE,
        "send",
        "--group",
        group,
    ])
    .args([
        "--count",
        &count.to_string(),
        "--start-seq",
        &start.to_string(),
    ])
    .args([
        "--ttl",
        "8",
        "--interval-ms",
        "20",
        "--size",
        &size.to_string(),
    ]);
    if let Some(df) = df {
        cmd.args(["--df", df]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "sender: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `show interfaces --json`: (mtu, fragments_out) of interface `name`.
fn mtu_and_fragments(lab: &Lab, name: &str) -> (u64, u64) {
    let list = lab.ctl_json(&["show", "interfaces"]);
    let i = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"));
    (
        i["mtu"].as_u64().unwrap(),
        i["fragments_out"].as_u64().unwrap(),
    )
}

/// Every datagram `start..start+count` arrived once, in order, whole (`size` bytes, padding
/// intact), with TTL 7.
fn assert_whole(got: &[(Datagram, Option<usize>)], start: u32, count: u32, size: usize) {
    let seqs: Vec<u32> = got.iter().map(|(d, _)| d.seq).collect();
    assert_eq!(seqs, (start..start + count).collect::<Vec<_>>(), "{got:?}");
    for (d, len) in got {
        assert_eq!(
            (d.ttl, d.from.as_str(), *len),
            (7, "10.0.1.2", Some(size)),
            "{got:?}"
        );
    }
}

/// 4,000-byte datagrams, fragmented by the sender for its 1,500 link, reach both receivers
/// whole with TTL decremented: mrouter gets them reassembled and fragments them again, for
/// if1's 1,500 (three fragments each) and for if2's configured interface MTU of 1,000 (five).
#[test]
fn fragmented_datagrams_from_a_host_are_delivered_with_ttl_decremented() {
    let lab = jumbo_lab("frag");
    let path = lab.write_config_with(ROUTES, JUMBO_MBUFS);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("address: 10.0.3.1/24", "address: 10.0.3.1/24, mtu: 1000");
    std::fs::write(&path, text).unwrap();
    let _router = lab.start_router_from(&path);
    assert_eq!(mtu_and_fragments(&lab, "if1"), (1500, 0));
    assert_eq!(mtu_and_fragments(&lab, "if2"), (1000, 0));
    // The entry exists before the datagrams come: this test is about their fragments, not
    // a new flow's first packets (held 100 ms, which a loaded CI machine can exceed).
    lab.warm_up(0, None, "239.1.1.1");
    let r1 = lab.receiver(1, "239.1.1.1", 4000);
    let r2 = lab.receiver(2, "239.1.1.1", 4000);
    send_sized(&lab, 0, "239.1.1.1", 0, 10, 4000, None);
    assert_whole(&r1.finish_sized(), 0, 10, 4000);
    assert_whole(&r2.finish_sized(), 0, 10, 4000);
    assert_eq!(mtu_and_fragments(&lab, "if1"), (1500, 30));
    assert_eq!(mtu_and_fragments(&lab, "if2"), (1000, 50));
    // The same through DPDK telemetry (refreshed once a second).
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let tel = lab.telemetry("/mrouter/interfaces");
    let line = |name: &str| {
        tel.as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l.as_str())
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {tel}"))
            .to_string()
    };
    assert!(
        line("if1 ").ends_with(" mtu 1500 fragments_out 30"),
        "{tel}"
    );
    assert!(
        line("if2 ").ends_with(" mtu 1000 fragments_out 50"),
        "{tel}"
    );
    let stats = lab.ctl_json(&["show", "stats"]);
    for reason in [
        "bad_header",
        "mtu_exceeded",
        "fragment_no_mbuf",
        "fragment_refused",
    ] {
        assert_eq!(stats["drops"][reason], 0, "{reason}: {stats}");
    }
}

/// With a 9,000 link to the sender, 1,473-byte datagrams (1,501 bytes of IPv4) reach mrouter
/// whole. Don't Fragment clear: fragmented for if1's 1,500 and delivered; set
/// (`IP_PMTUDISC_DO`): not sent, counted `mtu_exceeded`, never delivered.
#[test]
fn datagrams_over_the_link_mtu_are_fragmented_unless_dont_fragment_is_set() {
    let lab = jumbo_lab("df");
    set_link_mtu(&lab, 0, 9000);
    let _router = lab.start_router_with(ROUTES, JUMBO_MBUFS);
    assert_eq!(mtu_and_fragments(&lab, "if0"), (9000, 0));
    lab.warm_up(0, None, "239.5.5.5");
    let r1 = lab.receiver(1, "239.5.5.5", 4000);
    send_sized(&lab, 0, "239.5.5.5", 0, 10, 1473, Some("off"));
    send_sized(&lab, 0, "239.5.5.5", 100, 10, 1473, Some("on"));
    assert_whole(&r1.finish_sized(), 0, 10, 1473);
    assert_eq!(mtu_and_fragments(&lab, "if1"), (1500, 20));
    let stats = lab.ctl_json(&["show", "stats"]);
    assert_eq!(stats["drops"]["mtu_exceeded"], 10, "{stats}");
}

/// 8,000-byte datagrams cross 9,000 links whole (no fragment made on if1). The same
/// datagrams carry Don't Fragment (Linux sets it on datagrams that fit the sender's link),
/// so if2's 1,500 link gets none: counted `mtu_exceeded`, one per datagram.
#[test]
fn jumbo_datagrams_cross_9000_mtu_links_whole() {
    let lab = jumbo_lab("jumbo");
    set_link_mtu(&lab, 0, 9000);
    set_link_mtu(&lab, 1, 9000);
    let _router = lab.start_router_with(ROUTES, JUMBO_MBUFS);
    assert_eq!(mtu_and_fragments(&lab, "if1"), (9000, 0));
    lab.warm_up(0, None, "239.1.1.1");
    let r1 = lab.receiver(1, "239.1.1.1", 4000);
    let r2 = lab.receiver(2, "239.1.1.1", 4000);
    send_sized(&lab, 0, "239.1.1.1", 0, 10, 8000, None);
    assert_whole(&r1.finish_sized(), 0, 10, 8000);
    assert_eq!(r2.finish_sized(), vec![]);
    assert_eq!(mtu_and_fragments(&lab, "if1"), (9000, 0));
    let stats = lab.ctl_json(&["show", "stats"]);
    assert_eq!(stats["drops"]["mtu_exceeded"], 10, "{stats}");
    let ports = stats["ports"].as_array().unwrap();
    assert!(ports[1]["opackets"].as_u64().unwrap() >= 10, "{stats}");
}

/// DPDK 22.11's af_packet driver takes no MTU above 1,500 (its largest frame is 1,518): an
/// `mtu:` it refuses stops mrouter at start, naming the file, the line and the field.
#[test]
fn an_mtu_the_device_refuses_is_a_start_error_naming_the_field() {
    let lab = jumbo_lab("refuse");
    let path = lab.write_config_with(ROUTES, JUMBO_MBUFS);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().position(|l| l.contains("name: p1")).unwrap() + 1;
    let text = text.replacen(
        "rx_queues: 2 }\n  - { name: p2",
        "rx_queues: 2, mtu: 9000 }\n  - { name: p2",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns("r"), MROUTER, "--", "--config"])
        .arg(&path)
        .arg("--socket")
        .arg(lab.socket())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let want = format!(
        "mrouter: {}:{line}: ports[1].mtu: the device cannot take MTU 9000",
        path.display()
    );
    assert!(stderr.contains(&want), "expected {want:?} in {stderr}");
}

/// On `net_af_xdp` ports (XDP sees frames before the kernel's IP layer) the sender's fragments
/// reach mrouter as they were sent and are forwarded unchanged: all three of each 4,000-byte
/// datagram on both links, none fragmented again, and the receivers get the datagrams whole.
#[test]
fn on_af_xdp_ports_fragments_are_forwarded_as_they_arrive() {
    let mut lab = Lab::up("xdp");
    lab.qpairs = 1;
    let path = lab.write_config(ROUTES);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("net_af_packet", "net_af_xdp")
        .replace(",qpairs=1", "");
    std::fs::write(&path, text).unwrap();
    let _router = lab.start_router_from(&path);
    lab.warm_up(0, None, "239.1.1.1");
    let r1 = lab.receiver(1, "239.1.1.1", 4000);
    let r2 = lab.receiver(2, "239.1.1.1", 4000);
    send_sized(&lab, 0, "239.1.1.1", 0, 10, 4000, None);
    assert_whole(&r1.finish_sized(), 0, 10, 4000);
    assert_whole(&r2.finish_sized(), 0, 10, 4000);
    assert_eq!(mtu_and_fragments(&lab, "if1"), (1500, 0));
    assert_eq!(mtu_and_fragments(&lab, "if2"), (1500, 0));
    let stats = lab.ctl_json(&["show", "stats"]);
    let ports = stats["ports"].as_array().unwrap();
    assert!(ports[0]["ipackets"].as_u64().unwrap() >= 30, "{stats}");
    for p in [1, 2] {
        assert!(ports[p]["opackets"].as_u64().unwrap() >= 30, "{stats}");
    }
}
