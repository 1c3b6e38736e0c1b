//! The IGMP router side (RFC 2236, RFC 3376, RFC 4604) with a virtual clock: a deterministic
//! harness, one test per row of the RFC 3376 6.4 tables, the protocol's timers and messages,
//! and the validation of what it receives.

use control::protocols::igmp::*;

mod fsm;
mod harness;
mod protocol;
mod validation;
