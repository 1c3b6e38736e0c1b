//! The YAML config loader, `control::config::parse` (what `load` and a reload run on the file's
//! text): any text gives a `Config` or a `ConfigError` whose message (file, line, field) can be
//! printed, never a panic. Seeded with configs/*.yaml.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `load` reads the file with `read_to_string`: text that is not UTF-8 never gets here.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match control::config::parse(text, "fuzz.yaml") {
        Ok(config) => {
            let _ = format!("{config:?}");
            for (i, iface) in config.interfaces.iter().enumerate() {
                let _ = (
                    iface.netmask(),
                    iface.network(),
                    iface.contains(iface.address),
                );
                let _ = config.port_of_interface(i);
                let _ = config.interface_by_name(&iface.name);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
