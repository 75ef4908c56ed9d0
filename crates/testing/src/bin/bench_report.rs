//! Prints every figure of `target/bench/results.json` as one table and writes it beside it
//! as `results.md` (the last step of `make bench`).

fn main() -> anyhow::Result<()> {
    tongxin_testing::bench::report()
}
