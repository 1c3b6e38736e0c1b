//! End to end, 802.1Q VLAN interfaces on the lab's af_packet ports. This kernel has no VLAN
//! devices, but veth carries tagged frames: the hosts send raw tagged frames from a packet
//! socket (python3, `AF_PACKET`) and the receivers' links are captured with tcpdump to a pcap
//! file (libpcap puts back the tag the kernel keeps beside the frame), which the test reads
//! byte by byte: each copy's tag, MACs, TTL, header checksum and payload.
//!
//! The lab: port p0 (h0's link) has the untagged interface if0 and VLANs 10 and 11; port p1
//! (h1's link) the untagged if1 and VLANs 20 and 30; port p2 (h2's link) only the untagged
//! if2. Sources send on VLAN 10 of p0.
//!
//! Needs root (network namespaces). Each test makes its own lab with a unique name and removes
//! it when it ends, pass or fail.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sends raw frames from a packet socket: `send.py IFACE COUNT KIND SRC DST TTL TAGS...`,
/// KIND `udp` (payload `vlan-test N`) or `igmp` (an IGMPv2 report for DST with Router
/// Alert), TAGS as `TPID:TCI` in hex, outermost first.
const SENDER: &str = r#"
import socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

iface, count, kind, src, dst, ttl = sys.argv[1:7]
tags = [tuple(int(x, 16) for x in t.split(":")) for t in sys.argv[7:]]
mac = bytes.fromhex(open("/sys/class/net/%s/address" % iface).read().strip().replace(":", ""))
g = socket.inet_aton(dst)
dmac = bytes([0x01, 0x00, 0x5e, g[1] & 0x7f, g[2], g[3]])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
for n in range(int(count)):
    if kind in ("udp", "warm"):
        payload = b"vlan-test %d" % n if kind == "udp" else b"warm-up"
        ulen = 8 + len(payload)
        pseudo = socket.inet_aton(src) + g + struct.pack("!BBH", 0, 17, ulen)
        udp = struct.pack("!HHHH", 5000, 5000, ulen, 0) + payload
        c = csum(pseudo + udp) or 0xffff
        l4 = udp[:6] + struct.pack("!H", c) + udp[8:]
        opts, proto = b"", 17
    else:
        igmp = struct.pack("!BBH4s", 0x16, 0, 0, g)
        l4 = igmp[:2] + struct.pack("!H", csum(igmp)) + igmp[4:]
        opts, proto = b"\x94\x04\x00\x00", 2
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(l4), n + 1, 0,
                      int(ttl), proto, 0, socket.inet_aton(src), g) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    eth = dmac + mac
    for tpid, tci in tags:
        eth += struct.pack("!HH", tpid, tci)
    eth += b"\x08\x00"
    s.send(eth + hdr + l4)
    time.sleep(0.02)
"#;

fn config(lab: &Lab, igmp: bool, routes: &str) -> PathBuf {
    let q = |i: u32| format!("net_af_packet{i},iface=r{i},qpairs=2");
    let igmp = if igmp {
        ", igmp: { query_interval: 5, query_response_interval: 1 }"
    } else {
        ""
    };
    let text = format!(
        r#"eal: ["--no-pci", "--file-prefix", "{prefix}", "--log-level", "*:warning"]
ports:
  - {{ name: p0, device: "{p0}", rx_queues: 2 }}
  - {{ name: p1, device: "{p1}", rx_queues: 2 }}
  - {{ name: p2, device: "{p2}", rx_queues: 2 }}
interfaces:
  - {{ name: if0, port: p0, address: 10.0.1.1/24, kernel_twin: false }}
  - {{ name: v10, port: p0, vlan: 10, address: 10.0.10.1/24 }}
  - {{ name: v11, port: p0, vlan: 11, address: 10.0.11.1/24 }}
  - {{ name: if1, port: p1, address: 10.0.2.1/24, kernel_twin: false }}
  - {{ name: v20, port: p1, vlan: 20, address: 10.0.20.1/24{igmp} }}
  - {{ name: v30, port: p1, vlan: 30, address: 10.0.30.1/24, mtu: 1400{igmp} }}
  - {{ name: if2, port: p2, address: 10.0.3.1/24, kernel_twin: false }}
routes:
{routes}
workers: [1]
"#,
        prefix = lab.prefix,
        p0 = q(0),
        p1 = q(1),
        p2 = q(2),
    );
    let path = lab.dir.join("router.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Host `h` sends `count` frames (see [`SENDER`]).
fn send_raw(lab: &Lab, h: u32, count: u32, kind: &str, src: &str, dst: &str, tags: &[&str]) {
    let script = lab.dir.join("send.py");
    std::fs::write(&script, SENDER).unwrap();
    let iface = format!("h{h}");
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns(&iface), "python3"])
        .arg(&script)
        // IGMP with TTL 1 (RFC 2236 section 2), data with 8.
        .args([iface.as_str(), &count.to_string(), kind, src, dst])
        .arg(if kind == "igmp" { "1" } else { "8" })
        .args(tags)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "send.py on h{h}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Host 0 sends tagged "warm-up" datagrams of (10.0.10.2, `group`), one every 2 s, until the
/// entry has counted one; returns the entry's packet count once settled (counters reach
/// `show mroute` once a second). The tests are about
/// steady forwarding, not a new flow's first packets (those wait in the worker's pending
/// queue for at most 100 ms while the entry is made, which a loaded machine can exceed; CI
/// also once lost a static route's first frames right after start). [`copies`] leaves the
/// warm-up datagrams out.
fn warm_up(lab: &Lab, group: &str, tags: &[&str]) -> u64 {
    let counted = || {
        lab.ctl_json(&["show", "mroute"])
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["source"] == "10.0.10.2" && m["group"] == group)
            .and_then(|m| m["packets"].as_u64())
            .filter(|&n| n > 0)
    };
    let end = Instant::now() + Duration::from_secs(30);
    for tries in 1.. {
        send_raw(lab, 0, 1, "warm", "10.0.10.2", group, tags);
        let t = Instant::now() + Duration::from_secs(2);
        while Instant::now() < t {
            if counted().is_some() {
                if tries > 1 {
                    eprintln!(
                        "warm-up: counted after {tries} datagrams; stats {}",
                        lab.ctl_json(&["show", "stats"])
                    );
                }
                std::thread::sleep(Duration::from_millis(1500));
                return counted().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            Instant::now() < end,
            "no warm-up datagram counted: {} {}",
            lab.ctl_json(&["show", "mroute"]),
            lab.ctl_json(&["show", "stats"])
        );
    }
    unreachable!()
}

/// tcpdump writing host `h`'s link to a pcap file, unbuffered.
struct PcapCapture {
    child: Child,
    path: PathBuf,
}

fn pcap_capture(lab: &Lab, h: u32, name: &str) -> PcapCapture {
    let path = lab.dir.join(format!("{name}.pcap"));
    let child = lab.tcpdump(h, &["-U", "-w", path.to_str().unwrap()], Stdio::null());
    PcapCapture { child, path }
}

impl PcapCapture {
    /// Stops tcpdump (SIGINT: it writes out what it has) and returns the frames.
    fn stop(mut self) -> Vec<Vec<u8>> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.child.wait();
        read_pcap(&self.path)
    }

    /// The frames written so far.
    fn frames(&self) -> Vec<Vec<u8>> {
        read_pcap(&self.path)
    }
}

impl Drop for PcapCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The frames of a classic pcap file (little-endian, as tcpdump writes here); a record cut
/// short at the end (still being written) is left out.
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        if at + 16 + caplen > b.len() {
            break;
        }
        out.push(b[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    out
}

/// A captured copy, parsed: (VLAN ID or none, source MAC, destination MAC, TTL, IP header
/// checksum right, IP identification, payload).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Copy {
    vlan: Option<u16>,
    tci: u16,
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    ttl: u8,
    checksum_ok: bool,
    id: u16,
    payload: Vec<u8>,
}

/// The UDP datagrams to `group` among `frames`, parsed.
fn copies(frames: &[Vec<u8>], group: [u8; 4]) -> Vec<Copy> {
    frames
        .iter()
        .filter_map(|f| {
            let (vlan, tci, ip) = match u16::from_be_bytes([f[12], f[13]]) {
                0x8100 => {
                    let tci = u16::from_be_bytes([f[14], f[15]]);
                    (Some(tci & 0xfff), tci, f.get(18..)?)
                }
                0x0800 => (None, 0, f.get(14..)?),
                _ => return None,
            };
            if ip.len() < 28 || ip[9] != 17 || ip[16..20] != group {
                return None;
            }
            let ihl = usize::from(ip[0] & 0xf) * 4;
            let mut sum = 0u32;
            for k in (0..ihl).step_by(2) {
                sum += u32::from(u16::from_be_bytes([ip[k], ip[k + 1]]));
            }
            while sum >> 16 != 0 {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            if ip.get(ihl + 8..total)? == b"warm-up" {
                return None;
            }
            Some(Copy {
                vlan,
                tci,
                src_mac: f[6..12].try_into().unwrap(),
                dst_mac: f[0..6].try_into().unwrap(),
                ttl: ip[8],
                checksum_ok: sum == 0xffff,
                id: u16::from_be_bytes([ip[4], ip[5]]),
                payload: ip.get(ihl + 8..total)?.to_vec(),
            })
        })
        .collect()
}

/// The MAC address of the router's end of link `i` (the af_packet port's).
fn router_mac(lab: &Lab, i: u32) -> [u8; 6] {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.ns("r"), "cat"])
        .arg(format!("/sys/class/net/r{i}/address"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    bytes.try_into().unwrap()
}

fn interface<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no interface {name} in {list}"))
}

fn drop_count(stats: &serde_json::Value, reason: &str) -> u64 {
    stats["drops"][reason].as_u64().unwrap()
}

const GROUP: [u8; 4] = [239, 1, 1, 1];

#[test]
fn tagged_traffic_is_routed_to_vlans_of_another_port_and_to_an_untagged_port() {
    let lab = Lab::up("vlana");
    let routes = "  - { source: 10.0.10.2, group: 239.1.1.1, iif: v10, oifs: [ { interface: v20 }, { interface: v30 }, { interface: if2 } ] }";
    let path = config(&lab, false, routes);
    let _router = lab.start_router_from(&path);
    let warm = warm_up(&lab, "239.1.1.1", &["8100:a00a"]);
    let h1 = pcap_capture(&lab, 1, "h1");
    let h2 = pcap_capture(&lab, 2, "h2");
    // Priority 5 on the way in: copies leave with priority 0 (software tag insert).
    send_raw(&lab, 0, 20, "udp", "10.0.10.2", "239.1.1.1", &["8100:a00a"]);
    let end = Instant::now() + Duration::from_secs(20);
    while copies(&h2.frames(), GROUP).len() < 20 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let on_h1 = copies(&h1.stop(), GROUP);
    let on_h2 = copies(&h2.stop(), GROUP);

    let group_mac = [0x01, 0x00, 0x5e, 0x01, 0x01, 0x01];
    let expect = |vlan: Option<u16>, mac: [u8; 6], got: &[Copy]| {
        let want: Vec<Copy> = (0..20u16)
            .map(|n| Copy {
                vlan,
                tci: vlan.unwrap_or(0),
                src_mac: mac,
                dst_mac: group_mac,
                ttl: 7,
                checksum_ok: true,
                id: n + 1,
                payload: format!("vlan-test {n}").into_bytes(),
            })
            .collect();
        let mine: Vec<Copy> = got.iter().filter(|c| c.vlan == vlan).cloned().collect();
        assert_eq!(mine, want, "copies with vlan {vlan:?}");
    };
    expect(Some(20), router_mac(&lab, 1), &on_h1);
    expect(Some(30), router_mac(&lab, 1), &on_h1);
    assert_eq!(on_h1.len(), 40, "only VLANs 20 and 30 on p1: {on_h1:?}");
    expect(None, router_mac(&lab, 2), &on_h2);
    assert_eq!(on_h2.len(), 20, "{on_h2:?}");

    let ifaces = lab.ctl_json(&["show", "interfaces"]);
    assert_eq!(interface(&ifaces, "v20")["vlan"], 20);
    assert_eq!(interface(&ifaces, "v20")["port"], "p1");
    assert_eq!(interface(&ifaces, "v30")["mtu"], 1400);
    assert!(interface(&ifaces, "if1")["vlan"].is_null());
    let text = lab.ctl(&["show", "interfaces"]);
    assert!(text.contains("VLAN"), "{text}");
    let entry = lab.wait_entry("10.0.10.2", "239.1.1.1", 10, "copies counted", |e| {
        e["packets"].as_u64() == Some(warm + 20)
    });
    assert_eq!(entry["iif"], "v10", "{entry}");
    assert_eq!(oif_names(&entry), ["v20", "v30", "if2"], "{entry}");
}

/// Router on a stick: from VLAN 10 to VLAN 11 of the same port, back out on the link the
/// frames came in on, tagged 11.
#[test]
fn tagged_traffic_is_routed_between_vlans_of_one_port() {
    let lab = Lab::up("vlans");
    let routes =
        "  - { source: 10.0.10.2, group: 239.1.1.1, iif: v10, oifs: [ { interface: v11 } ] }";
    let path = config(&lab, false, routes);
    let _router = lab.start_router_from(&path);
    warm_up(&lab, "239.1.1.1", &["8100:000a"]);
    let h0 = pcap_capture(&lab, 0, "h0");
    send_raw(&lab, 0, 20, "udp", "10.0.10.2", "239.1.1.1", &["8100:000a"]);
    let back = |frames: &[Vec<u8>]| {
        copies(frames, GROUP)
            .into_iter()
            .filter(|c| c.vlan == Some(11))
            .collect::<Vec<_>>()
    };
    let end = Instant::now() + Duration::from_secs(20);
    while back(&h0.frames()).len() < 20 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let frames = h0.stop();
    let got = back(&frames);
    let mac = router_mac(&lab, 0);
    let want: Vec<Copy> = (0..20u16)
        .map(|n| Copy {
            vlan: Some(11),
            tci: 11,
            src_mac: mac,
            dst_mac: [0x01, 0x00, 0x5e, 0x01, 0x01, 0x01],
            ttl: 7,
            checksum_ok: true,
            id: n + 1,
            payload: format!("vlan-test {n}").into_bytes(),
        })
        .collect();
    assert_eq!(got, want, "copies on VLAN 11 of p0");
    // Nothing went back out on VLAN 10 or untagged.
    let others: Vec<Copy> = copies(&frames, GROUP)
        .into_iter()
        .filter(|c| c.vlan != Some(11) && c.src_mac == mac)
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

#[test]
fn wrong_and_unknown_vlans_are_counted() {
    let lab = Lab::up("vlanb");
    let routes =
        "  - { source: 10.0.10.2, group: 239.1.1.1, iif: v10, oifs: [ { interface: v20 } ] }";
    let path = config(&lab, false, routes);
    let _router = lab.start_router_from(&path);
    let warm = warm_up(&lab, "239.1.1.1", &["8100:000a"]);
    let h1 = pcap_capture(&lab, 1, "h1");
    // The right port, the wrong VLAN (11), then untagged (if0): both wrong-interface.
    send_raw(&lab, 0, 5, "udp", "10.0.10.2", "239.1.1.1", &["8100:000b"]);
    send_raw(&lab, 0, 5, "udp", "10.0.10.2", "239.1.1.1", &[]);
    // VLAN 99 is no interface's; QinQ (an 802.1ad tag around VLAN 10) is not supported.
    send_raw(&lab, 0, 4, "udp", "10.0.10.2", "239.1.1.1", &["8100:0063"]);
    send_raw(
        &lab,
        0,
        3,
        "udp",
        "10.0.10.2",
        "239.1.1.1",
        &["88a8:000a", "8100:000a"],
    );
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = lab.ctl_json(&["show", "stats"]);
        let (wrong, unknown) = (
            drop_count(&stats, "wrong_interface"),
            drop_count(&stats, "unknown_vlan"),
        );
        if wrong >= 10 && unknown >= 7 {
            assert_eq!((wrong, unknown), (10, 7), "{stats}");
            break;
        }
        assert!(
            Instant::now() < end,
            "wrong_interface {wrong}, unknown_vlan {unknown}: {stats}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ifaces = lab.ctl_json(&["show", "interfaces"]);
    assert_eq!(interface(&ifaces, "v10")["unknown_vlan"], 7, "{ifaces}");
    assert_eq!(interface(&ifaces, "if1")["unknown_vlan"], 0, "{ifaces}");
    let entry = lab.wait_entry("10.0.10.2", "239.1.1.1", 10, "wrong-if count", |e| {
        e["wrong_if"].as_u64() == Some(10)
    });
    assert_eq!(
        entry["packets"], warm,
        "only the warm-up datagrams: {entry}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let got = copies(&h1.stop(), GROUP);
    assert!(got.is_empty(), "nothing is forwarded: {got:?}");
}

#[test]
fn an_igmp_report_on_a_vlan_drives_forwarding_to_that_vlan_only() {
    let lab = Lab::up("vlanc");
    let path = config(&lab, true, "  []");
    let _router = lab.start_router_from(&path);
    let h1 = pcap_capture(&lab, 1, "h1");
    // A host on VLAN 20 joins 239.2.2.2 (an IGMPv2 report, tagged).
    send_raw(&lab, 1, 2, "igmp", "10.0.20.2", "239.2.2.2", &["8100:0014"]);
    lab.wait_ctl("the VLAN 20 join", 20, &["show", "igmp", "groups"], |g| {
        g.to_string().contains("239.2.2.2")
    });
    let groups = lab.ctl_json(&["show", "igmp", "groups"]);
    let text = groups.to_string();
    assert!(text.contains("v20") && !text.contains("v30"), "{groups}");
    let warm = warm_up(&lab, "239.2.2.2", &["8100:000a"]);
    send_raw(&lab, 0, 20, "udp", "10.0.10.2", "239.2.2.2", &["8100:000a"]);
    let end = Instant::now() + Duration::from_secs(20);
    let group = [239, 2, 2, 2];
    while copies(&h1.frames(), group).len() < 20 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let frames = h1.stop();
    let got = copies(&frames, group);
    assert_eq!(got.len(), 20, "{got:?}");
    assert!(got
        .iter()
        .all(|c| c.vlan == Some(20) && c.ttl == 7 && c.checksum_ok));
    // The router's queries go out tagged on both VLAN interfaces running IGMP.
    let queries: Vec<u16> = frames
        .iter()
        .filter(|f| f.len() > 18 && f[12..14] == [0x81, 0x00] && f[18 + 9] == 2)
        .map(|f| u16::from_be_bytes([f[14], f[15]]) & 0xfff)
        .collect();
    assert!(
        queries.contains(&20) && queries.contains(&30),
        "tagged IGMP from the router: {queries:?}"
    );
    let entry = lab.wait_entry("10.0.10.2", "239.2.2.2", 10, "the entry", |e| {
        e["packets"].as_u64() == Some(warm + 20)
    });
    assert_eq!(oif_names(&entry), ["v20"], "{entry}");
}

/// mrouter refuses bad VLAN configurations before DPDK starts, naming file, line and field.
#[test]
fn vlan_config_errors_name_their_line() {
    let dir = std::env::temp_dir().join(format!("mrouter-vlan-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = "ports:
  - { name: p0, device: net_null0 }
interfaces:
  - { name: a, port: p0, address: 10.0.1.1/24 }
  - { name: b, port: p0, vlan: 20, address: 10.0.2.1/24 }
";
    let cases = [
        ("vlan: 20", "vlan: 0", 5, "interfaces[1].vlan", "out of range 1..=4094"),
        ("vlan: 20", "vlan: 4095", 5, "interfaces[1].vlan", "out of range 1..=4094"),
        (
            "vlan: 20, address: 10.0.2.1/24 }",
            "vlan: 20, address: 10.0.2.1/24 }\n  - { name: c, port: p0, vlan: 20, address: 10.0.3.1/24 }",
            6,
            "interfaces[2].vlan",
            "port p0 already has interface b on VLAN 20",
        ),
        (
            "port: p0, vlan: 20,",
            "port: p0,",
            5,
            "interfaces[1].port",
            "port p0 already has untagged interface a",
        ),
        (
            "device: net_null0 }",
            "device: net_null0, mtu: 2034 }",
            2,
            "ports[0].mtu",
            "needs tagged frames of 2052 bytes",
        ),
        (
            "vlan: 20,",
            "vlan: 20, kernel_twin: true,",
            5,
            "interfaces[1].kernel_twin",
            "a VLAN interface has no kernel twin",
        ),
    ];
    for (k, (from, to, line, field, words)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("bad{k}.yaml"));
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        let out = Command::new(MROUTER)
            .args(["--no-pci", "--", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "case {k}: {stderr}");
        let want = format!("mrouter: {}:{line}: {field}: ", path.display());
        assert!(
            stderr.starts_with(&want),
            "case {k}: want {want:?}, got {stderr:?}"
        );
        assert!(
            stderr.contains(words),
            "case {k}: want {words:?} in {stderr:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
