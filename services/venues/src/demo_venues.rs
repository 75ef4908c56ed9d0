//! Demo venues and activities.
