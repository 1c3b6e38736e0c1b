//! Loading: the core's part of the file, then every registered protocol's section through its
//! hooks ([`ConfigSection`]), each error with its file, line and field.

use super::error::{self, ConfigError};
use super::locate;
use super::model::Config;
use super::raw::{RawConfig, CORE_KEYS};
use super::section::{SectionError, Violation};
use super::validate;
use crate::protocols::registry::REGISTRY;
use crate::protocols::Registration;
use std::path::Path;

/// Reads and validates the configuration file at `path`, with the protocols of
/// [`REGISTRY`].
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Validates configuration `text` with the protocols of [`REGISTRY`]; `file_name` is only used
/// in errors.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
    parse_with(text, file_name, REGISTRY)
}

/// Validates configuration `text` with the sections of `registry`'s protocols: the core's
/// part first (its serde types, then keys no one owns, then its rules), then each protocol's
/// section in registry order (`load`), then the rules between protocols (`check`).
pub fn parse_with(
    text: &str,
    file_name: &str,
    registry: &[Registration],
) -> Result<Config, ConfigError> {
    let keys: Vec<&str> = registry
        .iter()
        .flat_map(|r| r.config.keys)
        .copied()
        .collect();
    let all_keys: Vec<&str> = CORE_KEYS.iter().chain(&keys).copied().collect();
    let yaml = |e: serde_yaml::Error| error::from_yaml(file_name, text, &all_keys, &e);
    let invalid = |v: Violation| ConfigError::Invalid {
        file: file_name.to_string(),
        line: locate::line_of(text, &v.field),
        field: v.field,
        message: v.message,
    };
    let raw: RawConfig = serde_yaml::from_str(text).map_err(yaml)?;
    let interface_keys: Vec<&str> = registry
        .iter()
        .flat_map(|r| r.config.interface_keys)
        .copied()
        .collect();
    validate::unowned_keys(&raw, &keys, &interface_keys).map_err(invalid)?;
    let mut cfg = validate::validate(raw).map_err(invalid)?;
    for r in registry {
        (r.config.load)(text, &mut cfg).map_err(|e| match e {
            SectionError::Yaml(e) => yaml(e),
            SectionError::Rule(v) => invalid(v),
        })?;
    }
    for r in registry {
        (r.config.check)(&cfg).map_err(invalid)?;
    }
    Ok(cfg)
}

/// An error about `field` of the config file at `path` found after loading it (when the data
/// plane starts: a device that refuses an MTU), located like a validation error:
/// `FILE:LINE: FIELD: MESSAGE`.
pub fn error_at(path: &Path, field: &str, message: String) -> ConfigError {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    ConfigError::Invalid {
        file: path.display().to_string(),
        line: locate::line_of(&text, field),
        field: field.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::INTERFACE_KEYS;

    /// No two protocols own a key, and none owns one of the core's: each key of a file has one
    /// reader, so a section cannot be read twice with two meanings.
    #[test]
    fn every_key_has_one_owner() {
        let mut top: Vec<&str> = CORE_KEYS.to_vec();
        let mut per_interface: Vec<&str> = INTERFACE_KEYS.to_vec();
        for r in REGISTRY {
            for k in r.config.keys {
                assert!(!top.contains(k), "{k} ({}) has another owner", r.name);
                top.push(k);
            }
            for k in r.config.interface_keys {
                assert!(
                    !per_interface.contains(k),
                    "interfaces[].{k} ({}) has another owner",
                    r.name
                );
                per_interface.push(k);
            }
        }
        assert!(top.contains(&"routes") && per_interface.contains(&"igmp"));
    }
}
