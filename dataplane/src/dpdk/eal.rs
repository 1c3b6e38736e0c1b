//! EAL initialisation, lcores and the TSC clock.

use super::{check, DpdkError};
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// The initialised Environment Abstraction Layer. There is at most one per process (DPDK cannot
/// initialise twice), which is why tests that start DPDK run one per process under nextest.
#[derive(Debug)]
pub struct Eal {
    /// Started without `--no-shconf`/`--in-memory`: as the primary process, this process then
    /// holds the lock on its runtime directory's config file, so the directory is its own.
    shared_config: bool,
}

/// Why a closure could not be started on an lcore.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The lcore is not enabled in the EAL core list (`-l`/`--lcores`).
    #[error("lcore {0} is not enabled in the EAL core list (-l/--lcores)")]
    NotEnabled(u32),
    /// The lcore is the main lcore, which runs the control loop.
    #[error("lcore {0} is the main lcore; workers need other lcores")]
    MainLcore(u32),
    /// DPDK refused (the lcore is busy).
    #[error(transparent)]
    Dpdk(#[from] DpdkError),
}

impl Eal {
    /// Initialises EAL with `args` (`args[0]` is the program name, as in `argv`).
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if INITIALISED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError {
                op: "rte_eal_init".into(),
                code: libc_ealready(),
                message: "EAL is already initialised in this process".into(),
            });
        }
        let cstrings: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_str()))
            .collect::<Result<_, _>>()
            .map_err(|_| DpdkError {
                op: "rte_eal_init".into(),
                code: 22,
                message: "an EAL argument contains a NUL byte".into(),
            })?;
        // EAL may keep pointers into argv (it permutes it with getopt), so the strings live for
        // the rest of the process.
        let cstrings: &'static [CString] = Box::leak(cstrings.into_boxed_slice());
        let argv: &'static mut [*mut i8] = Box::leak(
            cstrings
                .iter()
                .map(|c| c.as_ptr() as *mut i8)
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        // SAFETY: argv holds argc valid NUL-terminated strings that are never freed; EAL is
        // initialised at most once (checked above).
        let ret = unsafe { dpdk_sys::rte_eal_init(argv.len() as i32, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(DpdkError::from_errno("rte_eal_init"));
        }
        Ok(Eal {
            shared_config: !args
                .iter()
                .any(|a| a == "--no-shconf" || a == "--in-memory"),
        })
    }

    /// The runtime directory (`/var/run/dpdk/PREFIX` as root), where DPDK keeps the shared
    /// config, the multi-process socket and the telemetry socket that `dpdk-telemetry.py` and
    /// `dpdk-dumpcap` use while this process runs.
    pub fn runtime_dir(&self) -> std::path::PathBuf {
        // SAFETY: EAL is initialised (self exists); the string is EAL's static buffer,
        // NUL-terminated, and copied out at once.
        let dir = unsafe { std::ffi::CStr::from_ptr(dpdk_sys::rte_eal_get_runtime_dir()) };
        std::path::PathBuf::from(dir.to_string_lossy().into_owned())
    }

    /// The main lcore (the one that called `init`; it runs the control loop).
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: EAL is initialised (self exists).
        unsafe { dpdk_sys::rte_get_main_lcore() }
    }

    /// Whether `lcore` is in the EAL core list.
    pub fn lcore_enabled(&self, lcore: u32) -> bool {
        if lcore >= dpdk_sys::RTE_MAX_LCORE {
            return false;
        }
        // SAFETY: EAL is initialised and lcore < RTE_MAX_LCORE.
        unsafe { dpdk_sys::rte_lcore_is_enabled(lcore) != 0 }
    }

    /// The NUMA socket of the calling lcore.
    pub fn socket_id(&self) -> i32 {
        // SAFETY: plain query of per-lcore data.
        unsafe { dpdk_sys::rte_socket_id() as i32 }
    }

    /// Runs `f` on worker `lcore`. Join with [`Eal::wait`].
    pub fn launch<F>(&self, lcore: u32, f: F) -> Result<(), LaunchError>
    where
        F: FnOnce() -> i32 + Send + 'static,
    {
        if !self.lcore_enabled(lcore) {
            return Err(LaunchError::NotEnabled(lcore));
        }
        if lcore == self.main_lcore() {
            return Err(LaunchError::MainLcore(lcore));
        }
        unsafe extern "C" fn trampoline<F: FnOnce() -> i32>(arg: *mut c_void) -> i32 {
            // SAFETY: arg is the Box<F> leaked by `launch` below, consumed exactly once here.
            let f = unsafe { Box::from_raw(arg as *mut F) };
            f()
        }
        let arg = Box::into_raw(Box::new(f)) as *mut c_void;
        // SAFETY: the trampoline matches lcore_function_t and takes ownership of arg.
        let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline::<F>), arg, lcore) };
        if ret < 0 {
            // SAFETY: launch failed, so the trampoline never ran and arg is still ours.
            drop(unsafe { Box::from_raw(arg as *mut F) });
            return Err(DpdkError::from_ret(format!("launch on lcore {lcore}"), ret).into());
        }
        Ok(())
    }

    /// Waits for the closure on `lcore` to return and gives its return value.
    pub fn wait(&self, lcore: u32) -> i32 {
        // SAFETY: EAL is initialised; waiting on an idle lcore returns at once.
        unsafe { dpdk_sys::rte_eal_wait_lcore(lcore) }
    }

    /// Releases EAL resources (hugepage files, vdevs), then removes the runtime directory a
    /// primary process owns (see [`remove_runtime_dir`]), which DPDK itself leaves behind. Call
    /// after every port is closed.
    pub fn cleanup(self) -> Result<(), DpdkError> {
        let dir = self.runtime_dir();
        // SAFETY: plain query; EAL is initialised.
        let primary = unsafe { dpdk_sys::rte_eal_process_type() }
            == dpdk_sys::rte_proc_type_t_RTE_PROC_PRIMARY;
        // SAFETY: EAL is initialised and no worker is running (callers wait first).
        let result = check(unsafe { dpdk_sys::rte_eal_cleanup() }, || {
            "rte_eal_cleanup".into()
        })
        .map(|_| ());
        if primary {
            remove_runtime_dir(&dir, self.shared_config);
        }
        result
    }
}

/// Removes what a primary process left in its runtime directory, then the directory if that
/// emptied it. `owned` (shared-config mode): the directory is this process's (it held the lock
/// on `config`), so DPDK's primary files go: `config`, `hugepage_info`, `fbarray_*`, the
/// `mp_socket` and the telemetry sockets (unlinked here rather than at exit; nobody can query
/// a process that has released EAL). A secondary's `mp_socket_*` still there keeps the
/// directory. Not `owned` (`--no-shconf`, `--in-memory`): processes may share the prefix
/// (`rte` by default) and one that is between creating the directory and binding its telemetry
/// socket there would fail its EAL init if the directory went, so nothing is touched.
pub fn remove_runtime_dir(dir: &std::path::Path, owned: bool) {
    if !owned {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let dpdk_primary_file = matches!(
                name.as_ref(),
                "config" | "hugepage_info" | "hugepage_data" | "mp_socket" | "telemetry"
            ) || name.starts_with("fbarray_")
                || name.starts_with("dpdk_telemetry");
            if dpdk_primary_file {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

fn libc_ealready() -> i32 {
    114 // EALREADY
}

/// The calling thread's lcore id (`u32::MAX` for a non-EAL thread).
pub fn lcore_id() -> u32 {
    // SAFETY: reads the calling thread's per-lcore variable.
    unsafe { dpdk_sys::rte_lcore_id() }
}

/// Sets the calling thread's nice value (Linux schedules threads apart, so only this thread
/// changes). Lowering it needs root or CAP_SYS_NICE.
pub fn set_current_thread_nice(nice: i32) -> std::io::Result<()> {
    // SAFETY: gettid has no preconditions; setpriority only reads its arguments.
    let rc = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The time stamp counter (on x86-64 read inline: the EAL's `rte_get_tsc_cycles` is a call
/// through a C wrapper, which the worker's per-burst stage clock would pay eight times a burst).
#[inline(always)]
pub fn tsc() -> u64 {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: RDTSC reads a counter; it touches no memory.
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    // SAFETY: reads the TSC; no memory is touched.
    unsafe {
        dpdk_sys::rte_get_tsc_cycles()
    }
}

/// TSC ticks per second, measured against the monotonic clock over 200 ms: for tools that run
/// without the EAL (whose [`tsc_hz`] is 0 until it is initialised).
pub fn measure_tsc_hz() -> f64 {
    let (c0, t0) = (tsc(), std::time::Instant::now());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (c1, dt) = (tsc(), t0.elapsed());
    c1.wrapping_sub(c0) as f64 / dt.as_secs_f64()
}

/// TSC ticks per second, as EAL measured it.
pub fn tsc_hz() -> u64 {
    // SAFETY: plain query, valid after EAL init (returns 0 before).
    unsafe { dpdk_sys::rte_get_tsc_hz() }
}
