//! Ethernet and IPv4 views (`dataplane::wire::{ether, ipv4}`): once `new_checked` has passed,
//! every getter and setter must not panic, and `Repr::parse` -> `emit` -> `parse` gives the same
//! header. The input is a whole frame; its bytes after the first 14 are also tried as a bare
//! IPv4 packet, so the fuzzer does not have to get an Ethernet header right first.
#![no_main]

use dataplane::wire::{ether, ipv4};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = ether::Frame::new_checked(data) {
        let _ = (frame.dst_addr(), frame.src_addr(), frame.ethertype());
        let _ = frame.dst_addr().to_string();
        let _ = (
            frame.src_addr().is_multicast(),
            frame.dst_addr().is_broadcast(),
        );
        let payload = frame.payload();
        assert_eq!(payload.len(), data.len() - ether::HEADER_LEN);
        if let Ok(repr) = ether::Repr::parse(&frame) {
            let mut buf = vec![0u8; repr.buffer_len()];
            let mut out = ether::Frame::new_unchecked(&mut buf[..]);
            repr.emit(&mut out);
            assert_eq!(&buf[..], &data[..ether::HEADER_LEN]);
        }
        // Setters on a checked copy.
        let mut copy = data.to_vec();
        let mut f = ether::Frame::new_checked(&mut copy[..]).expect("checked once already");
        f.set_dst_addr(ether::EthernetAddress::BROADCAST);
        f.set_src_addr(ether::multicast_mac(std::net::Ipv4Addr::new(239, 1, 2, 3)));
        f.set_ethertype(ether::ETHERTYPE_IPV4);
        let _ = f.payload_mut().len();
        ipv4_packet(payload);
    }
    ipv4_packet(data);
});

fn ipv4_packet(data: &[u8]) {
    let Ok(p) = ipv4::Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.version(),
        p.header_len(),
        p.dscp_ecn(),
        p.total_len(),
        p.ident(),
    );
    let _ = (
        p.dont_frag(),
        p.more_frags(),
        p.frag_offset(),
        p.is_fragment(),
    );
    let _ = (
        p.ttl(),
        p.protocol(),
        p.checksum(),
        p.src_addr(),
        p.dst_addr(),
    );
    let _ = (
        p.src_u32(),
        p.dst_u32(),
        p.has_router_alert(),
        p.verify_checksum(),
    );
    let header_len = usize::from(p.header_len());
    assert_eq!(p.options().len(), header_len - ipv4::HEADER_LEN);
    assert_eq!(p.header().len(), header_len);
    assert_eq!(p.payload().len(), usize::from(p.total_len()) - header_len);
    let _ = ipv4::is_multicast(p.dst_addr()) && ipv4::is_link_local_multicast(p.dst_addr());

    if let Ok(repr) = ipv4::Repr::parse(&p) {
        assert!(p.verify_checksum() && !p.is_fragment());
        // Emit into a buffer of header + payload: the emitted header must parse to the same
        // Repr (options are dropped, so with and without Router Alert).
        let mut buf = vec![0u8; repr.buffer_len() + repr.payload_len];
        repr.emit(&mut ipv4::Packet::new_unchecked(&mut buf[..]));
        let again = ipv4::Packet::new_checked(&buf[..]).expect("emitted header checks");
        assert_eq!(ipv4::Repr::parse(&again), Ok(repr));
        assert!(!again.has_router_alert());

        let mut buf = vec![0u8; ipv4::ROUTER_ALERT_HEADER_LEN + repr.payload_len];
        repr.emit_with_router_alert(&mut ipv4::Packet::new_unchecked(&mut buf[..]));
        let again = ipv4::Packet::new_checked(&buf[..]).expect("emitted header checks");
        assert_eq!(ipv4::Repr::parse(&again), Ok(repr));
        assert!(again.has_router_alert());
    }

    // Setters on a checked copy: every one must stay in bounds, and a refilled checksum must
    // verify.
    let mut copy = data.to_vec();
    let mut m = ipv4::Packet::new_checked(&mut copy[..]).expect("checked once already");
    let ttl = m.ttl();
    let was_valid = m.verify_checksum();
    let left = m.decrement_ttl();
    assert_eq!(left, ttl.saturating_sub(1));
    if was_valid {
        // The incremental update (RFC 1624) must store exactly what a full recompute would.
        let incremental = m.checksum();
        m.fill_checksum();
        assert_eq!(incremental, m.checksum(), "decrement_ttl from TTL {ttl}");
    }
    m.set_ttl(ttl);
    m.set_dscp_ecn(0xc0);
    m.set_ident(0x1234);
    m.set_dont_frag(true);
    m.set_more_frags(false);
    m.set_frag_offset(0);
    m.clear_flags();
    m.set_protocol(ipv4::PROTOCOL_UDP);
    m.set_src_addr(std::net::Ipv4Addr::new(10, 0, 1, 2));
    m.set_dst_addr(std::net::Ipv4Addr::new(239, 1, 1, 1));
    let _ = m.options_mut().len();
    let _ = m.payload_mut().len();
    m.fill_checksum();
    assert!(m.verify_checksum());
}
