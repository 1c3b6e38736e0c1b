//! The forwarding table: exact (S,G) entries, then (*,G) entries.
//!
//! Ports are named by their *port index* (the position of the port in the router's config,
//! which is also the interface index while there is one interface per port), not by DPDK port
//! id, so tx queues and MAC addresses are plain vectors indexed the same way.
//!
//! [`ForwardingTable`] is a plain table (for building and tests); [`rcu`] is the table the
//! workers read while the control core changes it.

mod arena;
pub mod rcu;

use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;

/// One outgoing interface of a route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Oif {
    /// Port index the copy leaves on.
    pub port: u16,
    /// A copy is sent only when the packet's TTL (as received) is greater than this
    /// (Linux ipmr semantics; 1 = any packet that may be forwarded at all).
    pub ttl_threshold: u8,
}

/// How many outgoing interfaces an [`OifList`] holds inline.
pub const INLINE_OIFS: usize = 3;

/// How many places of an inline [`OifList`] are in use: an enum, so the compiler knows it is
/// at most [`INLINE_OIFS`] and slices the list without a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum InlineLen {
    L0 = 0,
    L1 = 1,
    L2 = 2,
    L3 = 3,
}

const _: () = assert!(INLINE_OIFS == InlineLen::L3 as usize);

impl InlineLen {
    /// `n`, or [`INLINE_OIFS`] if it is more.
    fn clamped(n: usize) -> InlineLen {
        match n {
            0 => InlineLen::L0,
            1 => InlineLen::L1,
            2 => InlineLen::L2,
            _ => InlineLen::L3,
        }
    }
}

impl OifList {
    /// The first `len` of `oifs` (at most all three), inline.
    pub fn inline(oifs: [Oif; INLINE_OIFS], len: usize) -> OifList {
        let used = InlineLen::clamped(len);
        OifList {
            len: used as u16,
            used,
            max_threshold: max_threshold(&oifs[..used as usize]),
            inline: oifs,
            shared: None,
        }
    }

    /// The highest TTL threshold in the list (0 for an empty one): a packet whose TTL is
    /// above it passes every outgoing interface's (one compare on the workers' fast path
    /// instead of one per interface).
    #[inline(always)]
    pub fn max_threshold(&self) -> u8 {
        self.max_threshold
    }

    /// How many outgoing interfaces (one load: the length is kept beside the list, inline or
    /// shared alike).
    #[inline(always)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there is none (a negative entry).
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The only outgoing interface of a list of one (the commonest, tested with one compare
    /// and read from the entry's own line).
    #[inline(always)]
    pub fn single(&self) -> Option<&Oif> {
        (self.len == 1).then_some(&self.inline[0])
    }

    /// Where a shared list's entries live (to start loading them), `None` for an inline one.
    #[inline]
    pub fn shared_ptr(&self) -> Option<*const Oif> {
        self.shared.as_ref().map(|l| l.as_ptr())
    }
}

fn max_threshold(oifs: &[Oif]) -> u8 {
    oifs.iter().map(|o| o.ttl_threshold).max().unwrap_or(0)
}

/// The outgoing interfaces of a route. Up to [`INLINE_OIFS`] live inside the entry itself, so a
/// lookup that found the entry has them in the same cache line (no pointer to chase, no
/// allocation); longer lists are shared (`Arc`, a thin pointer to keep the entry at 32
/// bytes), so copying a table bucket on publish copies a pointer, not the list. The length
/// and the highest TTL threshold are kept beside the list, so the workers' fast path reads
/// each with one load, without telling an inline list from a shared one. Reads as a slice.
#[derive(Clone)]
pub struct OifList {
    /// Number of outgoing interfaces.
    len: u16,
    /// The highest TTL threshold of the list ([`OifList::max_threshold`]).
    max_threshold: u8,
    /// How many of `inline` are in use: `len` without a shared list, none with one (kept
    /// beside `len` as an enum so that reading the inline list needs no clamp).
    used: InlineLen,
    /// The entries when there are at most [`INLINE_OIFS`] (the first `used`; the rest unused).
    inline: [Oif; INLINE_OIFS],
    /// The entries when there are more (`len` of them).
    #[allow(clippy::redundant_allocation)] // Arc<Box<[_]>>: a thin pointer (see above)
    shared: Option<std::sync::Arc<Box<[Oif]>>>,
}

impl std::ops::Deref for OifList {
    type Target = [Oif];
    #[inline]
    fn deref(&self) -> &[Oif] {
        match &self.shared {
            Some(list) => list,
            None => &self.inline[..self.used as usize],
        }
    }
}

impl FromIterator<Oif> for OifList {
    fn from_iter<I: IntoIterator<Item = Oif>>(iter: I) -> Self {
        let v: Vec<Oif> = iter.into_iter().collect();
        OifList::from(v)
    }
}

impl From<Vec<Oif>> for OifList {
    fn from(v: Vec<Oif>) -> Self {
        if v.len() <= INLINE_OIFS {
            let mut oifs = [Oif {
                port: 0,
                ttl_threshold: 0,
            }; INLINE_OIFS];
            oifs[..v.len()].copy_from_slice(&v);
            OifList::inline(oifs, v.len())
        } else {
            // More than u16::MAX outgoing interfaces cannot be named (ports and VLAN slots
            // are u16): cut there.
            let mut v = v;
            v.truncate(usize::from(u16::MAX));
            OifList {
                len: v.len() as u16,
                max_threshold: max_threshold(&v),
                used: InlineLen::L0,
                inline: [Oif::default(); INLINE_OIFS],
                shared: Some(std::sync::Arc::new(v.into_boxed_slice())),
            }
        }
    }
}

impl PartialEq for OifList {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for OifList {}

impl std::fmt::Debug for OifList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A route without per-entry counters (no counter index).
pub const NO_COUNTER: u32 = u32::MAX;

/// What a routing protocol asks of an entry beyond forwarding from its incoming port (PIM's
/// register path, SPT switchover and asserts need them). An entry with any flag leaves the
/// workers' fast path: the hit test compares the incoming port and the flags in one load and
/// one compare ([`Route::gate`]), so entries without flags pay nothing for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryFlags(u16);

impl EntryFlags {
    /// No flags: forwarded from the incoming port only, nothing reported.
    pub const NONE: EntryFlags = EntryFlags(0);
    /// Packets are accepted on any port, not only the incoming one (no wrong-interface drop
    /// or signal); they are still never sent back out of the port they came in on.
    pub const ACCEPT_ANY_IIF: EntryFlags = EntryFlags(1);
    /// Packets the entry forwards are also reported to the control core as
    /// [`crate::worker::Signal::Hit`] (at most one per (S,G) per worker every
    /// [`crate::worker::signal::RESIGNAL_MS`]): data-driven events such as a last-hop
    /// router's switch to the shortest-path tree or a keepalive timer.
    pub const SIGNAL_ON_HIT: EntryFlags = EntryFlags(2);
    /// A copy of every packet goes to the control core on its own bounded ring (counted when
    /// full), whether or not the entry has outgoing ports: a PIM DR's register path.
    pub const COPY_TO_CONTROL: EntryFlags = EntryFlags(4);
    /// Some outgoing interface is a VLAN interface (its slot is past the ports: see
    /// [`crate::worker::vlan`]): copies go through
    /// [`crate::worker::replicate::replicate_tagged`], which puts the tags in. Set by whoever
    /// builds the route (the control core); entries of untagged interfaces only never pay for
    /// VLANs.
    pub const TAGGED_OIFS: EntryFlags = EntryFlags(8);

    /// Whether every flag of `other` is set.
    #[inline]
    pub fn contains(self, other: EntryFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags as bits.
    pub fn bits(self) -> u16 {
        self.0
    }
}

impl std::ops::BitOr for EntryFlags {
    type Output = EntryFlags;
    fn bitor(self, other: EntryFlags) -> EntryFlags {
        EntryFlags(self.0 | other.0)
    }
}

/// Where packets of one (S,G) or (*,G) go.
///
/// `repr(C)` keeps `iif` and `flags` side by side, so [`Route::gate`] is one 32-bit load.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
pub struct Route {
    /// This entry's counter index in every worker's per-entry counters ([`NO_COUNTER`]: not
    /// counted).
    pub counter: u32,
    /// The only port packets of this route are accepted on (unless
    /// [`EntryFlags::ACCEPT_ANY_IIF`]).
    pub iif: u16,
    /// What the entry asks beyond forwarding; [`EntryFlags::NONE`] for plain forwarding.
    pub flags: EntryFlags,
    /// Outgoing interfaces, in config order. Empty means "drop" (a negative route).
    pub oifs: OifList,
}

impl Route {
    /// The incoming port and the flags as one value: equal to a port index exactly when the
    /// packet came in on the entry's incoming port and the entry has no flags (the workers'
    /// fast-path test).
    #[inline(always)]
    pub fn gate(&self) -> u32 {
        u32::from(self.iif) | (u32::from(self.flags.0) << 16)
    }
}

/// Exact (S,G) routes and (*,G) routes.
#[derive(Debug, Default, Clone)]
pub struct ForwardingTable {
    sg: FxHashMap<u64, Route>,
    star_g: FxHashMap<u32, Route>,
    own_sources: Vec<u32>,
}

#[inline]
fn sg_key(source: u32, group: u32) -> u64 {
    (u64::from(source) << 32) | u64::from(group)
}

impl ForwardingTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the (S,G) route; `source == None` means (*,G).
    pub fn insert(&mut self, source: Option<Ipv4Addr>, group: Ipv4Addr, route: Route) {
        match source {
            Some(s) => {
                self.sg.insert(sg_key(s.into(), group.into()), route);
            }
            None => {
                self.star_g.insert(group.into(), route);
            }
        }
    }

    /// The route for a packet from `source` to `group` (host-order addresses): the exact
    /// (S,G) entry if there is one, else the (*,G) entry.
    #[inline]
    pub fn lookup(&self, source: u32, group: u32) -> Option<&Route> {
        self.sg
            .get(&sg_key(source, group))
            .or_else(|| self.star_g.get(&group))
    }

    /// Every route: `(source, group, route)`, source `None` for (*,G).
    pub fn routes(&self) -> impl Iterator<Item = (Option<Ipv4Addr>, Ipv4Addr, &Route)> {
        let sg = self.sg.iter().map(|(k, r)| {
            (
                Some(Ipv4Addr::from((k >> 32) as u32)),
                Ipv4Addr::from(*k as u32),
                r,
            )
        });
        let star = self
            .star_g
            .iter()
            .map(|(g, r)| (None, Ipv4Addr::from(*g), r));
        sg.chain(star)
    }

    /// The router's own interface addresses: packets with one of them as source are never
    /// forwarded (dropped as `own_source` where they would otherwise miss).
    pub fn set_own_sources(&mut self, addrs: impl IntoIterator<Item = Ipv4Addr>) {
        self.own_sources = addrs.into_iter().map(u32::from).collect();
    }

    /// The router's own addresses, host order.
    pub fn own_sources(&self) -> &[u32] {
        &self.own_sources
    }

    /// Number of (S,G) plus (*,G) routes.
    pub fn len(&self) -> usize {
        self.sg.len() + self.star_g.len()
    }

    /// Whether there is no route at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(iif: u16, oifs: &[u16]) -> Route {
        Route {
            counter: NO_COUNTER,
            iif,
            flags: EntryFlags::NONE,
            oifs: oifs
                .iter()
                .map(|&port| Oif {
                    port,
                    ttl_threshold: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn an_oif_list_knows_its_highest_ttl_threshold_inline_or_shared() {
        let list = |t: &[u8]| -> OifList {
            t.iter()
                .enumerate()
                .map(|(k, &ttl_threshold)| Oif {
                    port: k as u16,
                    ttl_threshold,
                })
                .collect()
        };
        assert_eq!(list(&[]).max_threshold(), 0);
        assert_eq!(list(&[1]).max_threshold(), 1);
        assert_eq!(list(&[1, 64, 8]).max_threshold(), 64, "inline");
        assert_eq!(list(&[1, 2, 3, 200, 4]).max_threshold(), 200, "shared");
        // The places an inline list does not use do not count.
        let mut oifs = [Oif {
            port: 0,
            ttl_threshold: 1,
        }; INLINE_OIFS];
        oifs[2].ttl_threshold = 255;
        assert_eq!(OifList::inline(oifs, 2).max_threshold(), 1);
        assert_eq!(OifList::inline(oifs, 3).max_threshold(), 255);
    }

    #[test]
    fn exact_sg_wins_over_star_g() {
        let g: Ipv4Addr = "239.1.1.1".parse().unwrap();
        let s: Ipv4Addr = "10.0.1.2".parse().unwrap();
        let mut t = ForwardingTable::new();
        t.insert(None, g, route(0, &[1, 2]));
        t.insert(Some(s), g, route(0, &[2]));
        assert_eq!(t.lookup(s.into(), g.into()), Some(&route(0, &[2])));
        let other: Ipv4Addr = "10.0.1.3".parse().unwrap();
        assert_eq!(route(0, &[1, 2, 3, 4]).oifs.len(), 4, "a shared list");
        assert!(route(0, &[1, 2, 3, 4]).oifs.shared_ptr().is_some());
        assert!(route(0, &[1, 2, 3]).oifs.shared_ptr().is_none(), "inline");
        assert_eq!(route(0, &[1, 2, 3]).oifs.len(), 3);
        assert_eq!(
            route(0, &[7]).oifs.single(),
            Some(&Oif {
                port: 7,
                ttl_threshold: 1
            })
        );
        assert_eq!(route(0, &[7, 8]).oifs.single(), None);
        // An entry with its inline OIFs stays within half a cache line.
        assert!(
            std::mem::size_of::<Route>() <= 32,
            "{}",
            std::mem::size_of::<Route>()
        );
        assert_eq!(t.lookup(other.into(), g.into()), Some(&route(0, &[1, 2])));
        assert_eq!(t.lookup(s.into(), u32::from(g) + 1), None);
        assert_eq!(t.len(), 2);
    }
}
