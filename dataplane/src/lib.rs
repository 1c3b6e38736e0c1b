//! mrouter data plane: the safe DPDK layer, packet views, the forwarding table and the
//! poll-mode workers.
//!
//! `unsafe` lives only in [`dpdk`] (the DPDK wrapper, and the CPU's prefetch hint), in
//! [`bigmem`] (large zeroed arrays on huge pages) and in the lock-free table [`fib::rcu`];
//! everything else is safe Rust.
pub mod bigmem;
pub mod dpdk;
pub mod fib;
pub mod pcap;
pub mod port_set;
pub mod port_spec;
pub mod router;
pub mod settings;
pub mod tap;
pub mod wire;
pub mod worker;
