//! The machine's floor under mrouter's miss-to-install latency: how long a thread parked on one
//! CPU takes to run after a thread on another CPU unparks it (the worker-to-control-core wake-up
//! on every miss). Prints p50/p90/p99/max in microseconds over 3000 wake-ups, one every 300 us.
//!
//!   wake-floor [--waiter-cpu 0] [--waker-cpu 1] [--fifo]
//!
//! `--fifo` runs the waiter SCHED_FIFO (priority 10). Run it once with the waiter's CPU idle and
//! once with a busy loop on it (`nice -n 19 taskset -c 0 sh -c 'while :; do :; done'`): on
//! this project's 2-vCPU VM an idle (halted) vCPU took p50 22-41 us to wake, a busy one 12-18 us.

use clap::Parser;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Cross-CPU thread wake-up latency (park/unpark)")]
struct Args {
    /// CPU of the parked thread (mrouter's control core).
    #[arg(long, default_value_t = 0)]
    waiter_cpu: usize,
    /// CPU of the thread that unparks it (a worker).
    #[arg(long, default_value_t = 1)]
    waker_cpu: usize,
    /// Run the parked thread SCHED_FIFO, priority 10 (needs root).
    #[arg(long)]
    fifo: bool,
}

const SAMPLES: usize = 3000;

fn pin(cpu: usize) {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        eprintln!("wake-floor: cannot pin to CPU {cpu}");
    }
}

fn main() {
    let args = Args::parse();
    let hz = dataplane::dpdk::measure_tsc_hz();
    let stamp = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&stamp);
    let (waiter_cpu, fifo) = (args.waiter_cpu, args.fifo);
    let waiter = std::thread::spawn(move || {
        pin(waiter_cpu);
        if fifo {
            let param = libc::sched_param { sched_priority: 10 };
            // SAFETY: sched_setscheduler on the calling thread (pid 0) with a valid param.
            if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } != 0 {
                eprintln!("wake-floor: SCHED_FIFO refused (not root?)");
            }
        }
        let mut us = Vec::with_capacity(SAMPLES);
        while us.len() < SAMPLES {
            std::thread::park_timeout(Duration::from_millis(5));
            // AcqRel: the stamp is the only data, taken once.
            let at = seen.swap(0, Ordering::AcqRel);
            if at != 0 {
                us.push(dataplane::dpdk::tsc().saturating_sub(at) as f64 * 1e6 / hz);
            }
        }
        us
    });
    let w = waiter.thread().clone();
    pin(args.waker_cpu);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !waiter.is_finished() && Instant::now() < deadline {
        let t = Instant::now();
        while t.elapsed() < Duration::from_micros(300) {
            std::hint::spin_loop();
        }
        stamp.store(dataplane::dpdk::tsc(), Ordering::Release);
        w.unpark();
    }
    let mut us = waiter.join().expect("waiter thread");
    us.sort_by(f64::total_cmp);
    let q = |p: f64| us[((us.len() as f64 * p) as usize).min(us.len() - 1)];
    println!(
        "wake-up us (waiter CPU {}, waker CPU {}{}): p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}",
        args.waiter_cpu,
        args.waker_cpu,
        if args.fifo { ", SCHED_FIFO" } else { "" },
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
}
