//! The router's YAML configuration: schema, validation and the model the rest of the control
//! core uses.
//!
//! `configs/reference.yaml` documents every field. Loading is all-or-nothing: [`load`] and
//! [`parse`] return either a [`Config`] in which every rule holds, or one [`ConfigError`] that
//! names the file, the line and the field. Names in the file become indices in the model: a port
//! index is its DPDK port id, an interface index is the interface id used by MGM and the data
//! plane.
//!
//! The core's part of the file (ports, interfaces, workers, limits, ...) is declared here
//! (`raw.rs`, checked in `validate.rs`); a protocol's part is declared by the protocol
//! ([`ConfigSection`], in its registration): the loader (`load.rs`) runs every registered
//! protocol's hooks and knows none of them. Values that can be judged alone (addresses, groups,
//! names, counts) check themselves while serde reads them, so serde_yaml reports their line.
//! Rules across fields run afterwards; their line comes from `locate`, which finds a field path
//! in the text.

#![forbid(unsafe_code)]

mod error;
mod load;
mod locate;
mod model;
mod raw;
pub mod section;
pub mod store;
mod validate;
pub(crate) mod values;

pub use error::ConfigError;
pub use load::{error_at, load, parse, parse_with};
pub use model::{
    Config, ControlConfig, DataplaneConfig, IgmpProxyConfig, InterfaceConfig, Limits, OifConfig,
    PortConfig, RouteConfig, RpfRouteConfig,
};
pub use section::{ConfigSection, SectionError, Violation};
pub use store::{ProtocolSections, SectionValue};
