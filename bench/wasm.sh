#!/bin/sh
# make bench-wasm: the move scenario (pos += vel * dt over every moving
# entity, through the scheduler: build, run, commit) in wasm under Node,
# against the same example built natively in the same run.  Each variant
# runs `runs` times, taking turns; the figure is the median of the
# example's mean build+run+commit per frame, in ns per moving entity:
#
#   native -t T        build/bin/physics                (the baseline)
#   wasm threads -t T  build/wasm/threads/physics.js    (the shared path)
#   native -t 1        build/bin/physics
#   wasm single -t 1   build/wasm/single/physics.js
#   wasm transfer      examples/browser/run-node.js --path transfer
#
# Goal (issue 14): the threaded wasm path within 1.5x of native.
#   sh bench/wasm.sh [--quick]     (BUILD=dir for another build directory)
cd "$(dirname "$0")/.." || exit 2
b=${BUILD:-build}
n=1000000; frames=60; runs=7; threads=2
[ "$1" = --quick ] && { n=200000; frames=30; runs=3; }
node="node --no-experimental-fetch"
moving=$((n - n / 10))
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# ns per moving entity per frame from an example's "mean" line.
per_entity() {
    sed -n 's/^mean *build *\([0-9.]*\) us *run *\([0-9.]*\) us *commit *\([0-9.]*\) us.*/\1 \2 \3/p' |
        awk -v m=$moving '{ printf "%.3f\n", ($1 + $2 + $3) * 1000 / m }'
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
set -- "native-T:$b/bin/physics -t $threads" \
       "wasm-threads-T:$node $b/wasm/threads/physics.js -t $threads" \
       "native-1:$b/bin/physics -t 1" \
       "wasm-single-1:$node $b/wasm/single/physics.js -t 1" \
       "wasm-transfer:$node examples/browser/run-node.js --path transfer"
echo "bench-wasm: move, $n entities ($moving moving), $frames frames, $runs runs each, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
i=0
while [ $i -lt $runs ]; do
    for v in "$@"; do
        name=${v%%:*}; cmd=${v#*:}
        ns=$($cmd -n $n -f $frames $( [ "${name#wasm-transfer}" = "$name" ] && echo "-e $frames") | per_entity)
        [ -n "$ns" ] || { echo "bench-wasm: $name printed no mean line"; exit 1; }
        echo "$ns" >>"$tmp/$name"
    done
    i=$((i + 1))
done
med() { median <"$tmp/$1"; }
disp() {
    case $1 in
    native-T) echo "native -t $threads" ;; wasm-threads-T) echo "wasm threads -t $threads" ;;
    native-1) echo "native -t 1" ;; wasm-single-1) echo "wasm single -t 1" ;;
    wasm-transfer) echo "wasm transfer (Node)" ;;
    esac
}
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-22s %12s %10s %s\n' variant "ns/entity" ratio "against"
for v in native-T:native-T wasm-threads-T:native-T native-1:native-1 \
         wasm-single-1:native-1 wasm-transfer:native-1; do
    name=${v%%:*}; base=${v#*:}
    printf '%-22s %12s %9sx %s\n' "$(disp $name)" "$(med $name)" "$(ratio $name $base)" "$(disp $base)"
done
r=$(ratio wasm-threads-T native-T)
if awk -v r=$r 'BEGIN { exit !(r <= 1.5) }'; then
    echo "target: wasm threads within 1.5x of native: met (${r}x)"
else
    echo "target: wasm threads within 1.5x of native: NOT met (${r}x)"
fi
echo "runs (ns/entity):"; for f in "$tmp"/*; do printf '  %-16s %s\n' "$(basename "$f")" "$(tr '\n' ' ' <"$f")"; done
