//! Plain HTTP routes beside `/graphql` on the service's HTTP port: the CSV exports of
//! evaluation and rankings for spreadsheets ([`metrics_csv`]).

pub mod metrics_csv;
