#!/bin/sh
# libsoa_mpi against its single-process model on 1, 2 and 4 ranks
# (tests/mpi/mpi_world.c): migration under random moves, replication of
# changed rows, reductions, a gather, bytes at 1% and 100% changed.
. "$(dirname "$0")/mpi/env.sh"
need "$B/mpi/mpi_world"
fail=0
for np in 1 2 4; do
    out=$(mpi_run $np "$B/mpi/mpi_world" 2>&1); rc=$?
    printf '%s\n' "$out" | sed "s/^/[np $np] /"
    [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "^ok: $np ranks, 0 failed" ||
        { echo "FAIL: mpi_world on $np ranks (exit $rc)"; fail=1; }
done
exit $fail
