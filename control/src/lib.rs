//! mrouter control core.
