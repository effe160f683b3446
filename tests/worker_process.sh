#!/bin/sh
# examples/worker-process prints the checksum examples/physics prints for the
# same entities and frames: with the worker as a separate binary reading the
# shared world in place (1 and 8 ticks per request, 2 kernel threads) or
# through a snapshot (-S), as a thread (-T and
# SOA_WORKER_THREADS=1), and after its worker is killed with SIGKILL in the
# middle of the run (the lost request is redone by a respawned worker).
# Bad options exit 2; the worker binary run by hand exits 2.
cd "$(dirname "$0")/.." || exit 2
bin=${BUILD:-build}/bin
wp=$bin/worker-process
for b in "$wp" "$bin/worker-process-worker" "$bin/physics"; do
    [ -x "$b" ] || { echo "missing $b"; exit 1; }
done
sum() { sed -n 's/^checksum //p'; }
ref=$("$bin/physics" -n 20000 -f 40 -e 40 -t 2 | sum)
[ -n "$ref" ] || { echo "FAIL: no physics checksum"; exit 1; }
fail=0
check() { # label, output
    got=$(printf '%s\n' "$2" | sum)
    [ "$got" = "$ref" ] || { echo "FAIL: $1: checksum '$got' != $ref"; fail=1; }
}
check "process, m=1" "$("$wp" -n 20000 -f 40)"
out=$("$wp" -n 20000 -f 40 -m 8 -t 2)
check "process, m=8, 2 threads" "$out"
printf '%s\n' "$out" | grep -q '^worker: worker process [0-9]* (fork+exec ' ||
    { echo "FAIL: no process mode line"; fail=1; }
printf '%s\n' "$out" | grep -q '^world: shared, read in place' ||
    { echo "FAIL: the world is not shared by default"; fail=1; }
out=$("$wp" -n 20000 -f 40 -m 4 -t 2 -S)
check "process, snapshot (-S)" "$out"
printf '%s\n' "$out" | grep -q '^world: on the heap, copied through a snapshot' ||
    { echo "FAIL: -S does not say it copies"; fail=1; }
out=$("$wp" -n 20000 -f 40 -m 3 -T)
check "thread fallback (-T)" "$out"
printf '%s\n' "$out" | grep -q 'runs as a thread in this process' ||
    { echo "FAIL: the fallback does not say so"; fail=1; }
out=$(SOA_WORKER_THREADS=1 "$wp" -n 20000 -f 40)
check "thread fallback (environment)" "$out"

# SIGKILL the worker mid-run (1000 frames: long enough to be caught
# running): the example reports it, respawns, and still
# ends with the right checksum.
log=$(mktemp); trap 'rm -f "$log"' EXIT
"$wp" -n 100000 -f 1000 >"$log" 2>&1 &
main=$!
child=""
for _ in $(seq 100); do
    child=$(pgrep -P "$main" 2>/dev/null | head -n 1)
    [ -n "$child" ] && break
    sleep 0.05
done
sleep 0.2
if [ -n "$child" ]; then kill -9 "$child"; else echo "FAIL: no worker to kill"; fail=1; fi
wait "$main"; rc=$?
ref200=$("$bin/physics" -n 100000 -f 1000 -e 200 | sum)
[ $rc -eq 0 ] || { echo "FAIL: worker-process exited $rc after the kill"; cat "$log"; fail=1; }
grep -q 'not committed: worker [0-9]* was killed by signal 9' "$log" ||
    { echo "FAIL: the kill was not reported"; cat "$log"; fail=1; }
got=$(sum <"$log")
[ "$got" = "$ref200" ] || { echo "FAIL: after the kill: '$got' != $ref200"; fail=1; }

for bad in "-n 0" "-m 0" "-t x" "extra"; do
    "$wp" $bad >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || { echo "FAIL: worker-process $bad exited $rc, not 2"; fail=1; }
done
"$bin/worker-process-worker" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: the worker binary by hand exited $rc, not 2"; fail=1; }
"$wp" -n 100 -f 2 -w /nonexistent/worker >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] || { echo "FAIL: a missing worker binary gave $rc, not 1"; fail=1; }
[ $fail -eq 0 ] && echo "worker-process checksum $ref (process in place and by snapshot, thread, after kill -9)"
exit $fail
