#!/usr/bin/env bash
# Instructions per byte of inbound frame (make callgrind): each kind of
# tests/bench/frame_cost.c run under callgrind, counting only the frame's event
# and the answers to its questions, divided by the bytes sent. Prints each kind,
# the costliest worst case, and how it compares with a plain message and with the
# longest plain message (issue 13: within 4x). Figures, not a test.
#
#   tests/bench/frame_cost.sh BINARY OUTDIR [COUNT]
set -euo pipefail
bin=$1 outdir=$2 count=${3:-10}
plain_kinds="plain plain4000"
worst_kinds="members longkeys deep numbers strings objects escapes escaped_body refused_last flatkeys"

per_byte() { # kind -> "instructions bytes"
  local bytes
  bytes=$(valgrind --tool=callgrind --toggle-collect=send_frame --callgrind-out-file="$outdir/callgrind.frame.$1.out" \
    "$bin" "$1" "$count" 2>/dev/null)
  echo "$(grep -m1 '^summary:' "$outdir/callgrind.frame.$1.out" | cut -d' ' -f2) $bytes"
}

declare -A ipb
for k in $plain_kinds $worst_kinds; do
  read -r instr bytes < <(per_byte "$k")
  ipb[$k]=$(awk -v i="$instr" -v b="$bytes" 'BEGIN { printf "%.1f", i / b }')
  printf '  %-13s %6d bytes a frame  %10d instructions a frame  %7s per byte\n' \
    "$k" $((bytes / count)) $((instr / count)) "${ipb[$k]}"
done
worst=""
for k in $worst_kinds; do
  if [ -z "$worst" ] || awk -v a="${ipb[$k]}" -v b="${ipb[$worst]}" 'BEGIN { exit !(a > b) }'; then worst=$k; fi
done
awk -v w="${ipb[$worst]}" -v p="${ipb[plain]}" -v l="${ipb[plain4000]}" -v k="$worst" 'BEGIN {
  printf "worst-case 32 KiB frame (%s): %.1f instructions per byte = %.2fx a plain message (%.1f), %.2fx the longest plain message (%.1f) (callgrind; target: within 4x)\n", k, w, w / p, p, w / l, l
}'
