//! What crosses between the tree state machines and their driver (PIM's instance): the
//! environment they read (RP, RPF), the interface parameters, the timer values, and the outputs
//! (outgoing-set changes, Join/Prune messages). Every other file of `tree/` imports these; this
//! one imports none of them.

use std::net::Ipv4Addr;
use std::time::Duration;

pub use crate::interface::Interface as Iface;
use crate::protocols::shared::Datagram;
use dataplane::wire::ipv4::PROTOCOL_PIM;
use dataplane::wire::pim::{JoinPrune, Repr, ALL_PIM_ROUTERS};

/// t_periodic (RFC 7761 4.11): the period of Join/Prune messages.
pub const T_PERIODIC: Duration = Duration::from_secs(60);
/// J/P_HoldTime (4.11): 3.5 * t_periodic, the holdtime our Join/Prune messages carry.
pub const JP_HOLDTIME: Duration = Duration::from_secs(210);
/// A received holdtime of 0xFFFF means "forever" (4.9.5).
pub const HOLDTIME_INFINITE: u16 = u16::MAX;
/// Propagation_Delay_default (4.11).
pub const DEFAULT_PROPAGATION_DELAY: Duration = Duration::from_millis(500);
/// t_override_default (4.11).
pub const DEFAULT_OVERRIDE_INTERVAL: Duration = Duration::from_millis(2500);

/// An upstream neighbour: the interface it is on and its address. Join/Prune messages for it
/// go out of `iface` to ALL-PIM-ROUTERS with `addr` as their Upstream Neighbor Address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Neighbor {
    /// The interface toward it.
    pub iface: Iface,
    /// Its address on that interface.
    pub addr: Ipv4Addr,
}

/// The MRIB's answer toward an address (the RP, or a source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rpf {
    /// RPF_interface: the interface toward the address.
    pub iface: Iface,
    /// The PIM neighbour that is the next hop; `None` when the address is directly connected
    /// (or is this router): nothing is sent upstream then.
    pub neighbor: Option<Ipv4Addr>,
}

impl Rpf {
    /// RPF' as a neighbour, when there is one.
    pub fn upstream(&self) -> Option<Neighbor> {
        self.neighbor.map(|addr| Neighbor {
            iface: self.iface,
            addr,
        })
    }
}

/// What the machines read of the rest of PIM, at the moment of each call. The driver answers
/// from its RP set, its MRIB (connected, config and kernel routes) and its neighbour table.
pub trait TreeEnv {
    /// RP(G); `None` when no RP is known for `group` (or it is in the SSM range).
    fn rp(&self, group: Ipv4Addr) -> Option<Ipv4Addr>;
    /// RPF toward `addr`; `None` when there is no route (or `addr` is this router).
    fn rpf(&self, addr: Ipv4Addr) -> Option<Rpf>;
    /// The group is in the SSM range (232.0.0.0/8 unless configured): no (*,G) state ever.
    fn is_ssm(&self, group: Ipv4Addr) -> bool;
    /// The metric preference and metric of the MRIB route toward `addr`, for the assert
    /// metrics (RFC 7761 4.6.3). Without an override: a connected route's (0, 0).
    fn metric(&self, _addr: Ipv4Addr) -> RouteMetric {
        RouteMetric::default()
    }
}

/// The metric preference (an administrative distance) and the metric of an MRIB route
/// (RFC 7761 4.6.3): lower is better, the preference first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct RouteMetric {
    /// Metric preference (31 bits on the wire).
    pub preference: u32,
    /// Route metric.
    pub metric: u32,
}

/// One PIM interface as the machines need it. Part A's neighbour code fills this in and calls
/// [`crate::protocols::pim::tree::Tib::set_interface`] again when any of it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceParams {
    /// The router's own (primary) address on the interface: a received Join/Prune whose
    /// Upstream Neighbor Address is this one is for us (downstream machines), any other is a
    /// message we overhear (upstream machines).
    pub address: Ipv4Addr,
    /// I_am_DR(I): local members count only on interfaces where we are the DR.
    pub is_dr: bool,
    /// PIM neighbours on the interface: with more than one, a prune waits
    /// J/P_Override_Interval(I) for an override, and the expiry of that wait is echoed.
    pub neighbors: usize,
    /// Effective_Propagation_Delay(I) (4.3.3).
    pub propagation_delay: Duration,
    /// Effective_Override_Interval(I) (4.3.3).
    pub override_interval: Duration,
    /// Suppression_Enabled(I) (4.3.3): false when every neighbour set the T bit.
    pub suppression_enabled: bool,
    /// The largest PIM message to send on it (the interface MTU minus the IPv4 header).
    pub max_message_len: usize,
}

impl InterfaceParams {
    /// An interface with RFC default delays, one neighbour, suppression on, MTU 1500.
    pub fn new(address: Ipv4Addr, is_dr: bool) -> InterfaceParams {
        InterfaceParams {
            address,
            is_dr,
            neighbors: 1,
            propagation_delay: DEFAULT_PROPAGATION_DELAY,
            override_interval: DEFAULT_OVERRIDE_INTERVAL,
            suppression_enabled: true,
            max_message_len: 1480,
        }
    }

    /// J/P_Override_Interval(I) = Effective_Propagation_Delay(I) + Effective_Override_Interval(I).
    pub fn jp_override_interval(&self) -> Duration {
        self.propagation_delay + self.override_interval
    }

    /// The Prune-Pending Timer of a downstream machine on this interface (4.5.2): the override
    /// interval with more than one neighbour, zero (expire at once) otherwise.
    pub fn prune_pending_delay(&self) -> Duration {
        if self.neighbors > 1 {
            self.jp_override_interval()
        } else {
            Duration::ZERO
        }
    }
}

/// Last-hop switch to the shortest-path tree (RFC 7761 4.2.1, SwitchToSptDesired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SptPolicy {
    /// Join (S,G) toward the source as soon as its data arrives on the shared tree.
    #[default]
    Immediate,
    /// Stay on the shared tree.
    Never,
}

/// Settings of the machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeConfig {
    /// t_periodic.
    pub t_periodic: Duration,
    /// The holdtime our Join/Prune messages carry.
    pub holdtime: Duration,
    /// Last-hop switchover.
    pub spt_policy: SptPolicy,
    /// Keepalive_Period (4.11): how long data seen for (S,G) keeps the Keepalive Timer running.
    pub keepalive_period: Duration,
    /// Most groups plus sources with state: a join or member beyond it is refused and counted
    /// ([`TreeCounters::entry_limit`]), so a hostile neighbour cannot grow the state without
    /// bound.
    pub max_entries: usize,
}

impl Default for TreeConfig {
    fn default() -> TreeConfig {
        TreeConfig {
            t_periodic: T_PERIODIC,
            holdtime: JP_HOLDTIME,
            spt_policy: SptPolicy::Immediate,
            keepalive_period: Duration::from_secs(210),
            max_entries: 65_536,
        }
    }
}

/// Which tree entry an output or a query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entry {
    /// (*,G).
    StarG {
        /// G.
        group: Ipv4Addr,
    },
    /// (S,G).
    Sg {
        /// S.
        source: Ipv4Addr,
        /// G.
        group: Ipv4Addr,
    },
}

/// A change of an entry's outgoing interfaces: immediate_olist(*,G) for (*,G),
/// inherited_olist(S,G) for (S,G), without the entry's RPF interface. What the driver gives
/// the MGM (a (*,G) or (S,G) membership of PIM's on `iface`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TreeEvent {
    /// `iface` joined the entry's outgoing set.
    OifAdded {
        /// The entry.
        entry: Entry,
        /// The interface.
        iface: Iface,
    },
    /// `iface` left it.
    OifRemoved {
        /// The entry.
        entry: Entry,
        /// The interface.
        iface: Iface,
    },
}

/// A Join/Prune message to send out of `iface` to ALL-PIM-ROUTERS (TTL 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingJoinPrune {
    /// The interface.
    pub iface: Iface,
    /// Our address on it, the datagram's source.
    pub src: Ipv4Addr,
    /// The message (its Upstream Neighbor Address says for whom; a PruneEcho carries ours).
    pub message: JoinPrune,
}

/// A link-local PIM datagram out of `iface` from `src`: PIM (103) to ALL-PIM-ROUTERS with
/// TTL 1 and DSCP CS6 (Hellos, Join/Prunes, Asserts, forwarded Bootstraps).
pub fn link_local_datagram(iface: Iface, src: Ipv4Addr, payload: Vec<u8>) -> Datagram {
    Datagram {
        iface,
        src,
        dst: ALL_PIM_ROUTERS,
        protocol: PROTOCOL_PIM,
        ttl: 1,
        dscp_ecn: 0xc0,
        payload,
    }
}

impl OutgoingJoinPrune {
    /// The datagram the control core sends (`Protocol::poll_datagram`): link-local, the
    /// message with its checksum as payload.
    pub fn datagram(&self) -> Datagram {
        link_local_datagram(
            self.iface,
            self.src,
            Repr::JoinPrune(self.message.clone()).to_bytes(),
        )
    }
}

/// Input the machines refused, by reason (the driver adds them to its PIM counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeCounters {
    /// A Join/Prune entry for a group in the SSM range that is (*,G) or (S,G,rpt).
    pub ssm_shared_tree_ignored: u64,
    /// A Join(*,G) naming an RP other than RP(G).
    pub wrong_rp: u64,
    /// A group that is not a single multicast address, or a source with a mask under 32, or
    /// a wildcard without the RPT bit.
    pub bad_entry: u64,
    /// A Join/Prune on an interface the machines were not told about.
    pub unknown_interface: u64,
    /// A join, prune or member that needed a new group or source beyond
    /// [`TreeConfig::max_entries`].
    pub entry_limit: u64,
    /// Prune(S,G,rpt) entries left out of a Join(*,G)'s group set that did not fit in one
    /// message (sent: the numerically smallest, RFC 7761 4.9.5.2).
    pub rpt_prunes_left_out: u64,
    /// Asserts whose group is not one multicast address, or an (S,G) assert (R bit clear)
    /// with source 0.0.0.0.
    pub bad_assert: u64,
    /// Asserts that changed nothing where we had no assert state: no state for the group, or
    /// neither CouldAssert nor AssertTrackingDesired on the interface (4.6).
    pub assert_ignored: u64,
}
