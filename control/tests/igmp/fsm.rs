//! One test per row of the RFC 3376 6.4.1 and 6.4.2 tables. Sources are 192.0.2.n, written n.
//!
//! INCLUDE(A) with A = {1, 2}, reported at t=40 s and looked at 10 s later, so untouched source
//! timers show 250 s and timers set to GMI 260 s. B = {2, 3}.
//! EXCLUDE(X,Y) with X = {1, 2}, Y = {3, 4} (IS_EX({3,4}) then ALLOW({1,2}) at t=40 s, 10 s
//! earlier): group timer and X timers show 250 s. A = {2, 3, 5}.
//! Queries: (group, S flag, sources); LMQT is 2 s.

use super::harness::*;
use super::FilterMode::{Exclude, Include};
use dataplane::wire::igmp::RecordType::{self, *};

fn include_a() -> Lab {
    let mut lab = Lab::v3();
    lab.record(H1, ModeIsInclude, G, &[1, 2]);
    lab.advance(secs(10));
    assert_eq!(
        lab.state(G),
        (Include, vec![(1, 250), (2, 250)], vec![], None)
    );
    assert_eq!(
        lab.take_events(),
        [join(Some(s(1)), G), join(Some(s(2)), G)]
    );
    lab.clear();
    lab
}

fn exclude_xy() -> Lab {
    let mut lab = Lab::v3();
    lab.record(H1, ModeIsExclude, G, &[3, 4]);
    lab.record(H1, AllowNewSources, G, &[1, 2]);
    lab.advance(secs(10));
    assert_eq!(
        lab.state(G),
        (Exclude, vec![(1, 250), (2, 250)], vec![3, 4], Some(250))
    );
    assert_eq!(lab.take_events(), [join(None, G)]);
    lab.clear();
    lab
}

fn include_with(rt: RecordType) -> Lab {
    let mut lab = include_a();
    lab.record(H1, rt, G, &[2, 3]);
    lab
}

fn exclude_with(rt: RecordType) -> Lab {
    let mut lab = exclude_xy();
    lab.record(H1, rt, G, &[2, 3, 5]);
    lab
}

// 6.4.1: INCLUDE (A), IS_IN (B) -> INCLUDE (A+B); (B)=GMI
#[test]
fn include_is_in() {
    let mut lab = include_with(ModeIsInclude);
    assert_eq!(
        lab.state(G),
        (Include, vec![(1, 250), (2, 260), (3, 260)], vec![], None)
    );
    assert_eq!(lab.take_events(), [join(Some(s(3)), G)]);
    assert!(lab.take_queries().is_empty());
}

// 6.4.1: INCLUDE (A), IS_EX (B) -> EXCLUDE (A*B,B-A); (B-A)=0; Delete (A-B); Group Timer=GMI
#[test]
fn include_is_ex() {
    let mut lab = include_with(ModeIsExclude);
    assert_eq!(lab.state(G), (Exclude, vec![(2, 250)], vec![3], Some(260)));
    assert_eq!(
        lab.take_events(),
        [
            leave_ev(Some(s(1)), G),
            leave_ev(Some(s(2)), G),
            join(None, G)
        ]
    );
    assert!(lab.take_queries().is_empty());
}

// 6.4.1: EXCLUDE (X,Y), IS_IN (A) -> EXCLUDE (X+A,Y-A); (A)=GMI
#[test]
fn exclude_is_in() {
    let mut lab = exclude_with(ModeIsInclude);
    assert_eq!(
        lab.state(G),
        (
            Exclude,
            vec![(1, 250), (2, 260), (3, 260), (5, 260)],
            vec![4],
            Some(250)
        )
    );
    assert!(lab.take_events().is_empty());
    assert!(lab.take_queries().is_empty());
}

// 6.4.1: EXCLUDE (X,Y), IS_EX (A) -> EXCLUDE (A-Y,Y*A); (A-X-Y)=GMI; Delete (X-A);
// Delete (Y-A); Group Timer=GMI
#[test]
fn exclude_is_ex() {
    let mut lab = exclude_with(ModeIsExclude);
    assert_eq!(
        lab.state(G),
        (Exclude, vec![(2, 250), (5, 260)], vec![3], Some(260))
    );
    assert!(lab.take_queries().is_empty());
}

// 6.4.2: INCLUDE (A), ALLOW (B) -> INCLUDE (A+B); (B)=GMI
#[test]
fn include_allow() {
    let mut lab = include_with(AllowNewSources);
    assert_eq!(
        lab.state(G),
        (Include, vec![(1, 250), (2, 260), (3, 260)], vec![], None)
    );
    assert_eq!(lab.take_events(), [join(Some(s(3)), G)]);
    assert!(lab.take_queries().is_empty());
}

// 6.4.2: INCLUDE (A), BLOCK (B) -> INCLUDE (A); Send Q(G,A*B)
#[test]
fn include_block() {
    let mut lab = include_with(BlockOldSources);
    // Q(G,{2}) lowers 2's timer to LMQT.
    assert_eq!(
        lab.state(G),
        (Include, vec![(1, 250), (2, 2)], vec![], None)
    );
    assert_eq!(lab.take_queries(), [(G, false, vec![2])]);
    // Retransmitted once after LMQI, then 2 times out and is left.
    lab.advance(secs(1));
    assert_eq!(lab.take_queries(), [(G, false, vec![2])]);
    lab.advance(secs(1));
    assert_eq!(lab.take_events(), [leave_ev(Some(s(2)), G)]);
    assert_eq!(lab.state(G).1, [(1, 248)]);
}

// 6.4.2: INCLUDE (A), TO_EX (B) -> EXCLUDE (A*B,B-A); (B-A)=0; Delete (A-B); Send Q(G,A*B);
// Group Timer=GMI
#[test]
fn include_to_ex() {
    let mut lab = include_with(ChangeToExclude);
    assert_eq!(lab.state(G), (Exclude, vec![(2, 2)], vec![3], Some(260)));
    assert_eq!(lab.take_queries(), [(G, false, vec![2])]);
    // Source 2 times out into the excluded list; the group stays (*,G).
    lab.advance(secs(2));
    assert_eq!(lab.state(G), (Exclude, vec![], vec![2, 3], Some(258)));
}

// 6.4.2: INCLUDE (A), TO_IN (B) -> INCLUDE (A+B); (B)=GMI; Send Q(G,A-B)
#[test]
fn include_to_in() {
    let mut lab = include_with(ChangeToInclude);
    assert_eq!(
        lab.state(G),
        (Include, vec![(1, 2), (2, 260), (3, 260)], vec![], None)
    );
    assert_eq!(lab.take_queries(), [(G, false, vec![1])]);
    assert_eq!(lab.take_events(), [join(Some(s(3)), G)]);
}

// 6.4.2: EXCLUDE (X,Y), ALLOW (A) -> EXCLUDE (X+A,Y-A); (A)=GMI
#[test]
fn exclude_allow() {
    let mut lab = exclude_with(AllowNewSources);
    assert_eq!(
        lab.state(G),
        (
            Exclude,
            vec![(1, 250), (2, 260), (3, 260), (5, 260)],
            vec![4],
            Some(250)
        )
    );
    assert!(lab.take_queries().is_empty());
}

// 6.4.2: EXCLUDE (X,Y), BLOCK (A) -> EXCLUDE (X+(A-Y),Y); (A-X-Y)=Group Timer; Send Q(G,A-Y)
#[test]
fn exclude_block() {
    let mut lab = exclude_with(BlockOldSources);
    // 5 gets the group timer (250), then Q(G,{2,5}) lowers 2 and 5 to LMQT.
    assert_eq!(
        lab.state(G),
        (
            Exclude,
            vec![(1, 250), (2, 2), (5, 2)],
            vec![3, 4],
            Some(250)
        )
    );
    assert_eq!(lab.take_queries(), [(G, false, vec![2, 5])]);
}

// 6.4.2: EXCLUDE (X,Y), TO_EX (A) -> EXCLUDE (A-Y,Y*A); (A-X-Y)=Group Timer; Delete (X-A);
// Delete (Y-A); Send Q(G,A-Y); Group Timer=GMI
#[test]
fn exclude_to_ex() {
    let mut lab = exclude_with(ChangeToExclude);
    assert_eq!(
        lab.state(G),
        (Exclude, vec![(2, 2), (5, 2)], vec![3], Some(260))
    );
    assert_eq!(lab.take_queries(), [(G, false, vec![2, 5])]);
}

// 6.4.2: EXCLUDE (X,Y), TO_IN (A) -> EXCLUDE (X+A,Y-A); (A)=GMI; Send Q(G,X-A); Send Q(G)
#[test]
fn exclude_to_in() {
    let mut lab = exclude_with(ChangeToInclude);
    assert_eq!(
        lab.state(G),
        (
            Exclude,
            vec![(1, 2), (2, 260), (3, 260), (5, 260)],
            vec![4],
            Some(2)
        )
    );
    assert_eq!(
        lab.take_queries(),
        [(G, false, vec![]), (G, false, vec![1])]
    );
    // Nobody answers: after LMQT the group timer expires and the group switches to
    // INCLUDE with the sources that still run (6.5); 1 timed out with it.
    lab.advance(secs(1));
    // Second round: the group query, and 1 (its timer is at LMQT or below, no S flag).
    assert_eq!(
        lab.take_queries(),
        [(G, false, vec![]), (G, false, vec![1])]
    );
    lab.advance(secs(1));
    assert_eq!(
        lab.state(G),
        (Include, vec![(2, 258), (3, 258), (5, 258)], vec![], None)
    );
    assert_eq!(
        lab.take_events(),
        [
            leave_ev(None, G),
            join(Some(s(2)), G),
            join(Some(s(3)), G),
            join(Some(s(5)), G)
        ]
    );
}

// A report during the last member queries raises the timer again: the next query carries the
// S flag (6.6.3.1) and the group stays.
#[test]
fn report_during_group_queries_sets_s_flag() {
    let mut lab = exclude_with(ChangeToInclude);
    lab.take_queries();
    lab.record(H2, ModeIsExclude, G, &[]);
    lab.advance(secs(1));
    let qs = lab.take_queries();
    assert_eq!(qs[0], (G, true, vec![]));
    lab.advance(secs(5));
    assert_eq!(lab.state(G).0, Exclude);
}

/// As `exclude_xy`, but a lower-addressed querier is present: no queries, so the timers the
/// tables set stay visible.
fn exclude_xy_non_querier(rt: RecordType) -> Lab {
    let mut lab = exclude_xy();
    let q = dataplane::wire::igmp::Repr::Query {
        max_resp_code: 100,
        group: std::net::Ipv4Addr::UNSPECIFIED,
        v3: None,
    };
    lab.rx(std::net::Ipv4Addr::new(10, 0, 1, 5), G, &q);
    assert!(!lab.iface().is_querier);
    lab.record(H1, rt, G, &[2, 3, 5]);
    assert!(lab.take_queries().is_empty());
    lab
}

// BLOCK in EXCLUDE: the new source 5 takes the group timer (250 s), not GMI.
#[test]
fn exclude_block_sets_group_timer_on_new_sources() {
    let lab = exclude_xy_non_querier(BlockOldSources);
    assert_eq!(
        lab.state(G),
        (
            Exclude,
            vec![(1, 250), (2, 250), (5, 250)],
            vec![3, 4],
            Some(250)
        )
    );
}

// TO_EX in EXCLUDE: 5 takes the old group timer (250 s), then the group timer becomes GMI.
#[test]
fn exclude_to_ex_sets_old_group_timer_on_new_sources() {
    let lab = exclude_xy_non_querier(ChangeToExclude);
    assert_eq!(
        lab.state(G),
        (Exclude, vec![(2, 250), (5, 250)], vec![3], Some(260))
    );
}

// TO_IN in EXCLUDE as non-querier: no Q(G), so the group timer is not lowered.
#[test]
fn exclude_to_in_non_querier_keeps_timers() {
    let lab = exclude_xy_non_querier(ChangeToInclude);
    assert_eq!(
        lab.state(G),
        (
            Exclude,
            vec![(1, 250), (2, 260), (3, 260), (5, 260)],
            vec![4],
            Some(250)
        )
    );
}
