//! Benchmarks and traffic tools for mrouter: the `mcgen` traffic generator, the `mrbench`
//! harness (scenarios, reference programs, report) and `mgm-scale`.
//!
//! The library holds what the binaries share and what can be unit-tested without DPDK: the
//! generator's packet stamp, frame building, a DPDK telemetry client, statistics helpers and the
//! SVG plots.

pub mod floor;
pub mod flow;
pub mod frames;
pub mod plot;
pub mod stamp;
pub mod telemetry;

/// Median of `v` (mean of the two middle values for an even count); `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

/// Bits per second counted at layer 1, as pktgen does: every frame (without FCS) costs its
/// length plus 24 bytes (4 FCS, 8 preamble and start delimiter, 12 inter-frame gap).
pub fn l1_bits(packets: u64, frame_bytes_without_fcs: u64) -> u64 {
    (frame_bytes_without_fcs + 24 * packets) * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn l1_accounting_matches_line_rate() {
        // 10 Gbit/s carries 14.88 Mpps of 64 B frames (60 B without FCS).
        let pps = 14_880_952u64;
        let bits = l1_bits(pps, pps * 60);
        assert!((bits as f64 - 10e9).abs() / 10e9 < 1e-3);
    }
}
