#!/bin/sh
# examples/mpi-physics prints examples/physics's checksum on 1, 2 and 4
# ranks, entities migrate on more than one, and bad options exit 2.
. "$(dirname "$0")/mpi/env.sh"
need "$B/bin/mpi-physics" "$B/bin/physics"
args="-n 30000 -f 30"
ref=$("$B/bin/physics" $args -e 30 -t 1 | sed -n 's/^checksum //p')
[ -n "$ref" ] || { echo "FAIL: no checksum from physics"; exit 1; }
fail=0
for np in 1 2 4; do
    out=$(mpi_run $np "$B/bin/mpi-physics" $args -e 10 2>&1); rc=$?
    printf '%s\n' "$out" | sed "s/^/[np $np] /"
    sum=$(printf '%s\n' "$out" | sed -n 's/^checksum //p')
    [ $rc -eq 0 ] && [ "$sum" = "$ref" ] ||
        { echo "FAIL: $np ranks: checksum '$sum' (exit $rc), physics $ref"; fail=1; }
    moved=$(printf '%s\n' "$out" | sed -n 's/^mean per frame: \([0-9.]*\) migrated.*/\1/p')
    if [ $np -gt 1 ]; then
        [ -n "$moved" ] && [ "$moved" != "0.0" ] ||
            { echo "FAIL: $np ranks: no migrations ('$moved')"; fail=1; }
    fi
done
# As on several machines: a hostfile, and TCP (on loopback) instead of
# shared memory between the ranks.
hosts=$(mktemp); trap 'rm -f "$hosts"' EXIT
echo "localhost slots=4" >"$hosts"
sum=$(OMPI_MCA_btl=tcp,self OMPI_MCA_btl_tcp_if_include=lo \
      mpi_run 4 --hostfile "$hosts" "$B/bin/mpi-physics" $args 2>&1 | sed -n 's/^checksum //p')
[ "$sum" = "$ref" ] || { echo "FAIL: 4 ranks over TCP with a hostfile: checksum '$sum'"; fail=1; }
# One frame fewer changes the checksum: it sees the simulation.
other=$(mpi_run 2 "$B/bin/mpi-physics" -n 30000 -f 29 2>&1 | sed -n 's/^checksum //p')
[ -n "$other" ] && [ "$other" != "$ref" ] || { echo "FAIL: checksum ignores frames ('$other')"; fail=1; }
mpi_run 2 "$B/bin/mpi-physics" -n 0 >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ] || { echo "FAIL: mpi-physics -n 0 exited 0"; fail=1; }
[ $fail -eq 0 ] && echo "mpi-physics checksum $ref on 1, 2 and 4 ranks (and 4 over TCP with a hostfile), as physics"
exit $fail
