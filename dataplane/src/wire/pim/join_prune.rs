//! Join/Prune (RFC 7761 4.9.5): the upstream neighbour the message is for, a holdtime, and group
//! sets, each an Encoded-Group with its joined and pruned Encoded-Sources (S, W, R bits say
//! whether an entry is (S,G), (*,G) or (S,G,rpt), 4.9.5.1).
//!
//! [`JoinPrune::split`] is the sending side's aggregation: control code collects every group set
//! for one upstream neighbour in one `JoinPrune` and splits it into as few messages as fit a
//! maximum size. Group sets stay whole when they fit in a message of their own; a larger one is
//! cut into fragments of the same group (joins first, then prunes, in order). A fragment of
//! (S,G,rpt) prunes then travels without the group's (*,G) join: the receiver's (S,G,rpt) state
//! (RFC 7761 4.5.3) reads an (*,G) join in another message as the end of those prunes until they
//! come again, so a router should keep such group sets small; this module does not decide that.

use std::net::Ipv4Addr;

use super::addr::{self, EncodedGroup, EncodedSource, GROUP_LEN, SOURCE_LEN, UNICAST_LEN};
use super::cursor::{count16, count8, Reader, Writer};
use super::header::{Error, HEADER_LEN};

/// Bytes of the body before the first group set: upstream neighbour, reserved, number of
/// groups, holdtime.
pub const FIXED_LEN: usize = UNICAST_LEN + 4;
/// Bytes of a group set without sources: Encoded-Group and the two counts.
pub const GROUP_SET_LEN: usize = GROUP_LEN + 4;
/// The smallest maximum size [`JoinPrune::split`] accepts: header, fixed part, one group set
/// with one source.
pub const MIN_SPLIT_LEN: usize = HEADER_LEN + FIXED_LEN + GROUP_SET_LEN + SOURCE_LEN;
/// Most group sets in one message (the count is one byte).
pub const MAX_GROUPS: usize = 255;
/// Most entries in one list of one group set (the count is two bytes).
const MAX_SOURCES: usize = u16::MAX as usize;
/// The largest PIM message an IPv4 datagram with a 20-byte header carries.
const MAX_MESSAGE_LEN: usize = u16::MAX as usize - 20;

/// One group set: a group and the sources joined and pruned in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupSet {
    /// The group (mask length 32 in PIM-SM).
    pub group: EncodedGroup,
    /// Joined sources: (*,G) and (S,G) joins.
    pub joins: Vec<EncodedSource>,
    /// Pruned sources: (*,G), (S,G) and (S,G,rpt) prunes.
    pub prunes: Vec<EncodedSource>,
}

impl GroupSet {
    /// Bytes this group set takes in a message.
    pub fn len(&self) -> usize {
        GROUP_SET_LEN + SOURCE_LEN * (self.joins.len() + self.prunes.len())
    }

    /// No joins and no prunes.
    pub fn is_empty(&self) -> bool {
        self.joins.is_empty() && self.prunes.is_empty()
    }
}

/// An owned Join/Prune message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JoinPrune {
    /// The RPF neighbour this message is for (every router on the LAN reads it).
    pub upstream_neighbor: Ipv4Addr,
    /// Seconds the receiver keeps the state (RFC 7761: 3.5 times the periodic interval).
    pub holdtime: u16,
    /// The group sets, in order.
    pub groups: Vec<GroupSet>,
}

fn read_sources(r: &mut Reader<'_>, n: u16) -> Result<Vec<EncodedSource>, Error> {
    // Never reserve more than the bytes left can hold: a hostile count costs nothing.
    let mut out = Vec::with_capacity(usize::from(n).min(r.remaining() / SOURCE_LEN));
    for _ in 0..n {
        out.push(EncodedSource::read(r)?);
    }
    Ok(out)
}

impl JoinPrune {
    /// Read from the bytes after the common header; trailing bytes are ignored.
    pub fn parse(body: &[u8]) -> Result<JoinPrune, Error> {
        let mut r = Reader::new(body);
        let upstream_neighbor = addr::read_unicast(&mut r)?;
        let _reserved = r.u8()?;
        let num_groups = r.u8()?;
        let holdtime = r.u16()?;
        let mut groups = Vec::with_capacity(usize::from(num_groups));
        for _ in 0..num_groups {
            let group = EncodedGroup::read(&mut r)?;
            let joined = r.u16()?;
            let pruned = r.u16()?;
            let joins = read_sources(&mut r, joined)?;
            let prunes = read_sources(&mut r, pruned)?;
            groups.push(GroupSet {
                group,
                joins,
                prunes,
            });
        }
        Ok(JoinPrune {
            upstream_neighbor,
            holdtime,
            groups,
        })
    }

    /// Bytes [`JoinPrune::emit_body`] writes.
    pub fn body_len(&self) -> usize {
        FIXED_LEN + self.groups.iter().map(GroupSet::len).sum::<usize>()
    }

    /// Write the body.
    ///
    /// # Panics
    /// If there are more than 255 group sets or 65,535 joins or prunes in one: use
    /// [`JoinPrune::split`].
    pub fn emit_body(&self, w: &mut Writer<'_>) {
        addr::write_unicast(w, self.upstream_neighbor);
        w.u8(0);
        w.u8(count8(self.groups.len()));
        w.u16(self.holdtime);
        for g in &self.groups {
            g.group.write(w);
            w.u16(count16(g.joins.len()));
            w.u16(count16(g.prunes.len()));
            for s in g.joins.iter().chain(&g.prunes) {
                s.write(w);
            }
        }
    }

    /// The same group sets as messages of at most `max_len` bytes each (PIM header included;
    /// the caller subtracts the IPv4 header from the MTU), in order, each within the count
    /// limits. See the module doc for how a group set too large for one message is cut.
    ///
    /// A message without group sets stays one message.
    pub fn split(&self, max_len: usize) -> Result<Vec<JoinPrune>, Error> {
        if max_len < MIN_SPLIT_LEN {
            return Err(Error::MaxLenTooSmall(max_len));
        }
        let max_len = max_len.min(MAX_MESSAGE_LEN);
        let fixed = HEADER_LEN + FIXED_LEN;
        let empty = || JoinPrune {
            upstream_neighbor: self.upstream_neighbor,
            holdtime: self.holdtime,
            groups: Vec::new(),
        };
        let mut out = Vec::new();
        let mut current = empty();
        let mut used = fixed;
        for g in &self.groups {
            let whole = g.joins.len() <= MAX_SOURCES
                && g.prunes.len() <= MAX_SOURCES
                && fixed + g.len() <= max_len;
            if whole {
                if current.groups.len() == MAX_GROUPS || used + g.len() > max_len {
                    out.push(std::mem::replace(&mut current, empty()));
                    used = fixed;
                }
                used += g.len();
                current.groups.push(g.clone());
                continue;
            }
            let (mut joins, mut prunes) = (&g.joins[..], &g.prunes[..]);
            while !joins.is_empty() || !prunes.is_empty() {
                if current.groups.len() == MAX_GROUPS || used + GROUP_SET_LEN + SOURCE_LEN > max_len
                {
                    out.push(std::mem::replace(&mut current, empty()));
                    used = fixed;
                }
                let room = (max_len - used - GROUP_SET_LEN) / SOURCE_LEN;
                let j = joins.len().min(room).min(MAX_SOURCES);
                let p = prunes.len().min(room - j).min(MAX_SOURCES);
                let part = GroupSet {
                    group: g.group,
                    joins: joins[..j].to_vec(),
                    prunes: prunes[..p].to_vec(),
                };
                joins = &joins[j..];
                prunes = &prunes[p..];
                used += part.len();
                current.groups.push(part);
            }
        }
        if !current.groups.is_empty() || out.is_empty() {
            out.push(current);
        }
        Ok(out)
    }
}
