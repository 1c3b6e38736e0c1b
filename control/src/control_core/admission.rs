//! Miss admission: the rate limits a new flow passes before the MGM sees its miss.

use crate::config::Limits;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Token buckets and a per-source window that decide whether a miss is taken in now
/// (`limits.miss_rate`/`miss_burst` for all workers, `miss_rate_per_worker` each, and
/// `miss_rate_per_source` per source address in one-second windows). A refused miss is
/// counted; the worker signals the flow again while its packets keep arriving.
pub struct MissLimiter {
    limits: Limits,
    tokens: f64,
    worker_tokens: Vec<f64>,
    last_refill: Duration,
    /// Misses taken per source in the current window. Only misses that passed the other
    /// limits are entered, so it holds at most `miss_rate` (plus burst) sources.
    per_source: HashMap<Ipv4Addr, u32>,
    window_start: Duration,
}

/// Which limit refused a miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissRefused {
    /// `limits.miss_rate` / `miss_burst` (all workers).
    Rate,
    /// `limits.miss_rate_per_worker`.
    Worker,
    /// `limits.miss_rate_per_source`.
    Source,
}

impl MissLimiter {
    /// Full buckets for `workers` workers.
    pub fn new(limits: Limits, workers: usize) -> MissLimiter {
        let per_worker_burst = f64::from(limits.miss_burst.min(limits.miss_rate_per_worker));
        MissLimiter {
            limits,
            tokens: f64::from(limits.miss_burst),
            worker_tokens: vec![per_worker_burst; workers.max(1)],
            last_refill: Duration::ZERO,
            per_source: HashMap::new(),
            window_start: Duration::ZERO,
        }
    }

    /// Adds the tokens of the time since the last refill and starts a new per-source window
    /// once a second: lazily, at each batch of misses, so it needs no timer.
    pub fn refill(&mut self, now: Duration) {
        let dt = now.saturating_sub(self.last_refill).as_secs_f64();
        self.last_refill = now;
        let burst = f64::from(self.limits.miss_burst);
        self.tokens = (self.tokens + dt * f64::from(self.limits.miss_rate)).min(burst);
        let rate = f64::from(self.limits.miss_rate_per_worker);
        let wburst = burst.min(rate);
        for t in &mut self.worker_tokens {
            *t = (*t + dt * rate).min(wburst);
        }
        if now.saturating_sub(self.window_start) >= Duration::from_secs(1) {
            self.per_source.clear();
            self.window_start = now;
        }
    }

    /// Takes one miss of `source` from `worker` if every limit allows it.
    pub fn admit(&mut self, worker: usize, source: Ipv4Addr) -> Result<(), MissRefused> {
        if self.tokens < 1.0 {
            return Err(MissRefused::Rate);
        }
        let w = worker.min(self.worker_tokens.len() - 1);
        if self.worker_tokens[w] < 1.0 {
            return Err(MissRefused::Worker);
        }
        let taken = self.per_source.get(&source).copied().unwrap_or(0);
        if taken >= self.limits.miss_rate_per_source {
            return Err(MissRefused::Source);
        }
        self.tokens -= 1.0;
        self.worker_tokens[w] -= 1.0;
        self.per_source.insert(source, taken + 1);
        Ok(())
    }

    /// The limits it applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32, per_worker: u32, per_source: u32) -> Limits {
        Limits {
            miss_rate: rate,
            miss_burst: burst,
            miss_rate_per_worker: per_worker,
            miss_rate_per_source: per_source,
            ..Limits::default()
        }
    }

    fn src(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 1, n)
    }

    #[test]
    fn miss_limiter_burst_then_rate() {
        let mut l = MissLimiter::new(limits(100, 10, 100, 1000), 1);
        l.refill(Duration::ZERO);
        let taken = (0..20u8).filter(|&i| l.admit(0, src(i)).is_ok()).count();
        assert_eq!(taken, 10, "the burst");
        assert_eq!(l.admit(0, src(99)), Err(MissRefused::Rate));
        l.refill(Duration::from_millis(50)); // 5 tokens at 100/s
        let taken = (0..20u8)
            .filter(|&i| l.admit(0, src(100 + i)).is_ok())
            .count();
        assert_eq!(taken, 5);
    }

    #[test]
    fn miss_limiter_one_worker_cannot_take_every_token() {
        let mut l = MissLimiter::new(limits(1000, 100, 10, 1000), 2);
        l.refill(Duration::ZERO);
        let w0 = (0..50u8).filter(|&i| l.admit(0, src(i)).is_ok()).count();
        assert_eq!(w0, 10);
        assert_eq!(l.admit(0, src(200)), Err(MissRefused::Worker));
        let w1 = (0..50u8)
            .filter(|&i| l.admit(1, src(100 + i)).is_ok())
            .count();
        assert_eq!(w1, 10, "the other worker still has its share");
    }

    #[test]
    fn miss_limiter_per_source_window() {
        let mut l = MissLimiter::new(limits(1000, 1000, 1000, 3), 1);
        l.refill(Duration::ZERO);
        let one = (0..10).filter(|_| l.admit(0, src(1)).is_ok()).count();
        assert_eq!(one, 3);
        assert_eq!(l.admit(0, src(1)), Err(MissRefused::Source));
        assert!(l.admit(0, src(2)).is_ok(), "other sources are not affected");
        l.refill(Duration::from_millis(1000));
        assert!(l.admit(0, src(1)).is_ok(), "a new window");
    }
}
