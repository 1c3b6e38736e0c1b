//! Scenario 5: the cost of publishing one change to the RCU-published forwarding table
//! (`dataplane::fib::rcu`) as the table grows. In-process: one writer (this thread) and one
//! reader thread that reports a quiescent state in a tight loop, as a worker does once per
//! loop turn.

use dataplane::fib::rcu;
use dataplane::fib::{Oif, Route};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Publish cost at one table size.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PublishCost {
    /// (S,G) entries in the table.
    pub entries: usize,
    /// Changes measured.
    pub changes: usize,
    /// Median microseconds for insert + publish (the writer's own work).
    pub publish_us_p50: f64,
    /// 99th percentile of the same.
    pub publish_us_p99: f64,
    /// Median microseconds from the start of the change until every reader acknowledged it.
    pub visible_us_p50: f64,
    /// 99th percentile of the same.
    pub visible_us_p99: f64,
    /// Seconds to build and publish the whole table once.
    pub build_secs: f64,
}

fn route(oif: u16) -> Route {
    Route {
        counter: dataplane::fib::NO_COUNTER,
        iif: 0,
        flags: dataplane::fib::EntryFlags::NONE,
        oifs: vec![Oif {
            port: oif,
            ttl_threshold: 1,
        }]
        .into(),
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Measures `changes` single-route changes at every table size of `sizes`, in `rounds`
/// rounds that each visit every size in turn, the samples of one size pooled over the
/// rounds: a drift of the machine's speed during the scenario then touches every size alike
/// instead of the size measured last (one pass per size once put the 1k table's p50 at 0.4 us
/// between 0.9 us runs and the 1M/1k ratio at 2.8 where three reruns gave 1.3-1.8).
pub fn measure_interleaved(sizes: &[usize], changes: usize, rounds: usize) -> Vec<PublishCost> {
    let rounds = rounds.max(1);
    let per_round = changes.div_ceil(rounds);
    let mut samples: Vec<Samples> = sizes.iter().map(|_| Samples::default()).collect();
    for _ in 0..rounds {
        for (&entries, pooled) in sizes.iter().zip(samples.iter_mut()) {
            let round = measure_round(entries, per_round);
            pooled.publish.extend(round.publish);
            pooled.visible.extend(round.visible);
            pooled
                .build_secs
                .push(round.build_secs.first().copied().unwrap_or(0.0));
        }
    }
    sizes
        .iter()
        .zip(samples)
        .map(|(&entries, mut s)| PublishCost {
            entries,
            changes: s.publish.len(),
            publish_us_p50: pct(&mut s.publish, 0.5),
            publish_us_p99: pct(&mut s.publish, 0.99),
            visible_us_p50: pct(&mut s.visible, 0.5),
            visible_us_p99: pct(&mut s.visible, 0.99),
            build_secs: pct(&mut s.build_secs, 0.5),
        })
        .collect()
}

/// Microseconds per change, and seconds per table build.
#[derive(Default)]
struct Samples {
    publish: Vec<f64>,
    visible: Vec<f64>,
    build_secs: Vec<f64>,
}

/// Measures `changes` single-route changes on a table of `entries` entries.
fn measure_round(entries: usize, changes: usize) -> Samples {
    let (mut writer, readers) = rcu::new(1);
    let stop = Arc::new(AtomicBool::new(false));
    let mut reader = readers.into_iter().next().expect("one reader");
    let st = Arc::clone(&stop);
    let t = std::thread::spawn(move || {
        while !st.load(Ordering::Relaxed) {
            reader.quiescent();
            std::hint::spin_loop();
        }
    });
    let t0 = Instant::now();
    for i in 0..entries {
        let (s, g) = super::programs::table_entry(i);
        writer.insert(Some(s), g, route(1));
    }
    let e = writer.publish();
    writer.synchronize(e, Duration::from_secs(30));
    let build_secs = t0.elapsed().as_secs_f64();
    let mut publish = Vec::with_capacity(changes);
    let mut visible = Vec::with_capacity(changes);
    for c in 0..changes {
        // Change an existing entry's OIF list, spread over the table.
        let (s, g) = super::programs::table_entry((c * 7919) % entries.max(1));
        let t = Instant::now();
        writer.insert(Some(s), g, route(1 + (c % 2) as u16));
        let e = writer.publish();
        publish.push(t.elapsed().as_secs_f64() * 1e6);
        writer.synchronize(e, Duration::from_secs(5));
        visible.push(t.elapsed().as_secs_f64() * 1e6);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = t.join();
    Samples {
        publish,
        visible,
        build_secs: vec![build_secs],
    }
}
