//! End to end: mrouter as an IGMP proxy (RFC 4605). h0's link (if0) is upstream, where a
//! capture in h0's namespace sees what the proxy reports and h0 plays the upstream querier;
//! h1 and h2 are downstream receivers and sources using the kernel's own IGMP.
//!
//! Needs root (network namespaces).

mod common;
use common::*;
use dataplane::wire::{ether, igmp, ipv4};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const G: &str = "239.5.5.5";
const PROXY: &str = "igmp_proxy: { upstream: if0, unsolicited_report_interval: 0.5 }";

/// tcpdump writing IGMP frames seen on h0's link to a pcap file, packet by packet.
struct UpstreamCapture {
    child: Child,
    path: std::path::PathBuf,
}

impl UpstreamCapture {
    fn start(lab: &Lab) -> UpstreamCapture {
        let path = lab.dir.join("upstream.pcap");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &lab.ns("h0"),
                "tcpdump",
                "-U",
                "-n",
                "-i",
                "h0",
            ])
            .arg("-w")
            .arg(&path)
            .arg("igmp")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // tcpdump creates the file once it listens.
        let end = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            assert!(Instant::now() < end, "tcpdump did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        UpstreamCapture { child, path }
    }

    /// The IGMP messages captured so far: (IP source, TTL, router alert, message).
    fn messages(&self) -> Vec<(Ipv4Addr, u8, bool, igmp::Repr)> {
        let data = std::fs::read(&self.path).unwrap_or_default();
        let mut out = Vec::new();
        let mut at = 24; // pcap global header
        while at + 16 <= data.len() {
            let caplen = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
            let Some(frame) = data.get(at + 16..at + 16 + caplen) else {
                break;
            };
            at += 16 + caplen;
            let Ok(eth) = ether::Frame::new_checked(frame) else {
                continue;
            };
            let Ok(ip) = ipv4::Packet::new_checked(eth.payload()) else {
                continue;
            };
            let Ok(p) = igmp::Packet::new_checked(ip.payload()) else {
                continue;
            };
            if let Ok(repr) = igmp::Repr::parse(&p) {
                out.push((ip.src_addr(), ip.ttl(), ip.has_router_alert(), repr));
            }
        }
        out
    }

    /// The v3 group records the router (10.0.1.1) sent, in order.
    fn router_records(&self) -> Vec<igmp::GroupRecordRepr> {
        self.messages()
            .into_iter()
            .filter(|(src, ..)| *src == Ipv4Addr::new(10, 0, 1, 1))
            .flat_map(|(_, ttl, ra, m)| {
                assert_eq!(
                    (ttl, ra),
                    (1, true),
                    "IGMP goes out with TTL 1 and Router Alert"
                );
                match m {
                    igmp::Repr::ReportV3 { records } => records,
                    other => panic!("the proxy sent {other:?}, expected v3 reports"),
                }
            })
            .collect()
    }

    fn wait_for_record(&self, what: &str, t: igmp::RecordType, after: usize) -> usize {
        let g: Ipv4Addr = G.parse().unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let recs = self.router_records();
            if let Some(i) = recs
                .iter()
                .skip(after)
                .position(|r| r.record_type == t && r.group == g)
            {
                return after + i;
            }
            assert!(
                Instant::now() < end,
                "no {what} ({t:?} {G}) upstream; captured: {:?}",
                self.messages()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for UpstreamCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one IGMPv3 general query (Max Resp 1 s) from h0, as an upstream router would: TTL 1,
/// Router Alert, to 224.0.0.1, through the kernel's raw IGMP socket.
fn query_from_h0(lab: &Lab) {
    let script = r#"
import socket, struct
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
msg = bytearray(struct.pack('!BBH4sBBH', 0x11, 10, 0, bytes(4), 2, 125, 0))
struct.pack_into('!H', msg, 2, csum(bytes(msg)))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b'\x94\x04\x00\x00')
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.sendto(bytes(msg), ('224.0.0.1', 0))
"#;
    let st = Command::new("ip")
        .args(["netns", "exec", &lab.ns("h0"), "python3", "-c", script])
        .status()
        .unwrap();
    assert!(st.success(), "the query could not be sent");
}

#[test]
fn igmp_proxy_reports_downstream_members_upstream_and_forwards_both_ways() {
    let mut lab = Lab::up("proxy");
    lab.igmp = true;
    let capture = UpstreamCapture::start(&lab);
    let router = lab.start_router_with("  []", PROXY);

    // h1 joins: its kernel reports to the router on if1; the proxy reports upstream.
    let r1 = lab.receiver(1, G, 15000);
    let proxy = lab.wait_ctl(
        "the proxy's database",
        10,
        &["show", "igmp", "proxy"],
        |v| {
            v["groups"]
                .as_array()
                .is_some_and(|g| g.iter().any(|g| g[0] == G))
        },
    );
    assert_eq!(proxy["upstream"], "if0");
    assert_eq!(proxy["version"], 3);
    let joined = capture.wait_for_record("the join", igmp::RecordType::ChangeToExclude, 0);

    // Both sources' entries are made first (warm-ups, which h1 also receives): the counted
    // traffic is about where the proxy forwards, not about a new flow's first packets, which
    // a loaded machine may hold past the pending queue's hold time.
    lab.warm_up(0, None, G);
    lab.warm_up(2, None, G);
    let up = lab.wait_entry("10.0.1.2", G, 10, "the upstream source's entry", |e| {
        e["iif"] == "if0" && oif_names(e) == ["if1"]
    });
    assert_eq!(up["negative"], false, "{up}");
    lab.wait_entry("10.0.3.2", G, 10, "the downstream source's entry", |e| {
        let mut oifs = oif_names(e);
        oifs.sort();
        e["iif"] == "if2" && oifs == ["if0", "if1"]
    });

    // From upstream (h0) to the downstream member only.
    let r0 = lab.receiver(0, G, 4000);
    let r2 = lab.receiver(2, "239.6.6.6", 4000); // h2 wants another group
    lab.send(0, G, 20, 8);
    // From a downstream source (h2): upstream and to the other downstream member.
    let sender = lab.sender(2, G, 100, 20, 8, 2);
    assert!(sender.wait_with_output().unwrap().status.success());
    let from_h2 = |got: &[Datagram]| {
        got.iter()
            .filter(|d| d.from == "10.0.3.2" && d.seq < 999_999)
            .map(|d| (d.seq, d.ttl))
            .collect::<Vec<_>>()
    };
    let want_h2: Vec<(u32, u8)> = (100..120).map(|s| (s, 7)).collect();
    let got0 = r0.finish();
    assert_eq!(got0.len(), 20, "upstream got only h2's datagrams: {got0:?}");
    assert_eq!(from_h2(&got0), want_h2, "upstream: {got0:?}");
    assert!(r2.finish().is_empty(), "h2 asked for no 239.5.5.5");

    // The upstream querier asks: the proxy answers with its current state.
    query_from_h0(&lab);
    capture.wait_for_record(
        "the answer to a general query",
        igmp::RecordType::ModeIsExclude,
        joined,
    );
    let proxy = lab.ctl_json(&["show", "igmp", "proxy"]);
    assert_eq!(proxy["querier"], "10.0.1.2", "{proxy}");
    assert!(
        proxy["counters"]["queries_received"].as_u64() >= Some(1),
        "{proxy}"
    );

    // h1 leaves: after the last member queries the group goes, and the proxy says so upstream.
    let got1 = r1.finish();
    let from_h0: Vec<(u32, u8)> = got1
        .iter()
        .filter(|d| d.from == "10.0.1.2" && d.seq < 999_999)
        .map(|d| (d.seq, d.ttl))
        .collect();
    let want_h0: Vec<(u32, u8)> = (0..20).map(|s| (s, 7)).collect();
    assert_eq!(from_h0, want_h0, "the downstream member, from h0: {got1:?}");
    assert_eq!(
        from_h2(&got1),
        want_h2,
        "the downstream member, from h2: {got1:?}"
    );
    lab.wait_ctl(
        "the proxy to forget the group",
        10,
        &["show", "igmp", "proxy"],
        |v| v["groups"].as_array().is_some_and(|g| g.is_empty()),
    );
    capture.wait_for_record("the leave", igmp::RecordType::ChangeToInclude, joined);
    // The TO_IN({}) counts as a leave, not as a report (issue #15).
    let proxy = lab.ctl_json(&["show", "igmp", "proxy"]);
    assert!(
        proxy["counters"]["leaves_sent"].as_u64() >= Some(1),
        "{proxy}"
    );
    let stats = lab.ctl_json(&["show", "stats"]);
    assert_eq!(stats["control"]["igmp_send_failed"], 0, "{stats}");
    router.stop();
}

#[test]
fn igmp_proxy_config_errors_stop_the_router_with_the_line() {
    let mut lab = Lab::up("proxybad");
    lab.igmp = true;
    // if1 runs IGMP (router side): it cannot be the upstream.
    let path = lab.write_config_with("  []", "igmp_proxy: { upstream: if1 }");
    let out = Command::new(MROUTER)
        .args(["--", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("igmp_proxy.upstream") && err.contains("if1 has an igmp section"),
        "{err}"
    );
}
