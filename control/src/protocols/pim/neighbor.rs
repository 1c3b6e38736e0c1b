//! A PIM neighbour: what its last Hello said (RFC 7761 4.3.1-4.3.4) and when it expires.

use dataplane::wire::pim::{Hello, LanPruneDelay};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Holdtime assumed for a Hello without the Holdtime option (Default_Hello_Holdtime, 4.11).
pub const DEFAULT_HOLDTIME: u16 = 105;
/// A holdtime of 0xffff: the neighbour never expires (4.9.2).
const HOLDTIME_FOREVER: u16 = 0xffff;

/// One neighbour on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Its primary address (the Hello's IP source).
    pub address: Ipv4Addr,
    /// Its secondary addresses (Address List option, 4.3.4).
    pub secondary: Vec<Ipv4Addr>,
    /// When it was first heard (since the last time it was new or restarted).
    pub since: Duration,
    /// When it expires; `None`: never (holdtime 0xffff).
    pub expires: Option<Duration>,
    /// The holdtime its last Hello gave, seconds.
    pub holdtime: u16,
    /// DR Priority option, if it sent one.
    pub dr_priority: Option<u32>,
    /// Generation ID option, if it sent one.
    pub generation_id: Option<u32>,
    /// LAN Prune Delay option, if it sent one.
    pub lan_prune_delay: Option<LanPruneDelay>,
    /// Hellos received from it.
    pub hellos: u64,
}

impl Neighbor {
    /// A neighbour first heard at `now` in `hello` from `address`.
    pub fn new(now: Duration, address: Ipv4Addr, hello: &Hello) -> Neighbor {
        let mut n = Neighbor {
            address,
            secondary: Vec::new(),
            since: now,
            expires: None,
            holdtime: 0,
            dr_priority: None,
            generation_id: hello.generation_id,
            lan_prune_delay: None,
            hellos: 0,
        };
        n.refresh(now, hello);
        n
    }

    /// Takes in a Hello received at `now` (holdtime not 0): every option is the last Hello's.
    pub fn refresh(&mut self, now: Duration, hello: &Hello) {
        let holdtime = hello.holdtime.unwrap_or(DEFAULT_HOLDTIME);
        self.holdtime = holdtime;
        self.expires =
            (holdtime != HOLDTIME_FOREVER).then(|| now + Duration::from_secs(u64::from(holdtime)));
        self.dr_priority = hello.dr_priority;
        self.generation_id = hello.generation_id;
        self.lan_prune_delay = hello.lan_prune_delay;
        self.secondary = hello.addresses.clone();
        self.hellos += 1;
    }

    /// Whether `hello` says the neighbour restarted: both carry a Generation ID and they
    /// differ (4.3.1).
    pub fn restarted(&self, hello: &Hello) -> bool {
        matches!((self.generation_id, hello.generation_id), (Some(a), Some(b)) if a != b)
    }

    /// Whether `address` is one of its addresses.
    pub fn has_address(&self, address: Ipv4Addr) -> bool {
        self.address == address || self.secondary.contains(&address)
    }
}
