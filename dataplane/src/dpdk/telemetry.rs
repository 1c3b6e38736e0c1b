//! DPDK telemetry commands (`dpdk-telemetry.py`, or any client of
//! `/var/run/dpdk/<prefix>/dpdk_telemetry.v2`).
//!
//! The telemetry thread answers on its own, so replies are not computed in its callback: the
//! control core [`publish`]es each command's current reply (about once a second) into a
//! mutex-guarded map, and the C callback copies the latest one out. The mutex is never taken
//! by a worker.

use super::{check, DpdkError};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::Mutex;

/// The reply to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A JSON object of counters.
    Counters(Vec<(String, u64)>),
    /// A JSON array of strings (one line of a table each).
    Lines(Vec<String>),
}

/// Most entries DPDK 22.11 puts in one telemetry dict or array (`RTE_TEL_MAX_DICT_ENTRIES` is
/// 256, `RTE_TEL_MAX_ARRAY_ENTRIES` 512): longer replies are cut, with a last entry saying so
/// (publishers need to give at most one entry more than this).
pub const MAX_ENTRIES: usize = 250;
/// Longest string or name DPDK 22.11 takes (`RTE_TEL_MAX_STRING_LEN` 128, names 64).
const MAX_STRING: usize = 120;
const MAX_NAME: usize = 60;

static REPLIES: Mutex<BTreeMap<String, Reply>> = Mutex::new(BTreeMap::new());

/// Registers `cmd` (e.g. `/mrouter/stats`) with DPDK telemetry. Its reply is whatever was last
/// [`publish`]ed for it (an empty object before that).
pub fn register(cmd: &str, help: &str) -> Result<(), DpdkError> {
    let bad = |what: &str| DpdkError {
        op: format!("register telemetry command {cmd}"),
        code: 22,
        message: format!("{what} contains a NUL byte"),
    };
    // DPDK keeps the pointers: the strings live for the rest of the process.
    let c_cmd: &'static CStr = Box::leak(
        CString::new(cmd)
            .map_err(|_| bad("command"))?
            .into_boxed_c_str(),
    );
    let c_help: &'static CStr = Box::leak(
        CString::new(help)
            .map_err(|_| bad("help"))?
            .into_boxed_c_str(),
    );
    // SAFETY: both strings are NUL-terminated and live forever; the callback matches telemetry_cb.
    let ret = unsafe {
        dpdk_sys::rte_telemetry_register_cmd(c_cmd.as_ptr(), Some(callback), c_help.as_ptr())
    };
    check(ret, || format!("register telemetry command {cmd}")).map(|_| ())
}

/// Sets the reply of `cmd`.
pub fn publish(cmd: &str, reply: Reply) {
    REPLIES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(cmd.to_string(), reply);
}

fn cstring(s: &str, max: usize) -> CString {
    let mut s: String = s.chars().filter(|c| *c != '\0').collect();
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    CString::new(s).unwrap_or_default()
}

unsafe extern "C" fn callback(
    cmd: *const c_char,
    _params: *const c_char,
    d: *mut dpdk_sys::rte_tel_data,
) -> c_int {
    if cmd.is_null() || d.is_null() {
        return -22;
    }
    // SAFETY: DPDK passes the registered command as a NUL-terminated string.
    let cmd = unsafe { CStr::from_ptr(cmd) }
        .to_string_lossy()
        .into_owned();
    let reply = REPLIES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&cmd)
        .cloned();
    // Below, d is the valid, empty reply object DPDK hands the callback, and every string is a
    // NUL-terminated CString that outlives the call (DPDK copies it).
    match reply {
        Some(Reply::Lines(lines)) => {
            // SAFETY: d is the reply object DPDK passed; strings are live CStrings.
            unsafe {
                dpdk_sys::rte_tel_data_start_array(
                    d,
                    dpdk_sys::rte_tel_value_type_RTE_TEL_STRING_VAL,
                )
            };
            let more = lines.len() > MAX_ENTRIES;
            for line in lines.iter().take(MAX_ENTRIES) {
                let s = cstring(line, MAX_STRING);
                // SAFETY: d is the reply object DPDK passed; strings are live CStrings.
                unsafe { dpdk_sys::rte_tel_data_add_array_string(d, s.as_ptr()) };
            }
            if more {
                let s = cstring("... more entries: use mrouterctl", MAX_STRING);
                // SAFETY: d is the reply object DPDK passed; strings are live CStrings.
                unsafe { dpdk_sys::rte_tel_data_add_array_string(d, s.as_ptr()) };
            }
        }
        Some(Reply::Counters(counters)) => {
            // SAFETY: d is the reply object DPDK passed; strings are live CStrings.
            unsafe { dpdk_sys::rte_tel_data_start_dict(d) };
            for (name, value) in counters.iter().take(MAX_ENTRIES) {
                // Telemetry takes only letters, digits and '_' in names.
                let name: String = name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let n = cstring(&name, MAX_NAME);
                // SAFETY: d is the reply object DPDK passed; strings are live CStrings.
                unsafe { dpdk_sys::rte_tel_data_add_dict_u64(d, n.as_ptr(), *value) };
            }
        }
        None => {
            // SAFETY: d is the reply object DPDK passed; strings are live CStrings.
            unsafe { dpdk_sys::rte_tel_data_start_dict(d) };
        }
    }
    0
}

/// Initialises the packet-capture server so `dpdk-dumpcap` (and `dpdk-pdump`) can capture on
/// this process's ports. Needs EAL's multi-process support (not `--no-shconf`/`--in-memory`).
pub fn pdump_init() -> Result<(), DpdkError> {
    // SAFETY: EAL is initialised (callers hold an Eal); registers an mp action.
    let ret = unsafe { dpdk_sys::rte_pdump_init() };
    check(ret, || "rte_pdump_init (dpdk-dumpcap support)".into()).map(|_| ())
}
