//! `mrfloor` on real DPDK ports (a `net_pcap` source reading a file once, `net_pcap` sinks
//! writing files): every sink gets every frame, rewritten byte for byte as mrouter rewrites a
//! forwarded copy (io: unchanged; chain: header mbufs chained to the shared payload, which
//! the pcap sinks write out as one frame each). Runs without hugepages (`--no-huge`), as root
//! like every DPDK test of this project.

use bench::frames::{template, FrameSpec};
use dataplane::wire::ipv4;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

const FRAMES: usize = 24;

/// Each sink's MAC and the frames it sent.
type Sinks = Vec<([u8; 6], Vec<Vec<u8>>)>;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mrfloor-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Input frames: 24 senders to 239.1.2.3 with TTL 16, 64 and 300 bytes.
fn input() -> Vec<Vec<u8>> {
    frames_of(&[64, 300])
}

/// 24 frames from 24 senders to 239.1.2.3 with TTL 16, their sizes taking turns from
/// `sizes`; every frame's payload differs (the sender and the size are in it), so a copy
/// carrying another frame's bytes shows.
fn frames_of(sizes: &[u16]) -> Vec<Vec<u8>> {
    (0..FRAMES)
        .map(|i| {
            let mut f = template(&FrameSpec {
                source: Ipv4Addr::new(10, 0, 1, 2 + i as u8),
                group: Ipv4Addr::new(239, 1, 2, 3),
                ttl: 16,
                size: sizes[i % sizes.len()],
                vlan: None,
            });
            for (k, b) in f.iter_mut().enumerate().skip(42) {
                *b = (i as u8).wrapping_mul(31).wrapping_add(k as u8);
            }
            f
        })
        .collect()
}

/// Runs mrfloor with `work` at `fanout` on a pcap source and pcap sinks; gives each sink's
/// MAC and the frames it sent.
fn run(dir: &Path, work: &str, fanout: usize) -> Sinks {
    run_with(dir, work, fanout, &input())
}

/// [`run`] with `frames` as the input.
fn run_with(dir: &Path, work: &str, fanout: usize, frames: &[Vec<u8>]) -> Sinks {
    run_full(dir, work, fanout, frames).0
}

/// [`run_with`], also giving mrfloor's standard output.
fn run_full(dir: &Path, work: &str, fanout: usize, frames: &[Vec<u8>]) -> (Sinks, String) {
    let src = dir.join("in.pcap");
    dataplane::pcap::write_file(&src, frames).expect("write input");
    let prefix = format!("mrfloor-t{}-{work}-{fanout}", std::process::id());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mrfloor"));
    cmd.args([
        "-l",
        "0,1",
        "--no-pci",
        "--no-huge",
        "-m",
        "512",
        "--no-telemetry",
    ])
    .args(["--file-prefix", &prefix, "--vdev"])
    .arg(format!("net_pcap0,rx_pcap={}", src.display()));
    for i in 1..=fanout {
        cmd.arg("--vdev").arg(format!(
            "net_pcap{i},tx_pcap={}",
            dir.join(format!("out{i}.pcap")).display()
        ));
    }
    cmd.args(["--", "--work", work, "--fanout", &fanout.to_string()])
        .args(["--duration", "1"]);
    let out = cmd.output().expect("run mrfloor");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "mrfloor failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sinks = (1..=fanout)
        .map(|i| {
            let mac = stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("mrfloor: sink net_pcap{i} mac ")))
                .unwrap_or_else(|| panic!("no MAC line for sink {i} in {stdout}"));
            let mac: Vec<u8> = mac
                .split(':')
                .map(|h| u8::from_str_radix(h, 16).expect("hex"))
                .collect();
            let frames = dataplane::pcap::read_file(dir.join(format!("out{i}.pcap")))
                .expect("read sink pcap");
            (mac.try_into().expect("6 bytes"), frames)
        })
        .collect();
    (sinks, stdout)
}

/// What mrouter sends for `frame` on a port with MAC `mac`: the group's MAC, the port's, TTL
/// - 1 and a header checksum that still verifies; every other byte unchanged.
fn check_forwarded(sent: &[u8], frame: &[u8], mac: [u8; 6]) {
    assert_eq!(sent.len(), frame.len());
    assert_eq!(sent[..6], [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
    assert_eq!(sent[6..12], mac);
    let ip = ipv4::Packet::new_checked(&sent[14..]).expect("IPv4");
    assert_eq!(ip.ttl(), 15);
    assert!(ip.verify_checksum(), "checksum no longer verifies");
    assert_eq!(sent[12..22], frame[12..22]);
    assert_eq!(sent[23..24], frame[23..24]);
    assert_eq!(sent[26..], frame[26..]);
}

#[test]
fn copy_sends_every_frame_rewritten_to_every_sink() {
    let dir = scratch("copy");
    let sinks = run(&dir, "copy", 3);
    let want = input();
    let macs: Vec<[u8; 6]> = sinks.iter().map(|s| s.0).collect();
    assert!(macs[0] != macs[1] && macs[1] != macs[2], "{macs:?}");
    for (mac, frames) in sinks {
        assert_eq!(frames.len(), FRAMES);
        for (sent, frame) in frames.iter().zip(&want) {
            check_forwarded(sent, frame, mac);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chain_sends_every_frame_rewritten_to_every_sink_at_64_and_1500_bytes() {
    let dir = scratch("chain");
    let want = frames_of(&[64, 1500]);
    for fanout in [2, 3] {
        let (sinks, stdout) = run_full(&dir, "chain", fanout, &want);
        // Every extra copy was a header chain (none fell back to a whole copy).
        assert!(
            stdout.contains("mrfloor: copies made whole instead of chained: 0\n"),
            "{stdout}"
        );
        assert_eq!(sinks.len(), fanout);
        for (mac, frames) in sinks {
            assert_eq!(frames.len(), FRAMES, "fan-out {fanout}");
            for (sent, frame) in frames.iter().zip(&want) {
                check_forwarded(sent, frame, mac);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rewrite_and_io_at_fanout_1() {
    let dir = scratch("rewrite");
    let want = input();
    let [(mac, frames)] = &run(&dir, "rewrite", 1)[..] else {
        panic!("one sink")
    };
    assert_eq!(frames.len(), FRAMES);
    for (sent, frame) in frames.iter().zip(&want) {
        check_forwarded(sent, frame, *mac);
    }
    let [(_, frames)] = &run(&dir, "io", 1)[..] else {
        panic!("one sink")
    };
    assert_eq!(frames, &want, "io changes nothing");
    let _ = std::fs::remove_dir_all(&dir);
}
