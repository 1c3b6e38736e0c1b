//! Classic libpcap capture files (the format of tcpdump's `-w` and DPDK's `net_pcap`), Ethernet
//! link type only, for test fixtures and the benchmark traffic generator.
//!
//! Format: <https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html> sections 4 and 5. We
//! write little-endian, microsecond files (magic 0xa1b2c3d4); we read both byte orders and both
//! microsecond and nanosecond magics (0xa1b23c4d). pcapng is not supported.

use std::fs;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::Path;

use crate::wire::{self, EthernetAddress};

/// Magic of a microsecond-resolution file.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic of a nanosecond-resolution file.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Snapshot length written in the file header; longer frames are cut to it.
pub const SNAPLEN: u32 = 65_535;

const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;
/// Largest record accepted on read, whatever the file's snaplen says: guards against allocating
/// gigabytes for a corrupt length (tcpdump uses the same bound).
const MAX_RECORD_LEN: usize = 262_144;

/// Write `frames` as a capture, the i-th frame stamped `i` microseconds after the epoch.
pub fn write_file<P: AsRef<Path>, F: AsRef<[u8]>>(path: P, frames: &[F]) -> io::Result<()> {
    let mut out = io::BufWriter::new(fs::File::create(path)?);
    write(&mut out, frames)?;
    out.flush()
}

/// Write `frames` as a capture to any writer (see [`write_file`]).
pub fn write<W: Write, F: AsRef<[u8]>>(mut out: W, frames: &[F]) -> io::Result<()> {
    let mut header = [0u8; FILE_HEADER_LEN];
    header[0..4].copy_from_slice(&MAGIC_MICROS.to_le_bytes());
    header[4..6].copy_from_slice(&2u16.to_le_bytes()); // version 2.4
    header[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone and sigfigs stay zero.
    header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    header[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    out.write_all(&header)?;

    for (i, frame) in frames.iter().enumerate() {
        let frame = frame.as_ref();
        let orig_len = u32::try_from(frame.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("pcap: frame {i} is longer than 4 GiB"),
            )
        })?;
        let incl_len = orig_len.min(SNAPLEN);
        let micros = i as u64;
        // Seconds wrap after 136 years of 1 µs steps: u32 truncation is unreachable in practice.
        let ts_sec = (micros / 1_000_000) as u32;
        let ts_usec = (micros % 1_000_000) as u32;
        let mut record = [0u8; RECORD_HEADER_LEN];
        record[0..4].copy_from_slice(&ts_sec.to_le_bytes());
        record[4..8].copy_from_slice(&ts_usec.to_le_bytes());
        record[8..12].copy_from_slice(&incl_len.to_le_bytes());
        record[12..16].copy_from_slice(&orig_len.to_le_bytes());
        out.write_all(&record)?;
        out.write_all(&frame[..incl_len as usize])?;
    }
    Ok(())
}

/// Read every record's captured bytes from a capture file.
///
/// Errors (`InvalidData`, with a message naming the problem) on a bad magic, a link type other
/// than Ethernet, a record longer than 256 KiB, or a file cut short inside a header or record.
pub fn read_file<P: AsRef<Path>>(path: P) -> io::Result<Vec<Vec<u8>>> {
    let path = path.as_ref();
    let data = fs::read(path)?;
    parse(&data).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Parse a whole capture held in memory (see [`read_file`]).
pub fn parse(data: &[u8]) -> io::Result<Vec<Vec<u8>>> {
    let header = data
        .get(..FILE_HEADER_LEN)
        .ok_or_else(|| invalid(format!("pcap: file of {} bytes has no header", data.len())))?;
    let magic = [header[0], header[1], header[2], header[3]];
    let big_endian = if u32::from_le_bytes(magic) == MAGIC_MICROS
        || u32::from_le_bytes(magic) == MAGIC_NANOS
    {
        false
    } else if u32::from_be_bytes(magic) == MAGIC_MICROS || u32::from_be_bytes(magic) == MAGIC_NANOS
    {
        true
    } else {
        return Err(invalid(format!(
            "pcap: bad magic {:02x}{:02x}{:02x}{:02x} (not a classic pcap file; pcapng is not \
             supported)",
            magic[0], magic[1], magic[2], magic[3]
        )));
    };
    let read_u32 = |b: &[u8]| {
        let bytes = [b[0], b[1], b[2], b[3]];
        if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    };
    // The link type lives in the low 16 bits; the upper bits may carry FCS information.
    let linktype = read_u32(&header[20..24]) & 0xffff;
    if linktype != LINKTYPE_ETHERNET {
        return Err(invalid(format!(
            "pcap: link type {linktype} is not Ethernet ({LINKTYPE_ETHERNET})"
        )));
    }

    let mut frames = Vec::new();
    let mut rest = &data[FILE_HEADER_LEN..];
    while !rest.is_empty() {
        let n = frames.len();
        let record = rest.get(..RECORD_HEADER_LEN).ok_or_else(|| {
            invalid(format!(
                "pcap: truncated file: record {n} header has {} of {RECORD_HEADER_LEN} bytes",
                rest.len()
            ))
        })?;
        let incl_len = read_u32(&record[8..12]) as usize;
        if incl_len > MAX_RECORD_LEN {
            return Err(invalid(format!(
                "pcap: record {n} claims {incl_len} bytes (most accepted: {MAX_RECORD_LEN})"
            )));
        }
        let body = &rest[RECORD_HEADER_LEN..];
        let frame = body.get(..incl_len).ok_or_else(|| {
            invalid(format!(
                "pcap: truncated file: record {n} has {} of {incl_len} bytes",
                body.len()
            ))
        })?;
        frames.push(frame.to_vec());
        rest = &body[incl_len..];
    }
    Ok(frames)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// A valid Ethernet/IPv4/UDP multicast frame, padded to 60 bytes; see [`wire::build_udp_frame`].
pub fn udp_multicast_frame(
    src_mac: EthernetAddress,
    src: Ipv4Addr,
    group: Ipv4Addr,
    ttl: u8,
    payload: &[u8],
) -> Vec<u8> {
    wire::build_udp_frame(src_mac, src, group, ttl, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Vec<Vec<u8>> {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let src = Ipv4Addr::new(10, 0, 1, 2);
        vec![
            udp_multicast_frame(mac, src, Ipv4Addr::new(239, 1, 1, 1), 16, b"one"),
            udp_multicast_frame(mac, src, Ipv4Addr::new(239, 1, 1, 2), 1, &[0x5a; 1400]),
            Vec::new(),
            vec![0xff; 14],
        ]
    }

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("dataplane-pcap-{}-{name}.pcap", std::process::id()))
    }

    #[test]
    fn round_trip_file() {
        let path = temp_path("round-trip");
        let frames = frames();
        write_file(&path, &frames).unwrap();
        let read = read_file(&path).unwrap();
        fs::remove_file(&path).unwrap();
        assert_eq!(read, frames);
    }

    #[test]
    fn header_layout() {
        let mut buf = Vec::new();
        write(&mut buf, &[[0xaau8; 3]]).unwrap();
        assert_eq!(
            buf,
            [
                0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, // magic, version
                0xff, 0xff, 0, 0, 1, 0, 0, 0, // snaplen, linktype
                0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, // record header
                0xaa, 0xaa, 0xaa,
            ]
        );
        // Timestamps step by one microsecond and carry into seconds.
        let many = vec![Vec::<u8>::new(); 1_000_002];
        let mut buf = Vec::new();
        write(&mut buf, &many).unwrap();
        let rec = |i: usize| &buf[FILE_HEADER_LEN + i * RECORD_HEADER_LEN..][..8];
        assert_eq!(rec(1), [0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(rec(1_000_001), [1, 0, 0, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn long_frame_cut_to_snaplen() {
        let mut buf = Vec::new();
        write(&mut buf, &[vec![1u8; 70_000]]).unwrap();
        assert_eq!(&buf[32..36], &65_535u32.to_le_bytes());
        assert_eq!(&buf[36..40], &70_000u32.to_le_bytes());
        assert_eq!(parse(&buf).unwrap()[0].len(), 65_535);
    }

    /// Rewrite a little-endian microsecond capture with another magic and byte order.
    fn convert(le: &[u8], magic: u32, big_endian: bool) -> Vec<u8> {
        let swap = |b: &[u8]| {
            let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend_from_slice(&if big_endian {
            magic.to_be_bytes()
        } else {
            magic.to_le_bytes()
        });
        let v = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
        for half in [v(&le[4..6]), v(&le[6..8])] {
            out.extend_from_slice(&if big_endian {
                half.to_be_bytes()
            } else {
                half.to_le_bytes()
            });
        }
        for at in (8..24).step_by(4) {
            out.extend_from_slice(&swap(&le[at..]));
        }
        let mut rest = &le[24..];
        while !rest.is_empty() {
            for at in (0..16).step_by(4) {
                out.extend_from_slice(&swap(&rest[at..]));
            }
            let len = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]) as usize;
            out.extend_from_slice(&rest[16..16 + len]);
            rest = &rest[16 + len..];
        }
        out
    }

    #[test]
    fn reads_all_magics_and_byte_orders() {
        let frames = frames();
        let mut le = Vec::new();
        write(&mut le, &frames).unwrap();
        for magic in [MAGIC_MICROS, MAGIC_NANOS] {
            for big_endian in [false, true] {
                let file = convert(&le, magic, big_endian);
                assert_eq!(parse(&file).unwrap(), frames, "{magic:#x} be={big_endian}");
            }
        }
        // tcpdump on a big-endian host writes a1 b2 c3 d4.
        assert_eq!(
            &convert(&le, MAGIC_MICROS, true)[..4],
            &[0xa1, 0xb2, 0xc3, 0xd4]
        );
    }

    #[test]
    fn rejects_garbage() {
        let err = parse(b"").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("no header"), "{err}");

        let err = parse(&[
            0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
        .unwrap_err();
        assert!(err.to_string().contains("bad magic 0a0d0d0a"), "{err}");

        let mut file = Vec::new();
        write(&mut file, &frames()).unwrap();
        file[20] = 101; // LINKTYPE_RAW
        let err = parse(&file).unwrap_err();
        assert!(err.to_string().contains("link type 101"), "{err}");

        let mut file = Vec::new();
        write(&mut file, &[[0u8; 10]]).unwrap();
        file[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = parse(&file).unwrap_err();
        assert!(err.to_string().contains("claims"), "{err}");
    }

    #[test]
    fn rejects_truncated_at_every_length() {
        let mut file = Vec::new();
        write(&mut file, &frames()).unwrap();
        // Record boundaries: cutting exactly there leaves a valid shorter capture.
        let mut boundaries = vec![FILE_HEADER_LEN];
        for f in frames() {
            let last = *boundaries.last().unwrap();
            boundaries.push(last + RECORD_HEADER_LEN + f.len());
        }
        assert_eq!(*boundaries.last().unwrap(), file.len());
        for len in 0..file.len() {
            match parse(&file[..len]) {
                Ok(frames) => {
                    let n = boundaries.iter().position(|b| *b == len).unwrap();
                    assert_eq!(frames.len(), n);
                }
                Err(e) => {
                    assert!(!boundaries.contains(&len), "len {len}: {e}");
                    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
                    let msg = e.to_string();
                    assert!(
                        msg.contains("truncated") || msg.contains("no header"),
                        "{msg}"
                    );
                }
            }
        }
    }

    #[test]
    fn read_file_errors_name_the_file() {
        let path = temp_path("garbage");
        fs::write(&path, b"this is not a capture file at all").unwrap();
        let err = read_file(&path).unwrap_err();
        fs::remove_file(&path).unwrap();
        assert!(err.to_string().contains("bad magic"), "{err}");
        assert!(err.to_string().contains("garbage"), "{err}");
        assert_eq!(
            read_file(temp_path("missing")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn frames_parse_as_ipv4() {
        for frame in &frames()[..2] {
            let eth = wire::ether::Frame::new_checked(&frame[..]).unwrap();
            let ip = wire::ipv4::Packet::new_checked(eth.payload()).unwrap();
            assert!(ip.verify_checksum());
            assert!(wire::ipv4::is_multicast(ip.dst_addr()));
        }
    }
}
