//! Multicast Group Manager (see `../shared/design/mgm-spec.md`).
#![forbid(unsafe_code)]
