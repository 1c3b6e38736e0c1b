//! What the data plane is started with ([`DataplaneLimits`]) and why a start can fail
//! ([`StartError`]).

use crate::dpdk::{DpdkError, LaunchError};

/// Bounds on what the workers hold for flows being resolved (see
/// [`crate::worker::pending::Pending`]) and the size of their mbufs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataplaneLimits {
    /// Flows each worker holds first packets for.
    pub pending_flows: usize,
    /// Packets every held flow may hold.
    pub pending_per_flow: usize,
    /// Packets each worker's held flows may hold beyond `pending_per_flow`, shared.
    pub pending_shared: usize,
    /// Workers measure the cycles of each loop stage (`worker::profile`).
    pub stage_cycles: bool,
    /// Packets up to this many bytes are copied whole, larger ones share their payload
    /// ([`crate::worker::replicate::COPY_LIMIT`]; tests lower it to exercise both paths).
    pub copy_limit: u32,
    /// Bytes of packet one mbuf holds (headroom not counted): the largest frame a port can
    /// receive, and so the largest MTU that works end to end.
    pub mbuf_data_room: u16,
    /// Workers classify eight frames at once in AVX2 where the CPU has it, four in SSE
    /// otherwise (tests turn it off to run the four-lane path through a worker).
    pub avx2: bool,
}

/// Default [`DataplaneLimits::mbuf_data_room`]: DPDK's `RTE_MBUF_DEFAULT_DATAROOM`.
pub const DEFAULT_MBUF_DATA_ROOM: u16 = 2048;

impl Default for DataplaneLimits {
    fn default() -> Self {
        DataplaneLimits {
            pending_flows: crate::worker::pending::FLOWS,
            pending_per_flow: crate::worker::pending::PER_FLOW,
            pending_shared: crate::worker::pending::SHARED,
            stage_cycles: false,
            copy_limit: crate::worker::replicate::COPY_LIMIT,
            mbuf_data_room: DEFAULT_MBUF_DATA_ROOM,
            avx2: true,
        }
    }
}

/// Why the data plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A DPDK call failed.
    #[error(transparent)]
    Dpdk(#[from] DpdkError),
    /// The device refused the MTU the config sets for its port.
    #[error("port {port}: the device cannot take MTU {mtu}: {source}")]
    PortMtu {
        /// Index of the port.
        port: usize,
        /// The MTU asked for.
        mtu: u16,
        /// What DPDK said.
        source: DpdkError,
    },
    /// Frames of a port's configured MTU do not fit one mbuf.
    #[error(
        "port {port}: MTU {mtu} needs mbufs of {} bytes, they hold {data_room}",
        u32::from(*mtu) + crate::dpdk::ETHER_HEADER_LEN as u32
    )]
    MbufTooSmall {
        /// Index of the port.
        port: usize,
        /// The MTU asked for.
        mtu: u16,
        /// Bytes one mbuf holds.
        data_room: u16,
    },
    /// An interface's MTU is larger than its port's.
    #[error("port {port}: interface MTU {mtu} is larger than the port's MTU {port_mtu}")]
    InterfaceMtu {
        /// Index of the port.
        port: usize,
        /// The interface's MTU.
        mtu: u16,
        /// The port's.
        port_mtu: u16,
    },
    /// A worker could not be launched.
    #[error("worker on lcore {lcore}: {source}")]
    Launch {
        /// The lcore.
        lcore: u32,
        /// Why.
        source: LaunchError,
    },
}
