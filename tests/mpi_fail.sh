#!/bin/sh
# How a job with a broken rank ends (tests/mpi/mpi_fail.c), on 4 ranks:
# never a hang, always a message naming the rank and the cause.
. "$(dirname "$0")/mpi/env.sh"
need "$B/mpi/mpi_fail"
fail=0
run() { # run MODE: output in $out, exit status in $rc, seconds in $secs
    t0=$(date +%s)
    out=$(mpi_run 4 "$B/mpi/mpi_fail" "$1" 2>&1); rc=$?
    secs=$(( $(date +%s) - t0 ))
    printf '%s\n' "$out" | grep -v '^\[warn\] Epoll' | sed "s/^/[$1] /"
}
expect() { # expect MODE TEXT: the output says TEXT
    printf '%s\n' "$out" | grep -qF "$2" || { echo "FAIL: $1: no \"$2\""; fail=1; }
}
run mismatch
[ $rc -eq 0 ] || { echo "FAIL: mismatch: exit $rc"; fail=1; }
expect mismatch "rank 0: soa_mpi_create: rank 2: component 'Extra' has layout hash"
run diverge
[ $rc -eq 0 ] || { echo "FAIL: diverge: exit $rc"; fail=1; }
expect diverge "rank 1 is at soa_mpi_count (call 1, frame 0) while rank 0 is at soa_mpi_end_frame"
run badrule
[ $rc -eq 0 ] || { echo "FAIL: badrule: exit $rc"; fail=1; }
expect badrule "rank 0: rank 1 failed in soa_mpi_end_frame: Invalid argument"
expect badrule "rank 1: rank 1: the partition rule gave rank 99"
run hang
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { echo "FAIL: hang: exit $rc"; fail=1; }
[ $secs -lt 30 ] || { echo "FAIL: hang: took $secs s"; fail=1; }
expect hang "rank 3 did not reach soa_mpi_end_frame (frame 3) within 2 s"
run kill
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { echo "FAIL: kill: exit $rc"; fail=1; }
[ $secs -lt 30 ] || { echo "FAIL: kill: took $secs s"; fail=1; }
expect kill "process rank 1 with PID"
expect kill "signal 9"
[ $fail -eq 0 ] && echo "a layout mismatch, diverging calls, a bad partition rule, a hung rank and a killed rank each end the job with the rank named"
exit $fail
