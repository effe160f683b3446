#!/bin/sh
# generated/ is soac's output for schemas/: regenerate every header with the
# soac under test and fail on any difference (someone changed the emitter or
# a schema without regenerating: run `make regen`).
cd "$(dirname "$0")/../.." || exit 2
soac=${SOAC:-build/asan/bin/soac}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; n=0
for s in schemas/*.soa; do
    name=$(basename "$s" .soa)
    # a schema that only exists to be included has no committed header
    [ -f "generated/$name.h" ] || continue
    n=$((n + 1))
    if ! "$soac" -I schemas -o "$tmp/$name.h" "$s"; then
        echo "FAIL: soac $s"; fail=1; continue
    fi
    if ! cmp -s "$tmp/$name.h" "generated/$name.h"; then
        echo "FAIL: generated/$name.h is stale; run 'make regen' and commit it:"
        diff -u "generated/$name.h" "$tmp/$name.h" | head -40
        fail=1
    fi
done
for h in generated/*.h; do
    [ -f "schemas/$(basename "$h" .h).soa" ] || { echo "FAIL: $h has no schema"; fail=1; }
done
[ $fail -eq 0 ] && echo "generated/: $n headers match their schemas"
exit $fail
