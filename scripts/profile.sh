#!/usr/bin/env bash
# `make profile SCENARIO=<name>`: runs one bench scenario with a sampling profiler attached to
# the process that does the work, writes a flame graph, and prints where the time goes.
#
#   placeOrder  the orders bench (services run in the bench process: it is profiled)
#   relay       the outbox relay bench (in the bench process)
#   dashboard   the staff dashboard in split mode: the orders process (PROCESS=venues|
#               volunteers|router to look at another)
#   watchers    live progress at scale in split mode: the orders process (or PROCESS=router)
#
# The sampler is Linux perf (Debian's linux-perf, installed when missing) on the CPU clock,
# which works where hardware counters are not exposed (as on this machine); stacks are
# unwound from DWARF call-frame information, so release builds need no frame pointers.
# Flame graphs are drawn by inferno (crates.io), installed once into ~/.cache/tongxin/tools.
#
# Output: target/bench/profile/<scenario>.svg, <scenario>.folded and the top frames by self
# time on stdout. BENCH_SECONDS shortens the run and BENCH_FLAGS ("--profile dev") picks the
# build, as for `make bench`.
set -euo pipefail

scenario="${1:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${TONGXIN_BENCH_DIR:-$root/target/bench}/profile"
tools="${TONGXIN_TOOLS_DIR:-$HOME/.cache/tongxin/tools}"

case "$scenario" in
  placeOrder) bench=(-p tongxin-orders --bench orders); process="${PROCESS:-bench}" ;;
  relay) bench=(-p tongxin-orders --bench relay); process="${PROCESS:-bench}" ;;
  dashboard) bench=(-p tongxin --bench dashboard); process="${PROCESS:-orders}" ;;
  watchers) bench=(-p tongxin --bench watchers); process="${PROCESS:-orders}" ;;
  *)
    echo "usage: make profile SCENARIO=placeOrder|relay|dashboard|watchers [PROCESS=orders|venues|volunteers|router|bench]" >&2
    exit 2
    ;;
esac

command -v perf >/dev/null 2>&1 || apt-get install -y -q linux-perf >/dev/null
if ! command -v inferno-flamegraph >/dev/null 2>&1 && [ ! -x "$tools/inferno/bin/inferno-flamegraph" ]; then
  echo "profile: installing inferno (flame graphs) into $tools/inferno once" >&2
  cargo install -q --locked --root "$tools/inferno" inferno
fi
export PATH="$tools/inferno/bin:$PATH"

mkdir -p "$out"
data="$out/$scenario.perf.data"
rm -f "$data"
# The bench starts `perf record` on the named process for its measured phase and stops it
# at the end of that phase (crates/testing/src/bench.rs, `Profiler`).
TONGXIN_PROFILE="$process" TONGXIN_PROFILE_DATA="$data" \
  TONGXIN_ROUTER_BIN="$("$root/scripts/install-router.sh")" \
  cargo bench ${BENCH_FLAGS:-} "${bench[@]}"

if [ ! -s "$data" ]; then
  echo "profile: no samples were recorded (is perf allowed here? kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid))" >&2
  exit 1
fi
perf script -i "$data" 2>/dev/null | inferno-collapse-perf > "$out/$scenario.folded"
inferno-flamegraph --title "Tongxin: $scenario ($process)" < "$out/$scenario.folded" > "$out/$scenario.svg"

echo
echo "flame graph: $out/$scenario.svg"
echo "where the time goes (self time, top 25 frames of $process):"
# Each folded line is `frame;frame;…;leaf count`: sum the counts per leaf.
awk '{ n = $NF; $NF = ""; sub(/ $/, ""); k = split($0, f, ";"); self[f[k]] += n; total += n }
     END { for (s in self) printf "%6.2f%%  %s\n", 100 * self[s] / total, s }' "$out/$scenario.folded" \
  | sort -rn | head -25
