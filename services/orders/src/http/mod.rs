//! Plain HTTP routes beside `/graphql` on the service's HTTP port: the CSV exports of
//! evaluation and rankings for spreadsheets ([`metrics_csv`]) and the quarterly evaluation
//! ([`evaluation_csv`]).

pub mod evaluation_csv;
pub mod metrics_csv;
