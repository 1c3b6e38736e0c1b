//! MGM scale check (not a timed test): memory per MFE and the mean cost of one membership
//! change and one miss with 1k and with 1M memberships and MFEs.
//!
//! Run: `cargo run --release -p bench --bin mgm-scale [-- max_n]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mgm::{
    ClientId, Clients, InterfaceId, MembershipFlags, Mgm, MgmClient, MgmConfig, Miss, MulticastRib,
    ProtocolHandle, RpfLookup, RpfRoute, Scope,
};

/// Counts live heap bytes so that memory per entry can be measured, not guessed.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counter
// is a side statistic (Relaxed is enough: it is only read between phases on this thread).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A protocol that takes every default (no-op) callback.
struct Quiet;
impl MgmClient for Quiet {}

struct Host {
    quiet: Quiet,
    rib: MulticastRib,
}

impl Clients for Host {
    fn client(&mut self, _: ProtocolHandle) -> Option<&mut dyn MgmClient> {
        Some(&mut self.quiet)
    }
}

impl RpfLookup for Host {
    fn rpf_lookup(&self, source: Ipv4Addr) -> Option<RpfRoute> {
        self.rib.rpf_lookup(source)
    }
}

fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(0x0A00_0000 | (i as u32 & 0x00FF_FFFF))
}

fn group(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(0xE800_0000 | (i as u32 & 0x00FF_FFFF))
}

const UPSTREAM: InterfaceId = InterfaceId {
    index: 1,
    next_hop: Ipv4Addr::UNSPECIFIED,
};

fn oif(i: usize) -> InterfaceId {
    InterfaceId::new(2 + (i % 8) as u32)
}

struct Row {
    n: usize,
    membership_bytes: f64,
    mfe_bytes: f64,
    change_ns: f64,
    miss_ns: f64,
}

fn run(n: usize, samples: usize) -> Row {
    let mut host = Host {
        quiet: Quiet,
        rib: MulticastRib::new(),
    };
    host.rib.add_route(
        Ipv4Addr::new(10, 0, 0, 0),
        8,
        UPSTREAM,
        Ipv4Addr::new(10, 255, 255, 254),
    );
    let mut now = Duration::ZERO;
    let mut mgm = Mgm::new(MgmConfig::default());
    let p = mgm
        .register_protocol(
            now,
            ClientId {
                protocol: 0x4137_0014,
                component: 1,
            },
        )
        .expect("register");
    for i in 1..=9 {
        mgm.take_interface_ownership(now, &mut host, p, InterfaceId::new(i))
            .expect("take");
    }
    // n (S,G) memberships, one per flow, spread over 8 downstream interfaces.
    let base = LIVE.load(Ordering::Relaxed);
    for i in 0..n {
        let scope = Scope::SourceGroup {
            source: source(i),
            group: group(i),
        };
        mgm.add_group_membership(now, &mut host, p, scope, oif(i), MembershipFlags::JOIN)
            .expect("join");
    }
    let after_members = LIVE.load(Ordering::Relaxed);
    // n MFEs, one per flow, each with one OIF.
    for i in 0..n {
        let miss = Miss {
            source: source(i),
            group: group(i),
            arrival: UPSTREAM,
            header: &[],
        };
        mgm.handle_miss(now, &mut host, &miss).expect("miss");
        if i % 4096 == 0 {
            mgm.drain_mfe_changes().for_each(drop);
        }
    }
    mgm.drain_mfe_changes().for_each(drop);
    let after_mfes = LIVE.load(Ordering::Relaxed);
    now += Duration::from_secs(1);

    // Membership change: add then delete a (*,G) for an existing group (touches its MFE).
    let t = Instant::now();
    for k in 0..samples {
        let i = (k * 7919) % n;
        let scope = Scope::AnySource { group: group(i) };
        let iface = InterfaceId::new(9);
        mgm.add_group_membership(now, &mut host, p, scope, iface, MembershipFlags::JOIN)
            .expect("add");
        mgm.delete_group_membership(now, &mut host, p, scope, iface, MembershipFlags::JOIN)
            .expect("del");
        mgm.drain_mfe_changes().for_each(drop);
    }
    let change_ns = t.elapsed().as_nanos() as f64 / (2 * samples) as f64;

    // Miss: a new (S,G) for a group that has memberships (RPF + OIF union + install).
    let t = Instant::now();
    for k in 0..samples {
        let i = (k * 7919) % n;
        let miss = Miss {
            source: source(n + k),
            group: group(i),
            arrival: UPSTREAM,
            header: &[],
        };
        mgm.handle_miss(now, &mut host, &miss).expect("miss");
        mgm.drain_mfe_changes().for_each(drop);
    }
    let miss_ns = t.elapsed().as_nanos() as f64 / samples as f64;
    assert_eq!(mgm.mfe_count(), n + samples);
    Row {
        n,
        membership_bytes: (after_members - base) as f64 / n as f64,
        mfe_bytes: (after_mfes - after_members) as f64 / n as f64,
        change_ns,
        miss_ns,
    }
}

fn main() {
    let max: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rows: Vec<Row> = [1_000, max].iter().map(|&n| run(n, 1_000.min(n))).collect();
    println!("| entries (memberships = MFEs) | bytes/membership | bytes/MFE | membership change (ns) | miss (ns) |");
    println!("|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            r.n, r.membership_bytes, r.mfe_bytes, r.change_ns, r.miss_ns
        );
    }
    let (small, big) = (&rows[0], &rows[1]);
    println!(
        "\nratio {}/{}: membership change {:.2}x, miss {:.2}x (goal: within 2x)",
        big.n,
        small.n,
        big.change_ns / small.change_ns,
        big.miss_ns / small.miss_ns
    );
}
