//! How a protocol declares its config section: the keys it owns in the file, and the hooks the
//! loader calls to read and check them ([`ConfigSection`], one per registration). The loader
//! (`load.rs`) knows no protocol: it runs the hooks of every registration it is given.

use super::model::Config;

/// A rule broken at `field` (a path such as `routes[1].iif`); the loader finds its line.
#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    /// The field at fault, e.g. `interfaces[1].igmp.query_response_interval`.
    pub field: String,
    /// What is wrong, without location.
    pub message: String,
}

impl Violation {
    /// The rule broken at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Violation {
        Violation {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a protocol's section was refused.
#[derive(Debug)]
pub enum SectionError {
    /// Its serde types refused the text (a bad value, an unknown or missing field); the error
    /// carries the line and the field path.
    Yaml(serde_yaml::Error),
    /// A rule across fields.
    Rule(Violation),
}

impl From<serde_yaml::Error> for SectionError {
    fn from(e: serde_yaml::Error) -> Self {
        SectionError::Yaml(e)
    }
}

impl From<Violation> for SectionError {
    fn from(v: Violation) -> Self {
        SectionError::Rule(v)
    }
}

/// A protocol's config section as the loader sees it.
#[derive(Clone, Copy)]
pub struct ConfigSection {
    /// The top-level keys it owns (`["routes", "rpf_routes"]`).
    pub keys: &'static [&'static str],
    /// The keys it owns in each interface's mapping (`["igmp"]`).
    pub interface_keys: &'static [&'static str],
    /// Reads its keys from the whole text (a serde struct that names only them, so serde_yaml
    /// reports a bad value with its line and path) and validates them against the core's part
    /// of `cfg` (ports, interfaces, limits), then stores its settings in `cfg` (in
    /// `cfg.protocols` for a protocol the model has no field for). Called once per load, in
    /// registry order, after the core's part is valid.
    pub load: fn(text: &str, cfg: &mut Config) -> Result<(), SectionError>,
    /// Rules between its section and other protocols' (the proxy's upstream runs no IGMP),
    /// once every protocol's section is in.
    pub check: fn(cfg: &Config) -> Result<(), Violation>,
}

impl ConfigSection {
    /// A protocol without a section of its own.
    pub const NONE: ConfigSection = ConfigSection {
        keys: &[],
        interface_keys: &[],
        load: |_, _| Ok(()),
        check: |_| Ok(()),
    };
}

/// `check` for a section with no rule across protocols.
pub fn no_check(_cfg: &Config) -> Result<(), Violation> {
    Ok(())
}
