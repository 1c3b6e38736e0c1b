//! PIM messages (`dataplane::wire::pim`): every parser on arbitrary bytes — the whole-message
//! `Repr::parse_bytes`, the header view `Packet`, the Hello option iterator and each message
//! type's own `parse` on the bytes after the header. None may panic; whatever parses is emitted
//! and parsed again to the same value, in `buffer_len()` bytes with a valid checksum; a parsed
//! Join/Prune split under a size limit gives messages within the limit that hold the same group
//! sets.
//!
//! The first byte of the input: bit 0 recomputes the checksum before parsing (so the fuzzer gets
//! past it without solving it), the rest picks the split size.
#![no_main]

use dataplane::wire::pim::{
    Assert, Bootstrap, CandidateRpAdv, GroupSet, Hello, HelloOptions, JoinPrune, Packet, Register,
    RegisterStop, Repr, HEADER_LEN, MIN_SPLIT_LEN,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let mut data = data.to_vec();
    if mode & 1 == 1 && data.len() >= HEADER_LEN {
        Packet::new_unchecked(&mut data[..]).fill_checksum();
    }
    view(&data);
    if let Ok(repr) = Repr::parse_bytes(&data) {
        round_trip(&repr);
        if let Repr::JoinPrune(jp) = &repr {
            split(jp, MIN_SPLIT_LEN + usize::from(mode >> 1) * 8);
        }
    }
    // Each body parser on the same bytes, whatever the header says.
    let body = data.get(HEADER_LEN..).unwrap_or(&data);
    let reserved = data.get(1).copied().unwrap_or(0);
    if let Ok(m) = Hello::parse(body) {
        round_trip(&Repr::Hello(m));
    }
    if let Ok(m) = Register::parse(body) {
        round_trip(&Repr::Register(m));
    }
    if let Ok(m) = RegisterStop::parse(body) {
        round_trip(&Repr::RegisterStop(m));
    }
    if let Ok(m) = JoinPrune::parse(body) {
        round_trip(&Repr::JoinPrune(m));
    }
    if let Ok(m) = Bootstrap::parse(reserved, body) {
        round_trip(&Repr::Bootstrap(m));
    }
    if let Ok(m) = Assert::parse(body) {
        round_trip(&Repr::Assert(m));
    }
    if let Ok(m) = CandidateRpAdv::parse(body) {
        round_trip(&Repr::CandidateRpAdv(m));
    }
});

fn view(data: &[u8]) {
    let Ok(p) = Packet::new_checked(data) else {
        return;
    };
    let _ = (p.version(), p.msg_type(), p.reserved(), p.checksum());
    let _ = (p.register_border(), p.register_null(), p.verify_checksum());
    assert!(p.register_packet().len() <= data.len());
    let mut seen = 0usize;
    for (_, value) in HelloOptions::new(p.payload()) {
        seen += 4 + value.len();
    }
    assert!(HEADER_LEN + seen <= data.len());
    let mut copy = data.to_vec();
    let mut m = Packet::new_checked(&mut copy[..]).expect("checked once already");
    m.fill_checksum();
    assert!(m.verify_checksum());
}

fn round_trip(repr: &Repr<'_>) {
    // Emitting never panics on a parsed value: every list was read through a count or length
    // field as wide as the one it is written with, and a Hello's addresses take as many Address
    // List options as they need.
    let bytes = repr.to_bytes();
    assert_eq!(bytes.len(), repr.buffer_len());
    let again = Packet::new_checked(&bytes[..]).expect("emitted message checks");
    assert!(again.verify_checksum());
    assert_eq!(Repr::parse_bytes(&bytes).as_ref(), Ok(repr));
    let mut longer = vec![0xa5u8; bytes.len() + 7];
    repr.emit(&mut Packet::new_unchecked(&mut longer[..]));
    assert_eq!(&longer[..bytes.len()], &bytes[..]);
    assert!(longer[bytes.len()..].iter().all(|&b| b == 0xa5));
}

fn split(jp: &JoinPrune, max_len: usize) {
    let parts = jp.split(max_len).expect("at least MIN_SPLIT_LEN");
    let mut merged: Vec<GroupSet> = Vec::new();
    for p in &parts {
        let repr = Repr::JoinPrune(p.clone());
        assert!(repr.buffer_len() <= max_len);
        round_trip(&repr);
        for g in &p.groups {
            match merged.last_mut() {
                Some(last) if last.group == g.group => {
                    last.joins.extend_from_slice(&g.joins);
                    last.prunes.extend_from_slice(&g.prunes);
                }
                _ => merged.push(g.clone()),
            }
        }
    }
    // Merging adjacent fragments also merges two adjacent group sets of the same group that the
    // input had apart; compare the same way.
    let mut expected: Vec<GroupSet> = Vec::new();
    for g in &jp.groups {
        match expected.last_mut() {
            Some(last) if last.group == g.group => {
                last.joins.extend_from_slice(&g.joins);
                last.prunes.extend_from_slice(&g.prunes);
            }
            _ => expected.push(g.clone()),
        }
    }
    assert_eq!(merged, expected);
}
