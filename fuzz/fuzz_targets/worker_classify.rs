//! The worker's first stage, `dataplane::worker::classify`: any frame gives a flow or a named
//! drop reason, never a panic; a flow agrees with what the IPv4 view reads.
#![no_main]

use dataplane::wire::{ether, ipv4};
use dataplane::worker::classify;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(flow) = classify(data) {
        let frame = ether::Frame::new_checked(data).expect("classified frames have a header");
        assert_eq!(frame.ethertype(), ether::ETHERTYPE_IPV4);
        let ip = ipv4::Packet::new_checked(frame.payload()).expect("and a checked IPv4 header");
        assert!(ip.verify_checksum());
        assert_eq!(flow.source, ip.src_u32());
        assert_eq!(flow.group, ip.dst_u32());
        assert_eq!(flow.ttl, ip.ttl());
        assert!(ipv4::is_multicast(ip.dst_addr()));
        assert!(!ipv4::is_link_local_multicast(ip.dst_addr()));
        assert!(!matches!(
            ip.protocol(),
            ipv4::PROTOCOL_IGMP | ipv4::PROTOCOL_PIM
        ));
    }
});
