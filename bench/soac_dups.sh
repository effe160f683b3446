#!/bin/sh
# How long soac's duplicate checks take on wide declarations: one component
# of 50,000 and of 100,000 fields, an enum of 100,000 values, and a system
# reading 100,000 tags.  Each should be linear: 100,000 fields check in well
# under a second.  Not a test: prints the median of RUNS runs of --check.
# Usage: bench/soac_dups.sh [RUNS] (default 5); SOAC=path picks the binary
# (default build/bin/soac; needs `make`).
cd "$(dirname "$0")/.." || exit 2
runs=${1:-5}
soac=${SOAC:-build/bin/soac}
[ -x "$soac" ] || { echo "build soac first: make" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

awk -v n=50000 'BEGIN { printf "component Wide {"; for (i = 0; i < n; i++) printf " f%d: f32;", i; print " }" }' > "$tmp/fields50k.soa"
awk -v n=100000 'BEGIN { printf "component Wide {"; for (i = 0; i < n; i++) printf " f%d: f32;", i; print " }" }' > "$tmp/fields100k.soa"
awk -v n=100000 'BEGIN { printf "enum Big : u32 {"; for (i = 0; i < n; i++) printf "%s v%d", i ? "," : "", i; print " }";
                         print "component C { a: Big = v99999; b: Big[2] = [v0, v1]; }" }' > "$tmp/enum100k.soa"
awk -v n=100000 'BEGIN { for (i = 0; i < n; i++) printf "component T%d {}\n", i;
                         printf "component P { x: f32; }\nsystem S { write P; read";
                         for (i = 0; i < n; i++) printf "%s T%d", i ? "," : "", i; print "; }" }' > "$tmp/reads100k.soa"

. bench/timing.sh

for case in fields50k fields100k enum100k reads100k; do
    t=$(time_runs "$soac" --check "$tmp/$case.soa")
    printf 'soac --check %-11s median of %d: %8.3f s\n' "$case" "$runs" "$t"
done
