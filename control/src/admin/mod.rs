//! The admin interface: `mrouterctl` talks to the running daemon over a Unix stream socket, in
//! the spirit of `smcroutectl show` and FRR's `show ip mroute`.
//!
//! - [`model`]: the requests and the views the daemon fills (plain serializable data).
//! - [`server`]: [`server::AdminServer`], polled from the daemon's control loop: single-threaded,
//!   non-blocking, bounded work per call. One JSON request per line in, one JSON response per
//!   line out.
//! - [`client`]: the blocking one-request client `mrouterctl` uses.
//! - [`render`]: the text tables `mrouterctl` prints.
//!
//! Wire format (one line each way):
//! ```text
//! -> {"cmd":"show_rpf","source":"10.0.1.2"}
//! <- {"kind":"rpf","data":{"source":"10.0.1.2","interface":"if0",...}}
//! ```

pub mod client;
pub mod model;
pub mod render;
pub mod server;

pub use model::{
    IgmpGroupView, IgmpInterfaceView, IgmpProxyView, InterfaceView, MrouteView, OifView,
    PimAssertView, PimBsrView, PimInterfaceView, PimJoinView, PimNeighborView, PimRegisterRow,
    PimRegisterView, PimRpMappingView, PimRpRegisterRow, PimRpView, PortStatsView, Request,
    Response, RpfView, StatsView, WorkerView,
};
pub use server::{AdminServer, DEFAULT_SOCKET};
