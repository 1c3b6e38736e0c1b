//! IGMP message views and representations (moved out of src/).
use dataplane::wire::igmp::*;
use std::net::Ipv4Addr;

fn a(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

// Checksums worked out as in ipv4.rs: e.g. the v2 report 1600 + 0000 + ef01 + 0101 =
// 0x10602, folded 0x0603, complemented 0xf9fc.
const V1_QUERY: [u8; 8] = [0x11, 0x00, 0xee, 0xff, 0, 0, 0, 0];
const V2_QUERY: [u8; 8] = [0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0];
const V2_GROUP_QUERY: [u8; 8] = [0x11, 0x0a, 0xfe, 0xf2, 0xef, 0x01, 0x01, 0x01];
/// Linux's v3 general query: max resp 10 s, QRV 2, QQIC 125.
const V3_QUERY: [u8; 12] = [0x11, 0x64, 0xec, 0x1e, 0, 0, 0, 0, 0x02, 0x7d, 0, 0];
/// Group-and-source-specific: 232.1.1.1, S flag, QRV 2, sources 10.0.1.2 and 10.0.1.3.
const V3_GSS_QUERY: [u8; 20] = [
    0x11, 0x0a, 0xe5, 0x6e, 0xe8, 0x01, 0x01, 0x01, 0x0a, 0x7d, 0x00, 0x02, // header
    0x0a, 0x00, 0x01, 0x02, 0x0a, 0x00, 0x01, 0x03, // sources
];
const V1_REPORT: [u8; 8] = [0x12, 0x00, 0xfd, 0xfc, 0xef, 0x01, 0x01, 0x01];
const V2_REPORT: [u8; 8] = [0x16, 0x00, 0xf9, 0xfc, 0xef, 0x01, 0x01, 0x01];
const V2_LEAVE: [u8; 8] = [0x17, 0x00, 0xf8, 0xfc, 0xef, 0x01, 0x01, 0x01];
/// Three records: TO_EX(239.1.1.1, {}), IS_IN(232.1.1.1, {10.0.1.2, 10.0.1.3}) with one word
/// of aux data, and an unknown type 9 for 239.2.2.2.
const V3_REPORT: [u8; 44] = [
    0x22, 0x00, 0x52, 0x4c, 0x00, 0x00, 0x00, 0x03, // header, 3 records
    0x04, 0x00, 0x00, 0x00, 0xef, 0x01, 0x01, 0x01, // TO_EX 239.1.1.1
    0x01, 0x01, 0x00, 0x02, 0xe8, 0x01, 0x01, 0x01, // IS_IN 232.1.1.1, aux 1, 2 sources
    0x0a, 0x00, 0x01, 0x02, 0x0a, 0x00, 0x01, 0x03, // sources
    0xde, 0xad, 0xbe, 0xef, // aux data
    0x09, 0x00, 0x00, 0x00, 0xef, 0x02, 0x02, 0x02, // unknown type 9
];
/// The same without aux data and the unknown record: what `emit` writes.
const V3_REPORT_PLAIN: [u8; 32] = [
    0x22, 0x00, 0xe9, 0xf0, 0x00, 0x00, 0x00, 0x02, // header, 2 records
    0x04, 0x00, 0x00, 0x00, 0xef, 0x01, 0x01, 0x01, // TO_EX 239.1.1.1
    0x01, 0x00, 0x00, 0x02, 0xe8, 0x01, 0x01, 0x01, // IS_IN 232.1.1.1, 2 sources
    0x0a, 0x00, 0x01, 0x02, 0x0a, 0x00, 0x01, 0x03, // sources
];

fn parse(buf: &[u8]) -> Result<Repr, Error> {
    Repr::parse(&Packet::new_unchecked(buf))
}

fn round_trip(buf: &[u8], repr: &Repr) {
    assert_eq!(&parse(buf).unwrap(), repr);
    assert_eq!(repr.buffer_len(), buf.len());
    assert_eq!(repr.to_bytes(), buf);
}

#[test]
fn v1_and_v2_queries() {
    let v1 = Repr::Query {
        max_resp_code: 0,
        group: Ipv4Addr::UNSPECIFIED,
        v3: None,
    };
    round_trip(&V1_QUERY, &v1);
    assert_eq!(v1.query_version(), Some(1));
    let v2 = Repr::Query {
        max_resp_code: 100,
        group: Ipv4Addr::UNSPECIFIED,
        v3: None,
    };
    round_trip(&V2_QUERY, &v2);
    assert_eq!(v2.query_version(), Some(2));
    round_trip(
        &V2_GROUP_QUERY,
        &Repr::Query {
            max_resp_code: 10,
            group: a(239, 1, 1, 1),
            v3: None,
        },
    );
    let p = Packet::new_checked(&V2_QUERY[..]).unwrap();
    assert!(!p.is_v3_query());
    assert_eq!((p.qrv(), p.qqic(), p.num_sources()), (0, 0, 0));
    assert!(!p.suppress_router_side());
}

#[test]
fn v3_queries() {
    let general = Repr::Query {
        max_resp_code: 100,
        group: Ipv4Addr::UNSPECIFIED,
        v3: Some(QueryV3 {
            suppress_router_side: false,
            qrv: 2,
            qqic: 125,
            sources: vec![],
        }),
    };
    round_trip(&V3_QUERY, &general);
    assert_eq!(general.query_version(), Some(3));
    let gss = Repr::Query {
        max_resp_code: 10,
        group: a(232, 1, 1, 1),
        v3: Some(QueryV3 {
            suppress_router_side: true,
            qrv: 2,
            qqic: 125,
            sources: vec![a(10, 0, 1, 2), a(10, 0, 1, 3)],
        }),
    };
    round_trip(&V3_GSS_QUERY, &gss);
    let p = Packet::new_checked(&V3_GSS_QUERY[..]).unwrap();
    assert!(p.is_v3_query() && p.suppress_router_side());
    assert_eq!((p.qrv(), p.qqic(), p.num_sources()), (2, 125, 2));
    assert_eq!(p.group_addr(), a(232, 1, 1, 1));
    // Trailing bytes after the source list are allowed (and covered by the checksum).
    let mut long = V3_QUERY.to_vec();
    long.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(parse(&long).unwrap(), general);
}

#[test]
fn reports_and_leave() {
    let g = a(239, 1, 1, 1);
    round_trip(&V1_REPORT, &Repr::ReportV1 { group: g });
    round_trip(&V2_REPORT, &Repr::ReportV2 { group: g });
    round_trip(&V2_LEAVE, &Repr::LeaveV2 { group: g });
    assert_eq!(Repr::ReportV2 { group: g }.query_version(), None);
}

#[test]
fn v3_report() {
    let p = Packet::new_checked(&V3_REPORT[..]).unwrap();
    assert!(p.verify_checksum());
    assert_eq!(p.num_group_records(), 3);
    let recs: Vec<_> = p.group_records().collect();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].record_type(), 4);
    assert_eq!(recs[0].sources().count(), 0);
    assert_eq!(recs[1].record_type(), 1);
    assert_eq!(recs[1].aux_data_len(), 1);
    assert_eq!(recs[1].group_addr(), a(232, 1, 1, 1));
    assert_eq!(
        recs[1].sources().collect::<Vec<_>>(),
        [a(10, 0, 1, 2), a(10, 0, 1, 3)]
    );
    assert_eq!(recs[1].aux_data(), &[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(recs[2].record_type(), 9);
    assert_eq!(recs[2].group_addr(), a(239, 2, 2, 2));
    let repr = Repr::ReportV3 {
        records: vec![
            GroupRecordRepr {
                record_type: RecordType::ChangeToExclude,
                group: a(239, 1, 1, 1),
                sources: vec![],
            },
            GroupRecordRepr {
                record_type: RecordType::ModeIsInclude,
                group: a(232, 1, 1, 1),
                sources: vec![a(10, 0, 1, 2), a(10, 0, 1, 3)],
            },
        ],
    };
    // The unknown record is dropped and the aux data skipped.
    assert_eq!(parse(&V3_REPORT).unwrap(), repr);
    round_trip(&V3_REPORT_PLAIN, &repr);
    for t in 1..=6u8 {
        assert_eq!(RecordType::from_u8(t).map(|r| r as u8), Some(t));
    }
    assert_eq!(RecordType::from_u8(0), None);
    assert_eq!(RecordType::from_u8(7), None);
}

#[test]
fn codes_rfc3376_4_1_1() {
    for v in 0..128u32 {
        assert_eq!(encode_code(v as u8 as u32), v as u8);
        assert_eq!(decode_code(v as u8), v);
    }
    // 0x80: exp 0, mant 0 -> 0x10 << 3 = 128; 0xff: exp 7, mant 15 -> 0x1f << 10 = 31744.
    assert_eq!(decode_code(0x80), 128);
    assert_eq!(decode_code(0x8f), 0x1f << 3);
    assert_eq!(decode_code(0x90), 0x10 << 4);
    assert_eq!(decode_code(0xff), 31_744);
    assert_eq!(encode_code(128), 0x80);
    assert_eq!(encode_code(31_744), 0xff);
    assert_eq!(encode_code(1_000_000), 0xff);
    // Every code decodes and re-encodes to itself, and encoding never rounds up.
    for c in 0..=255u8 {
        assert_eq!(encode_code(decode_code(c)), c, "code {c:#x}");
    }
    for v in 0..40_000u32 {
        let d = decode_code(encode_code(v));
        assert!(d <= v.min(31_744), "{v} -> {d}");
    }
    // 125 s fits exactly; 1250 tenths does not: the largest code below is 1216.
    assert_eq!(decode_code(encode_code(1250)), 1216);
}

#[test]
fn truncated_and_malformed() {
    for len in 0..HEADER_LEN {
        assert_eq!(parse(&V2_REPORT[..len]), Err(Error::Truncated), "len {len}");
    }
    for len in 9..12 {
        let mut q = V3_QUERY[..len].to_vec();
        Packet::new_unchecked(&mut q[..]).fill_checksum();
        assert_eq!(parse(&q), Err(Error::BadQueryLen), "len {len}");
    }
    // A query whose source list runs past the end.
    for len in 12..V3_GSS_QUERY.len() {
        let p = Packet::new_unchecked(&V3_GSS_QUERY[..len]);
        assert_eq!(p.check_len(), Err(Error::Truncated), "len {len}");
    }
    // A report cut anywhere inside its records, or with too many records.
    for len in HEADER_LEN..V3_REPORT.len() {
        let p = Packet::new_unchecked(&V3_REPORT[..len]);
        assert_eq!(p.check_len(), Err(Error::Truncated), "len {len}");
        assert!(p.group_records().count() < 3);
    }
    let mut more = V3_REPORT;
    more[7] = 4;
    assert_eq!(parse(&more), Err(Error::Truncated));
    // Aux data length past the end.
    let mut aux = V3_REPORT_PLAIN;
    aux[17] = 1;
    assert_eq!(parse(&aux), Err(Error::Truncated));
    // Source count past the end.
    let mut srcs = V3_REPORT_PLAIN;
    srcs[19] = 3;
    assert_eq!(parse(&srcs), Err(Error::Truncated));
    // Unknown types.
    for t in [0x00, 0x13, 0x1e, 0x1f, 0x23, 0xff] {
        let mut m = V2_REPORT;
        m[0] = t;
        Packet::new_unchecked(&mut m[..]).fill_checksum();
        assert_eq!(parse(&m), Err(Error::UnknownType(t)));
    }
    assert_eq!(
        Error::UnknownType(0x13).to_string(),
        "unknown IGMP type 0x13"
    );
}

#[test]
fn bad_checksum() {
    for msg in [&V1_QUERY[..], &V3_GSS_QUERY, &V2_LEAVE, &V3_REPORT] {
        for i in 0..msg.len() {
            let mut m = msg.to_vec();
            m[i] ^= 0x20;
            let r = parse(&m);
            assert!(
                matches!(r, Err(Error::BadChecksum | Error::Truncated)),
                "byte {i}: {r:?}"
            );
        }
    }
    let mut m = V2_REPORT;
    m[3] ^= 1;
    assert_eq!(parse(&m), Err(Error::BadChecksum));
    assert!(!Packet::new_checked(&m[..]).unwrap().verify_checksum());
}

fn touch_everything(buf: &mut [u8]) {
    let p = Packet::new_unchecked(&*buf);
    let _ = (
        p.msg_type(),
        p.max_resp_code(),
        p.checksum(),
        p.group_addr(),
    );
    let _ = (p.is_v3_query(), p.suppress_router_side(), p.qrv(), p.qqic());
    let _ = (p.num_sources(), p.sources().count(), p.num_group_records());
    for r in p.group_records() {
        let _ = (
            r.record_type(),
            r.aux_data_len(),
            r.num_sources(),
            r.group_addr(),
        );
        let _ = (r.sources().count(), r.aux_data());
    }
    let _ = (p.verify_checksum(), Repr::parse(&p));
    let mut p = Packet::new_unchecked(&mut *buf);
    p.fill_checksum();
    if let Ok(repr) = Repr::parse(&p) {
        assert_eq!(parse(&repr.to_bytes()).unwrap(), repr);
    }
    p.set_max_resp_code(1);
    p.set_msg_type(TYPE_V2_REPORT);
    p.set_group_addr(ALL_SYSTEMS);
}

#[test]
fn random_buffers_never_panic() {
    let mut x = 0x0123_4567_89ab_cdefu64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut checked = 0;
    for i in 0..100_000usize {
        let len = i % 64;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Steer most buffers to real types with small counts, so they get past check_len.
        if len >= 8 && i % 4 != 0 {
            buf[0] = [0x11, 0x12, 0x16, 0x17, 0x22][(next() % 5) as usize];
            buf[6] = 0;
            buf[7] = (next() % 4) as u8;
            if len >= 12 {
                buf[10] = 0;
                buf[11] = (next() % 4) as u8;
            }
        }
        if Packet::new_checked(&buf[..]).is_ok() {
            checked += 1;
            touch_everything(&mut buf);
        }
        // Unchecked views of 8 bytes or more may iterate records safely too.
        if len >= HEADER_LEN {
            let _ = Packet::new_unchecked(&buf[..]).group_records().count();
        }
    }
    assert!(checked > 20_000, "only {checked} passed check_len");
}
