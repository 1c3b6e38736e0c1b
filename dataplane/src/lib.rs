//! mrouter data plane.
