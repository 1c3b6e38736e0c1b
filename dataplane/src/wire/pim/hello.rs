//! Hello (RFC 7761 4.9.2) and its options: Holdtime (1), LAN Prune Delay (2), DR Priority (19),
//! Generation ID (20), Address List (24, RFC 7761 4.3.4). Options are type/length/value with no
//! padding; a known option whose length does not fit its type is [`Error::BadOptionLen`].
//! Unknown options are kept as they are ([`HelloOption`]): RFC 7761 4.9.2 says they must be
//! ignored and must not prevent a neighbour relationship, and keeping them lets a parsed Hello be
//! written back unchanged.
//!
//! When a known option appears twice, the first counts; Address List options add up. IPv6
//! entries of an address list (family 2, native) are skipped, any other family is an error.

use std::net::Ipv4Addr;

use super::addr::{self, ENCODING_NATIVE, FAMILY_IPV6, UNICAST_LEN};
use super::cursor::{count16, Reader, Writer};
use super::header::Error;

/// Holdtime: how long the neighbour stays up without another Hello (seconds; 0xffff: forever,
/// 0: goodbye).
pub const OPT_HOLDTIME: u16 = 1;
/// LAN Prune Delay (RFC 7761 4.3.3).
pub const OPT_LAN_PRUNE_DELAY: u16 = 2;
/// DR Priority (4.3.2).
pub const OPT_DR_PRIORITY: u16 = 19;
/// Generation ID (4.3.1).
pub const OPT_GENERATION_ID: u16 = 20;
/// Address List: the sender's secondary addresses (4.3.4).
pub const OPT_ADDRESS_LIST: u16 = 24;
/// Length of an option's type and length fields.
pub const OPTION_HEADER_LEN: usize = 4;

/// Length of an IPv6 Encoded-Unicast address, skipped inside an address list.
const IPV6_UNICAST_LEN: usize = 18;
const LAN_PRUNE_DELAY_T: u16 = 0x8000;
/// Most addresses one Address List option holds (its length is a u16); more take more options.
const MAX_LIST_ADDRESSES: usize = u16::MAX as usize / UNICAST_LEN;

/// The LAN Prune Delay option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanPruneDelay {
    /// T bit: the sender can disable Join suppression.
    pub join_suppression_disabled: bool,
    /// Propagation delay in milliseconds (15 bits).
    pub propagation_delay_ms: u16,
    /// Override interval in milliseconds.
    pub override_interval_ms: u16,
}

/// An option this module does not interpret, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HelloOption {
    /// Option type.
    pub kind: u16,
    /// Its value (the length field is its length).
    pub value: Vec<u8>,
}

/// An owned Hello.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Hello {
    /// Holdtime option, seconds.
    pub holdtime: Option<u16>,
    /// LAN Prune Delay option.
    pub lan_prune_delay: Option<LanPruneDelay>,
    /// DR Priority option.
    pub dr_priority: Option<u32>,
    /// Generation ID option.
    pub generation_id: Option<u32>,
    /// Secondary addresses from Address List options (written as one option when not empty, or
    /// as many as 10,922 addresses a piece need).
    pub addresses: Vec<Ipv4Addr>,
    /// Other options, in the order received; written after the known ones. An entry of a known
    /// type would be written twice, so control code never puts one here.
    pub unknown: Vec<HelloOption>,
}

/// Iterator over a Hello's options as (type, value), from the bytes after the common header.
/// It stops at the first option that runs past the end; [`Hello::parse`] reports that as
/// [`Error::Truncated`].
#[derive(Debug, Clone)]
pub struct HelloOptions<'a> {
    reader: Reader<'a>,
}

impl<'a> HelloOptions<'a> {
    /// The options in `body` (the PIM payload of a Hello).
    pub fn new(body: &'a [u8]) -> HelloOptions<'a> {
        HelloOptions {
            reader: Reader::new(body),
        }
    }

    fn next_option(&mut self) -> Result<Option<(u16, &'a [u8])>, Error> {
        if self.reader.is_empty() {
            return Ok(None);
        }
        let kind = self.reader.u16()?;
        let len = self.reader.u16()?;
        Ok(Some((kind, self.reader.take(usize::from(len))?)))
    }
}

impl<'a> Iterator for HelloOptions<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        match self.next_option() {
            Ok(option) => option,
            Err(_) => {
                self.reader.rest();
                None
            }
        }
    }
}

fn fixed<const N: usize>(kind: u16, value: &[u8]) -> Result<[u8; N], Error> {
    value.try_into().map_err(|_| Error::BadOptionLen {
        option: kind,
        // An option's length came from a u16 field.
        len: value.len() as u16,
    })
}

fn read_address_list(value: &[u8], out: &mut Vec<Ipv4Addr>) -> Result<(), Error> {
    let mut r = Reader::new(value);
    while !r.is_empty() {
        let mut entry = r.clone();
        if r.take(2)? == [FAMILY_IPV6, ENCODING_NATIVE] {
            r.take(IPV6_UNICAST_LEN - 2)?;
            continue;
        }
        out.push(addr::read_unicast(&mut entry)?);
        r = entry;
    }
    Ok(())
}

impl Hello {
    /// Read a Hello from the bytes after the common header.
    pub fn parse(body: &[u8]) -> Result<Hello, Error> {
        let mut hello = Hello::default();
        let mut options = HelloOptions::new(body);
        while let Some((kind, value)) = options.next_option()? {
            match kind {
                OPT_HOLDTIME => {
                    let v = u16::from_be_bytes(fixed(kind, value)?);
                    hello.holdtime.get_or_insert(v);
                }
                OPT_LAN_PRUNE_DELAY => {
                    let v: [u8; 4] = fixed(kind, value)?;
                    let delay = u16::from_be_bytes([v[0], v[1]]);
                    hello.lan_prune_delay.get_or_insert(LanPruneDelay {
                        join_suppression_disabled: delay & LAN_PRUNE_DELAY_T != 0,
                        propagation_delay_ms: delay & !LAN_PRUNE_DELAY_T,
                        override_interval_ms: u16::from_be_bytes([v[2], v[3]]),
                    });
                }
                OPT_DR_PRIORITY => {
                    let v = u32::from_be_bytes(fixed(kind, value)?);
                    hello.dr_priority.get_or_insert(v);
                }
                OPT_GENERATION_ID => {
                    let v = u32::from_be_bytes(fixed(kind, value)?);
                    hello.generation_id.get_or_insert(v);
                }
                OPT_ADDRESS_LIST => read_address_list(value, &mut hello.addresses)?,
                _ => hello.unknown.push(HelloOption {
                    kind,
                    value: value.to_vec(),
                }),
            }
        }
        Ok(hello)
    }

    /// Bytes [`Hello::emit_body`] writes.
    pub fn body_len(&self) -> usize {
        let opt = |present: bool, len: usize| {
            if present {
                OPTION_HEADER_LEN + len
            } else {
                0
            }
        };
        opt(self.holdtime.is_some(), 2)
            + opt(self.lan_prune_delay.is_some(), 4)
            + opt(self.dr_priority.is_some(), 4)
            + opt(self.generation_id.is_some(), 4)
            + self.addresses.chunks(MAX_LIST_ADDRESSES).len() * OPTION_HEADER_LEN
            + UNICAST_LEN * self.addresses.len()
            + self
                .unknown
                .iter()
                .map(|o| OPTION_HEADER_LEN + o.value.len())
                .sum::<usize>()
    }

    /// Write the options: Holdtime, LAN Prune Delay, DR Priority, Generation ID, Address List
    /// (FRR's order; FRR writes IPv4 and IPv6 addresses in two lists, we only the IPv4 one), then
    /// the unknown ones.
    ///
    /// # Panics
    /// If the writer is too short, or an unknown option's value is longer than 65,535 bytes
    /// (never after parsing).
    pub fn emit_body(&self, w: &mut Writer<'_>) {
        if let Some(h) = self.holdtime {
            w.u16(OPT_HOLDTIME);
            w.u16(2);
            w.u16(h);
        }
        if let Some(d) = self.lan_prune_delay {
            w.u16(OPT_LAN_PRUNE_DELAY);
            w.u16(4);
            let t = if d.join_suppression_disabled {
                LAN_PRUNE_DELAY_T
            } else {
                0
            };
            w.u16(t | (d.propagation_delay_ms & !LAN_PRUNE_DELAY_T));
            w.u16(d.override_interval_ms);
        }
        for (kind, value) in [
            (OPT_DR_PRIORITY, self.dr_priority),
            (OPT_GENERATION_ID, self.generation_id),
        ] {
            if let Some(v) = value {
                w.u16(kind);
                w.u16(4);
                w.u32(v);
            }
        }
        for list in self.addresses.chunks(MAX_LIST_ADDRESSES) {
            w.u16(OPT_ADDRESS_LIST);
            w.u16(count16(UNICAST_LEN * list.len()));
            for a in list {
                addr::write_unicast(w, *a);
            }
        }
        for o in &self.unknown {
            w.u16(o.kind);
            w.u16(count16(o.value.len()));
            w.bytes(&o.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_address_lists_take_several_options() {
        let hello = Hello {
            addresses: (0..MAX_LIST_ADDRESSES as u32 + 5)
                .map(Ipv4Addr::from)
                .collect(),
            ..Hello::default()
        };
        let mut buf = vec![0u8; hello.body_len()];
        hello.emit_body(&mut Writer::new(&mut buf));
        let options: Vec<_> = HelloOptions::new(&buf).map(|(t, v)| (t, v.len())).collect();
        assert_eq!(
            options,
            [
                (OPT_ADDRESS_LIST, UNICAST_LEN * MAX_LIST_ADDRESSES),
                (OPT_ADDRESS_LIST, UNICAST_LEN * 5)
            ]
        );
        assert_eq!(Hello::parse(&buf), Ok(hello));
    }
}
