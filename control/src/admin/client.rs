//! The blocking client `mrouterctl` uses: one request, one response, with a timeout.

use std::io::{self, BufRead, BufReader, Read, Write};
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
    /// Nothing listens at the socket path, or it cannot be opened.
    #[error("cannot reach mrouter at {}: {source} (is mrouter running? see --socket)", path.display())]
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
