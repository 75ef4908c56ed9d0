//! Relay paging arguments shared by the ledger and team connections.

use async_graphql::connection::{CursorType, OpaqueCursor};
use serde::{Serialize, de::DeserializeOwned};
use tongxin_platform::ApiError;

/// The page size when the caller gives none.
pub const DEFAULT_PAGE: u64 = 50;
/// The most one page may hold.
pub const MAX_PAGE: u64 = 500;

/// `first`: 1 to 500, default 50.
pub fn first(first: Option<i32>) -> Result<u64, ApiError> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(f) if f < 1 => Err(ApiError::bad_input("first: must be at least 1")),
        Some(f) => Ok(u64::try_from(f).unwrap_or(1).min(MAX_PAGE)),
    }
}

/// `after`: a cursor this field issued.
pub fn after<T: Serialize + DeserializeOwned + Send + Sync>(
    after: Option<String>,
) -> Result<Option<T>, ApiError> {
    after
        .map(|c| {
            OpaqueCursor::<T>::decode_cursor(&c)
                .map(|c| c.0)
                .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))
        })
        .transpose()
}
