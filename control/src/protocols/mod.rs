//! Routing protocols as MGM clients. Each is a state machine the control core drives; the MGM
//! reaches them through [`crate::core::RouterHost`].

pub mod igmp;
pub mod jitter;
pub mod proxy;
pub mod shared;
pub mod static_routes;
