//! What the control core has to say: it prints nothing; the daemon takes these with
//! `ControlCore::poll_event` and logs them.

use std::fmt;

/// Something the operator should see in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreEvent {
    /// A port's link went up or down (the entries were re-published with the ports that are
    /// up).
    LinkChanged {
        /// Port index.
        port: u16,
        /// New state.
        up: bool,
    },
    /// Something went wrong that changes nothing else (a kernel twin's link could not be set).
    Warning(String),
    /// A protocol's log line (`Protocol::poll_log`): a PIM neighbour came or went.
    Protocol {
        /// The protocol's name.
        name: &'static str,
        /// What it said.
        message: String,
    },
}

impl fmt::Display for CoreEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreEvent::LinkChanged { port, up } => {
                write!(f, "port {port} link {}", if *up { "up" } else { "down" })
            }
            CoreEvent::Warning(w) => write!(f, "warning: {w}"),
            CoreEvent::Protocol { name, message } => write!(f, "{name}: {message}"),
        }
    }
}
