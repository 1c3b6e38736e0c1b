//! The upstream (S,G,rpt) table (RFC 7761 4.5.9) and its NotPruned events: through `Tib`
//! where messages reach the row, on the machine for the rows that need an SPT bit or an Assert.

use crate::harness::*;
use control::protocols::pim::tree::*;
use std::time::Duration;

fn inputs(rpt_join_desired: bool, prune_desired: bool, inherited_olist: bool) -> RptInputs {
    RptInputs {
        rpt_join_desired,
        prune_desired,
        inherited_olist,
    }
}

/// (*,G) joined from DOWN only.
fn star_joined() -> Lab {
    let mut lab = Lab::new();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[star()], &[]));
    lab.take_sent();
    lab
}

/// S pruned off the shared tree on DOWN, our only downstream: Pruned(S,G,rpt).
fn rpt_pruned() -> Lab {
    let mut lab = star_joined();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[], &[rpt(S)]));
    lab.advance(secs(0));
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::Pruned);
    lab
}

/// A peer on the upstream LAN pruned S off the shared tree we want: NotPruned, OT running.
fn overriding() -> Lab {
    let mut lab = star_joined();
    lab.receive(UP, jp(NBR_UP, HOLD, G, &[], &[rpt(S)]));
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::NotPruned);
    lab
}

#[test]
fn sg_rpt_upstream_prune_desired_notjoined_to_pruned() {
    let mut m = RptUpstream::default();
    assert_eq!(
        m.update(inputs(true, true, false)),
        None,
        "the prune rides the (*,G) join"
    );
    assert_eq!(m.state, RptUpstreamState::Pruned);
}

#[test]
fn sg_rpt_upstream_inherited_olist_notjoined_to_notpruned() {
    let mut lab = Lab::new();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[sg(S)], &[]));
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::NotJoined);
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[star()], &[]));
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::NotPruned);
    assert!(!lab.take_sent().iter().any(|s| s.entry == rpt(S)));
}

#[test]
fn sg_rpt_upstream_prune_desired_false_pruned_to_notpruned_sends_join() {
    let mut lab = rpt_pruned();
    lab.take_sent();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[star()], &[]));
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::NotPruned);
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, G, rpt(S))]);
}

#[test]
fn sg_rpt_upstream_rpt_join_desired_false_pruned_to_notjoined() {
    let mut lab = rpt_pruned();
    lab.take_sent();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[], &[star()]));
    lab.advance(secs(0));
    assert_eq!(lab.star_upstream(G).state, UpstreamState::NotJoined);
    // The source keeps its downstream prune until its ET; its upstream machine rests.
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::NotJoined);
    assert_eq!(lab.take_sent(), vec![prune(NBR_UP, G, star())]);
}

#[test]
fn sg_rpt_upstream_prune_desired_notpruned_to_pruned_sends_prune() {
    let mut lab = star_joined();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[], &[rpt(S)]));
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::NotPruned);
    lab.advance(secs(0));
    assert_eq!(lab.rpt_upstream(S, G).state, RptUpstreamState::Pruned);
    assert_eq!(lab.take_sent(), vec![prune(NBR_UP, G, rpt(S))]);
    // From now on every Join(*,G) carries the prune (4.5.8).
    lab.advance(secs(60));
    assert_eq!(
        lab.take_sent(),
        vec![join(NBR_UP, G, star()), prune(NBR_UP, G, rpt(S))]
    );
}

#[test]
fn sg_rpt_upstream_prune_desired_notpruned_to_pruned_cancels_override() {
    let mut m = RptUpstream::default();
    m.update(inputs(true, false, true));
    m.decrease_timer(secs(10), secs(1));
    assert!(m.override_timer.is_some());
    assert_eq!(m.update(inputs(true, true, false)), Some(false));
    assert_eq!(m.state, RptUpstreamState::Pruned);
    assert_eq!(m.override_timer, None);
}

#[test]
fn sg_rpt_upstream_rpt_join_desired_false_notpruned_to_notjoined() {
    let mut lab = overriding();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[], &[star()]));
    lab.advance(secs(0));
    let m = lab.rpt_upstream(S, G);
    assert_eq!(m.state, RptUpstreamState::NotJoined);
    assert_eq!(m.override_timer, None);
    assert!(
        lab.source(S, G).is_none(),
        "the state made for the override is gone"
    );
}

#[test]
fn sg_rpt_upstream_see_prune_rpt_notpruned_overrides_after_ot() {
    let mut lab = overriding();
    let ot = lab.rpt_upstream(S, G).override_timer.unwrap();
    assert!(ot <= lab.now + Duration::from_millis(2500), "{ot:?}");
    lab.take_sent();
    lab.advance(Duration::from_millis(2500));
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, G, rpt(S))]);
    assert_eq!(lab.rpt_upstream(S, G).override_timer, None, "OT left unset");
}

#[test]
fn sg_rpt_upstream_see_join_rpt_notpruned_cancels_ot() {
    let mut lab = overriding();
    lab.receive(UP, jp(NBR_UP, HOLD, G, &[rpt(S)], &[]));
    assert_eq!(lab.rpt_upstream(S, G).override_timer, None);
    lab.take_sent();
    lab.advance(secs(5));
    assert!(lab.take_sent().is_empty(), "someone else overrode");
}

#[test]
fn sg_rpt_upstream_see_prune_sg_notpruned_decreases_ot() {
    let mut lab = overriding();
    lab.receive(UP, jp(NBR_UP, HOLD, G, &[rpt(S)], &[]));
    lab.receive(UP, jp(NBR_UP, HOLD, G, &[], &[sg(S)]));
    let ot = lab.rpt_upstream(S, G).override_timer.unwrap();
    assert!(ot <= lab.now + Duration::from_millis(2500), "{ot:?}");
}

#[test]
fn sg_rpt_upstream_rpf_becomes_rpf_star_notpruned_decreases_ot() {
    let mut m = RptUpstream::default();
    m.update(inputs(true, false, true));
    m.decrease_timer(secs(10), secs(2));
    assert_eq!(m.override_timer, Some(secs(12)));
    m.decrease_timer(secs(11), secs(5));
    assert_eq!(m.override_timer, Some(secs(12)), "min(OT, t_override)");
    assert!(m.timer_expired(secs(12)));
    assert_eq!(m.override_timer, None);
}

#[test]
fn sg_rpt_upstream_spt_bit_on_another_interface_prunes_off_the_shared_tree() {
    // S3's SPT comes in on LAN, the shared tree on UP: once S3's data flows on the SPT, S3 is
    // pruned off the shared tree (PruneDesired's second case, 4.5.9; Update_SPTbit, 4.2.2).
    let mut lab = Lab::new();
    lab.local(DOWN, G, LocalMember::AnySource, true);
    lab.take_sent();
    // The first packet comes down the shared tree: the last hop switches.
    lab.tib.data_arrived(lab.now, S3, G, UP, &lab.env);
    lab.drain();
    assert_eq!(lab.sg_upstream(S3, G).state, UpstreamState::Joined);
    let to_lan = Sent {
        iface: LAN,
        to: NBR_LAN,
        group: G,
        join: true,
        entry: sg(S3),
    };
    assert_eq!(lab.take_sent(), vec![to_lan]);
    assert!(!lab.source(S3, G).unwrap().spt_bit);
    // Then on the SPT.
    lab.tib.data_arrived(lab.now, S3, G, LAN, &lab.env);
    lab.drain();
    assert!(lab.source(S3, G).unwrap().spt_bit);
    assert_eq!(lab.rpt_upstream(S3, G).state, RptUpstreamState::Pruned);
    assert_eq!(lab.take_sent(), vec![prune(NBR_UP, G, rpt(S3))]);
}

#[test]
fn sg_rpt_upstream_spt_on_the_shared_tree_interface_sets_no_spt_bit() {
    // S2's SPT and the shared tree both come in on UP (other neighbours): the data cannot
    // tell them apart, so no SPT bit and no (S,G,rpt) prune (4.2.2).
    let mut lab = Lab::new();
    lab.local(DOWN, G, LocalMember::AnySource, true);
    lab.take_sent();
    for _ in 0..2 {
        lab.tib.data_arrived(lab.now, S2, G, UP, &lab.env);
        lab.drain();
    }
    assert_eq!(lab.take_sent(), vec![join(NBR_UP2, G, sg(S2))]);
    assert!(!lab.source(S2, G).unwrap().spt_bit);
    assert_eq!(lab.rpt_upstream(S2, G).state, RptUpstreamState::NotPruned);
}

#[test]
fn sg_rpt_upstream_back_to_the_shared_tree_when_the_spt_data_stops() {
    // The SPT bit goes with JoinDesired(S,G) (4.5.7): when S3's keepalive runs out, the (S,G)
    // join is pruned and S3 is joined back on the shared tree (Pruned -> NotPruned).
    let mut lab = Lab::new();
    lab.local(DOWN, G, LocalMember::AnySource, true);
    lab.tib.data_arrived(lab.now, S3, G, UP, &lab.env);
    lab.tib.data_arrived(lab.now, S3, G, LAN, &lab.env);
    lab.drain();
    assert!(lab.source(S3, G).unwrap().spt_bit);
    lab.take_sent();
    lab.advance(secs(211));
    let sent = lab.take_sent();
    let pruned_spt = Sent {
        iface: LAN,
        to: NBR_LAN,
        group: G,
        join: false,
        entry: sg(S3),
    };
    assert!(sent.contains(&pruned_spt), "{sent:?}");
    assert!(sent.contains(&join(NBR_UP, G, rpt(S3))), "{sent:?}");
    assert!(lab.source(S3, G).is_none_or(|s| !s.spt_bit));
}
