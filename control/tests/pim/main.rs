//! PIM-SM's interfaces and neighbours (RFC 7761 4.3) with a virtual clock: Hello timing,
//! neighbour life, DR election, the LAN Prune Delay values and the checks on what arrives.

mod harness;
mod hello;
mod neighbors;
mod validation;
