#!/usr/bin/env bash
# Runs fuzz targets for a bounded time each and prints libFuzzer's figures (make
# fuzz, make test-fuzz; tests/fuzz/README.md). Corpora grow in
# $BUILD/fuzz/corpus/<target> from the seeds in $BUILD/fuzz/seeds/<target>; a
# failing input is written to $BUILD/fuzz/artifacts/<target>-crash-<sha1>.
#
#   tests/fuzz/run.sh BUILD SECONDS TARGET...
set -uo pipefail
build=$1 seconds=$2
shift 2
mkdir -p "$build/fuzz/artifacts"
for t in "$@"; do
  corpus=$build/fuzz/corpus/$t log=$build/fuzz/$t.log
  mkdir -p "$corpus"
  # Inputs once found failing and since fixed must keep passing.
  if compgen -G "tests/fuzz/regressions/$t-*" >/dev/null; then
    "$build/fuzz/fuzz_$t" tests/fuzz/regressions/"$t"-* >"$build/fuzz/$t.regressions.log" 2>&1 ||
      { tail -30 "$build/fuzz/$t.regressions.log"; echo "fuzz_$t: a regression input fails again" >&2; exit 1; }
  fi
  # inputs up to 8 KiB (JSON past every limit fits); the room's are event scripts,
  # kept to 4 KiB so that each runs in well under a millisecond
  max_len=8192
  [ "$t" = room ] && max_len=4096
  if ! "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=$max_len -timeout=10 -dict=tests/fuzz/json.dict \
      -artifact_prefix="$build/fuzz/artifacts/$t-" -print_final_stats=1 "$corpus" "$build/fuzz/seeds/$t" >"$log" 2>&1; then
    grep -v '^#' "$log" | tail -40
    echo "fuzz_$t found a failing input: $(ls -t "$build"/fuzz/artifacts/"$t"-* 2>/dev/null | head -1) (tests/fuzz/README.md)" >&2
    exit 1
  fi
  # the last status line: "#runs DONE cov: C ft: F corp: N/S lim: L exec/s: E rss: R"
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
  eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$last")
  echo "fuzz_$t: ${runs:-?} runs in ${seconds} s (${eps:-?} exec/s), cov: ${cov:-?} ft: ${ft:-?}, corpus ${corp:-?}"
done
