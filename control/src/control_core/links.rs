//! Link checks: the ports' link state, read every [`LINK_CHECK_EVERY`] ([`LINK_CHECK_WHILE_DOWN`]
//! while one is down). When one changed, every entry is re-published with the ports that are
//! up (like an interface going down on a kernel router): O(entries) per change; link changes
//! are rare.

use crate::control_core::data_plane::DataPlane;
use crate::control_core::events::CoreEvent;
use crate::control_core::fib_sync::refresh_entries;
use crate::control_core::state::State;
use crate::interface::Interface;
use std::time::Duration;

/// How often the control core reads the ports' link state while every link is up.
pub const LINK_CHECK_EVERY: Duration = Duration::from_millis(100);
/// How often while some link is down, so that a port coming up (a memif peer connecting, a
/// cable plugged in) is used again within milliseconds.
pub const LINK_CHECK_WHILE_DOWN: Duration = Duration::from_millis(5);

/// Reads every port's link state at `now`; returns when the next check is due.
pub fn check_links(st: &mut State, dp: &mut dyn DataPlane, now: Duration) -> Duration {
    // Ports that could not start are started again, memif clients whose link stayed down
    // restarted; their link state follows below.
    dp.maintain_ports();
    let mut changed = false;
    let mut came_up = Vec::new();
    for port in 0..st.ports.ports() as u16 {
        let up = dp.link_up(port);
        if st.ports.set_link(port, up) {
            changed = true;
            st.counters.link_changes += 1;
            st.events.push_back(CoreEvent::LinkChanged { port, up });
            if up {
                came_up.push(port);
            }
            if let Some(w) = st.twins.link(dp, port, up) {
                st.events.push_back(CoreEvent::Warning(w));
            }
        }
    }
    // What the protocols sent on a port that was down (or not started yet) was lost: IGMP's
    // startup queries run again.
    let came_up: Vec<Interface> = came_up
        .into_iter()
        .flat_map(|port| st.ports.interfaces_on(port).collect::<Vec<_>>())
        .filter_map(Interface::from_id)
        .collect();
    for iface in came_up {
        st.host.protocols.link_up(now, iface);
    }
    if changed {
        refresh_entries(st, dp, now, |_| true);
        dp.publish();
        st.counters.publishes += 1;
    }
    now + if st.ports.all_up() {
        LINK_CHECK_EVERY
    } else {
        LINK_CHECK_WHILE_DOWN
    }
}
