//! PIM-SM join/prune state (RFC 7761 4.5) with a virtual clock: one test per row of the
//! downstream tables ((*,G) 4.5.2, (S,G) 4.5.3, (S,G,rpt) 4.5.4) and of the upstream tables
//! ((*,G) 4.5.6, (S,G) 4.5.7, (S,G,rpt) 4.5.9), driven through `Tib` with real Join/Prune
//! messages where the row can be reached that way (the rows that need an Assert or a state
//! that lasts only inside one message are driven on the machine itself), plus scenarios: SSM,
//! aggregation per neighbour, suppression and override on a LAN, the last-hop switch; three
//! `Tib`s on one LAN exchanging their messages (`lan.rs`); random and hostile input; one test
//! per row of the assert tables ((S,G) 4.6.1, (*,G) 4.6.2) in `assert.rs`.

mod assert;
mod harness;
mod hostile;
mod lan;
mod rpt_downstream;
mod rpt_upstream;
mod scenarios;
mod sg_star_downstream;
mod sg_star_upstream;
