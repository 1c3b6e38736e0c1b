//! Encoded unicast, group and source addresses (RFC 7761 4.9.1), IPv4 only: address family 1
//! (IANA), encoding type 0 (native). Another family is [`Error::UnknownAddressFamily`], another
//! encoding [`Error::UnknownEncoding`]; nothing is read past the buffer ([`Reader`]).

use std::net::Ipv4Addr;

use super::cursor::{Reader, Writer};
use super::header::Error;

/// Address family IPv4 (IANA "Address Family Numbers").
pub const FAMILY_IPV4: u8 = 1;
/// Address family IPv6: rejected, except inside a Hello's address list where it is skipped.
pub const FAMILY_IPV6: u8 = 2;
/// Encoding type 0, native.
pub const ENCODING_NATIVE: u8 = 0;
/// Length of an IPv4 Encoded-Unicast address.
pub const UNICAST_LEN: usize = 6;
/// Length of an IPv4 Encoded-Group address.
pub const GROUP_LEN: usize = 8;
/// Length of an IPv4 Encoded-Source address.
pub const SOURCE_LEN: usize = 8;

const GROUP_BIDIR: u8 = 0x80;
const GROUP_ADMIN_SCOPE: u8 = 0x01;
const SOURCE_SPARSE: u8 = 0x04;
const SOURCE_WILDCARD: u8 = 0x02;
const SOURCE_RPT: u8 = 0x01;

/// Read the family and encoding type bytes and check them.
fn read_family(r: &mut Reader<'_>) -> Result<(), Error> {
    let family = r.u8()?;
    let encoding = r.u8()?;
    if family != FAMILY_IPV4 {
        return Err(Error::UnknownAddressFamily(family));
    }
    if encoding != ENCODING_NATIVE {
        return Err(Error::UnknownEncoding(encoding));
    }
    Ok(())
}

fn check_mask(mask_len: u8) -> Result<u8, Error> {
    if mask_len > 32 {
        return Err(Error::BadMaskLen(mask_len));
    }
    Ok(mask_len)
}

/// Read an IPv4 Encoded-Unicast address.
pub fn read_unicast(r: &mut Reader<'_>) -> Result<Ipv4Addr, Error> {
    read_family(r)?;
    r.ipv4()
}

/// Write an IPv4 Encoded-Unicast address.
pub fn write_unicast(w: &mut Writer<'_>, addr: Ipv4Addr) {
    w.u8(FAMILY_IPV4);
    w.u8(ENCODING_NATIVE);
    w.ipv4(addr);
}

/// An Encoded-Group address: a group, or a range of groups by its mask length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncodedGroup {
    /// The group address (or the range's first address).
    pub addr: Ipv4Addr,
    /// Mask length, 0..=32 (32 for one group in Join/Prune, Assert and Register-Stop).
    pub mask_len: u8,
    /// B bit: the group range is Bidirectional PIM (RFC 5015).
    pub bidir: bool,
    /// Z bit: the range is an admin-scope zone (RFC 5059).
    pub admin_scope: bool,
}

impl EncodedGroup {
    /// One group: mask length 32, no flags.
    pub const fn host(addr: Ipv4Addr) -> EncodedGroup {
        EncodedGroup {
            addr,
            mask_len: 32,
            bidir: false,
            admin_scope: false,
        }
    }

    /// A range of groups without flags.
    pub const fn range(addr: Ipv4Addr, mask_len: u8) -> EncodedGroup {
        EncodedGroup {
            addr,
            mask_len,
            bidir: false,
            admin_scope: false,
        }
    }

    /// Read one.
    pub fn read(r: &mut Reader<'_>) -> Result<EncodedGroup, Error> {
        read_family(r)?;
        let flags = r.u8()?;
        let mask_len = check_mask(r.u8()?)?;
        Ok(EncodedGroup {
            addr: r.ipv4()?,
            mask_len,
            bidir: flags & GROUP_BIDIR != 0,
            admin_scope: flags & GROUP_ADMIN_SCOPE != 0,
        })
    }

    /// Write it (reserved bits zero).
    pub fn write(&self, w: &mut Writer<'_>) {
        w.u8(FAMILY_IPV4);
        w.u8(ENCODING_NATIVE);
        w.u8(if self.bidir { GROUP_BIDIR } else { 0 }
            | if self.admin_scope {
                GROUP_ADMIN_SCOPE
            } else {
                0
            });
        w.u8(self.mask_len);
        w.ipv4(self.addr);
    }
}

/// An Encoded-Source address with its S (sparse), W (wildcard) and R (RPT) bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncodedSource {
    /// The source address (the RP's address in a (*,G) entry).
    pub addr: Ipv4Addr,
    /// Mask length, 0..=32 (32 in PIM-SM).
    pub mask_len: u8,
    /// S bit: PIM-SM (must be 1 for PIM-SM senders, ignored on receipt).
    pub sparse: bool,
    /// W bit: wildcard, the entry is (*,G).
    pub wildcard: bool,
    /// R bit: sent toward the RP (the entry is (*,G) or (S,G,rpt)).
    pub rpt: bool,
}

impl EncodedSource {
    /// An (S,G) entry: S set, W and R clear, mask 32.
    pub const fn sg(addr: Ipv4Addr) -> EncodedSource {
        EncodedSource {
            addr,
            mask_len: 32,
            sparse: true,
            wildcard: false,
            rpt: false,
        }
    }

    /// A (*,G) entry toward the RP `rp`: S, W and R set.
    pub const fn star_g(rp: Ipv4Addr) -> EncodedSource {
        EncodedSource {
            addr: rp,
            mask_len: 32,
            sparse: true,
            wildcard: true,
            rpt: true,
        }
    }

    /// An (S,G,rpt) entry: S and R set, W clear.
    pub const fn sg_rpt(addr: Ipv4Addr) -> EncodedSource {
        EncodedSource {
            addr,
            mask_len: 32,
            sparse: true,
            wildcard: false,
            rpt: true,
        }
    }

    /// Read one.
    pub fn read(r: &mut Reader<'_>) -> Result<EncodedSource, Error> {
        read_family(r)?;
        let flags = r.u8()?;
        let mask_len = check_mask(r.u8()?)?;
        Ok(EncodedSource {
            addr: r.ipv4()?,
            mask_len,
            sparse: flags & SOURCE_SPARSE != 0,
            wildcard: flags & SOURCE_WILDCARD != 0,
            rpt: flags & SOURCE_RPT != 0,
        })
    }

    /// Write it (reserved bits zero).
    pub fn write(&self, w: &mut Writer<'_>) {
        w.u8(FAMILY_IPV4);
        w.u8(ENCODING_NATIVE);
        w.u8(if self.sparse { SOURCE_SPARSE } else { 0 }
            | if self.wildcard { SOURCE_WILDCARD } else { 0 }
            | if self.rpt { SOURCE_RPT } else { 0 });
        w.u8(self.mask_len);
        w.ipv4(self.addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7761_4_9_1_layouts() {
        // Encoded-Group: family 1, type 0, B|Z, mask 4, 224.0.0.0.
        let g = [1, 0, 0x81, 4, 224, 0, 0, 0];
        let group = EncodedGroup::read(&mut Reader::new(&g)).unwrap();
        assert_eq!(group.addr, Ipv4Addr::new(224, 0, 0, 0));
        assert_eq!(group.mask_len, 4);
        assert!(group.bidir && group.admin_scope);
        // Reserved bits are read and dropped.
        let g2 = [1, 0, 0x7e, 32, 239, 1, 1, 1];
        assert_eq!(
            EncodedGroup::read(&mut Reader::new(&g2)).unwrap(),
            EncodedGroup::host(Ipv4Addr::new(239, 1, 1, 1))
        );
        // Encoded-Source: S|W|R = 0x07 is (*,G).
        let s = [1, 0, 0x07, 32, 10, 0, 0, 1];
        let source = EncodedSource::read(&mut Reader::new(&s)).unwrap();
        assert_eq!(source, EncodedSource::star_g(Ipv4Addr::new(10, 0, 0, 1)));
        let s = [1, 0, 0x05, 32, 10, 0, 1, 2];
        assert_eq!(
            EncodedSource::read(&mut Reader::new(&s)).unwrap(),
            EncodedSource::sg_rpt(Ipv4Addr::new(10, 0, 1, 2))
        );
        let u = [1, 0, 192, 0, 2, 1];
        let mut r = Reader::new(&u);
        assert_eq!(read_unicast(&mut r), Ok(Ipv4Addr::new(192, 0, 2, 1)));
        assert!(r.is_empty());
    }

    #[test]
    fn write_is_read() {
        let mut buf = [0u8; GROUP_LEN + SOURCE_LEN + UNICAST_LEN];
        let group = EncodedGroup {
            addr: Ipv4Addr::new(239, 0, 0, 0),
            mask_len: 8,
            bidir: false,
            admin_scope: true,
        };
        let source = EncodedSource::sg(Ipv4Addr::new(10, 1, 2, 3));
        let mut w = Writer::new(&mut buf);
        group.write(&mut w);
        source.write(&mut w);
        write_unicast(&mut w, Ipv4Addr::new(10, 9, 9, 9));
        assert_eq!(&buf[..8], &[1, 0, 1, 8, 239, 0, 0, 0]);
        assert_eq!(&buf[8..16], &[1, 0, 4, 32, 10, 1, 2, 3]);
        let mut r = Reader::new(&buf);
        assert_eq!(EncodedGroup::read(&mut r), Ok(group));
        assert_eq!(EncodedSource::read(&mut r), Ok(source));
        assert_eq!(read_unicast(&mut r), Ok(Ipv4Addr::new(10, 9, 9, 9)));
    }

    #[test]
    fn bad_family_encoding_mask_and_truncation() {
        let ipv6 = [2, 0, 0, 128, 0xfe, 0x80, 0, 0];
        assert_eq!(
            EncodedGroup::read(&mut Reader::new(&ipv6)),
            Err(Error::UnknownAddressFamily(2))
        );
        assert_eq!(
            read_unicast(&mut Reader::new(&[0, 0, 1, 2, 3, 4])),
            Err(Error::UnknownAddressFamily(0))
        );
        assert_eq!(
            EncodedSource::read(&mut Reader::new(&[1, 1, 4, 32, 1, 2, 3, 4])),
            Err(Error::UnknownEncoding(1))
        );
        assert_eq!(
            EncodedSource::read(&mut Reader::new(&[1, 0, 4, 33, 1, 2, 3, 4])),
            Err(Error::BadMaskLen(33))
        );
        let g = [1, 0, 0, 32, 239, 1, 1, 1];
        for len in 0..g.len() {
            assert_eq!(
                EncodedGroup::read(&mut Reader::new(&g[..len])),
                Err(Error::Truncated)
            );
            assert_eq!(
                EncodedSource::read(&mut Reader::new(&g[..len])),
                Err(Error::Truncated)
            );
        }
        for len in 0..UNICAST_LEN {
            assert_eq!(
                read_unicast(&mut Reader::new(&g[..len])),
                Err(Error::Truncated)
            );
        }
    }
}
