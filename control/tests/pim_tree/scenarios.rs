//! Scenarios across the machines: SSM, aggregation per upstream neighbour and the size limit,
//! join suppression and prune override on the upstream LAN, the last-hop switch to the SPT,
//! and refused input.

use crate::harness::*;
use control::protocols::pim::tree::*;
use dataplane::wire::pim::{
    EncodedGroup, EncodedSource, GroupSet, JoinPrune, Repr, ALL_PIM_ROUTERS,
};
use std::net::Ipv4Addr;
use std::time::Duration;

fn group(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 2, 0, i)
}

#[test]
fn ssm_source_join_goes_toward_the_source_without_rp_or_shared_tree() {
    let mut lab = Lab::new();
    lab.local(DOWN, SSM_G, LocalMember::Source(S), true);
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, SSM_G, sg(S))]);
    assert_eq!(lab.take_events(), vec![added(sg_entry(S, SSM_G), DOWN)]);
    let g = lab.group(SSM_G).unwrap();
    assert_eq!(g.upstream.state, UpstreamState::NotJoined);
    assert_eq!(g.rp, None);
    // An any-source member of an SSM group makes nothing, nor does an excluding one.
    lab.local(LAN, SSM_G, LocalMember::AnySource, true);
    lab.local(LAN, SSM_G, LocalMember::ExcludeSource(S2), true);
    assert!(lab.take_sent().is_empty());
    assert!(lab.source(S2, SSM_G).is_none());
    assert_eq!(lab.tib.counters().ssm_shared_tree_ignored, 2);
    // A downstream (S,G) join in the SSM range is an ordinary join.
    lab.receive(LAN, jp(ME_LAN, HOLD, SSM_G, &[sg(S)], &[]));
    assert_eq!(lab.take_events(), vec![added(sg_entry(S, SSM_G), LAN)]);
    // The last member leaves: prune toward the source.
    lab.local(DOWN, SSM_G, LocalMember::Source(S), false);
    lab.receive(LAN, jp(ME_LAN, HOLD, SSM_G, &[], &[sg(S)]));
    lab.advance(secs(3));
    assert!(lab.take_sent().contains(&prune(NBR_UP, SSM_G, sg(S))));
    assert!(lab.group(SSM_G).is_none());
}

#[test]
fn joins_for_one_neighbour_travel_in_one_message_per_period() {
    let mut lab = Lab::new();
    let sets: Vec<GroupSet> = (1..=40)
        .map(|i| GroupSet {
            group: EncodedGroup::host(group(i)),
            // One (S,G) join whose source is behind the other upstream router.
            joins: if i == 1 {
                vec![star(), sg(S2)]
            } else {
                vec![star()]
            },
            prunes: vec![],
        })
        .collect();
    let msg = JoinPrune {
        upstream_neighbor: ME_DOWN,
        holdtime: HOLD,
        groups: sets,
    };
    lab.receive(DOWN, msg);
    let triggered = std::mem::take(&mut lab.messages);
    assert_eq!(triggered.len(), 2, "one to each neighbour");
    assert_eq!(triggered[0].message.upstream_neighbor, NBR_UP);
    assert_eq!(triggered[0].message.groups.len(), 40);
    assert_eq!(triggered[1].message.upstream_neighbor, NBR_UP2);
    lab.advance(secs(60));
    let periodic = std::mem::take(&mut lab.messages);
    let to_rp: Vec<_> = periodic
        .iter()
        .filter(|m| m.message.upstream_neighbor == NBR_UP)
        .collect();
    assert_eq!(to_rp.len(), 1, "the periodic joins are one message");
    assert_eq!(to_rp[0].message.groups.len(), 40);
    assert_eq!(to_rp[0].message.holdtime, 210);
    // Each message is a valid PIM Join/Prune datagram from our address to ALL-PIM-ROUTERS.
    for m in &periodic {
        let d = m.datagram();
        assert_eq!(
            (d.iface, d.src, d.dst, d.protocol, d.ttl),
            (UP, ME_UP, ALL_PIM_ROUTERS, 103, 1)
        );
        assert_eq!(
            Repr::parse_bytes(&d.payload).unwrap(),
            Repr::JoinPrune(m.message.clone())
        );
        assert!(d.frame().is_some());
    }
}

#[test]
fn messages_are_split_under_the_interface_size_limit() {
    let mut lab = Lab::new();
    let mut up = InterfaceParams::new(ME_UP, false);
    up.max_message_len = 120;
    lab.tib.set_interface(lab.now, UP, up, &lab.env);
    let sets: Vec<GroupSet> = (1..=30)
        .map(|i| GroupSet {
            group: EncodedGroup::host(group(i)),
            joins: vec![star()],
            prunes: vec![],
        })
        .collect();
    lab.receive(
        DOWN,
        JoinPrune {
            upstream_neighbor: ME_DOWN,
            holdtime: HOLD,
            groups: sets,
        },
    );
    assert!(lab.messages.len() > 1);
    for m in &lab.messages {
        assert!(Repr::JoinPrune(m.message.clone()).buffer_len() <= 120);
    }
    let joined: usize = lab.messages.iter().map(|m| m.message.groups.len()).sum();
    assert_eq!(joined, 30, "every group in some message");
}

#[test]
fn lan_join_suppression_and_prune_override() {
    // We and PEER_UP both pull G from NBR_UP on the upstream LAN.
    let mut lab = Lab::new();
    lab.local(DOWN, G, LocalMember::AnySource, true);
    lab.take_sent();
    let mut ours = 0;
    // The peer's periodic joins keep suppressing ours for five periods.
    for _ in 0..5 {
        lab.advance(secs(50));
        lab.receive(UP, jp(NBR_UP, HOLD, G, &[star()], &[]));
        ours += lab.take_sent().len();
    }
    assert_eq!(ours, 0, "suppressed while the peer joins");
    // The peer leaves: its prune makes us override at once (within t_override).
    lab.receive(UP, jp(NBR_UP, HOLD, G, &[], &[star()]));
    lab.advance(Duration::from_millis(2500));
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, G, star())]);
    // Then our own period again.
    lab.advance(secs(60));
    assert_eq!(lab.take_sent(), vec![join(NBR_UP, G, star())]);
}

#[test]
fn spt_switch_immediate_joins_the_source_and_falls_back_when_data_stops() {
    let mut lab = Lab::new();
    lab.local(DOWN, G, LocalMember::AnySource, true);
    lab.take_sent();
    lab.take_events();
    // S2's data on the shared tree (arrives on UP).
    lab.tib.data_arrived(lab.now, S2, G, UP, &lab.env);
    lab.drain();
    assert_eq!(lab.take_sent(), vec![join(NBR_UP2, G, sg(S2))]);
    assert_eq!(lab.take_events(), vec![added(sg_entry(S2, G), DOWN)]);
    // No more data: the Keepalive Timer (210 s) runs out, the (S,G) join is pruned.
    lab.advance(secs(211));
    let sent = lab.take_sent();
    assert!(sent.contains(&prune(NBR_UP2, G, sg(S2))), "{sent:?}");
    assert!(lab.source(S2, G).is_none_or(|s| s.keepalive.is_none()));
}

#[test]
fn spt_switch_never_stays_on_the_shared_tree() {
    let mut lab = Lab::with(TreeConfig {
        spt_policy: SptPolicy::Never,
        ..TreeConfig::default()
    });
    lab.local(DOWN, G, LocalMember::AnySource, true);
    lab.take_sent();
    lab.tib.data_arrived(lab.now, S2, G, UP, &lab.env);
    lab.drain();
    assert!(lab.take_sent().is_empty());
    assert!(lab.source(S2, G).is_none());
}

#[test]
fn malformed_entries_are_counted_and_change_nothing() {
    let mut lab = Lab::new();
    let bad_source = EncodedSource {
        wildcard: true,
        rpt: false,
        ..star()
    };
    let short_mask = EncodedSource {
        mask_len: 24,
        ..sg(S)
    };
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[bad_source, short_mask], &[]));
    let mut msg = jp(ME_DOWN, HOLD, G, &[star()], &[]);
    msg.groups[0].group = EncodedGroup::range(G, 24);
    lab.receive(DOWN, msg);
    lab.receive(
        DOWN,
        jp(ME_DOWN, HOLD, Ipv4Addr::new(10, 1, 1, 1), &[star()], &[]),
    );
    assert_eq!(lab.tib.counters().bad_entry, 4);
    lab.tib.handle_join_prune(
        lab.now,
        Iface::from_index(9),
        &jp(ME_DOWN, HOLD, G, &[star()], &[]),
        &lab.env,
    );
    assert_eq!(lab.tib.counters().unknown_interface, 1);
    assert!(lab.tib.groups().is_empty());
    assert!(lab.take_sent().is_empty());
}

#[test]
fn an_interface_going_away_takes_its_joins_and_members() {
    let mut lab = Lab::new();
    lab.receive(LAN, jp(ME_LAN, HOLD, G, &[star()], &[]));
    lab.local(DOWN, G, LocalMember::AnySource, true);
    lab.take_events();
    lab.tib.remove_interface(lab.now, LAN, &lab.env);
    lab.drain();
    assert_eq!(lab.take_events(), vec![removed(star_entry(G), LAN)]);
    assert_eq!(lab.star_upstream(G).state, UpstreamState::Joined);
    lab.tib.remove_interface(lab.now, DOWN, &lab.env);
    lab.drain();
    assert_eq!(lab.take_events(), vec![removed(star_entry(G), DOWN)]);
    assert_eq!(lab.take_sent().last(), Some(&prune(NBR_UP, G, star())));
    assert!(lab.tib.groups().is_empty());
    assert_eq!(lab.tib.poll_timeout(), None, "no timer left behind");
}

#[test]
fn a_join_on_the_rpf_interface_is_not_an_outgoing_interface() {
    let mut lab = Lab::new();
    lab.receive(UP, jp(ME_UP, HOLD, G, &[star()], &[]));
    assert!(lab.take_events().is_empty());
}

#[test]
fn a_join_star_g_keeps_its_rpt_prunes_in_one_message_the_smallest_when_too_many() {
    // 100 bytes: room for 9 entries in a group set, the Join(*,G) and 8 prunes (4.9.5.2).
    let mut lab = Lab::new();
    let mut up = InterfaceParams::new(ME_UP, false);
    up.max_message_len = 100;
    lab.tib.set_interface(lab.now, UP, up, &lab.env);
    let sources: Vec<Ipv4Addr> = (1..=12).rev().map(|i| Ipv4Addr::new(10, 7, 0, i)).collect();
    let prunes: Vec<EncodedSource> = sources.iter().map(|s| rpt(*s)).collect();
    lab.receive(DOWN, jp(ME_DOWN, HOLD, G, &[star()], &prunes));
    lab.advance(secs(0));
    lab.messages.clear();
    lab.advance(secs(60));
    let with_join: Vec<_> = lab
        .messages
        .iter()
        .flat_map(|m| &m.message.groups)
        .filter(|set| set.joins.contains(&star()))
        .collect();
    assert_eq!(with_join.len(), 1);
    let kept: Vec<Ipv4Addr> = with_join[0].prunes.iter().map(|e| e.addr).collect();
    let smallest: Vec<Ipv4Addr> = (1..=8).map(|i| Ipv4Addr::new(10, 7, 0, i)).collect();
    assert_eq!(kept, smallest);
    assert!(lab
        .messages
        .iter()
        .all(|m| Repr::JoinPrune(m.message.clone()).buffer_len() <= 100));
    assert_eq!(lab.tib.counters().rpt_prunes_left_out, 4);
}

#[test]
fn a_new_join_period_applies_from_the_next_join() {
    let mut lab = Lab::new();
    lab.local(DOWN, G, LocalMember::AnySource, true);
    let cfg = TreeConfig {
        t_periodic: secs(30),
        ..TreeConfig::default()
    };
    lab.tib.set_config(lab.now, cfg, &lab.env);
    assert_eq!(lab.tib.config().t_periodic, secs(30));
    assert_eq!(lab.star_upstream(G).join_timer, Some(lab.now + secs(60)));
    lab.advance(secs(60));
    assert_eq!(lab.star_upstream(G).join_timer, Some(lab.now + secs(30)));
    assert_eq!(lab.tib.interface(UP).map(|p| p.address), Some(ME_UP));
}

#[test]
fn periodic_joins_of_entries_joined_apart_fall_into_one_message() {
    let mut lab = Lab::new();
    lab.local(DOWN, group(1), LocalMember::AnySource, true);
    lab.advance(secs(20));
    lab.local(DOWN, group(2), LocalMember::AnySource, true);
    lab.local(DOWN, group(3), LocalMember::Source(S), true);
    lab.advance(secs(10));
    lab.messages.clear();
    for _ in 0..3 {
        lab.advance(secs(60));
        let to_up: Vec<_> = lab
            .messages
            .iter()
            .filter(|m| m.message.upstream_neighbor == NBR_UP)
            .collect();
        assert_eq!(to_up.len(), 1, "one periodic message per period");
        let groups: Vec<Ipv4Addr> = to_up[0]
            .message
            .groups
            .iter()
            .map(|s| s.group.addr)
            .collect();
        assert_eq!(groups, vec![group(1), group(2), group(3)]);
        lab.messages.clear();
    }
    // Every entry is still refreshed at least every t_periodic.
    for g in [group(1), group(2)] {
        assert!(lab.star_upstream(g).join_timer.unwrap() <= lab.now + secs(60));
    }
}
