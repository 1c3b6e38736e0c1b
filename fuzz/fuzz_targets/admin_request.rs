//! Admin-socket requests, `control::admin::Request::from_line`, fed as the server feeds it:
//! the input is split into lines, each trimmed, empty ones skipped, and lines longer than
//! `MAX_LINE` refused before parsing. Any line gives a request or an error message, never a
//! panic; a parsed request survives `to_line` -> `from_line`.
#![no_main]

use control::admin::server::MAX_LINE;
use control::admin::{Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        if line.len() > MAX_LINE {
            break;
        }
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match Request::from_line(line) {
            Ok(request) => {
                let again = Request::from_line(request.to_line().as_bytes());
                assert_eq!(again.as_ref(), Ok(&request));
            }
            Err(message) => {
                let _ = Response::error(message).to_line();
            }
        }
    }
});
