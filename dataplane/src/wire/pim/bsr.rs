//! Bootstrap (RFC 7761 4.9.7, RFC 5059 section 4.1) and Candidate-RP-Advertisement (RFC 7761
//! 4.9.8, RFC 5059 section 4.2): what a router learns its RP set from. Parsed for the RP set;
//! the emitters exist for tests and round trips (mrouter does not run a BSR).
//!
//! A Bootstrap may be one fragment of several (same fragment tag); each group range says how
//! many RPs it has in all (`rp_count`) and carries the ones in this fragment (`rps`).

use std::net::Ipv4Addr;

use super::addr::{self, EncodedGroup, GROUP_LEN, UNICAST_LEN};
use super::cursor::{count8, Reader, Writer};
use super::header::Error;

/// The No-Forward bit (RFC 5059 3.2) in the common header's reserved byte.
pub const BOOTSTRAP_NO_FORWARD: u8 = 0x80;
/// Bytes of a Bootstrap body before its first group range.
const BOOTSTRAP_FIXED_LEN: usize = 4 + UNICAST_LEN;
/// Bytes of a group range without RPs.
const GROUP_RANGE_LEN: usize = GROUP_LEN + 4;
/// Bytes of one RP entry.
const RP_LEN: usize = UNICAST_LEN + 4;
/// Bytes of a C-RP-Adv body before its prefixes.
const CRP_FIXED_LEN: usize = 4 + UNICAST_LEN;

/// One RP of a Bootstrap group range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BsrRp {
    /// The RP's address.
    pub address: Ipv4Addr,
    /// Seconds the mapping holds.
    pub holdtime: u16,
    /// Priority (lower is preferred).
    pub priority: u8,
}

/// One group range of a Bootstrap with its RPs in this fragment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BsrGroup {
    /// The group range.
    pub group: EncodedGroup,
    /// RPs for the range in the whole Bootstrap (all fragments).
    pub rp_count: u8,
    /// RPs in this fragment (its "Frag RP Cnt" is their number).
    pub rps: Vec<BsrRp>,
}

/// An owned Bootstrap message (one fragment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bootstrap {
    /// No-Forward bit (RFC 5059): sent to a new neighbour, not to be forwarded.
    pub no_forward: bool,
    /// Same in every fragment of one Bootstrap.
    pub fragment_tag: u16,
    /// Hash mask length for the RP hash (RFC 7761 4.7.2).
    pub hash_mask_len: u8,
    /// The BSR's priority (higher is preferred).
    pub bsr_priority: u8,
    /// The BSR's address.
    pub bsr_address: Ipv4Addr,
    /// Group ranges, in order.
    pub groups: Vec<BsrGroup>,
}

impl Bootstrap {
    /// Read from the header's reserved byte and the bytes after the header. Group ranges run to
    /// the end of the message; one that runs past it is [`Error::Truncated`].
    pub fn parse(reserved: u8, body: &[u8]) -> Result<Bootstrap, Error> {
        let mut r = Reader::new(body);
        let fragment_tag = r.u16()?;
        let hash_mask_len = r.u8()?;
        let bsr_priority = r.u8()?;
        let bsr_address = addr::read_unicast(&mut r)?;
        let mut groups = Vec::new();
        while !r.is_empty() {
            let group = EncodedGroup::read(&mut r)?;
            let rp_count = r.u8()?;
            let frag_rp_count = r.u8()?;
            let _reserved = r.u16()?;
            let mut rps = Vec::with_capacity(usize::from(frag_rp_count));
            for _ in 0..frag_rp_count {
                let address = addr::read_unicast(&mut r)?;
                let holdtime = r.u16()?;
                let priority = r.u8()?;
                let _reserved = r.u8()?;
                rps.push(BsrRp {
                    address,
                    holdtime,
                    priority,
                });
            }
            groups.push(BsrGroup {
                group,
                rp_count,
                rps,
            });
        }
        Ok(Bootstrap {
            no_forward: reserved & BOOTSTRAP_NO_FORWARD != 0,
            fragment_tag,
            hash_mask_len,
            bsr_priority,
            bsr_address,
            groups,
        })
    }

    /// The header's reserved byte for this message.
    pub fn reserved(&self) -> u8 {
        if self.no_forward {
            BOOTSTRAP_NO_FORWARD
        } else {
            0
        }
    }

    /// Bytes [`Bootstrap::emit_body`] writes.
    pub fn body_len(&self) -> usize {
        BOOTSTRAP_FIXED_LEN
            + self
                .groups
                .iter()
                .map(|g| GROUP_RANGE_LEN + RP_LEN * g.rps.len())
                .sum::<usize>()
    }

    /// Write the body.
    ///
    /// # Panics
    /// If a group range has more than 255 RPs in the fragment.
    pub fn emit_body(&self, w: &mut Writer<'_>) {
        w.u16(self.fragment_tag);
        w.u8(self.hash_mask_len);
        w.u8(self.bsr_priority);
        addr::write_unicast(w, self.bsr_address);
        for g in &self.groups {
            g.group.write(w);
            w.u8(g.rp_count);
            w.u8(count8(g.rps.len()));
            w.u16(0);
            for rp in &g.rps {
                addr::write_unicast(w, rp.address);
                w.u16(rp.holdtime);
                w.u8(rp.priority);
                w.u8(0);
            }
        }
    }
}

/// An owned Candidate-RP-Advertisement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CandidateRpAdv {
    /// The candidate's priority (lower is preferred).
    pub priority: u8,
    /// Seconds the advertisement holds.
    pub holdtime: u16,
    /// The candidate RP's address.
    pub rp_address: Ipv4Addr,
    /// Group ranges it offers to serve; empty means all of 224.0.0.0/4.
    pub groups: Vec<EncodedGroup>,
}

impl CandidateRpAdv {
    /// Read from the bytes after the common header; trailing bytes are ignored.
    pub fn parse(body: &[u8]) -> Result<CandidateRpAdv, Error> {
        let mut r = Reader::new(body);
        let prefix_count = r.u8()?;
        let priority = r.u8()?;
        let holdtime = r.u16()?;
        let rp_address = addr::read_unicast(&mut r)?;
        let mut groups = Vec::with_capacity(usize::from(prefix_count));
        for _ in 0..prefix_count {
            groups.push(EncodedGroup::read(&mut r)?);
        }
        Ok(CandidateRpAdv {
            priority,
            holdtime,
            rp_address,
            groups,
        })
    }

    /// Bytes [`CandidateRpAdv::emit_body`] writes.
    pub fn body_len(&self) -> usize {
        CRP_FIXED_LEN + GROUP_LEN * self.groups.len()
    }

    /// Write the body.
    ///
    /// # Panics
    /// If there are more than 255 group ranges.
    pub fn emit_body(&self, w: &mut Writer<'_>) {
        w.u8(count8(self.groups.len()));
        w.u8(self.priority);
        w.u16(self.holdtime);
        addr::write_unicast(w, self.rp_address);
        for g in &self.groups {
            g.write(w);
        }
    }
}
