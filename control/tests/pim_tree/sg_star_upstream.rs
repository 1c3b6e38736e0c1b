//! The upstream (*,G) table (RFC 7761 4.5.6) and the (S,G) table (4.5.7): each transition once
//! per table, JoinDesired from local members and RPF' from the environment, the LAN events
//! from messages overheard on the upstream interface.

use crate::harness::*;
use control::protocols::pim::tree::*;
use dataplane::wire::pim::EncodedSource;
use std::time::Duration;

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

    fn member(self) -> LocalMember {
        match self {
            K::Star => LocalMember::AnySource,
            K::Sg => LocalMember::Source(S),
        }
    }

    fn upstream(self, lab: &Lab) -> Upstream {
        match self {
            K::Star => lab.star_upstream(G),
            K::Sg => lab.sg_upstream(S, G),
        }
    }

    /// The route this entry's RPF' comes from.
    fn target(self) -> std::net::Ipv4Addr {
        match self {
            K::Star => RP,
            K::Sg => S,
        }
    }
}

fn joined(k: K) -> Lab {
    let mut lab = Lab::new();
    lab.local(DOWN, G, k.member(), true);
    assert_eq!(k.upstream(&lab).state, UpstreamState::Joined);
    lab
}

fn overheard(
    lab: &mut Lab,
    to: std::net::Ipv4Addr,
    joins: &[EncodedSource],
    prunes: &[EncodedSource],
    holdtime: u16,
) {
    lab.receive(UP, jp(to, holdtime, G, joins, prunes));
}

fn join_desired_notjoined_to_joined(k: K) {
    let mut lab = Lab::new();
    assert_eq!(k.upstream(&lab).state, UpstreamState::NotJoined);
    lab.local(DOWN, G, k.member(), true);
    let u = k.upstream(&lab);
    assert_eq!(u.state, UpstreamState::Joined);
    assert_eq!(u.join_timer, Some(lab.now + secs(60)));
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, G, k.encoded())]);
}

fn join_desired_false_joined_to_notjoined(k: K) {
    let mut lab = joined(k);
    lab.take_sent();
    lab.local(DOWN, G, k.member(), false);
    assert_eq!(k.upstream(&lab).state, UpstreamState::NotJoined);
    assert_eq!(lab.take_sent(), vec![prune(NBR_UP, G, k.encoded())]);
    assert!(lab.group(G).is_none(), "nothing left of the group");
}

fn timer_expiry_joined_sends_join(k: K) {
    let mut lab = joined(k);
    lab.take_sent();
    lab.advance(secs(59));
    assert!(lab.take_sent().is_empty());
    lab.advance(secs(1));
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, G, k.encoded())]);
    assert_eq!(k.upstream(&lab).join_timer, Some(lab.now + secs(60)));
}

fn see_join_increases_timer(k: K) {
    let mut lab = joined(k);
    lab.advance(secs(10));
    // A join with a short holdtime suppresses only that long: JT stays.
    let jt = k.upstream(&lab).join_timer;
    overheard(&mut lab, NBR_UP, &[k.encoded()], &[], 30);
    assert_eq!(k.upstream(&lab).join_timer, jt);
    overheard(&mut lab, NBR_UP, &[k.encoded()], &[], HOLD);
    let jt = k.upstream(&lab).join_timer.unwrap();
    assert!(
        jt >= lab.now + secs(66) && jt <= lab.now + secs(84),
        "t_suppressed: {jt:?}"
    );
    lab.take_sent();
    lab.advance(secs(60));
    assert!(lab.take_sent().is_empty(), "our join was suppressed");
    // A join to another neighbour suppresses nothing.
    let before = k.upstream(&lab).join_timer;
    overheard(&mut lab, NBR_UP2, &[k.encoded()], &[], HOLD);
    assert_eq!(k.upstream(&lab).join_timer, before);
}

fn see_join_without_suppression_changes_nothing(k: K) {
    let mut lab = joined(k);
    let mut up = InterfaceParams::new(ME_UP, false);
    up.suppression_enabled = false;
    lab.tib.set_interface(lab.now, UP, up, &lab.env);
    let jt = k.upstream(&lab).join_timer;
    overheard(&mut lab, NBR_UP, &[k.encoded()], &[], HOLD);
    assert_eq!(k.upstream(&lab).join_timer, jt);
}

fn see_prune_decreases_timer(k: K) {
    let mut lab = joined(k);
    lab.advance(secs(10));
    lab.take_sent();
    overheard(&mut lab, NBR_UP, &[], &[k.encoded()], HOLD);
    let jt = k.upstream(&lab).join_timer.unwrap();
    assert!(
        jt <= lab.now + Duration::from_millis(2500),
        "t_override: {jt:?}"
    );
    lab.advance(Duration::from_millis(2500));
    assert_eq!(
        lab.take_sent(),
        vec![join(NBR_UP, G, k.encoded())],
        "the override"
    );
}

fn rpf_change_joined_joins_new_prunes_old(k: K) {
    let mut lab = joined(k);
    lab.advance(secs(10));
    lab.take_sent();
    lab.env.routes.insert(k.target(), upstream(NBR_UP2));
    lab.routes_changed();
    let sent = lab.take_sent();
    assert!(sent.contains(&join(NBR_UP2, G, k.encoded())), "{sent:?}");
    assert!(sent.contains(&prune(NBR_UP, G, k.encoded())), "{sent:?}");
    let u = k.upstream(&lab);
    assert_eq!(u.join_timer, Some(lab.now + secs(60)));
    assert_eq!(u.rpf.map(|n| n.addr), Some(NBR_UP2));
}

fn genid_change_decreases_timer(k: K) {
    let mut lab = joined(k);
    lab.advance(secs(10));
    lab.tib.neighbor_restarted(lab.now, UP, NBR_UP, &lab.env);
    let jt = k.upstream(&lab).join_timer.unwrap();
    assert!(jt <= lab.now + Duration::from_millis(2500), "{jt:?}");
}

fn rpf_change_due_to_assert_decreases_timer() {
    let nbr = |addr| Neighbor { iface: UP, addr };
    let now = secs(100);
    let mut u = Upstream {
        rpf: Some(nbr(NBR_UP)),
        ..Upstream::default()
    };
    assert_eq!(
        u.join_desired(now, true, secs(60)),
        vec![Send::Join(nbr(NBR_UP))]
    );
    let sends = u.rpf_changed(now + secs(1), Some(nbr(NBR_UP2)), true, secs(60), secs(2));
    assert!(sends.is_empty());
    assert_eq!(u.join_timer, Some(now + secs(3)));
    assert_eq!(u.rpf, Some(nbr(NBR_UP2)));
}

#[test]
fn star_g_upstream_join_desired_notjoined_to_joined() {
    join_desired_notjoined_to_joined(K::Star)
}
#[test]
fn star_g_upstream_join_desired_false_joined_to_notjoined() {
    join_desired_false_joined_to_notjoined(K::Star)
}
#[test]
fn star_g_upstream_timer_expiry_joined_sends_join() {
    timer_expiry_joined_sends_join(K::Star)
}
#[test]
fn star_g_upstream_see_join_joined_increases_timer() {
    see_join_increases_timer(K::Star)
}
#[test]
fn star_g_upstream_see_join_without_suppression_keeps_timer() {
    see_join_without_suppression_changes_nothing(K::Star)
}
#[test]
fn star_g_upstream_see_prune_joined_decreases_timer() {
    see_prune_decreases_timer(K::Star)
}
#[test]
fn star_g_upstream_rpf_change_not_assert_joins_new_prunes_old() {
    rpf_change_joined_joins_new_prunes_old(K::Star)
}
#[test]
fn star_g_upstream_rpf_genid_change_decreases_timer() {
    genid_change_decreases_timer(K::Star)
}
#[test]
fn star_g_upstream_rpf_change_due_to_assert_decreases_timer() {
    rpf_change_due_to_assert_decreases_timer()
}
#[test]
fn sg_upstream_join_desired_notjoined_to_joined() {
    join_desired_notjoined_to_joined(K::Sg)
}
#[test]
fn sg_upstream_join_desired_false_joined_to_notjoined() {
    join_desired_false_joined_to_notjoined(K::Sg)
}
#[test]
fn sg_upstream_timer_expiry_joined_sends_join() {
    timer_expiry_joined_sends_join(K::Sg)
}
#[test]
fn sg_upstream_see_join_joined_increases_timer() {
    see_join_increases_timer(K::Sg)
}
#[test]
fn sg_upstream_see_join_without_suppression_keeps_timer() {
    see_join_without_suppression_changes_nothing(K::Sg)
}
#[test]
fn sg_upstream_see_prune_joined_decreases_timer() {
    see_prune_decreases_timer(K::Sg)
}
#[test]
fn sg_upstream_rpf_change_not_assert_joins_new_prunes_old() {
    rpf_change_joined_joins_new_prunes_old(K::Sg)
}
#[test]
fn sg_upstream_rpf_genid_change_decreases_timer() {
    genid_change_decreases_timer(K::Sg)
}
#[test]
fn sg_upstream_rpf_change_due_to_assert_decreases_timer() {
    // The (S,G) machine is the same type as the (*,G) one.
    rpf_change_due_to_assert_decreases_timer()
}

#[test]
fn sg_upstream_see_prune_sg_rpt_to_rpf_sg_decreases_timer() {
    let mut lab = joined(K::Sg);
    lab.advance(secs(10));
    overheard(&mut lab, NBR_UP, &[], &[rpt(S)], HOLD);
    let jt = lab.sg_upstream(S, G).join_timer.unwrap();
    assert!(jt <= lab.now + Duration::from_millis(2500), "{jt:?}");
}

#[test]
fn sg_upstream_see_prune_star_g_to_rpf_sg_decreases_timer() {
    let mut lab = joined(K::Sg);
    lab.advance(secs(10));
    overheard(&mut lab, NBR_UP, &[], &[star()], HOLD);
    let jt = lab.sg_upstream(S, G).join_timer.unwrap();
    assert!(jt <= lab.now + Duration::from_millis(2500), "{jt:?}");
}

#[test]
fn star_g_upstream_without_rp_is_not_joined() {
    let mut lab = Lab::new();
    lab.env.rp = None;
    lab.local(DOWN, G, LocalMember::AnySource, true);
    assert_eq!(lab.star_upstream(G).state, UpstreamState::NotJoined);
    assert!(lab.take_sent().is_empty());
    // The RP becomes known: the join goes out.
    lab.env.rp = Some(RP);
    lab.routes_changed();
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, G, star())]);
}

#[test]
fn star_g_upstream_local_member_counts_only_where_we_are_dr() {
    let mut lab = Lab::new();
    lab.local(UP, G, LocalMember::AnySource, true);
    assert_eq!(lab.star_upstream(G).state, UpstreamState::NotJoined);
    assert!(lab.take_events().is_empty());
    // We become DR there: the member counts (UP is also the RPF interface, so no oif).
    let mut up = InterfaceParams::new(ME_UP, true);
    up.neighbors = 3;
    lab.tib.set_interface(lab.now, UP, up, &lab.env);
    lab.drain();
    assert_eq!(lab.star_upstream(G).state, UpstreamState::Joined);
}

#[test]
fn star_g_upstream_rp_change_behind_the_same_neighbor_joins_the_new_rp() {
    let rp2 = std::net::Ipv4Addr::new(10, 0, 0, 2);
    let mut lab = joined(K::Star);
    lab.advance(secs(10));
    lab.take_sent();
    lab.env.rp = Some(rp2);
    lab.env.routes.insert(rp2, upstream(NBR_UP));
    lab.routes_changed();
    // Only the join: a Prune(*,G) naming the old RP would prune the new join too.
    assert_eq!(
        lab.take_sent(),
        vec![join(NBR_UP, G, EncodedSource::star_g(rp2))]
    );
    assert_eq!(lab.star_upstream(G).join_timer, Some(lab.now + secs(60)));
}

#[test]
fn star_g_upstream_rp_change_to_another_neighbor_prunes_the_old_rp() {
    let rp2 = std::net::Ipv4Addr::new(10, 0, 0, 2);
    let mut lab = joined(K::Star);
    lab.take_sent();
    lab.env.rp = Some(rp2);
    lab.env.routes.insert(rp2, upstream(NBR_UP2));
    lab.routes_changed();
    let sent = lab.take_sent();
    assert!(
        sent.contains(&join(NBR_UP2, G, EncodedSource::star_g(rp2))),
        "{sent:?}"
    );
    assert!(sent.contains(&prune(NBR_UP, G, star())), "{sent:?}");
}
