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

/// Transitional alias: `daemon.rs`, which another branch is editing, still names
/// `crate::core`. Delete this line when it says `crate::control_core` (the module was renamed
/// so that it no longer shadows the `core` crate).
pub(crate) use control_core as core;
