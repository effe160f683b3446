#!/bin/sh
# The physics example prints the same checksum (over the exact bits of every
# Position) for 1, 2 and 4 threads and for offloaded and local modes, and
# refuses bad options with exit code 2.
cd "$(dirname "$0")/.." || exit 2
bin=${BUILD:-build}/bin/physics
[ -x "$bin" ] || { echo "missing $bin"; exit 1; }
ref=""; fail=0
for mode in offloaded local; do
    for t in 1 2 4; do
        out=$("$bin" -n 30000 -f 30 -e 30 -t $t -m $mode) || { echo "FAIL: -t $t -m $mode exited $?"; fail=1; continue; }
        sum=$(printf '%s\n' "$out" | sed -n 's/^checksum //p')
        [ -n "$sum" ] || { echo "FAIL: no checksum for -t $t -m $mode"; fail=1; continue; }
        [ -z "$ref" ] && ref=$sum
        [ "$sum" = "$ref" ] || { echo "FAIL: -t $t -m $mode: $sum != $ref"; fail=1; }
    done
done
# Fewer frames must change it: the checksum sees the simulation.
other=$("$bin" -n 30000 -f 29 -e 30 -t 2 | sed -n 's/^checksum //p')
[ "$other" != "$ref" ] || { echo "FAIL: checksum ignores frames"; fail=1; }
for bad in "-n 0" "-n x" "-m warp" "-t -1" "extra"; do
    "$bin" $bad >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || { echo "FAIL: physics $bad exited $rc, not 2"; fail=1; }
done
[ $fail -eq 0 ] && echo "physics checksum $ref on 1/2/4 threads, offloaded and local"
exit $fail
