//! IPv4 header views: checksums, checked views, builders (moved out of src/).
use dataplane::wire::ipv4::*;
use dataplane::wire::Error;
use std::net::Ipv4Addr;

#[test]
fn checksum_over_32_bit_words_equals_rfc1071_over_16_bit_words() {
    let reference = |d: &[u8]| -> u16 {
        let mut acc: u64 = 0;
        for (i, b) in d.iter().enumerate() {
            acc += u64::from(*b) << if i % 2 == 0 { 8 } else { 0 };
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        !(acc as u16)
    };
    let mut x: u32 = 0x1234_5678;
    for len in 0..=80 {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert_eq!(checksum(&data), reference(&data), "len {len}");
        assert_eq!(checksum(&vec![0xff; len]), reference(&vec![0xff; len]));
    }
}

/// The IPv4 part of a 60-byte frame: 10.0.1.2 -> 239.1.1.1, TTL 16, UDP 5000 -> 5001 with
/// "hello", then 13 bytes of Ethernet padding. Checksum 0xafc8 worked by hand:
/// 4500 + 0021 + 0000 + 0000 + 1011 + 0a00 + 0102 + ef01 + 0101 = 0x15036, folded 0x5037,
/// complemented 0xafc8.
const PACKET: [u8; 46] = [
    0x45, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0xaf, 0xc8, // header
    0x0a, 0x00, 0x01, 0x02, 0xef, 0x01, 0x01, 0x01, // addresses
    0x13, 0x88, 0x13, 0x89, 0x00, 0x0d, 0x00, 0x00, // UDP
    b'h', b'e', b'l', b'l', b'o', // payload
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // Ethernet padding
];

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A valid header of `ihl` words with random contents and a correct checksum, and no payload.
fn random_header(rng: &mut XorShift, ihl: u8) -> Vec<u8> {
    let len = usize::from(ihl) * 4;
    let mut buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
    buf[0] = 0x40 | ihl;
    buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.fill_checksum();
    buf
}

fn full_recompute(buf: &[u8]) -> u16 {
    let mut copy = buf.to_vec();
    let mut p = Packet::new_unchecked(&mut copy[..]);
    p.fill_checksum();
    p.checksum()
}

#[test]
fn parse_capture() {
    let p = Packet::new_checked(&PACKET[..]).unwrap();
    assert_eq!(p.version(), 4);
    assert_eq!(p.header_len(), 20);
    assert_eq!(p.dscp_ecn(), 0);
    assert_eq!(p.total_len(), 33);
    assert_eq!(p.ident(), 0);
    assert!(!p.dont_frag());
    assert!(!p.more_frags());
    assert_eq!(p.frag_offset(), 0);
    assert!(!p.is_fragment());
    assert_eq!(p.ttl(), 16);
    assert_eq!(p.protocol(), PROTOCOL_UDP);
    assert_eq!(p.checksum(), 0xafc8);
    assert!(p.verify_checksum());
    assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 1, 2));
    assert_eq!(p.dst_addr(), Ipv4Addr::new(239, 1, 1, 1));
    assert_eq!(p.src_u32(), 0x0a00_0102);
    assert_eq!(p.dst_u32(), 0xef01_0101);
    assert!(p.options().is_empty());
    assert_eq!(p.header(), &PACKET[..20]);
    // The payload stops at total_len, before the padding.
    assert_eq!(p.payload().len(), 13);
    assert_eq!(&p.payload()[8..], b"hello");
    assert_eq!(full_recompute(&PACKET), 0xafc8);

    let repr = Repr::parse(&p).unwrap();
    assert_eq!(
        repr,
        Repr {
            src_addr: Ipv4Addr::new(10, 0, 1, 2),
            dst_addr: Ipv4Addr::new(239, 1, 1, 1),
            protocol: PROTOCOL_UDP,
            payload_len: 13,
            ttl: 16,
            dscp_ecn: 0,
        }
    );
}

#[test]
fn emit_matches_capture() {
    let repr = Repr::parse(&Packet::new_checked(&PACKET[..]).unwrap()).unwrap();
    assert_eq!(repr.buffer_len(), 20);
    let mut buf = PACKET;
    buf[..20].fill(0xee);
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf, PACKET);
}

#[test]
fn checksum_rfc1071_examples() {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2.
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(checksum_fold(checksum_sum(&data, 0)), 0xddf2);
    assert_eq!(checksum(&data), !0xddf2);
    // An odd trailing byte is padded with zero.
    assert_eq!(checksum(&[0x12]), !0x1200);
    assert_eq!(checksum(&[]), 0xffff);
    // Chaining equals summing the concatenation when the split is at an even offset.
    let sum = checksum_sum(&data[4..], checksum_sum(&data[..4], 0));
    assert_eq!(!checksum_fold(sum), checksum(&data));
}

#[test]
fn setters() {
    let mut buf = [0u8; 40];
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_version(4);
    p.set_header_len(24);
    p.set_total_len(40);
    p.set_dscp_ecn(0xb8);
    p.set_ident(0x1234);
    p.set_dont_frag(true);
    p.set_more_frags(true);
    p.set_frag_offset(1480);
    p.set_ttl(64);
    p.set_protocol(PROTOCOL_IGMP);
    p.set_src_addr(Ipv4Addr::new(192, 0, 2, 1));
    p.set_dst_addr(Ipv4Addr::new(224, 0, 0, 22));
    p.options_mut().copy_from_slice(&[0x94, 0x04, 0x00, 0x00]);
    p.payload_mut()[0] = 0x22;
    p.fill_checksum();
    p.check_len().unwrap();
    assert_eq!(
        (p.version(), p.header_len(), p.total_len(), p.dscp_ecn()),
        (4, 24, 40, 0xb8)
    );
    assert_eq!(p.ident(), 0x1234);
    assert!(p.dont_frag() && p.more_frags() && p.is_fragment());
    assert_eq!(p.frag_offset(), 1480);
    assert_eq!((p.ttl(), p.protocol()), (64, 2));
    assert_eq!(p.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(p.dst_addr(), Ipv4Addr::new(224, 0, 0, 22));
    assert_eq!(p.options(), &[0x94, 0x04, 0, 0]);
    assert_eq!(p.payload().len(), 16);
    assert!(p.verify_checksum());
    p.set_dont_frag(false);
    p.set_more_frags(false);
    assert_eq!(p.frag_offset(), 1480);
    assert!(p.is_fragment());
    p.set_frag_offset(0);
    assert!(!p.is_fragment());
    p.set_dont_frag(true);
    p.clear_flags();
    assert!(!p.dont_frag());
}

#[test]
fn truncated() {
    for len in 0..HEADER_LEN {
        let p = Packet::new_unchecked(&PACKET[..len]);
        assert_eq!(p.check_len(), Err(Error::Truncated), "len {len}");
        assert_eq!(Repr::parse(&p), Err(Error::Truncated));
    }
    // Cut inside the payload: total_len 33 > buffer.
    for len in HEADER_LEN..33 {
        let p = Packet::new_unchecked(&PACKET[..len]);
        assert_eq!(p.check_len(), Err(Error::BadTotalLen), "len {len}");
    }
    for len in 33..=PACKET.len() {
        Packet::new_checked(&PACKET[..len]).unwrap();
    }
}

#[test]
fn malformed_headers() {
    for version in [0u8, 1, 5, 6, 15] {
        let mut buf = PACKET;
        buf[0] = (version << 4) | 5;
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadVersion));
    }
    for ihl in 0..5u8 {
        let mut buf = PACKET;
        buf[0] = 0x40 | ihl;
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadHeaderLen));
    }
    // IHL * 4 beyond the buffer.
    let mut buf = PACKET;
    buf[0] = 0x4f; // 60 bytes > 46
    assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadHeaderLen));
    let mut buf = [0u8; 24];
    buf[..20].copy_from_slice(&PACKET[..20]);
    buf[0] = 0x47; // 28 bytes > 24
    assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadHeaderLen));
    // Total length below the header length.
    for total in [0u16, 1, 19] {
        let mut buf = PACKET;
        buf[2..4].copy_from_slice(&total.to_be_bytes());
        assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadTotalLen));
    }
    let mut buf = PACKET;
    buf[0] = 0x46; // 24-byte header, total_len 20
    buf[2..4].copy_from_slice(&20u16.to_be_bytes());
    assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadTotalLen));
    // Total length beyond the buffer.
    let mut buf = PACKET;
    buf[2..4].copy_from_slice(&47u16.to_be_bytes());
    assert_eq!(Packet::new_checked(&buf[..]), Err(Error::BadTotalLen));
    // Exactly the buffer, and header only, are fine.
    buf[2..4].copy_from_slice(&46u16.to_be_bytes());
    assert_eq!(Packet::new_checked(&buf[..]).unwrap().payload().len(), 26);
    buf[2..4].copy_from_slice(&20u16.to_be_bytes());
    assert!(Packet::new_checked(&buf[..]).unwrap().payload().is_empty());
}

#[test]
fn bad_checksum() {
    let mut buf = PACKET;
    buf[11] ^= 0x01;
    let p = Packet::new_checked(&buf[..]).unwrap();
    assert!(!p.verify_checksum());
    assert_eq!(Repr::parse(&p), Err(Error::BadChecksum));
    // A change anywhere in the header is caught, a change in the payload is not.
    for i in 0..20 {
        let mut buf = PACKET;
        buf[i] ^= 0x10;
        let p = Packet::new_unchecked(&buf[..]);
        assert!(!p.verify_checksum(), "byte {i}");
    }
    let mut buf = PACKET;
    buf[30] ^= 0xff;
    assert!(Packet::new_checked(&buf[..]).unwrap().verify_checksum());
}

#[test]
fn options() {
    let mut rng = XorShift(7);
    for ihl in 6..=15u8 {
        let header_len = usize::from(ihl) * 4;
        let mut buf = random_header(&mut rng, ihl);
        buf.extend_from_slice(b"payload");
        buf[2..4].copy_from_slice(&((header_len + 7) as u16).to_be_bytes());
        buf[6..8].copy_from_slice(&[0, 0]);
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.fill_checksum();
        assert_eq!(usize::from(p.header_len()), header_len);
        assert_eq!(p.options().len(), header_len - 20);
        assert_eq!(p.payload(), b"payload");
        assert!(p.verify_checksum());
        // The checksum covers the options.
        p.options_mut()[0] ^= 1;
        assert!(!p.verify_checksum());
        p.options_mut()[0] ^= 1;
        let repr = Repr::parse(&p).unwrap();
        assert_eq!(repr.payload_len, 7);
    }
}

#[test]
fn fragments() {
    let mut buf = PACKET;
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.set_more_frags(true);
    p.fill_checksum();
    assert!(p.is_fragment() && p.more_frags());
    assert_eq!(Repr::parse(&p), Err(Error::Fragment));
    p.set_more_frags(false);
    p.set_frag_offset(8);
    p.fill_checksum();
    assert!(p.is_fragment());
    assert_eq!(p.frag_offset(), 8);
    assert_eq!(Repr::parse(&p), Err(Error::Fragment));
    // Last fragment at the highest offset.
    p.set_frag_offset(0xfff8);
    assert_eq!(p.frag_offset(), 0xfff8);
    assert!(p.is_fragment());
    p.set_frag_offset(0);
    p.set_dont_frag(true);
    p.fill_checksum();
    assert!(!p.is_fragment());
    assert!(Repr::parse(&p).is_ok());
}

#[test]
fn ttl_zero_and_one() {
    for ttl in [0u8, 1] {
        let mut buf = PACKET;
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_ttl(ttl);
        p.fill_checksum();
        assert_eq!(p.ttl(), ttl);
        assert_eq!(Repr::parse(&p).unwrap().ttl, ttl);
    }
    let mut buf = PACKET;
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.set_ttl(1);
    p.fill_checksum();
    assert_eq!(p.decrement_ttl(), 0);
    assert_eq!(p.ttl(), 0);
    assert!(p.verify_checksum());
    assert_eq!(p.checksum(), full_recompute(&buf));
    // TTL 0 is left alone.
    let before = buf;
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    assert_eq!(p.decrement_ttl(), 0);
    assert_eq!(buf, before);
}

/// The incremental update depends only on the stored checksum, so walking the ident through
/// all 65,536 values (which walks the checksum through every canonical value 0x0000..=0xFFFE)
/// tests every case; the negative-zero form 0xFFFF is tested where it is a valid encoding.
#[test]
fn decrement_ttl_every_checksum_value() {
    let mut buf = PACKET;
    buf[8] = 200;
    let mut seen = vec![false; 0x10000];
    let mut negative_zero_cases = 0;
    for ident in 0..=u16::MAX {
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_ident(ident);
        p.set_ttl(200);
        p.fill_checksum();
        let check = p.checksum();
        seen[usize::from(check)] = true;
        let mut dec = buf;
        let mut q = Packet::new_checked(&mut dec[..]).unwrap();
        assert_eq!(q.decrement_ttl(), 199);
        assert!(q.verify_checksum());
        let incremental = q.checksum();
        assert_eq!(incremental, full_recompute(&dec), "ident {ident:#x}");
        if check == 0 {
            // Same header with the checksum stored as negative zero: still valid, and the
            // decrement still lands on the canonical value.
            let mut neg = buf;
            let mut q = Packet::new_checked(&mut neg[..]).unwrap();
            q.set_checksum(0xffff);
            assert!(q.verify_checksum());
            q.decrement_ttl();
            let incremental = q.checksum();
            assert_eq!(incremental, full_recompute(&neg));
            negative_zero_cases += 1;
        }
        if check == 0xfeff {
            // Old + 0x0100 is exactly 0xFFFF: must be stored as 0x0000, like a recompute.
            assert_eq!(full_recompute(&dec), 0x0000);
            assert_eq!(Packet::new_unchecked(&dec[..]).checksum(), 0x0000);
        }
    }
    // A full recompute never yields 0xFFFF for a non-zero header; every other value occurs.
    assert!(!seen[0xffff]);
    assert_eq!(seen.iter().filter(|s| **s).count(), 0xffff);
    assert_eq!(negative_zero_cases, 1);
}

/// Random headers with and without options, every TTL 255..=1, each step compared to a full
/// recompute (so the checks chain through the decrement's own output).
#[test]
fn decrement_ttl_matches_full_recompute() {
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    for i in 0..600 {
        let ihl = 5 + (i % 11) as u8;
        let mut buf = random_header(&mut rng, ihl);
        // Fresh start at every TTL ...
        for ttl in 1..=255u8 {
            let mut copy = buf.clone();
            let mut p = Packet::new_checked(&mut copy[..]).unwrap();
            p.set_ttl(ttl);
            p.fill_checksum();
            p.decrement_ttl();
            assert_eq!(p.ttl(), ttl - 1);
            assert_eq!(p.checksum(), full_recompute(&copy));
        }
        // ... and a chain from 255 down to 0.
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.set_ttl(255);
        p.fill_checksum();
        for ttl in (0..255u8).rev() {
            let mut p = Packet::new_checked(&mut buf[..]).unwrap();
            assert_eq!(p.decrement_ttl(), ttl);
            assert!(p.verify_checksum());
            assert_eq!(p.checksum(), full_recompute(&buf));
        }
    }
}

#[test]
fn multicast_ranges() {
    let mc = |a, b, c, d| is_multicast(Ipv4Addr::new(a, b, c, d));
    let ll = |a, b, c, d| is_link_local_multicast(Ipv4Addr::new(a, b, c, d));
    assert!(mc(224, 0, 0, 0) && mc(239, 255, 255, 255) && mc(232, 1, 1, 1));
    assert!(!mc(223, 255, 255, 255) && !mc(240, 0, 0, 0) && !mc(10, 0, 1, 2));
    assert!(ll(224, 0, 0, 1) && ll(224, 0, 0, 22) && ll(224, 0, 0, 255));
    assert!(!ll(224, 0, 1, 1) && !ll(239, 1, 1, 1) && !ll(225, 0, 0, 1));
}

fn touch_everything(buf: &mut [u8]) {
    let p = Packet::new_unchecked(&*buf);
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
        p.options(),
        p.payload(),
        p.header(),
    );
    let _ = (p.verify_checksum(), Repr::parse(&p));
    let mut p = Packet::new_unchecked(&mut *buf);
    p.set_dscp_ecn(1);
    p.set_ident(2);
    p.set_dont_frag(true);
    p.set_more_frags(true);
    p.set_frag_offset(16);
    p.set_ttl(3);
    p.set_protocol(4);
    p.set_src_addr(Ipv4Addr::BROADCAST);
    p.set_dst_addr(Ipv4Addr::UNSPECIFIED);
    let _ = p.options_mut();
    let _ = p.payload_mut();
    p.fill_checksum();
    p.decrement_ttl();
    p.clear_flags();
    p.set_checksum(0);
}

#[test]
fn random_buffers_never_panic() {
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    let mut ok = 0;
    for i in 0..200_000usize {
        let len = i % 80;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        // Half the buffers get a plausible first byte and total length, so many pass.
        if i % 2 == 0 && len >= 4 {
            buf[0] = 0x40 | (rng.byte() & 0x0f);
            let total = rng.below(len + 2) as u16;
            buf[2..4].copy_from_slice(&total.to_be_bytes());
        }
        if Packet::new_checked(&buf[..]).is_ok() {
            ok += 1;
            touch_everything(&mut buf);
            assert!(Packet::new_checked(&buf[..]).is_ok());
        }
    }
    assert!(ok > 10_000, "only {ok} buffers passed check_len");
}

// Router Alert (RFC 2113) option checks.

/// An IGMPv2 report from 10.0.2.2 to 239.1.1.1 as Linux sends it: TTL 1, IHL 6 with the
/// Router Alert `94 04 00 00`, DSCP 0xc0. Header checksum by hand: 46c0 + 0020 + 0000 +
/// 0000 + 0102 + 0a00 + 0202 + ef01 + 0101 + 9404 + 0000 = 0x1d7ea, folded 0xd7eb,
/// complemented 0x2814. IGMP checksum: 1600 + 0000 + ef01 + 0101 = 0x10602, folded 0x0603,
/// complemented 0xf9fc.
const REPORT: [u8; 32] = [
    0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x28, 0x14, // header
    0x0a, 0x00, 0x02, 0x02, 0xef, 0x01, 0x01, 0x01, // addresses
    0x94, 0x04, 0x00, 0x00, // Router Alert
    0x16, 0x00, 0xf9, 0xfc, 0xef, 0x01, 0x01, 0x01, // IGMPv2 report 239.1.1.1
];

#[test]
fn router_alert_capture() {
    let p = Packet::new_checked(&REPORT[..]).unwrap();
    assert!(p.verify_checksum());
    assert!(p.has_router_alert());
    assert_eq!(p.payload().len(), 8);
    // A plain 20-byte header has none.
    let mut plain = [0u8; 20];
    Repr {
        src_addr: Ipv4Addr::new(10, 0, 2, 2),
        dst_addr: Ipv4Addr::new(224, 0, 0, 1),
        protocol: PROTOCOL_IGMP,
        payload_len: 0,
        ttl: 1,
        dscp_ecn: 0,
    }
    .emit(&mut Packet::new_unchecked(&mut plain[..]));
    assert!(!Packet::new_checked(&plain[..]).unwrap().has_router_alert());
}

#[test]
fn emit_with_router_alert_matches_capture() {
    let repr = Repr::parse(&Packet::new_checked(&REPORT[..]).unwrap()).unwrap();
    assert_eq!(repr.payload_len, 8);
    let mut buf = REPORT;
    buf[..24].fill(0xee);
    repr.emit_with_router_alert(&mut Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf, REPORT);
}

fn with_options(opts: &[u8]) -> Vec<u8> {
    let header_len = 20 + opts.len();
    let mut buf = vec![0u8; header_len];
    buf[0] = 0x40 | (header_len / 4) as u8;
    buf[2..4].copy_from_slice(&(header_len as u16).to_be_bytes());
    buf[20..].copy_from_slice(opts);
    buf
}

#[test]
fn router_alert_option_walk() {
    let ra = |opts: &[u8]| {
        let buf = with_options(opts);
        Packet::new_checked(&buf[..]).unwrap().has_router_alert()
    };
    assert!(ra(&[148, 4, 0, 0]));
    // After NOPs, and after another option.
    assert!(ra(&[1, 1, 1, 1, 148, 4, 0, 0]));
    assert!(ra(&[7, 4, 9, 9, 148, 4, 0, 0]));
    // After end-of-list it does not count.
    assert!(!ra(&[0, 0, 0, 0, 148, 4, 0, 0]));
    // Wrong length, non-zero value, malformed lengths.
    assert!(!ra(&[148, 2, 0, 0]));
    assert!(!ra(&[148, 4, 0, 1]));
    assert!(!ra(&[7, 0, 148, 4]));
    assert!(!ra(&[7, 9, 148, 4]));
    assert!(!ra(&[1, 1, 1, 148]));
    assert!(!ra(&[1, 1, 1, 1]));
}

#[test]
fn router_alert_random_options_never_panic() {
    let mut x = 0x1234_5678_9abc_def1u64;
    for i in 0..50_000usize {
        let words = 1 + i % 10;
        let opts: Vec<u8> = (0..words * 4)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Bias toward the interesting option types.
                [0u8, 1, 148, 4, x as u8][(x >> 32) as usize % 5]
            })
            .collect();
        let buf = with_options(&opts);
        let _ = Packet::new_checked(&buf[..]).unwrap().has_router_alert();
    }
}
