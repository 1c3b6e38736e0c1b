//! The one error type of config loading.

use std::{borrow::Cow, fmt, io};

/// Why a configuration could not be loaded. Every variant names the file; `Invalid` also names
/// the line and field, so `Display` reads `FILE:LINE: FIELD: MESSAGE`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The path as given to [`load`](super::load).
        file: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The text is not a valid configuration: YAML syntax, schema, a bad value or a rule that
    /// spans several fields (references, duplicates).
    #[error("{}", Located { file, line: *line, field, message })]
    Invalid {
        /// The file name as given to [`parse`](super::parse) or [`load`](super::load).
        file: String,
        /// 1-based line of the offending field; `None` when it could not be found.
        line: Option<usize>,
        /// Path of the offending field, e.g. `routes[1].group`; empty when unknown.
        field: String,
        /// What is wrong, without location.
        message: String,
    },
}

impl ConfigError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            Self::Io { file, .. } | Self::Invalid { file, .. } => file,
        }
    }

    /// 1-based line of the offending field, where known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Io { .. } => None,
            Self::Invalid { line, .. } => *line,
        }
    }

    /// Path of the offending field (`routes[1].group`); empty when unknown.
    pub fn field(&self) -> &str {
        match self {
            Self::Io { .. } => "",
            Self::Invalid { field, .. } => field,
        }
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            Self::Io { source, .. } => Cow::Owned(source.to_string()),
            Self::Invalid { message, .. } => Cow::Borrowed(message),
        }
    }
}

/// `FILE:LINE: FIELD: MESSAGE`, leaving out the parts that are not known.
struct Located<'a> {
    file: &'a str,
    line: Option<usize>,
    field: &'a str,
    message: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Turns a serde_yaml error into `Invalid`. serde_yaml 0.9 renders its errors as
/// `PATH: MESSAGE at line L column C`; the path goes to `field`, the position to `line`.
/// `keys` are the top-level keys a path may start with (the core's and the protocols').
pub(super) fn from_yaml(
    file: &str,
    text: &str,
    keys: &[&str],
    err: &serde_yaml::Error,
) -> ConfigError {
    let mut message = err.to_string();
    let line = err.location().map(|loc| {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(i) = message.find(&suffix) {
            message.replace_range(i..i + suffix.len(), "");
        }
        // libyaml adds the mark of what it was parsing ("while scanning an alias at line 29
        // column 13"); on the error's own line only the column says anything.
        let same_line = format!(" at line {} column ", loc.line());
        message = message.replace(&same_line, " at column ");
        loc.line()
    });

    let mut field = String::new();
    if let Some((path, rest)) = message.split_once(": ") {
        if is_config_path(path, keys) {
            field = path.to_string();
            message = rest.to_string();
        }
    }
    // Name the field itself for `unknown field `foo``, `missing field `foo``, `duplicate field`.
    for kind in ["unknown field `", "missing field `", "duplicate field `"] {
        if let Some(name) = message.strip_prefix(kind).and_then(|r| r.split('`').next()) {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(name);
            break;
        }
    }
    // `source: *` is a YAML alias, not a string: say so instead of libyaml's scanner error.
    if let Some(l) = line {
        let bare_star = text.lines().nth(l.saturating_sub(1)).is_some_and(|t| {
            let t = t.split(" #").next().unwrap_or("").trim_end();
            t.ends_with(": *") || t.ends_with("- *")
        });
        if bare_star && message.contains("alias") {
            message.push_str(" (a bare * starts a YAML alias: write \"*\" in quotes)");
        }
    }
    ConfigError::Invalid {
        file: file.to_string(),
        line,
        field,
        message,
    }
}

/// Whether `s` is a serde_yaml field path into a config (`routes[0].oifs[1].interface`) rather
/// than the first words of a message: it starts with one of `keys`.
fn is_config_path(s: &str, keys: &[&str]) -> bool {
    let head = s.split(['.', '[']).next().unwrap_or("");
    keys.contains(&head)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
}
