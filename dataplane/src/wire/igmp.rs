//! IGMP messages: v1 (RFC 1112 appendix I), v2 (RFC 2236 section 2) and v3 (RFC 3376 section 4),
//! as the router side sees them.
//!
//! [`Packet::new_checked`] (or [`Packet::check_len`]) guarantees: the buffer holds at least the
//! 8-byte common header; a query of 12 bytes or more (a v3 query, RFC 3376 7.1) holds all
//! `num_sources` source addresses; a v3 report holds all `num_group_records` records, each with
//! its sources and auxiliary data. After it has passed, no getter panics, and neither does
//! iterating [`Packet::group_records`].
//!
//! The checksum (RFC 1071 over the whole IGMP message, [`ipv4::checksum`]) is not part of
//! `check_len`: [`Repr::parse`] verifies it.
//!
//! Errors are this module's own [`Error`] rather than [`super::Error`]: IGMP needs reasons
//! (unknown type, a 9..=11-byte query) that IPv4 has no use for.

use std::fmt;
use std::net::Ipv4Addr;

use super::ipv4;

/// Membership Query (all versions).
pub const TYPE_MEMBERSHIP_QUERY: u8 = 0x11;
/// Version 1 Membership Report.
pub const TYPE_V1_REPORT: u8 = 0x12;
/// Version 2 Membership Report.
pub const TYPE_V2_REPORT: u8 = 0x16;
/// Version 2 Leave Group.
pub const TYPE_V2_LEAVE: u8 = 0x17;
/// Version 3 Membership Report.
pub const TYPE_V3_REPORT: u8 = 0x22;

/// Length of the common header: v1/v2 messages and v1/v2 queries.
pub const HEADER_LEN: usize = 8;
/// Length of a v3 query without sources.
pub const V3_QUERY_LEN: usize = 12;
/// Length of a v3 group record without sources or auxiliary data.
pub const GROUP_RECORD_LEN: usize = 8;

/// 224.0.0.1, all systems: destination of general queries.
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
/// 224.0.0.2, all routers: destination of v2 leaves.
pub const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
/// 224.0.0.22, all IGMPv3-capable routers: destination of v3 reports.
pub const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);

mod field {
    use std::ops::Range;

    pub const TYPE: usize = 0;
    pub const MAX_RESP_CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const GROUP_ADDR: Range<usize> = 4..8;
    // v3 query
    pub const S_QRV: usize = 8;
    pub const QQIC: usize = 9;
    pub const NUM_SOURCES: Range<usize> = 10..12;
    pub const QUERY_SOURCES: usize = 12;
    // v3 report
    pub const NUM_RECORDS: Range<usize> = 6..8;
    pub const RECORDS: usize = 8;
    // group record, relative to its start
    pub const REC_TYPE: usize = 0;
    pub const REC_AUX_LEN: usize = 1;
    pub const REC_NUM_SOURCES: Range<usize> = 2..4;
    pub const REC_GROUP: Range<usize> = 4..8;
    pub const REC_SOURCES: usize = 8;
}

/// Why a buffer was rejected as an IGMP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// Shorter than the 8-byte header, or a source list or group record runs past the end.
    Truncated,
    /// A query of 9 to 11 bytes, which RFC 3376 7.1 says to ignore.
    BadQueryLen,
    /// The checksum does not verify.
    BadChecksum,
    /// A type this module does not parse (e.g. DVMRP 0x13, mtrace 0x1e/0x1f).
    UnknownType(u8),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("IGMP message truncated"),
            Error::BadQueryLen => f.write_str("IGMP query of 9 to 11 bytes"),
            Error::BadChecksum => f.write_str("IGMP checksum does not verify"),
            Error::UnknownType(t) => write!(f, "unknown IGMP type {t:#04x}"),
        }
    }
}

impl std::error::Error for Error {}

/// Decode a Max Resp Code (RFC 3376 4.1.1) or QQIC (4.1.7): below 128 the value itself, else
/// `(mant | 0x10) << (exp + 3)` with `exp` in bits 4..7 and `mant` in bits 0..4.
pub const fn decode_code(code: u8) -> u32 {
    if code < 128 {
        code as u32
    } else {
        let exp = (code >> 4) & 0x07;
        let mant = code & 0x0f;
        ((mant as u32) | 0x10) << (exp + 3)
    }
}

/// Encode a value as a Max Resp Code or QQIC: exact below 128; above, the largest code that does
/// not exceed it (the low bits are lost), saturating at 0xff (31,744).
pub const fn encode_code(value: u32) -> u8 {
    if value < 128 {
        return value as u8;
    }
    if value >= decode_code(0xff) {
        return 0xff;
    }
    // value >= 128 = 0x10 << 3, so exp >= 0; find exp with value >> (exp + 3) in 0x10..=0x1f.
    let mut exp = 0u32;
    while (value >> (exp + 3)) > 0x1f {
        exp += 1;
    }
    let mant = (value >> (exp + 3)) & 0x0f;
    0x80 | ((exp as u8) << 4) | mant as u8
}

/// A read/write view of an IGMP message (the IPv4 payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters may panic on a malformed one.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check the lengths (see the module doc). After `Ok`, no accessor panics. The type is not
    /// checked here: unknown types pass with their 8-byte header.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        match self.msg_type() {
            TYPE_MEMBERSHIP_QUERY if len > HEADER_LEN => {
                if len < V3_QUERY_LEN {
                    return Err(Error::BadQueryLen);
                }
                let need = V3_QUERY_LEN + 4 * usize::from(self.num_sources());
                if need > len {
                    return Err(Error::Truncated);
                }
            }
            TYPE_V3_REPORT => {
                let mut at = field::RECORDS;
                for _ in 0..self.num_group_records() {
                    at += record_len(&self.buffer.as_ref()[at.min(len)..])?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type (`TYPE_*`).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// Max Resp Code of a query (v2: tenths of a second; v3: [`decode_code`]); 0 in v1 queries
    /// and unused in reports.
    pub fn max_resp_code(&self) -> u8 {
        self.buffer.as_ref()[field::MAX_RESP_CODE]
    }

    /// The checksum field as stored.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM.start)
    }

    /// Group address of a query (0.0.0.0 for a general query), v1/v2 report or leave. Bytes 4..8
    /// of a v3 report are reserved and its number of records: use the record getters.
    pub fn group_addr(&self) -> Ipv4Addr {
        self.read_addr(field::GROUP_ADDR.start)
    }

    /// The message is a query of 12 bytes or more (RFC 3376 7.1: an IGMPv3 query).
    pub fn is_v3_query(&self) -> bool {
        self.msg_type() == TYPE_MEMBERSHIP_QUERY && self.buffer.as_ref().len() >= V3_QUERY_LEN
    }

    /// v3 query: S flag (suppress router-side processing). False for shorter queries.
    pub fn suppress_router_side(&self) -> bool {
        self.is_v3_query() && self.buffer.as_ref()[field::S_QRV] & 0x08 != 0
    }

    /// v3 query: Querier's Robustness Variable (0 for shorter queries).
    pub fn qrv(&self) -> u8 {
        if self.is_v3_query() {
            self.buffer.as_ref()[field::S_QRV] & 0x07
        } else {
            0
        }
    }

    /// v3 query: Querier's Query Interval Code (0 for shorter queries).
    pub fn qqic(&self) -> u8 {
        if self.is_v3_query() {
            self.buffer.as_ref()[field::QQIC]
        } else {
            0
        }
    }

    /// v3 query: number of sources (0 for shorter queries).
    pub fn num_sources(&self) -> u16 {
        if self.is_v3_query() {
            self.read_u16(field::NUM_SOURCES.start)
        } else {
            0
        }
    }

    /// v3 query: the sources.
    pub fn sources(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (0..usize::from(self.num_sources()))
            .map(move |i| self.read_addr(field::QUERY_SOURCES + 4 * i))
    }

    /// v3 report: number of group records (0 for other types).
    pub fn num_group_records(&self) -> u16 {
        if self.msg_type() == TYPE_V3_REPORT {
            self.read_u16(field::NUM_RECORDS.start)
        } else {
            0
        }
    }

    /// v3 report: the group records, in order.
    pub fn group_records(&self) -> GroupRecords<'_> {
        let data = self.buffer.as_ref();
        GroupRecords {
            data: data.get(field::RECORDS..).unwrap_or(&[]),
            left: self.num_group_records(),
        }
    }

    /// The checksum verifies (RFC 1071 over the whole message).
    pub fn verify_checksum(&self) -> bool {
        ipv4::checksum(self.buffer.as_ref()) == 0
    }

    fn read_u16(&self, at: usize) -> u16 {
        let d = self.buffer.as_ref();
        u16::from_be_bytes([d[at], d[at + 1]])
    }

    fn read_addr(&self, at: usize) -> Ipv4Addr {
        let d = self.buffer.as_ref();
        Ipv4Addr::new(d[at], d[at + 1], d[at + 2], d[at + 3])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the type.
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    /// Set the Max Resp Code.
    pub fn set_max_resp_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::MAX_RESP_CODE] = value;
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Set bytes 4..8 (group address; in a v3 report, reserved and record count).
    pub fn set_group_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::GROUP_ADDR].copy_from_slice(&addr.octets());
    }

    /// Compute the checksum over the whole buffer and store it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let check = ipv4::checksum(self.buffer.as_ref());
        self.set_checksum(check);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Length of the record at the start of `data`: header, sources and aux data.
fn record_len(data: &[u8]) -> Result<usize, Error> {
    if data.len() < GROUP_RECORD_LEN {
        return Err(Error::Truncated);
    }
    let n = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let len = GROUP_RECORD_LEN + 4 * n + 4 * usize::from(data[field::REC_AUX_LEN]);
    if len > data.len() {
        return Err(Error::Truncated);
    }
    Ok(len)
}

/// Iterator over the group records of a checked v3 report.
#[derive(Debug, Clone)]
pub struct GroupRecords<'a> {
    data: &'a [u8],
    left: u16,
}

impl<'a> Iterator for GroupRecords<'a> {
    type Item = GroupRecord<'a>;

    fn next(&mut self) -> Option<GroupRecord<'a>> {
        if self.left == 0 {
            return None;
        }
        // On an unchecked packet a record past the end ends the iteration instead of panicking.
        let len = record_len(self.data).ok()?;
        let (rec, rest) = self.data.split_at(len);
        self.data = rest;
        self.left -= 1;
        Some(GroupRecord { data: rec })
    }
}

/// A view of one v3 group record: exactly its bytes, sources and aux data included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRecord<'a> {
    data: &'a [u8],
}

impl<'a> GroupRecord<'a> {
    /// Record type (1..=6 are [`RecordType`]; others must be ignored, RFC 3376 4.2.12).
    pub fn record_type(&self) -> u8 {
        self.data[field::REC_TYPE]
    }

    /// Aux data length in 32-bit words.
    pub fn aux_data_len(&self) -> u8 {
        self.data[field::REC_AUX_LEN]
    }

    /// Number of sources.
    pub fn num_sources(&self) -> u16 {
        u16::from_be_bytes([
            self.data[field::REC_NUM_SOURCES.start],
            self.data[field::REC_NUM_SOURCES.start + 1],
        ])
    }

    /// Multicast address.
    pub fn group_addr(&self) -> Ipv4Addr {
        let d = &self.data[field::REC_GROUP];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// The sources.
    pub fn sources(&self) -> impl Iterator<Item = Ipv4Addr> + 'a {
        let data = self.data;
        let n = usize::from(self.num_sources());
        data[field::REC_SOURCES..field::REC_SOURCES + 4 * n]
            .chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    }

    /// The auxiliary data (skipped by [`Repr::parse`]).
    pub fn aux_data(&self) -> &'a [u8] {
        let data = self.data;
        &data[field::REC_SOURCES + 4 * usize::from(self.num_sources())..]
    }
}

/// The six group record types of RFC 3376 4.2.12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// MODE_IS_INCLUDE (current state).
    ModeIsInclude = 1,
    /// MODE_IS_EXCLUDE (current state).
    ModeIsExclude = 2,
    /// CHANGE_TO_INCLUDE_MODE (filter mode change).
    ChangeToInclude = 3,
    /// CHANGE_TO_EXCLUDE_MODE (filter mode change).
    ChangeToExclude = 4,
    /// ALLOW_NEW_SOURCES (source list change).
    AllowNewSources = 5,
    /// BLOCK_OLD_SOURCES (source list change).
    BlockOldSources = 6,
}

impl RecordType {
    /// The type of a record type byte, if it is one of the six.
    pub const fn from_u8(value: u8) -> Option<RecordType> {
        Some(match value {
            1 => RecordType::ModeIsInclude,
            2 => RecordType::ModeIsExclude,
            3 => RecordType::ChangeToInclude,
            4 => RecordType::ChangeToExclude,
            5 => RecordType::AllowNewSources,
            6 => RecordType::BlockOldSources,
            _ => return None,
        })
    }
}

/// An owned v3 group record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupRecordRepr {
    /// Record type.
    pub record_type: RecordType,
    /// Multicast address.
    pub group: Ipv4Addr,
    /// Sources.
    pub sources: Vec<Ipv4Addr>,
}

/// The v3-only fields of a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryV3 {
    /// S flag: suppress router-side processing (timer updates) in receiving routers.
    pub suppress_router_side: bool,
    /// Querier's Robustness Variable (0..=7; 0 when the robustness exceeds 7).
    pub qrv: u8,
    /// Querier's Query Interval Code ([`decode_code`] gives seconds).
    pub qqic: u8,
    /// Sources of a group-and-source-specific query.
    pub sources: Vec<Ipv4Addr>,
}

/// An owned IGMP message, for control code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Repr {
    /// Membership Query. Version by RFC 3376 7.1: `v3` present means v3 (12 bytes or more);
    /// else `max_resp_code` 0 means v1 and non-zero v2.
    Query {
        /// Max Resp Code (v2: tenths of a second; v3: [`decode_code`] tenths).
        max_resp_code: u8,
        /// Group (0.0.0.0 for a general query).
        group: Ipv4Addr,
        /// The v3 fields, if it is a v3 query.
        v3: Option<QueryV3>,
    },
    /// Version 1 Membership Report.
    ReportV1 {
        /// Group reported.
        group: Ipv4Addr,
    },
    /// Version 2 Membership Report.
    ReportV2 {
        /// Group reported.
        group: Ipv4Addr,
    },
    /// Version 2 Leave Group.
    LeaveV2 {
        /// Group left.
        group: Ipv4Addr,
    },
    /// Version 3 Membership Report. Records of unknown types are dropped on parse (RFC 3376
    /// 4.2.12), aux data is skipped and never emitted.
    ReportV3 {
        /// Group records.
        records: Vec<GroupRecordRepr>,
    },
}

impl Repr {
    /// Read a message: lengths, checksum, known type.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let group = packet.group_addr();
        Ok(match packet.msg_type() {
            TYPE_MEMBERSHIP_QUERY => Repr::Query {
                max_resp_code: packet.max_resp_code(),
                group,
                v3: packet.is_v3_query().then(|| QueryV3 {
                    suppress_router_side: packet.suppress_router_side(),
                    qrv: packet.qrv(),
                    qqic: packet.qqic(),
                    sources: packet.sources().collect(),
                }),
            },
            TYPE_V1_REPORT => Repr::ReportV1 { group },
            TYPE_V2_REPORT => Repr::ReportV2 { group },
            TYPE_V2_LEAVE => Repr::LeaveV2 { group },
            TYPE_V3_REPORT => Repr::ReportV3 {
                records: packet
                    .group_records()
                    .filter_map(|r| {
                        Some(GroupRecordRepr {
                            record_type: RecordType::from_u8(r.record_type())?,
                            group: r.group_addr(),
                            sources: r.sources().collect(),
                        })
                    })
                    .collect(),
            },
            other => return Err(Error::UnknownType(other)),
        })
    }

    /// Query version by RFC 3376 7.1 (1, 2 or 3), `None` for other messages.
    pub fn query_version(&self) -> Option<u8> {
        match self {
            Repr::Query { v3: Some(_), .. } => Some(3),
            Repr::Query {
                max_resp_code: 0, ..
            } => Some(1),
            Repr::Query { .. } => Some(2),
            _ => None,
        }
    }

    /// Bytes [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::Query { v3: Some(v3), .. } => V3_QUERY_LEN + 4 * v3.sources.len(),
            Repr::Query { v3: None, .. }
            | Repr::ReportV1 { .. }
            | Repr::ReportV2 { .. }
            | Repr::LeaveV2 { .. } => HEADER_LEN,
            Repr::ReportV3 { records } => {
                HEADER_LEN
                    + records
                        .iter()
                        .map(|r| GROUP_RECORD_LEN + 4 * r.sources.len())
                        .sum::<usize>()
            }
        }
    }

    /// Write the message with a valid checksum into the first `buffer_len()` bytes.
    ///
    /// # Panics
    /// If the buffer is shorter than `buffer_len()`, or a source list or record list is longer
    /// than 65,535 entries.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let len = self.buffer_len();
        let buf = &mut packet.buffer.as_mut()[..len];
        buf.fill(0);
        let count = |n: usize| {
            u16::try_from(n)
                .expect("more than 65,535 entries")
                .to_be_bytes()
        };
        match self {
            Repr::Query {
                max_resp_code,
                group,
                v3,
            } => {
                buf[field::TYPE] = TYPE_MEMBERSHIP_QUERY;
                buf[field::MAX_RESP_CODE] = *max_resp_code;
                buf[field::GROUP_ADDR].copy_from_slice(&group.octets());
                if let Some(v3) = v3 {
                    buf[field::S_QRV] = (u8::from(v3.suppress_router_side) << 3) | (v3.qrv & 7);
                    buf[field::QQIC] = v3.qqic;
                    buf[field::NUM_SOURCES].copy_from_slice(&count(v3.sources.len()));
                    for (i, s) in v3.sources.iter().enumerate() {
                        let at = field::QUERY_SOURCES + 4 * i;
                        buf[at..at + 4].copy_from_slice(&s.octets());
                    }
                }
            }
            Repr::ReportV1 { group } | Repr::ReportV2 { group } | Repr::LeaveV2 { group } => {
                buf[field::TYPE] = match self {
                    Repr::ReportV1 { .. } => TYPE_V1_REPORT,
                    Repr::ReportV2 { .. } => TYPE_V2_REPORT,
                    _ => TYPE_V2_LEAVE,
                };
                buf[field::GROUP_ADDR].copy_from_slice(&group.octets());
            }
            Repr::ReportV3 { records } => {
                buf[field::TYPE] = TYPE_V3_REPORT;
                buf[field::NUM_RECORDS].copy_from_slice(&count(records.len()));
                let mut at = field::RECORDS;
                for r in records {
                    buf[at + field::REC_TYPE] = r.record_type as u8;
                    let n = count(r.sources.len());
                    buf[at + 2..at + 4].copy_from_slice(&n);
                    buf[at + 4..at + 8].copy_from_slice(&r.group.octets());
                    at += GROUP_RECORD_LEN;
                    for s in &r.sources {
                        buf[at..at + 4].copy_from_slice(&s.octets());
                        at += 4;
                    }
                }
            }
        }
        let check = ipv4::checksum(buf);
        buf[field::CHECKSUM].copy_from_slice(&check.to_be_bytes());
    }

    /// The message as a new buffer of `buffer_len()` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut buf[..]));
        buf
    }
}
