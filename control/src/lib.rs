//! mrouter's control side: configuration, the daemon that starts the data plane from it, and
//! the binaries (`mrouter`, `mcast-probe`).
#![deny(unsafe_code)]

pub mod admin;
pub mod config;
pub mod control_core;
pub mod daemon;
pub mod interface;
pub mod protocols;
pub mod views;
