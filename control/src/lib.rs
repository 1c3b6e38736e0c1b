//! mrouter's control side: configuration, the daemon that starts the data plane from it, and
//! the binaries (`mrouter`, `mcast-probe`).
#![deny(unsafe_code)]

pub mod admin;
pub mod clock;
pub mod config;
pub mod control_core;
pub mod daemon;
pub mod interface;
pub mod protocols;
pub mod rib_kernel;
pub mod rtnl;
pub mod twin;
pub mod views;
