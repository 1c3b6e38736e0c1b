//! PIM-SM messages (RFC 7761 section 4.9) for IPv4, with Bootstrap and Candidate-RP-Advertisement
//! as RFC 5059 defines them.
//!
//! - `header.rs`: the common header, the checksum rules (Register: only its 8-byte header), the
//!   view [`Packet`] and this module's [`Error`];
//! - `addr.rs`: Encoded-Unicast, -Group and -Source addresses (4.9.1), IPv4 native only;
//! - `hello.rs` (4.9.2), `register.rs` (4.9.3, 4.9.4), `join_prune.rs` (4.9.5, with the
//!   splitting emitter), `assert.rs` (4.9.6), `bsr.rs` (4.9.7, 4.9.8);
//! - `repr.rs`: [`Repr`], one message of any of these types, parsed and emitted;
//! - `cursor.rs`: the bounds-checked reader every parser is built on.
//!
//! No-panic contract: [`Repr::parse_bytes`] and every `parse` of a message type take any bytes
//! and return a value or an [`Error`]; they read through `cursor::Reader`, which cannot index
//! out of range, loop only over counts read from the message (each step consumes bytes or
//! fails), and reserve memory only in proportion to the bytes present. After
//! [`Packet::check_len`] no getter of [`Packet`] panics. Emitters panic only on a buffer shorter
//! than `buffer_len()` or a list longer than its count field, both bugs of the caller.
//!
//! The PIM checksum has no IPv4 pseudo-header; the IPv4 side (protocol 103, TTL 1 for
//! link-local messages, ALL-PIM-ROUTERS) is the caller's.

mod addr;
mod assert;
mod bsr;
mod cursor;
mod header;
mod hello;
mod join_prune;
mod register;
mod repr;

pub use addr::{
    EncodedGroup, EncodedSource, ENCODING_NATIVE, FAMILY_IPV4, FAMILY_IPV6, GROUP_LEN, SOURCE_LEN,
    UNICAST_LEN,
};
pub use assert::Assert;
pub use bsr::{Bootstrap, BsrGroup, BsrRp, CandidateRpAdv, BOOTSTRAP_NO_FORWARD};
pub use header::{
    Error, Packet, ALL_PIM_ROUTERS, HEADER_LEN, REGISTER_HEADER_LEN, TYPE_ASSERT, TYPE_BOOTSTRAP,
    TYPE_CANDIDATE_RP_ADV, TYPE_GRAFT, TYPE_GRAFT_ACK, TYPE_HELLO, TYPE_JOIN_PRUNE, TYPE_REGISTER,
    TYPE_REGISTER_STOP, VERSION,
};
pub use hello::{
    Hello, HelloOption, HelloOptions, LanPruneDelay, OPTION_HEADER_LEN, OPT_ADDRESS_LIST,
    OPT_DR_PRIORITY, OPT_GENERATION_ID, OPT_HOLDTIME, OPT_LAN_PRUNE_DELAY,
};
pub use join_prune::{GroupSet, JoinPrune, FIXED_LEN, GROUP_SET_LEN, MAX_GROUPS, MIN_SPLIT_LEN};
pub use register::{Register, RegisterStop};
pub use repr::Repr;
