//! The generator's packet stamp on frames built by `bench::frames` (here, not beside the stamp
//! code, so that `stamp.rs` does not import `frames.rs`, which imports it).

use bench::frames::{template, FrameSpec};
use bench::stamp::{read, udp_payload_offset, write, Stamp};
use std::net::Ipv4Addr;

#[test]
fn round_trip_plain_and_vlan() {
    for vlan in [None, Some(100)] {
        let spec = FrameSpec {
            source: Ipv4Addr::new(10, 0, 1, 2),
            group: Ipv4Addr::new(239, 1, 1, 1),
            ttl: 16,
            size: 64,
            vlan,
        };
        let mut f = template(&spec);
        assert_eq!(f.len(), if vlan.is_some() { 64 } else { 60 });
        let off = udp_payload_offset(&f).unwrap();
        let st = Stamp {
            stream: 7,
            seq: 123_456,
            tsc: 0xdead_beef_1234,
        };
        write(&mut f, off, st);
        assert_eq!(read(&f), Some(st));
    }
}

#[test]
fn foreign_and_truncated_frames_are_ignored() {
    assert_eq!(read(&[]), None);
    assert_eq!(read(&[0u8; 60]), None);
    let spec = FrameSpec {
        source: Ipv4Addr::new(10, 0, 1, 2),
        group: Ipv4Addr::new(239, 1, 1, 1),
        ttl: 16,
        size: 64,
        vlan: None,
    };
    let f = template(&spec);
    for n in 0..f.len() {
        let _ = read(&f[..n]);
    }
    assert_eq!(read(&f), None, "template has no magic yet");
}
