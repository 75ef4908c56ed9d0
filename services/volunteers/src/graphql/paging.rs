//! Relay paging arguments shared by the ledger and team connections.

use async_graphql::connection::{CursorType, OpaqueCursor};
use serde::{Serialize, de::DeserializeOwned};
use tongxin_platform::ApiError;

/// The page size when the caller gives none.
pub const DEFAULT_PAGE: u64 = 50;
/// The most one page may hold.
pub const MAX_PAGE: u64 = 500;

/// `first`: 1 to 500 (above is refused, naming the limit), default 50.
pub fn first(first: Option<i32>) -> Result<u64, ApiError> {
    Ok(tongxin_platform::graphql::page_size("first", first, MAX_PAGE)?.unwrap_or(DEFAULT_PAGE))
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
