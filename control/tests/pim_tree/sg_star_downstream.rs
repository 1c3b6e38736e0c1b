//! The downstream (*,G) table (RFC 7761 4.5.2) and the (S,G) table (4.5.3), which has the same
//! rows: each row once per table, through received Join/Prune messages.

use crate::harness::*;
use control::protocols::pim::tree::*;
use dataplane::wire::pim::EncodedSource;
use std::net::Ipv4Addr;

#[derive(Clone, Copy)]
enum K {
    Star,
    Sg,
}

impl K {
    fn encoded(self) -> EncodedSource {
        match self {
            K::Star => star(),
            K::Sg => sg(S),
        }
    }

    fn entry(self) -> Entry {
        match self {
            K::Star => star_entry(G),
            K::Sg => sg_entry(S, G),
        }
    }

    fn state(self, lab: &Lab, iface: Iface) -> Downstream {
        match self {
            K::Star => lab.star_downstream(G, iface),
            K::Sg => lab.sg_downstream(S, G, iface),
        }
    }
}

fn me(iface: Iface) -> Ipv4Addr {
    if iface == LAN {
        ME_LAN
    } else {
        ME_DOWN
    }
}

fn send_join(lab: &mut Lab, k: K, iface: Iface, holdtime: u16) {
    lab.receive(iface, jp(me(iface), holdtime, G, &[k.encoded()], &[]));
}

fn send_prune(lab: &mut Lab, k: K, iface: Iface) {
    lab.receive(iface, jp(me(iface), HOLD, G, &[], &[k.encoded()]));
}

fn join_noinfo_to_join(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, DOWN, HOLD);
    let d = k.state(&lab, DOWN);
    assert_eq!(d.state, JoinState::Join);
    assert_eq!(d.expiry, Some(lab.now + secs(210)));
    assert_eq!(d.prune_pending, None);
    assert_eq!(lab.take_events(), vec![added(k.entry(), DOWN)]);
    assert!(lab.take_sent().contains(&join(NBR_UP, G, k.encoded())));
}

fn prune_noinfo_stays_noinfo(k: K) {
    let mut lab = Lab::new();
    send_prune(&mut lab, k, DOWN);
    assert_eq!(k.state(&lab, DOWN).state, JoinState::NoInfo);
    assert!(lab.group(G).is_none(), "a prune without state leaves none");
    assert!(lab.take_events().is_empty());
    assert!(lab.take_sent().is_empty());
}

fn join_join_restarts_expiry(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, DOWN, HOLD);
    lab.advance(secs(100));
    send_join(&mut lab, k, DOWN, HOLD);
    assert_eq!(k.state(&lab, DOWN).expiry, Some(lab.now + secs(210)));
    let expiry = k.state(&lab, DOWN).expiry;
    send_join(&mut lab, k, DOWN, 10);
    assert_eq!(k.state(&lab, DOWN).state, JoinState::Join);
    assert_eq!(
        k.state(&lab, DOWN).expiry,
        expiry,
        "a shorter holdtime does not cut the ET"
    );
    assert_eq!(lab.take_events(), vec![added(k.entry(), DOWN)]);
}

fn prune_join_to_prune_pending(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, LAN, HOLD);
    lab.take_events();
    send_prune(&mut lab, k, LAN);
    let d = k.state(&lab, LAN);
    assert_eq!(d.state, JoinState::PrunePending);
    // Two neighbours: J/P_Override_Interval = 0.5 s + 2.5 s.
    assert_eq!(d.prune_pending, Some(lab.now + secs(3)));
    assert!(lab.take_events().is_empty(), "Prune-Pending still forwards");
}

fn expiry_join_to_noinfo(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, DOWN, HOLD);
    lab.take_events();
    lab.advance(secs(209));
    assert_eq!(k.state(&lab, DOWN).state, JoinState::Join);
    lab.take_sent();
    lab.advance(secs(1));
    assert_eq!(k.state(&lab, DOWN).state, JoinState::NoInfo);
    assert_eq!(lab.take_events(), vec![removed(k.entry(), DOWN)]);
    assert!(lab.take_sent().contains(&prune(NBR_UP, G, k.encoded())));
}

fn join_prune_pending_to_join(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, LAN, HOLD);
    send_prune(&mut lab, k, LAN);
    lab.advance(secs(1));
    send_join(&mut lab, k, LAN, HOLD);
    let d = k.state(&lab, LAN);
    assert_eq!(d.state, JoinState::Join);
    assert_eq!(d.prune_pending, None);
    lab.advance(secs(10));
    assert_eq!(
        k.state(&lab, LAN).state,
        JoinState::Join,
        "the override held"
    );
    assert_eq!(lab.take_events(), vec![added(k.entry(), LAN)]);
}

fn prune_prune_pending_stays(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, LAN, HOLD);
    send_prune(&mut lab, k, LAN);
    let ppt = k.state(&lab, LAN).prune_pending;
    lab.advance(secs(1));
    send_prune(&mut lab, k, LAN);
    assert_eq!(k.state(&lab, LAN).state, JoinState::PrunePending);
    assert_eq!(
        k.state(&lab, LAN).prune_pending,
        ppt,
        "a second prune does not restart the PPT"
    );
}

fn ppt_expiry_prune_pending_to_noinfo(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, LAN, HOLD);
    send_prune(&mut lab, k, LAN);
    lab.take_events();
    lab.take_sent();
    lab.advance(secs(3));
    assert_eq!(k.state(&lab, LAN).state, JoinState::NoInfo);
    assert_eq!(lab.take_events(), vec![removed(k.entry(), LAN)]);
    let sent = lab.take_sent();
    let echo = Sent {
        iface: LAN,
        to: ME_LAN,
        group: G,
        join: false,
        entry: k.encoded(),
    };
    assert!(sent.contains(&echo), "PruneEcho on the LAN: {sent:?}");
    assert!(sent.contains(&prune(NBR_UP, G, k.encoded())));
}

fn prune_on_point_to_point_is_at_once_without_echo(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, DOWN, HOLD);
    send_prune(&mut lab, k, DOWN);
    assert_eq!(k.state(&lab, DOWN).prune_pending, Some(lab.now), "PPT zero");
    lab.take_sent();
    lab.advance(secs(0));
    assert_eq!(k.state(&lab, DOWN).state, JoinState::NoInfo);
    let sent = lab.take_sent();
    assert!(
        sent.iter().all(|s| s.iface == UP),
        "no echo with one neighbour: {sent:?}"
    );
}

fn expiry_prune_pending_to_noinfo(k: K) {
    let mut lab = Lab::new();
    send_join(&mut lab, k, LAN, 2);
    send_prune(&mut lab, k, LAN);
    lab.take_events();
    lab.take_sent();
    lab.advance(secs(2));
    assert_eq!(k.state(&lab, LAN).state, JoinState::NoInfo);
    assert_eq!(lab.take_events(), vec![removed(k.entry(), LAN)]);
    assert!(
        lab.take_sent().iter().all(|s| s.iface != LAN),
        "an expiry is not echoed"
    );
}

#[test]
fn star_g_downstream_join_noinfo_to_join() {
    join_noinfo_to_join(K::Star)
}
#[test]
fn star_g_downstream_prune_noinfo_stays_noinfo() {
    prune_noinfo_stays_noinfo(K::Star)
}
#[test]
fn star_g_downstream_join_join_restarts_expiry() {
    join_join_restarts_expiry(K::Star)
}
#[test]
fn star_g_downstream_prune_join_to_prune_pending() {
    prune_join_to_prune_pending(K::Star)
}
#[test]
fn star_g_downstream_expiry_join_to_noinfo() {
    expiry_join_to_noinfo(K::Star)
}
#[test]
fn star_g_downstream_join_prune_pending_to_join() {
    join_prune_pending_to_join(K::Star)
}
#[test]
fn star_g_downstream_prune_prune_pending_stays() {
    prune_prune_pending_stays(K::Star)
}
#[test]
fn star_g_downstream_ppt_expiry_prune_pending_to_noinfo_with_echo() {
    ppt_expiry_prune_pending_to_noinfo(K::Star)
}
#[test]
fn star_g_downstream_prune_point_to_point_at_once_without_echo() {
    prune_on_point_to_point_is_at_once_without_echo(K::Star)
}
#[test]
fn star_g_downstream_expiry_prune_pending_to_noinfo() {
    expiry_prune_pending_to_noinfo(K::Star)
}
#[test]
fn sg_downstream_join_noinfo_to_join() {
    join_noinfo_to_join(K::Sg)
}
#[test]
fn sg_downstream_prune_noinfo_stays_noinfo() {
    prune_noinfo_stays_noinfo(K::Sg)
}
#[test]
fn sg_downstream_join_join_restarts_expiry() {
    join_join_restarts_expiry(K::Sg)
}
#[test]
fn sg_downstream_prune_join_to_prune_pending() {
    prune_join_to_prune_pending(K::Sg)
}
#[test]
fn sg_downstream_expiry_join_to_noinfo() {
    expiry_join_to_noinfo(K::Sg)
}
#[test]
fn sg_downstream_join_prune_pending_to_join() {
    join_prune_pending_to_join(K::Sg)
}
#[test]
fn sg_downstream_prune_prune_pending_stays() {
    prune_prune_pending_stays(K::Sg)
}
#[test]
fn sg_downstream_ppt_expiry_prune_pending_to_noinfo_with_echo() {
    ppt_expiry_prune_pending_to_noinfo(K::Sg)
}
#[test]
fn sg_downstream_prune_point_to_point_at_once_without_echo() {
    prune_on_point_to_point_is_at_once_without_echo(K::Sg)
}
#[test]
fn sg_downstream_expiry_prune_pending_to_noinfo() {
    expiry_prune_pending_to_noinfo(K::Sg)
}

#[test]
fn star_g_downstream_join_with_another_rp_is_refused_and_counted() {
    let mut lab = Lab::new();
    let other = EncodedSource::star_g(Ipv4Addr::new(10, 0, 0, 99));
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[other], &[]));
    assert!(lab.group(G).is_none());
    assert_eq!(lab.tib.counters().wrong_rp, 1);
}

#[test]
fn star_g_downstream_infinite_holdtime_never_expires() {
    let mut lab = Lab::new();
    send_join(&mut lab, K::Star, DOWN, HOLDTIME_INFINITE);
    assert_eq!(lab.star_downstream(G, DOWN).expiry, None);
    lab.advance(secs(100_000));
    assert_eq!(lab.star_downstream(G, DOWN).state, JoinState::Join);
}
