//! Assert (RFC 7761 4.9.6): the group, the source (0.0.0.0 with R set for an (*,G) assert), and
//! the sender's route to it: R (RPT) bit, metric preference (31 bits) and metric. Winners are
//! decided by the protocol (4.6.3), not here.

use std::net::Ipv4Addr;

use super::addr::{self, EncodedGroup, GROUP_LEN, UNICAST_LEN};
use super::cursor::{Reader, Writer};
use super::header::Error;

const RPT: u32 = 0x8000_0000;

/// An owned Assert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Assert {
    /// The group (Encoded-Group).
    pub group: EncodedGroup,
    /// The source (Encoded-Unicast); 0.0.0.0 in an (*,G) assert.
    pub source: Ipv4Addr,
    /// R bit: the sender's route is the shared tree (RPT).
    pub rpt: bool,
    /// Metric preference of the sender's route (31 bits; 0x7fffffff is the worst, used by
    /// AssertCancel).
    pub metric_preference: u32,
    /// Metric of the sender's route.
    pub metric: u32,
}

impl Assert {
    /// Read from the bytes after the common header; trailing bytes are ignored.
    pub fn parse(body: &[u8]) -> Result<Assert, Error> {
        let mut r = Reader::new(body);
        let group = EncodedGroup::read(&mut r)?;
        let source = addr::read_unicast(&mut r)?;
        let pref = r.u32()?;
        Ok(Assert {
            group,
            source,
            rpt: pref & RPT != 0,
            metric_preference: pref & !RPT,
            metric: r.u32()?,
        })
    }

    /// Bytes [`Assert::emit_body`] writes.
    pub const fn body_len(&self) -> usize {
        GROUP_LEN + UNICAST_LEN + 8
    }

    /// Write it (a metric preference above 31 bits loses its top bit).
    pub fn emit_body(&self, w: &mut Writer<'_>) {
        self.group.write(w);
        addr::write_unicast(w, self.source);
        let r = if self.rpt { RPT } else { 0 };
        w.u32(r | (self.metric_preference & !RPT));
        w.u32(self.metric);
    }
}
