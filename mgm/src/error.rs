//! Errors returned by MGM calls, each carrying the Win32 code that the Windows MGM documents.

use thiserror::Error;

/// Win32 `NO_ERROR`.
pub const NO_ERROR: u32 = 0;
/// Win32 `ERROR_NOT_ENOUGH_MEMORY`.
pub const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
/// Win32 `ERROR_INVALID_PARAMETER`.
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// Win32 `ERROR_INSUFFICIENT_BUFFER`.
pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
/// Win32 `ERROR_ALREADY_EXISTS`.
pub const ERROR_ALREADY_EXISTS: u32 = 183;
/// Win32 `ERROR_MORE_DATA`.
pub const ERROR_MORE_DATA: u32 = 234;
/// Win32 `ERROR_NO_MORE_ITEMS`.
pub const ERROR_NO_MORE_ITEMS: u32 = 259;
/// Win32 `ERROR_CAN_NOT_COMPLETE`.
pub const ERROR_CAN_NOT_COMPLETE: u32 = 1003;
/// Win32 `ERROR_NOT_FOUND`.
pub const ERROR_NOT_FOUND: u32 = 1168;

/// Why an MGM call failed. A failed call changes no state.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum MgmError {
    /// The (protocol, component) pair is already registered, or the interface already has a
    /// routing owner (or the same IGMP component) (`ERROR_ALREADY_EXISTS`, 183).
    #[error("already exists")]
    AlreadyExists,
    /// Bad handle, bad address/mask, range mask, or the caller does not own the interface
    /// (`ERROR_INVALID_PARAMETER`, 87).
    #[error("invalid parameter")]
    InvalidParameter,
    /// The interface, membership record or MFE does not exist (`ERROR_NOT_FOUND`, 1168).
    #[error("not found")]
    NotFound,
    /// The operation is not allowed in the current state, e.g. deregistering while still owning
    /// interfaces (`ERROR_CAN_NOT_COMPLETE`, 1003).
    #[error("cannot complete")]
    CanNotComplete,
    /// The caller's buffer budget cannot hold even one record; `needed` bytes would
    /// (`ERROR_INSUFFICIENT_BUFFER`, 122).
    #[error("insufficient buffer: {needed} bytes needed")]
    InsufficientBuffer {
        /// Size in bytes of one record, as the Windows call reports in `*pdwBufferSize`.
        needed: usize,
    },
}

impl MgmError {
    /// The Win32 error code the Windows MGM returns for this condition.
    pub fn code(&self) -> u32 {
        match self {
            MgmError::AlreadyExists => ERROR_ALREADY_EXISTS,
            MgmError::InvalidParameter => ERROR_INVALID_PARAMETER,
            MgmError::NotFound => ERROR_NOT_FOUND,
            MgmError::CanNotComplete => ERROR_CAN_NOT_COMPLETE,
            MgmError::InsufficientBuffer { .. } => ERROR_INSUFFICIENT_BUFFER,
        }
    }
}

/// How a batch call (MFE walk, stats walk, group enumeration) ended. Never `NO_ERROR`: the
/// spec's gap 13 pins these two codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    /// The batch is full and more records follow (`ERROR_MORE_DATA`, 234).
    MoreData,
    /// The end was reached within this batch (`ERROR_NO_MORE_ITEMS`, 259).
    NoMoreItems,
}

impl BatchStatus {
    /// The Win32 code the Windows call returns.
    pub fn code(&self) -> u32 {
        match self {
            BatchStatus::MoreData => ERROR_MORE_DATA,
            BatchStatus::NoMoreItems => ERROR_NO_MORE_ITEMS,
        }
    }
}
