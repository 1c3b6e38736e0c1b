//! The downstream (S,G,rpt) table (RFC 7761 4.5.4): every transition on the machine itself
//! (PruneTmp and Prune-Pending-Tmp last only while one message is processed), then the
//! compound messages that reach them through `Tib`.

use crate::harness::*;
use control::protocols::pim::tree::*;
use std::time::Duration;

const NOW: Duration = Duration::from_secs(100);
const HT: Option<Duration> = Some(Duration::from_secs(210));
const PPT: Duration = Duration::from_secs(3);

fn in_state(state: RptState) -> RptDownstream {
    let mut r = RptDownstream::default();
    match state {
        RptState::NoInfo => {}
        RptState::PrunePending => r.receive_rpt_prune(NOW, HT, PPT),
        RptState::Pruned => {
            r.receive_rpt_prune(NOW, HT, PPT);
            assert!(r.timeout(NOW + PPT));
        }
        RptState::PruneTmp => {
            r = in_state(RptState::Pruned);
            r.receive_star_join();
        }
        RptState::PrunePendingTmp => {
            r = in_state(RptState::PrunePending);
            r.receive_star_join();
        }
    }
    assert_eq!(r.state, state);
    r
}

#[test]
fn sg_rpt_downstream_prune_noinfo_to_prune_pending() {
    let mut r = in_state(RptState::NoInfo);
    r.receive_rpt_prune(NOW, HT, PPT);
    assert_eq!(r.state, RptState::PrunePending);
    assert_eq!(r.prune_pending, Some(NOW + PPT));
    assert_eq!(r.expiry, Some(NOW + secs(210)));
    assert!(!r.is_pruned(), "Prune-Pending forwards as NoInfo");
}

#[test]
fn sg_rpt_downstream_star_join_rpt_join_end_of_message_leave_noinfo() {
    let mut r = in_state(RptState::NoInfo);
    r.receive_star_join();
    r.receive_rpt_join();
    r.end_of_message();
    assert_eq!(r, RptDownstream::default());
}

#[test]
fn sg_rpt_downstream_star_join_pruned_to_prune_tmp() {
    let mut r = in_state(RptState::Pruned);
    r.receive_star_join();
    assert_eq!(r.state, RptState::PruneTmp);
    assert!(r.is_pruned(), "PruneTmp forwards as Pruned");
}

#[test]
fn sg_rpt_downstream_rpt_join_pruned_to_noinfo() {
    let mut r = in_state(RptState::Pruned);
    r.receive_rpt_join();
    assert_eq!(r, RptDownstream::default());
}

#[test]
fn sg_rpt_downstream_prune_pruned_restarts_expiry() {
    let mut r = in_state(RptState::Pruned);
    r.receive_rpt_prune(NOW + secs(50), HT, PPT);
    assert_eq!(r.state, RptState::Pruned);
    assert_eq!(r.expiry, Some(NOW + secs(260)));
}

#[test]
fn sg_rpt_downstream_expiry_pruned_to_noinfo() {
    let mut r = in_state(RptState::Pruned);
    assert!(!r.timeout(NOW + secs(209)));
    assert!(r.timeout(NOW + secs(210)));
    assert_eq!(r, RptDownstream::default());
}

#[test]
fn sg_rpt_downstream_star_join_prune_pending_to_prune_pending_tmp() {
    let mut r = in_state(RptState::PrunePending);
    r.receive_star_join();
    assert_eq!(r.state, RptState::PrunePendingTmp);
    assert!(!r.is_pruned());
}

#[test]
fn sg_rpt_downstream_rpt_join_prune_pending_to_noinfo() {
    let mut r = in_state(RptState::PrunePending);
    r.receive_rpt_join();
    assert_eq!(r, RptDownstream::default());
}

#[test]
fn sg_rpt_downstream_prune_prune_pending_stays() {
    let mut r = in_state(RptState::PrunePending);
    r.receive_rpt_prune(NOW + secs(1), HT, PPT);
    assert_eq!(r.state, RptState::PrunePending);
    assert_eq!(r.prune_pending, Some(NOW + PPT), "the PPT is not restarted");
}

#[test]
fn sg_rpt_downstream_ppt_expiry_prune_pending_to_pruned() {
    let mut r = in_state(RptState::PrunePending);
    assert!(r.timeout(NOW + PPT));
    assert_eq!(r.state, RptState::Pruned);
    assert_eq!(r.expiry, Some(NOW + secs(210)), "the ET goes on");
}

#[test]
fn sg_rpt_downstream_expiry_prune_pending_to_noinfo() {
    let mut r = RptDownstream::default();
    r.receive_rpt_prune(NOW, Some(secs(1)), PPT);
    assert!(r.timeout(NOW + secs(1)));
    assert_eq!(r, RptDownstream::default());
}

#[test]
fn sg_rpt_downstream_prune_prune_tmp_to_pruned() {
    let mut r = in_state(RptState::PruneTmp);
    r.receive_rpt_prune(NOW + secs(60), HT, PPT);
    assert_eq!(r.state, RptState::Pruned);
    assert_eq!(r.expiry, Some(NOW + secs(270)));
}

#[test]
fn sg_rpt_downstream_end_of_message_prune_tmp_to_noinfo() {
    let mut r = in_state(RptState::PruneTmp);
    r.end_of_message();
    assert_eq!(r, RptDownstream::default());
}

#[test]
fn sg_rpt_downstream_prune_prune_pending_tmp_to_prune_pending() {
    let mut r = in_state(RptState::PrunePendingTmp);
    r.receive_rpt_prune(NOW + secs(1), HT, PPT);
    assert_eq!(r.state, RptState::PrunePending);
    assert_eq!(r.expiry, Some(NOW + secs(211)));
}

#[test]
fn sg_rpt_downstream_end_of_message_prune_pending_tmp_to_noinfo() {
    let mut r = in_state(RptState::PrunePendingTmp);
    r.end_of_message();
    assert_eq!(r, RptDownstream::default());
}

/// (*,G) joined on DOWN and LAN, then S pruned off the shared tree on DOWN.
fn pruned_on_down() -> Lab {
    let mut lab = Lab::new();
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[star()], &[]));
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[star()], &[rpt(S)]));
    lab.advance(secs(0));
    assert_eq!(lab.rpt_downstream(S, G, DOWN).state, RptState::Pruned);
    lab
}

#[test]
fn sg_rpt_downstream_compound_message_keeps_the_prune_and_excludes_the_interface() {
    let mut lab = pruned_on_down();
    // Prune-Pending forwards as NoInfo: DOWN was in the (S,G) set until the PPT expired.
    let events = lab.take_events();
    assert_eq!(
        events.last(),
        Some(&removed(sg_entry(S, G), DOWN)),
        "{events:?}"
    );
    let oifs: Vec<Iface> = lab.source(S, G).unwrap().oifs.iter().copied().collect();
    assert_eq!(oifs, vec![LAN]);
    lab.advance(secs(60));
    // The periodic compound message: Join(*,G) then Prune(S,G,rpt).
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[star()], &[rpt(S)]));
    let r = lab.rpt_downstream(S, G, DOWN);
    assert_eq!(r.state, RptState::Pruned);
    assert_eq!(r.expiry, Some(lab.now + secs(210)));
    assert!(lab.take_events().is_empty());
}

#[test]
fn sg_rpt_downstream_star_join_without_the_prune_ends_it() {
    let mut lab = pruned_on_down();
    lab.take_events();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[star()], &[]));
    assert_eq!(lab.rpt_downstream(S, G, DOWN).state, RptState::NoInfo);
    assert_eq!(lab.take_events(), vec![added(sg_entry(S, G), DOWN)]);
}

#[test]
fn sg_rpt_downstream_ssm_group_is_ignored_and_counted() {
    let mut lab = Lab::new();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, SSM_G, &[star()], &[rpt(S)]));
    assert!(lab.group(SSM_G).is_none());
    assert_eq!(lab.tib.counters().ssm_shared_tree_ignored, 2);
    assert!(lab.take_sent().is_empty());
}

#[test]
fn sg_rpt_downstream_end_of_message_comes_after_every_group_set() {
    // A message that names G twice: Join(*,G) and Prune(S,G,rpt) in the first set, the
    // Prune(S3,G,rpt) in the second. The first set's Join(*,G) makes S3's Pruned PruneTmp;
    // the second set's prune finds it still there, since End of Message comes once, at the
    // end of the message (4.5.4), not after each group set.
    let mut lab = Lab::new();
    let msg = |lab: &mut Lab| {
        let mut m = jp(ME_DOWN, HOLD, G, &[star()], &[rpt(S)]);
        m.groups
            .push(jp(ME_DOWN, HOLD, G, &[], &[rpt(S3)]).groups[0].clone());
        lab.receive(DOWN, m);
    };
    msg(&mut lab);
    lab.advance(secs(0));
    for source in [S, S3] {
        assert_eq!(lab.rpt_downstream(source, G, DOWN).state, RptState::Pruned);
    }
    msg(&mut lab);
    for source in [S, S3] {
        assert_eq!(lab.rpt_downstream(source, G, DOWN).state, RptState::Pruned);
    }
}
