#!/bin/sh
# The wasm builds under Node (make wasm; mk/wasm.mk): every wasm unit test
# of both builds (their cmocka lines are counted by tests/run.sh), then the
# physics example's checksum from the threaded build (2 and 4 threads), the
# build without threads and Node's transfer path, each equal to the native
# example's for the same entity count and frames, and a second system (Mix)
# through the transfer path equal to the same system run natively.  Without emcc or node (tools/ensure-deps.sh
# could not install them) it says SKIPPED and passes.
cd "$(dirname "$0")/.." || exit 2
b=${BUILD:-build}
for tool in emcc node; do
    command -v $tool >/dev/null 2>&1 || {
        echo "SKIPPED: wasm tests under Node ($tool not found; apt-get install emscripten nodejs)"
        exit 0
    }
done
node="node --no-experimental-fetch"
fail=0
# A test that hangs (a lost futex wake) fails after 5 minutes.
for v in threads single; do
    list="$b"/wasm/$v/tests.txt
    [ -s "$list" ] || { echo "FAIL: no $list (make wasm)"; fail=1; continue; }
    for t in $(cat "$list"); do
        echo "-- $v: $t"
        timeout 300 $node "$b"/wasm/$v/tests/$t.js 2>&1; rc=$?
        [ $rc -eq 0 ] || { echo "FAIL: $v/$t exited $rc"; fail=1; }
    done
done

# The README's tour built with the README's emcc line and run with its
# node line (section "In the browser and Node"), in a directory that has
# the tour's files and this checkout's runtime/ and build/.
tour=$(mktemp -d); trap 'rm -rf "$tour"' EXIT
awk -v dir="$tour" -f tests/readme_tour.awk README.md
awk '/^## In the browser and Node/ {t=1} /^## Layout/ {t=0}
     t && /^emcc / {e=1} e {print} e && !/\\$/ {e=0}
     t && /^node .*hello.js/ {print}' README.md >"$tour/build.sh"
ln -s "$PWD/runtime" "$tour/runtime"; ln -s "$PWD/$b" "$tour/build"
if ! grep -q '^emcc ' "$tour/build.sh" || ! grep -q '^node ' "$tour/build.sh"; then
    echo "FAIL: no emcc and node lines for the tour in README.md"; fail=1
elif ! "$b"/bin/soac "$tour/hello.soa"; then
    echo "FAIL: soac rejects the tour schema"; fail=1
else
    out=$(cd "$tour" && NODE_PATH=/usr/share/nodejs timeout 300 sh build.sh 2>&1)
    if [ "$(printf '%s\n' "$out" | tail -n 1)" = "after 1 s: y = -9.81" ]; then
        echo "README tour in wasm under Node: after 1 s: y = -9.81"
    else
        printf '%s\n' "$out"; echo "FAIL: the README's emcc/node lines for the tour"; fail=1
    fi
fi

checksum() { sed -n 's/^checksum //p'; }
args="-n 30000 -f 30 -e 30"
native=$("$b"/bin/physics $args -t 2 | checksum)
[ -n "$native" ] || { echo "FAIL: no native checksum"; exit 1; }
for run in "threads -t 2" "threads -t 4" "threads -t 2 -m local" "single -t 1"; do
    set -- $run
    v=$1; shift
    out=$(timeout 300 $node "$b"/wasm/$v/physics.js $args "$@" 2>&1)
    sum=$(printf '%s\n' "$out" | checksum)
    if [ "$sum" = "$native" ]; then
        echo "wasm $v $*: checksum $sum (native $native)"
    else
        printf '%s\n' "$out"
        echo "FAIL: wasm $v $*: checksum '$sum' != native $native"; fail=1
    fi
done
# Node's two paths through examples/browser/run-node.js: worker_threads on
# one shared memory (the pthreads build) and worker_threads with transferred
# columns (the transfer path, as a page without COOP/COEP runs it).
for p in shared transfer; do
    out=$(timeout 300 $node examples/browser/run-node.js --path $p -n 30000 -f 30 -t 2 2>&1)
    sum=$(printf '%s\n' "$out" | checksum)
    if [ "$sum" = "$native" ] && printf '%s\n' "$out" | grep -q "^run-node: path $p "; then
        echo "node $p path: checksum $sum (native $native)"
    else
        printf '%s\n' "$out"
        echo "FAIL: node $p path: checksum '$sum' != native $native"; fail=1
    fi
done
# A second system through the generic transfer path (tests/wasm/web_mix.js:
# Mix, with columns of 1 to 8 bytes, arrays and two written components,
# run by a worker_threads Worker with its own instance), against the same
# system run natively: the same rows, values written and checksum; then
# the wire data the page and the worker must refuse.
want=$("$b"/rel/tests/web_mix -n 20000 -f 12 | grep -E '^(rows|checksum) ')
out=$(timeout 300 $node tests/wasm/web_mix.js "$b"/wasm/single/web_mix.js 20000 12 2>&1); rc=$?
got=$(printf '%s\n' "$out" | grep -E '^(rows|checksum) ')
if [ $rc -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ]; then
    echo "node transfer path, system Mix: $(printf '%s\n' "$got" | tr '\n' ' ')(native the same); $(printf '%s\n' "$out" | grep -c '^ok: ') refusals checked"
else
    printf '%s\n' "$out"
    echo "FAIL: node transfer path, system Mix: '$got' != native '$want' (exit $rc)"; fail=1
fi
# The threaded build really ran its pool: the example says how many.
out=$(timeout 300 $node "$b"/wasm/threads/physics.js $args -t 3)
printf '%s\n' "$out" | grep -q ", 3 threads," ||
    { echo "FAIL: the threaded wasm build did not run 3 threads"; fail=1; }
# Without threads a pool of two cannot be had: a clear error, exit 1.
out=$(timeout 300 $node "$b"/wasm/single/physics.js $args -t 2 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q "setup failed" ||
    { printf '%s\n' "$out"; echo "FAIL: single build with -t 2 exited $rc"; fail=1; }
exit $fail
