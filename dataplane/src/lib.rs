//! mrouter data plane: the safe DPDK layer, packet views, the forwarding table and the
//! poll-mode workers.
pub mod dpdk;
