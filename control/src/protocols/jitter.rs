//! The seeded random delays the protocols draw (query jitter, report delays): a xorshift64
//! generator, deterministic for a given seed so scenario tests replay exactly.

use std::time::Duration;

/// A seeded source of uniform delays.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator from `seed` (any value; 0 is made odd).
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }

    /// A uniform draw in [0, max); zero when `max` is zero.
    pub fn below(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.next_u64() % nanos)
    }

    /// The next 64 random bits (PIM's Generation IDs).
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_below_the_bound_and_repeat_for_a_seed() {
        let max = Duration::from_millis(10);
        let a: Vec<Duration> = {
            let mut j = Jitter::new(7);
            (0..100).map(|_| j.below(max)).collect()
        };
        let mut j = Jitter::new(7);
        assert!(a.iter().all(|d| *d < max));
        assert_eq!(a, (0..100).map(|_| j.below(max)).collect::<Vec<_>>());
        assert!(a.windows(2).any(|w| w[0] != w[1]));
        assert_eq!(Jitter::new(0).below(Duration::ZERO), Duration::ZERO);
    }
}
