#!/bin/sh
# The browser page (examples/browser) in headless Chromium, served by
# examples/browser/serve.py: with COOP/COEP the page must take the shared
# path (the pthreads build), without them the transfer path (a Web Worker
# with its own instance); both must print the native example's checksum
# for the same entity count and frames.  The page POSTs its result to the
# server; no result within the timeout, or a Chromium that will not start,
# fails with what Chromium said.  Without emcc, python3 or chromium it says
# SKIPPED and passes.
cd "$(dirname "$0")/.." || exit 2
b=${BUILD:-build}
for tool in emcc python3 chromium; do
    command -v $tool >/dev/null 2>&1 || {
        echo "SKIPPED: browser tests ($tool not found; apt-get install emscripten chromium)"
        exit 0
    }
done
[ -f "$b/wasm/threads/physics.js" ] && [ -f "$b/wasm/single/physics_web.js" ] ||
    { echo "FAIL: no wasm build in $b/wasm (make wasm)"; exit 1; }
n=30000; f=30; timeout_s=${BROWSER_TIMEOUT:-120}
native=$("$b"/bin/physics -n $n -f $f -e $f -t 2 | sed -n 's/^checksum //p')
[ -n "$native" ] || { echo "FAIL: no native checksum"; exit 1; }

tmp=$(mktemp -d)
server=""; browser=""
cleanup() {
    [ -n "$browser" ] && kill "$browser" 2>/dev/null
    [ -n "$server" ] && kill "$server" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# json FILE KEY: a top-level string or number of the page's result.
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }

fail=0
for mode in isolated plain; do
    d=$tmp/$mode; mkdir -p "$d"
    flag=""; want=shared
    [ $mode = plain ] && { flag=--no-isolation; want=transfer; }
    python3 examples/browser/serve.py --port 0 --port-file "$d/port" --result "$d/result" $flag >"$d/server.log" 2>&1 &
    server=$!
    i=0; while [ ! -s "$d/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$d/port" ] || { cat "$d/server.log"; echo "FAIL: $mode: serve.py did not start"; fail=1; continue; }
    url="http://127.0.0.1:$(cat "$d/port")/examples/browser/?n=$n&f=$f&t=2&report=1"
    chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$d/profile" "$url" >"$d/chromium.log" 2>&1 &
    browser=$!
    i=0; gone=""
    while [ ! -s "$d/result" ] && [ $i -lt $((timeout_s * 10)) ]; do
        if ! kill -0 "$browser" 2>/dev/null; then gone=1; break; fi
        sleep 0.1; i=$((i + 1))
    done
    if [ ! -s "$d/result" ]; then
        tail -n 20 "$d/chromium.log"
        if [ -n "$gone" ]; then
            wait "$browser"; echo "FAIL: $mode: Chromium could not start or exited early (status $?)"
        else
            echo "FAIL: $mode: no result from the page within ${timeout_s} s ($url)"
        fi
        fail=1
    else
        path=$(json "$d/result" path); sum=$(json "$d/result" checksum)
        if [ "$(json "$d/result" ok)" != True ]; then
            echo "FAIL: $mode: the page failed: $(json "$d/result" error)"; fail=1
        elif [ "$path" != $want ]; then
            echo "FAIL: $mode: the page took the $path path, not $want"; fail=1
        elif [ "$sum" != "$native" ]; then
            echo "FAIL: $mode: $path path checksum $sum != native $native"; fail=1
        else
            echo "chromium $mode: $path path ($(json "$d/result" why)), checksum $sum (native $native)"
        fi
    fi
    kill "$browser" "$server" 2>/dev/null; wait "$browser" "$server" 2>/dev/null
    browser=""; server=""
done
exit $fail
