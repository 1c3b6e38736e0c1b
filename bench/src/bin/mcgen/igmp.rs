//! IGMP membership churn: IGMPv2 reports and leaves sent on one of the rx ports while the
//! streams run.

use dataplane::dpdk::{Mbuf, Mempool, TxQueue};

/// IGMP membership churn: IGMPv2 reports and leaves sent on one of the rx ports.
pub struct IgmpChurn {
    pub txq: TxQueue,
    /// Per group: (report, leave) frames.
    pub frames: Vec<(Vec<u8>, Vec<u8>)>,
    pub rate: f64,
}

/// What the IGMP churn sent (only messages the tx queue took are counted).
#[derive(Debug, Default, Clone, Copy)]
pub struct IgmpSent {
    pub reports: u64,
    pub leaves: u64,
    /// Leaves sent at the end of transmission for the groups still joined.
    pub final_leaves: u64,
    /// Messages the tx queue refused (sent again on a later turn).
    pub refused: u64,
}

/// One turn of IGMP churn: while transmitting, the messages due by now (reports for every
/// group in turn, then leaves for every group, again); after, one leave per group still joined.
/// A message the queue refuses is tried again on a later turn.
#[allow(clippy::too_many_arguments)]
pub fn igmp_turn(
    c: &mut IgmpChurn,
    pool: &Mempool,
    now: u64,
    start: u64,
    end_tx: u64,
    hz: u64,
    k: &mut u64,
    joined: &mut [bool],
    sent: &mut IgmpSent,
) {
    let n = c.frames.len() as u64;
    let send = |c: &mut IgmpChurn, frame: &[u8], sent: &mut IgmpSent| -> bool {
        let Some(m) = Mbuf::from_bytes(pool, frame) else {
            return false;
        };
        let refused = c.txq.push(m) + c.txq.flush();
        sent.refused += refused as u64;
        refused == 0
    };
    if now < end_tx {
        let due = ((((now - start) as f64) * c.rate / hz as f64) as u64).saturating_sub(*k);
        for _ in 0..due.min(8) {
            let g = (*k % n) as usize;
            let leave = (*k / n) % 2 == 1;
            let frame = if leave {
                c.frames[g].1.clone()
            } else {
                c.frames[g].0.clone()
            };
            if !send(c, &frame, sent) {
                break;
            }
            if leave {
                sent.leaves += 1;
            } else {
                sent.reports += 1;
            }
            joined[g] = !leave;
            *k += 1;
        }
    } else if let Some(g) = joined.iter().position(|&j| j) {
        let frame = c.frames[g].1.clone();
        if send(c, &frame, sent) {
            sent.leaves += 1;
            sent.final_leaves += 1;
            joined[g] = false;
        }
    }
}
