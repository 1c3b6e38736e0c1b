//! Assert state as data (RFC 7761 4.6): the assert metric of 4.6.3 and its order, the
//! per-interface Winner/Loser record with its Assert Timer, the Assert to send, and the
//! timer values of 4.11. The machines that change it are `assert.rs`; the macros that read it
//! are `macros.rs`.

use std::cmp::Reverse;
use std::net::Ipv4Addr;
use std::time::Duration;

use dataplane::wire::pim::{Assert, Repr};

use crate::protocols::shared::Datagram;

use super::types::{link_local_datagram, Iface, RouteMetric};

/// Assert_Time (4.11): how long assert state lasts without a refresh.
pub const ASSERT_TIME: Duration = Duration::from_secs(180);
/// Assert_Override_Interval (4.11): a winner refreshes this long before the losers time out.
pub const ASSERT_OVERRIDE_INTERVAL: Duration = Duration::from_secs(3);
/// The metric preference of an infinite metric (AssertCancel).
pub const INFINITE_PREFERENCE: u32 = 0x7fff_ffff;
/// The metric of an infinite metric (AssertCancel).
pub const INFINITE_METRIC: u32 = u32::MAX;

/// An assert metric (4.6.3): RPT bit, metric preference, route metric, address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertMetric {
    /// The route is the shared tree's (an (*,G) assert, or an (S,G) one sent on the RPT).
    pub rpt: bool,
    /// Metric preference of the route.
    pub preference: u32,
    /// Metric of the route.
    pub metric: u32,
    /// The router's address on the interface.
    pub address: Ipv4Addr,
}

impl AssertMetric {
    /// infinite_assert_metric(): {1, infinity, infinity, 0}.
    pub const fn infinite() -> AssertMetric {
        AssertMetric {
            rpt: true,
            preference: INFINITE_PREFERENCE,
            metric: INFINITE_METRIC,
            address: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// A route's metric as an assert metric of `address`.
    pub fn of(rpt: bool, route: RouteMetric, address: Ipv4Addr) -> AssertMetric {
        AssertMetric {
            rpt,
            preference: route.preference & INFINITE_PREFERENCE,
            metric: route.metric,
            address,
        }
    }

    /// The metric a received Assert from `sender` carries.
    pub fn received(msg: &Assert, sender: Ipv4Addr) -> AssertMetric {
        AssertMetric {
            rpt: msg.rpt,
            preference: msg.metric_preference & INFINITE_PREFERENCE,
            metric: msg.metric,
            address: sender,
        }
    }

    /// An AssertCancel: the infinite preference and metric (4.6.4).
    pub fn is_cancel(&self) -> bool {
        self.preference == INFINITE_PREFERENCE && self.metric == INFINITE_METRIC
    }

    /// 4.6.3: the RPT bit clear wins, then the lower preference, then the lower metric, then
    /// the higher address.
    pub fn better_than(&self, other: &AssertMetric) -> bool {
        let key = |m: &AssertMetric| (m.rpt, m.preference, m.metric, Reverse(u32::from(m.address)));
        key(self) < key(other)
    }
}

/// Winner or Loser (NoInfo is no entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertState {
    /// I am Assert Winner.
    Winner,
    /// I am Assert Loser.
    Loser,
}

/// The assert state of one (S,G) or (*,G) on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertInfo {
    /// Winner or Loser.
    pub state: AssertState,
    /// AssertWinnerMetric; its address is AssertWinner (ours when Winner).
    pub winner: AssertMetric,
    /// When the Assert Timer expires.
    pub timer: Duration,
    /// The interface was the RPF interface (toward S, or the RP for (*,G)) when the state was
    /// made: a loser there forgets it when the RPF interface moves.
    pub on_rpf: bool,
}

impl AssertInfo {
    /// I am Assert Loser.
    pub fn is_loser(&self) -> bool {
        self.state == AssertState::Loser
    }

    /// I am Assert Winner.
    pub fn is_winner(&self) -> bool {
        self.state == AssertState::Winner
    }
}

/// An Assert to send out of `iface` to ALL-PIM-ROUTERS (TTL 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingAssert {
    /// The interface.
    pub iface: Iface,
    /// Our address on it.
    pub src: Ipv4Addr,
    /// The message.
    pub message: Assert,
}

impl OutgoingAssert {
    /// The datagram the control core sends: PIM to ALL-PIM-ROUTERS, TTL 1, DSCP CS6.
    pub fn datagram(&self) -> Datagram {
        link_local_datagram(self.iface, self.src, Repr::Assert(self.message).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rpt: bool, preference: u32, metric: u32, a: u8) -> AssertMetric {
        AssertMetric {
            rpt,
            preference,
            metric,
            address: Ipv4Addr::new(10, 0, 0, a),
        }
    }

    #[test]
    fn metric_order_is_rpt_then_preference_then_metric_then_higher_address() {
        assert!(m(false, 200, 200, 1).better_than(&m(true, 0, 0, 9)));
        assert!(m(true, 1, 200, 1).better_than(&m(true, 2, 0, 9)));
        assert!(m(true, 1, 1, 1).better_than(&m(true, 1, 2, 9)));
        assert!(m(true, 1, 1, 9).better_than(&m(true, 1, 1, 1)));
        assert!(!m(true, 1, 1, 1).better_than(&m(true, 1, 1, 1)));
        assert!(m(true, 0, 0, 1).better_than(&AssertMetric::infinite()));
    }

    #[test]
    fn a_cancel_is_the_infinite_metric() {
        let mut c = AssertMetric::infinite();
        c.address = Ipv4Addr::new(10, 0, 0, 1);
        assert!(c.is_cancel());
        assert!(!m(true, 0, 0, 1).is_cancel());
    }
}
