//! The control core's counters (`show stats`, `control` section) and per-entry metadata.

use std::time::Duration;

/// Control-core counters (shown by `show stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ControlCounters {
    /// Miss signals taken from the rings.
    pub misses_received: u64,
    /// Misses for an (S,G) that already had an entry, or seen twice in one turn.
    pub misses_duplicate: u64,
    /// Misses dropped by the rate limit (the worker signals again later).
    pub misses_rate_limited: u64,
    /// Misses dropped by the per-worker rate limit.
    pub misses_worker_limited: u64,
    /// Misses dropped by the per-source rate limit.
    pub misses_source_limited: u64,
    /// Misses refused because the router holds `limits.max_mfes` entries already.
    pub misses_mfe_limit: u64,
    /// Misses whose source is one of the router's own addresses (refused; the workers drop
    /// such packets before they signal, so this stays 0 unless that check is bypassed).
    pub misses_own_source: u64,
    /// Misses the MGM refused (bad addresses).
    pub misses_rejected: u64,
    /// Wrong-interface signals taken from the rings.
    pub wrong_if_received: u64,
    /// Entries built again because a protocol asked (`Protocol::poll_revalidate`: PIM's
    /// asserts).
    pub protocol_revalidations: u64,
    /// Hit signals of entries flagged `SIGNAL_ON_HIT` taken from the rings (no protocol sets
    /// the flag yet: counted only).
    pub hits_received: u64,
    /// Copies of packets of entries flagged `COPY_TO_CONTROL` taken from the workers (given
    /// to the protocols: PIM's register path).
    pub entry_copies_received: u64,
    /// Entries rebuilt because a protocol's `copy_to_control` answer changed.
    pub entry_flag_refreshes: u64,
    /// Entries installed, updated, deleted in the forwarding table.
    pub mfes_installed: u64,
    /// Entries updated.
    pub mfes_updated: u64,
    /// Entries deleted.
    pub mfes_deleted: u64,
    /// Table publications.
    pub publishes: u64,
    /// Control packets the workers handed over, by kind (no protocol consumes them yet: IGMP is
    /// its own issue; they are counted and freed).
    pub punted_igmp: u64,
    /// PIM packets handed over.
    pub punted_pim: u64,
    /// Other 224.0.0.0/24 packets handed over.
    pub punted_link_local: u64,
    /// Exception traffic handed over for a kernel twin (ARP, unicast to the router,
    /// broadcast; see `crate::twin`).
    pub punted_exception: u64,
    /// Entries re-validated because a kernel route toward their source changed.
    pub kernel_rib_entries_revalidated: u64,
    /// IGMP joins handed to the MGM (local membership).
    pub igmp_joins: u64,
    /// IGMP leaves handed to the MGM.
    pub igmp_leaves: u64,
    /// IGMP membership changes the MGM refused.
    pub igmp_membership_errors: u64,
    /// Routing protocols' memberships handed to the MGM (PIM's outgoing interfaces, the
    /// proxy's): joins, leaves, and those the MGM refused.
    pub routing_joins: u64,
    /// See `routing_joins`.
    pub routing_leaves: u64,
    /// See `routing_joins`.
    pub routing_membership_errors: u64,
    /// IGMP messages (queries) sent.
    pub igmp_sent: u64,
    /// IGMP messages that could not be sent (no control tx queue, no mbuf, queue full).
    pub igmp_send_failed: u64,
    /// Datagrams of the protocols' own IP protocols sent (`Protocol::poll_datagram`).
    pub datagrams_sent: u64,
    /// Such datagrams not sent: no port for the interface, the data plane refused the frame,
    /// or the kernel refused a unicast one (also `unicast_refused`).
    pub datagrams_refused: u64,
    /// Unicast datagrams handed to the kernel (`UnicastOut`: PIM's Registers).
    pub unicast_sent: u64,
    /// Unicast datagrams the kernel refused (or no kernel path: no twins).
    pub unicast_refused: u64,
    /// Packets a protocol forwarded as they are (PIM's decapsulated Registers) sent.
    pub forwards_sent: u64,
    /// Such packets not sent (no port, not multicast, refused).
    pub forwards_refused: u64,
    /// Link state changes seen on the ports (each one refreshes the entries).
    pub link_changes: u64,
    /// Reloads applied.
    pub reloads: u64,
    /// Reloads refused (bad file or a change that needs a restart).
    pub reloads_failed: u64,
}

/// When an entry appeared (for `show mroute` uptime).
#[derive(Debug, Clone, Copy)]
pub struct MfeMeta {
    /// Time of installation, on the control core's clock.
    pub installed: Duration,
}
