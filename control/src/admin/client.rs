//! The blocking client `mrouterctl` uses: one request, one response, with a timeout.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{Request, Response};

/// How long `mrouterctl` waits for the daemon.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response accepted (a full table of a large router is well below this).
const MAX_RESPONSE: u64 = 256 * 1024 * 1024;

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens at the socket path, or it cannot be opened. The message says which
    /// (see [`connect_advice`]).
    #[error("cannot reach mrouter at {}: {source} ({})", path.display(), connect_advice(path, source))]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The connect error.
        source: io::Error,
    },
    /// The connection failed or timed out while talking.
    #[error("talking to mrouter at {}: {source}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The read or write error.
        source: io::Error,
    },
    /// The daemon closed the connection without answering.
    #[error("mrouter at {} closed the connection without answering", path.display())]
    NoResponse {
        /// The socket path.
        path: PathBuf,
    },
    /// The answer is not a response this client understands.
    #[error("mrouter at {} sent a response this mrouterctl cannot read: {message}", path.display())]
    BadResponse {
        /// The socket path.
        path: PathBuf,
        /// The decoding error.
        message: String,
    },
}

/// What a failed connect most likely means, and what to do about it.
pub fn connect_advice(path: &Path, error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::PermissionDenied => {
            // The socket (0600) or its directory (0700) belongs to the user mrouter runs as.
            let owner = fs::metadata(path)
                .or_else(|_| fs::metadata(path.parent().unwrap_or(path)))
                .ok()
                .map(|m| m.uid());
            let owner = match owner {
                Some(0) => {
                    return "the admin socket is owner-only and belongs to root: run \
                                   mrouterctl as root, e.g. with sudo"
                        .to_string()
                }
                Some(uid) => match nix::unistd::User::from_uid(uid.into()) {
                    Ok(Some(user)) => format!("{} (uid {uid})", user.name),
                    _ => format!("uid {uid}"),
                },
                None => "the user mrouter runs as".to_string(),
            };
            format!(
                "the admin socket is owner-only and belongs to {owner}: run mrouterctl as that \
                 user or as root, e.g. with sudo"
            )
        }
        io::ErrorKind::NotFound => {
            "no socket there: is mrouter running? see --socket for another path".to_string()
        }
        io::ErrorKind::ConnectionRefused => "a stale socket: nothing listens on it, so mrouter \
             is not running (it stopped without removing the file; a new mrouter replaces it)"
            .to_string(),
        _ => "is mrouter running? see --socket".to_string(),
    }
}

/// Sends `request` to the daemon at `path` and waits up to `timeout` for each of connect,
/// write and read.
pub fn request(path: &Path, request: &Request, timeout: Duration) -> Result<Response, ClientError> {
    let io_err = |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
        path: path.to_path_buf(),
        source,
    })?;
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let mut line = request.to_line();
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(io_err)?;
    let mut reader = BufReader::new(stream.take(MAX_RESPONSE));
    let mut answer = Vec::new();
    reader.read_until(b'\n', &mut answer).map_err(io_err)?;
    if answer.is_empty() {
        return Err(ClientError::NoResponse {
            path: path.to_path_buf(),
        });
    }
    serde_json::from_slice(&answer).map_err(|e| ClientError::BadResponse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
