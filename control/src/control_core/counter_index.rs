//! Counter indices of the entries (a `Route`'s `counter`: the entry's place in every
//! worker's per-entry counters, `dataplane::worker::entry_counters`): given at install, kept
//! across updates, and reused after a delete only once every worker has passed the
//! publication that removed the entry, so no late increment lands on the next owner. It also
//! remembers what of each entry's counts the MGM has already been told.

use crate::control_core::data_plane::DataPlane;
use crate::control_core::ports::PortMap;
use dataplane::fib::NO_COUNTER;
use std::collections::HashMap;
use std::net::Ipv4Addr;

type Key = (Ipv4Addr, Ipv4Addr);

/// The entries' counter indices and what was reported of their counts.
#[derive(Default)]
pub struct CounterIndices {
    by_key: HashMap<Key, u32>,
    key_of: Vec<Option<Key>>,
    /// Totals already reported to the MGM, per index.
    reported: Vec<(u64, u64)>,
    /// Ports of the router (out counts are kept per index and port).
    ports: usize,
    /// Copies per port already reported to the MGM: `index * ports + port`.
    out_reported: Vec<u64>,
    /// Wrong-interface packets already in the MGM's count, per index: the signals it handled
    /// (each counted one) plus what sweeps added to reach the workers' exact count.
    wrong_if_reported: Vec<u64>,
    free: Vec<u32>,
    /// Released indices and the publication that removed their entry.
    retired: Vec<(u32, u64)>,
}

/// What an entry counted since the MGM was last told.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CountDelta {
    /// Packets and bytes received.
    pub packets: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Wrong-interface packets not yet in the MGM's count.
    pub wrong_if: u64,
    /// Copies per outgoing port.
    pub out: Vec<(u16, u64)>,
}

impl CounterIndices {
    /// No index in use, for a router with `ports` ports.
    pub fn new(ports: usize) -> CounterIndices {
        CounterIndices {
            ports,
            ..CounterIndices::default()
        }
    }

    /// The index of the entry `key`: its own if it has one, else a free one (or
    /// [`NO_COUNTER`] when all are in use).
    pub fn alloc(&mut self, key: Key, dp: &mut dyn DataPlane) -> u32 {
        if let Some(&index) = self.by_key.get(&key) {
            return index;
        }
        let mut still = Vec::new();
        for (index, epoch) in std::mem::take(&mut self.retired) {
            if dp.acknowledged(epoch) {
                self.free.push(index);
            } else {
                still.push((index, epoch));
            }
        }
        self.retired = still;
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.key_of.len() < dp.counter_capacity() => {
                self.key_of.push(None);
                self.reported.push((0, 0));
                self.out_reported.extend(std::iter::repeat_n(0, self.ports));
                self.wrong_if_reported.push(0);
                (self.key_of.len() - 1) as u32
            }
            None => return NO_COUNTER,
        };
        let i = index as usize;
        // Whatever the index counted before belongs to its previous owner.
        self.reported[i] = dp.entry_totals(index);
        for port in 0..self.ports {
            self.out_reported[i * self.ports + port] = dp.entry_out(index, port as u16);
        }
        self.wrong_if_reported[i] = dp.entry_wrong_if(index);
        self.key_of[i] = Some(key);
        self.by_key.insert(key, index);
        index
    }

    /// Frees `key`'s index; it is reused once the publication `epoch` that removed the
    /// entry has been passed by every worker ([`CounterIndices::retire`]).
    pub fn release(&mut self, key: Key) -> Option<u32> {
        let index = self.by_key.remove(&key)?;
        self.key_of[index as usize] = None;
        Some(index)
    }

    /// Indices released before publication `epoch`: free once every worker passed it.
    pub fn retire(&mut self, indices: impl IntoIterator<Item = u32>, epoch: u64) {
        self.retired.extend(indices.into_iter().map(|i| (i, epoch)));
    }

    /// How many indices have ever been handed out (the sweep's range).
    pub fn len(&self) -> usize {
        self.key_of.len()
    }

    /// The MGM counted one wrong-interface packet of `key` (from a worker's signal).
    pub fn wrong_if_signalled(&mut self, key: Key) {
        if let Some(&index) = self.by_key.get(&key) {
            self.wrong_if_reported[index as usize] += 1;
        }
    }

    /// What index `index`'s entry counted since the last call, read from the workers' counters
    /// (and taken as reported): `None` when it is free or counted nothing new.
    pub fn take_delta(
        &mut self,
        index: usize,
        dp: &dyn DataPlane,
        ports: &PortMap,
    ) -> Option<(Key, CountDelta)> {
        let key = (*self.key_of.get(index)?)?;
        let totals = dp.entry_totals(index as u32);
        let before = self.reported[index];
        // Workers count every wrong-interface packet; the signals the MGM counted one by one
        // are rate-limited samples of them. Top the MGM's count up to the exact one.
        let wrong_if = dp
            .entry_wrong_if(index as u32)
            .saturating_sub(self.wrong_if_reported[index]);
        let mut out = Vec::new();
        for port in 0..self.ports {
            let copies = dp.entry_out(index as u32, port as u16);
            let reported = &mut self.out_reported[index * self.ports + port];
            if copies > *reported {
                if ports.interface(port as u16) != mgm::InterfaceId::NONE {
                    out.push((port as u16, copies - *reported));
                }
                *reported = copies;
            }
        }
        if totals.0 <= before.0 && wrong_if == 0 && out.is_empty() {
            return None;
        }
        self.reported[index] = totals;
        self.wrong_if_reported[index] += wrong_if;
        Some((
            key,
            CountDelta {
                packets: totals.0.saturating_sub(before.0),
                bytes: totals.1.saturating_sub(before.1),
                wrong_if,
                out,
            },
        ))
    }
}
