#!/bin/sh
# How long soac takes on a big schema: 10,000 components of 10 fields each
# (mixed scalar, enum and array fields) and 1,000 systems.  Not a test:
# prints the median of RUNS runs for --check (front end only) and for a
# full header.  Usage: bench/soac_big.sh [RUNS] (default 5); SOAC=path picks
# the binary (default build/bin/soac; needs `make`).
cd "$(dirname "$0")/.." || exit 2
runs=${1:-5}
soac=${SOAC:-build/bin/soac}
[ -x $soac ] || { echo "build soac first: make" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

awk 'BEGIN {
    print "namespace big;";
    print "enum Mode : u8 { idle, run, stop }";
    split("f32 f64 i32 u8 u16 i64 bool f32 u32 Mode", ty, " ");
    for (c = 0; c < 10000; c++) {
        printf "component C%d {", c;
        for (f = 1; f <= 10; f++) {
            if (f == 8) printf " f%d: f32[4] = [0, 0, 0, 1];", f;
            else if (f == 3) printf " f%d: %s = -%d;", f, ty[f], c % 1000;
            else printf " f%d: %s;", f, ty[f];
        }
        print " }";
    }
    for (s = 0; s < 1000; s++)
        printf "system S%d { read C%d, C%d; write C%d; without C%d; }\n",
               s, s * 10, s * 10 + 1, s * 10 + 2, s * 10 + 3;
}' > "$tmp/big.soa"

. bench/timing.sh

check=$(time_runs $soac --check "$tmp/big.soa")
full=$(time_runs sh -c "rm -f '$tmp/big.h' && $soac -o '$tmp/big.h' '$tmp/big.soa'")
same=$(time_runs $soac -o "$tmp/big.h" "$tmp/big.soa")
printf 'schema: %s bytes, 10000 components x 10 fields, 1000 systems\n' "$(wc -c < "$tmp/big.soa")"
printf 'header: %s bytes, %s lines\n' "$(wc -c < "$tmp/big.h")" "$(wc -l < "$tmp/big.h")"
printf 'soac --check        median of %d: %.3f s\n' "$runs" "$check"
printf 'soac (new header)   median of %d: %.3f s\n' "$runs" "$full"
printf 'soac (unchanged)    median of %d: %.3f s\n' "$runs" "$same"
