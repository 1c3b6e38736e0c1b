//! IPv4 fragmentation of a copy larger than its outgoing port's MTU (RFC 791 section 3.2, "An
//! Example Fragmentation Procedure"; RFC 1812 section 4.2.2.7 and 5.2.6 for a router). A cold
//! path: [`super::replicate`] calls it only for copies that do not fit, so packets that fit
//! never reach this file.
//!
//! What each fragment gets:
//! - the frame's Ethernet header (the caller sets the port's source MAC);
//! - the IPv4 header of the packet as forwarded (TTL already decremented), with its total
//!   length, More Fragments flag, fragment offset and checksum set for the fragment. The first
//!   fragment keeps every option; later ones keep the options whose *copied* flag is set and
//!   have the others overwritten with No Operation bytes, so every fragment's header has the
//!   same length (what Linux's `ip_options_fragment` does; RFC 791 allows either);
//! - a run of the payload, a multiple of 8 bytes long except in the last fragment.
//!
//! A fragment of a fragment keeps the original datagram's numbering: offsets are counted
//! from the packet's own offset, and the last piece keeps the packet's own MF flag.
//!
//! No ICMP is ever sent (RFC 1812 4.3.2.7: never for multicast): a packet with Don't Fragment
//! set is refused, and the caller counts it (`mtu_exceeded`).
//!
//! Written here rather than taken from librte_ip_frag: `rte_ipv4_fragment_packet` wants the
//! Ethernet header stripped first, leaves every header checksum to the caller and builds
//! each fragment as a header mbuf chained to an indirect mbuf over the payload, which ports
//! that cannot send chains cannot take; this writes each fragment as one segment in one pass
//! (one allocation and two copies per fragment), over plain bytes that the unit tests below
//! check exactly. It was not measured against DPDK's: both are far off the fast path.

use crate::wire::{ether, ipv4};

/// Why a packet was not fragmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Don't Fragment is set: the packet may not be fragmented (counted `mtu_exceeded`).
    DontFragment,
    /// The MTU leaves no room for 8 bytes of payload after the header, or the packet's own
    /// offset plus its payload run past the largest datagram (a malformed fragment).
    Impossible,
}

/// The frame's parts that every fragment reuses.
struct Header {
    /// Ethernet + IPv4 header of the first fragment (every option).
    first: [u8; ether::HEADER_LEN + ipv4::MAX_HEADER_LEN],
    /// The same with the options that are not copied overwritten by NOPs.
    rest: [u8; ether::HEADER_LEN + ipv4::MAX_HEADER_LEN],
    /// Ethernet + IPv4 header length.
    len: usize,
}

/// Payload bytes per fragment for frames of at most `max_frame` bytes with an IPv4 header of
/// `ip_header_len` bytes: the room left, rounded down to a multiple of 8 (offsets count
/// 8-byte units). `None` when not even 8 bytes fit.
pub fn payload_per_fragment(max_frame: usize, ip_header_len: usize) -> Option<usize> {
    let room = max_frame.checked_sub(ether::HEADER_LEN + ip_header_len)? & !7;
    (room >= 8).then_some(room)
}

/// Splits `frame` (Ethernet + IPv4, already rewritten for forwarding; it must have passed
/// [`super::mcast_input::classify`], so its headers are whole and its total length within the
/// frame) into frames of at most `max_frame` bytes, in order. `emit(header, payload)` is
/// called once per fragment with that fragment's Ethernet + IPv4 header and its payload run,
/// and returns false to stop (no buffer for it). Returns the fragments emitted (all of them
/// unless `emit` stopped early), or why the packet cannot be fragmented (nothing emitted).
pub fn split(
    frame: &[u8],
    max_frame: usize,
    mut emit: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<u32, Refused> {
    let Some(ip_bytes) = frame.get(ether::HEADER_LEN..) else {
        return Err(Refused::Impossible);
    };
    let Ok(ip) = ipv4::Packet::new_checked(ip_bytes) else {
        return Err(Refused::Impossible);
    };
    if ip.dont_frag() {
        return Err(Refused::DontFragment);
    }
    let ip_header_len = usize::from(ip.header_len());
    let payload = &ip_bytes[ip_header_len..usize::from(ip.total_len())];
    let base = usize::from(ip.frag_offset());
    let last_mf = ip.more_frags();
    let Some(step) = payload_per_fragment(max_frame, ip_header_len) else {
        return Err(Refused::Impossible);
    };
    if base + payload.len() + ip_header_len > usize::from(u16::MAX) {
        return Err(Refused::Impossible);
    }
    let mut h = Header {
        first: [0; ether::HEADER_LEN + ipv4::MAX_HEADER_LEN],
        rest: [0; ether::HEADER_LEN + ipv4::MAX_HEADER_LEN],
        len: ether::HEADER_LEN + ip_header_len,
    };
    h.first[..h.len].copy_from_slice(&frame[..h.len]);
    h.rest[..h.len].copy_from_slice(&frame[..h.len]);
    nop_uncopied_options(&mut h.rest[ether::HEADER_LEN + ipv4::HEADER_LEN..h.len]);
    let mut sent = 0;
    for (k, run) in payload.chunks(step).enumerate() {
        let offset = base + k * step;
        let more = last_mf || offset - base + run.len() < payload.len();
        let hdr = if k == 0 { &mut h.first } else { &mut h.rest };
        let mut p = ipv4::Packet::new_unchecked(&mut hdr[ether::HEADER_LEN..h.len]);
        // Fit by construction: offset + header + run <= base + header + payload <= 65535.
        p.set_total_len((ip_header_len + run.len()) as u16);
        p.set_more_frags(more);
        p.set_frag_offset(offset as u16);
        p.fill_checksum();
        if !emit(&hdr[..h.len], run) {
            break;
        }
        sent += 1;
    }
    Ok(sent)
}

/// Overwrites every option whose copied flag (the type's high bit) is clear with No
/// Operation bytes (RFC 791: "copied flag ... 0 = not copied"). A malformed option (a length
/// under 2 or past the header) and everything after it become NOPs too; End of Option List
/// ends the walk (the bytes after it are padding).
fn nop_uncopied_options(options: &mut [u8]) {
    const END: u8 = 0;
    const NOP: u8 = 1;
    let mut i = 0;
    while i < options.len() {
        match options[i] {
            END => return,
            NOP => i += 1,
            kind => {
                let len = options.get(i + 1).map_or(0, |&l| usize::from(l));
                if len < 2 || i + len > options.len() {
                    options[i..].fill(NOP);
                    return;
                }
                if kind & 0x80 == 0 {
                    options[i..i + len].fill(NOP);
                }
                i += len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{build_udp_frame, EthernetAddress};

    fn frame(payload_len: usize) -> Vec<u8> {
        let payload: Vec<u8> = (0..payload_len).map(|i| (i * 7 + 3) as u8).collect();
        build_udp_frame(
            EthernetAddress([2, 0, 0, 0, 0, 9]),
            "10.0.1.2".parse().unwrap(),
            "239.1.1.1".parse().unwrap(),
            7,
            &payload,
        )
    }

    fn collect(frame: &[u8], max: usize) -> Result<Vec<Vec<u8>>, Refused> {
        let mut out = Vec::new();
        split(frame, max, |h, p| {
            out.push([h, p].concat());
            true
        })?;
        Ok(out)
    }

    /// Reassembles fragments (RFC 815, holes checked) and checks each one's header.
    fn reassemble(frags: &[Vec<u8>], max: usize) -> (Vec<u8>, Vec<u8>) {
        let mut data = Vec::new();
        let mut first_header = Vec::new();
        for (k, f) in frags.iter().enumerate() {
            assert!(f.len() <= max, "fragment {k}: {} > {max}", f.len());
            let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
            assert!(ip.verify_checksum(), "fragment {k}: checksum");
            assert_eq!(usize::from(ip.total_len()), f.len() - 14);
            assert_eq!(
                usize::from(ip.frag_offset()),
                data.len(),
                "fragment {k}: offset"
            );
            assert_eq!(ip.more_frags(), k + 1 < frags.len(), "fragment {k}: MF");
            if k + 1 < frags.len() {
                assert_eq!(ip.payload().len() % 8, 0);
            }
            if k == 0 {
                first_header = f[..14 + usize::from(ip.header_len())].to_vec();
            }
            data.extend_from_slice(ip.payload());
        }
        (first_header, data)
    }

    #[test]
    fn fragments_carry_the_payload_exactly_with_headers_right() {
        for (len, max) in [
            (1473, 1514),
            (3972, 1514),
            (8000, 590),
            (100, 82),
            (1480, 1514),
        ] {
            let f = frame(len);
            let frags = collect(&f, max).unwrap();
            let (header, data) = reassemble(&frags, max);
            let ip = ipv4::Packet::new_checked(&f[14..]).unwrap();
            assert_eq!(data, ip.payload(), "{len} bytes into {max}");
            // Everything but total length, flags/offset and checksum is the original's.
            for (i, (a, b)) in header.iter().zip(&f).enumerate() {
                if !(16..18).contains(&i) && !(20..22).contains(&i) && !(24..26).contains(&i) {
                    assert_eq!(a, b, "byte {i}");
                }
            }
            let expect = (len + 8).div_ceil((max - 34) & !7);
            assert_eq!(frags.len(), expect, "{len} bytes into {max}");
        }
    }

    #[test]
    fn a_1473_byte_datagram_becomes_1500_and_21_byte_packets() {
        let frags = collect(&frame(1473), 1514).unwrap();
        let lens: Vec<usize> = frags.iter().map(|f| f.len() - 14).collect();
        assert_eq!(lens, vec![1500, 21]);
    }

    #[test]
    fn dont_fragment_is_refused_and_nothing_is_emitted() {
        let mut f = frame(2000);
        let mut ip = ipv4::Packet::new_unchecked(&mut f[14..]);
        ip.set_dont_frag(true);
        ip.fill_checksum();
        assert_eq!(
            split(&f, 1514, |_, _| panic!("emitted")),
            Err(Refused::DontFragment)
        );
    }

    #[test]
    fn an_mtu_without_room_for_8_bytes_is_refused() {
        assert_eq!(
            split(&frame(100), 14 + 20 + 7, |_, _| true),
            Err(Refused::Impossible)
        );
        assert_eq!(payload_per_fragment(14 + 20 + 8, 20), Some(8));
        assert_eq!(payload_per_fragment(1514, 20), Some(1480));
        assert_eq!(payload_per_fragment(1514, 24), Some(1472));
    }

    #[test]
    fn a_fragment_of_a_fragment_keeps_its_offsets_and_mf() {
        for last_mf in [true, false] {
            let mut f = frame(2000 - 8);
            let mut ip = ipv4::Packet::new_unchecked(&mut f[14..]);
            ip.set_frag_offset(2960);
            ip.set_more_frags(last_mf);
            ip.fill_checksum();
            let frags = collect(&f, 1014).unwrap();
            let mut at = 2960;
            for (k, g) in frags.iter().enumerate() {
                let p = ipv4::Packet::new_checked(&g[14..]).unwrap();
                assert!(p.verify_checksum());
                assert_eq!(usize::from(p.frag_offset()), at);
                assert_eq!(p.more_frags(), last_mf || k + 1 < frags.len());
                at += p.payload().len();
            }
            assert_eq!(at, 2960 + 2000);
        }
    }

    #[test]
    fn an_offset_past_the_largest_datagram_is_refused() {
        let mut f = frame(2000 - 8);
        let mut ip = ipv4::Packet::new_unchecked(&mut f[14..]);
        ip.set_frag_offset(65000 & !7);
        ip.fill_checksum();
        assert_eq!(split(&f, 1514, |_, _| true), Err(Refused::Impossible));
    }

    #[test]
    fn later_fragments_keep_copied_options_and_nop_the_others() {
        // Header with options: Router Alert (148, copied), Record Route (7, not copied, 7
        // bytes), End of List, padding: 20 + 4 + 7 + 1 = 32 bytes.
        let base = frame(600);
        let mut f = base[..14].to_vec();
        let mut ip = base[14..34].to_vec();
        ip[0] = 0x48;
        let options = [148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0];
        ip.extend_from_slice(&options);
        ip.extend_from_slice(&base[34..]);
        let total = ip.len() as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ipv4::Packet::new_unchecked(&mut ip[..]).fill_checksum();
        f.extend_from_slice(&ip);
        let frags = collect(&f, 14 + 32 + 200).unwrap();
        assert!(frags.len() > 2);
        assert_eq!(&frags[0][34..46], &options);
        for g in &frags[1..] {
            assert_eq!(&g[34..46], &[148, 4, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0]);
            assert!(ipv4::Packet::new_checked(&g[14..])
                .unwrap()
                .verify_checksum());
        }
        let (_, data) = reassemble(&frags, 14 + 32 + 200);
        assert_eq!(data, &ip[32..]);
    }

    #[test]
    fn malformed_options_become_nops_in_later_fragments() {
        let mut o = [148, 4, 0, 0, 0x44, 1, 9, 9];
        nop_uncopied_options(&mut o);
        assert_eq!(o, [148, 4, 0, 0, 1, 1, 1, 1]);
        let mut o = [0x83, 40, 1, 1];
        nop_uncopied_options(&mut o);
        assert_eq!(o, [1, 1, 1, 1]);
    }

    #[test]
    fn emit_stopping_early_stops_the_split() {
        let mut n = 0;
        let sent = split(&frame(5000), 1514, |_, _| {
            n += 1;
            n < 2
        })
        .unwrap();
        assert_eq!(sent, 1);
    }
}
