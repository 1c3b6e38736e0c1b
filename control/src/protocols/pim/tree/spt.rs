//! What data of (S,G) arriving on an interface changes (RFC 7761 4.2): the Keepalive Timer
//! (data along the SPT, a directly connected source, or the last hop's switch to the SPT,
//! CheckSwitchToSpt of 4.2.1 with the configured policy) and the SPT bit (Update_SPTbit of
//! 4.2.2).

use std::net::Ipv4Addr;

use super::macros::{
    i_am_assert_loser_sg, inherited_olist_sg_rpt, pim_exclude_sg, pim_include_sg, pim_include_star,
};
use super::state::{GroupState, Interfaces, SourceState};
use super::types::{Iface, SptPolicy, TreeEnv};
use super::upstream::UpstreamState;

/// The decision for one arriving packet (or creation alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataArrival {
    /// Restart KeepaliveTimer(S,G).
    pub restart_keepalive: bool,
    /// Set SPTbit(S,G).
    pub set_spt_bit: bool,
}

/// Decides for data of (`source`, `group`) arriving on `iif`; `g` is the group's state.
pub fn on_data(
    policy: SptPolicy,
    ifaces: &Interfaces,
    env: &dyn TreeEnv,
    group: Ipv4Addr,
    g: &GroupState,
    source: Ipv4Addr,
    iif: Iface,
) -> DataArrival {
    let empty = SourceState::default();
    let s = g.sources.get(&source).unwrap_or(&empty);
    let rpf = env.rpf(source);
    let on_rpf_iface = rpf.is_some_and(|r| r.iface == iif);
    let directly_connected = rpf.is_some_and(|r| r.neighbor.is_none());
    let joined = s.upstream.state == UpstreamState::Joined;

    // 4.2: data along the SPT, or from a source on our LAN, keeps the (S,G) state alive.
    let mut restart_keepalive = on_rpf_iface && (joined || directly_connected);
    // 4.2.1 CheckSwitchToSpt: a last hop with members of (S,G) here switches at once.
    if policy == SptPolicy::Immediate && !env.is_ssm(group) {
        let mut members = pim_include_star(ifaces, g);
        for i in pim_exclude_sg(ifaces, g, s) {
            members.remove(&i);
        }
        members.extend(pim_include_sg(ifaces, s));
        restart_keepalive |= !members.is_empty();
    }
    // 4.2.2 Update_SPTbit: data on RPF_interface(S) with (S,G) joined is on the SPT, when it
    // cannot also be the shared tree's arriving on the same interface (or we lost an (S,G)
    // assert there: what arrives is the winner's SPT data).
    let set_spt_bit = on_rpf_iface
        && joined
        && (directly_connected
            || rpf.map(|r| r.iface) != g.rpf_iface
            || inherited_olist_sg_rpt(ifaces, g, s).is_empty()
            || (s.upstream.rpf.is_some() && s.upstream.rpf == g.upstream.rpf)
            || i_am_assert_loser_sg(s, iif));
    DataArrival {
        restart_keepalive,
        set_spt_bit,
    }
}
