//! IGMP v1/v2/v3 view and representation (`dataplane::wire::igmp`): once `new_checked` has
//! passed, every getter, the v3 query source list and every group record (type, sources, aux
//! data) must not panic; `Repr::parse` -> `emit` -> `parse` gives the same message, in
//! `buffer_len()` bytes with a valid checksum.
//!
//! The first byte of the input chooses whether the checksum is recomputed before parsing, so
//! the fuzzer reaches `Repr::parse` past the checksum check without having to solve it.
#![no_main]

use dataplane::wire::igmp::{self, Packet, RecordType, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let mut data = data.to_vec();
    if mode & 1 == 1 && data.len() >= igmp::HEADER_LEN {
        Packet::new_unchecked(&mut data[..]).fill_checksum();
    }
    view(&data);
    parse_emit(&data);
});

fn view(data: &[u8]) {
    let Ok(p) = Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.msg_type(),
        p.max_resp_code(),
        p.checksum(),
        p.group_addr(),
    );
    let _ = (p.is_v3_query(), p.suppress_router_side(), p.qrv(), p.qqic());
    let _ = igmp::decode_code(p.max_resp_code()) + igmp::decode_code(p.qqic());
    assert_eq!(p.sources().count(), usize::from(p.num_sources()));
    let mut records = 0usize;
    let mut end = igmp::HEADER_LEN;
    for r in p.group_records() {
        let _ = (r.record_type(), RecordType::from_u8(r.record_type()));
        let _ = (r.aux_data_len(), r.group_addr());
        assert_eq!(r.sources().count(), usize::from(r.num_sources()));
        assert_eq!(r.aux_data().len(), 4 * usize::from(r.aux_data_len()));
        end += igmp::GROUP_RECORD_LEN + 4 * usize::from(r.num_sources()) + r.aux_data().len();
        records += 1;
    }
    // A checked report yields every record it announces, all inside the buffer.
    assert_eq!(records, usize::from(p.num_group_records()));
    assert!(end <= data.len());
    let _ = p.verify_checksum();

    let mut copy = data.to_vec();
    let mut m = Packet::new_checked(&mut copy[..]).expect("checked once already");
    m.set_max_resp_code(100);
    m.set_group_addr(std::net::Ipv4Addr::new(239, 1, 1, 1));
    m.fill_checksum();
    assert!(m.verify_checksum());
}

fn parse_emit(data: &[u8]) {
    let Ok(repr) = Repr::parse(&Packet::new_unchecked(data)) else {
        return;
    };
    let _ = repr.query_version();
    let bytes = repr.to_bytes();
    assert_eq!(bytes.len(), repr.buffer_len());
    let again = Packet::new_checked(&bytes[..]).expect("emitted message checks");
    assert!(again.verify_checksum());
    assert_eq!(Repr::parse(&again), Ok(repr.clone()));
    // Emitting into a longer buffer writes only the first buffer_len() bytes.
    let mut longer = vec![0xa5u8; bytes.len() + 7];
    repr.emit(&mut Packet::new_unchecked(&mut longer[..]));
    assert_eq!(&longer[..bytes.len()], &bytes[..]);
    assert!(longer[bytes.len()..].iter().all(|&b| b == 0xa5));
}
