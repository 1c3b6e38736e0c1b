//! Reading `show_stats` answers: a counter summed over a list, a counter of a map.

use serde_json::Value;

pub fn sum(v: &Value, list: &str, key: &str) -> u64 {
    v[list]
        .as_array()
        .map_or(0, |a| a.iter().map(|x| x[key].as_u64().unwrap_or(0)).sum())
}

pub fn get(v: &Value, map: &str, key: &str) -> u64 {
    v[map][key].as_u64().unwrap_or(0)
}
