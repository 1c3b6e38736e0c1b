//! `mrouter [EAL args] -- --config FILE`: the multicast router.
fn main() {
    std::process::exit(control::daemon::main_with_args(std::env::args().collect()));
}
