#!/bin/sh
# Every identifier a generated header defines for a component or a system is
# reserved: a schema that declares a component under one of those names is
# refused by soac, instead of producing a header that does not compile.  The
# names are read from a header soac writes now, so a new generated function
# that check.c does not know about fails this test.
cd "$(dirname "$0")/../.." || exit 2
soac=${SOAC:-build/asan/bin/soac}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
base='component Position { x: f32; y: f32; }
component Velocity { x: f32; y: f32; }
system Integrate { read Velocity; write Position; }'
printf '%s\n' "$base" > "$tmp/p.soa"
"$soac" -o "$tmp/p.h" "$tmp/p.soa" || { echo "FAIL: soac rejects the base schema"; exit 1; }
fail=0; n=0
for owner in Position Integrate; do
    for id in $(grep -o "\b${owner}_[A-Za-z0-9_]*" "$tmp/p.h" | sort -u); do
        printf '%s\ncomponent %s { a: u8; }\n' "$base" "$id" > "$tmp/c.soa"
        n=$((n + 1))
        if "$soac" --check "$tmp/c.soa" >"$tmp/out" 2>&1; then
            echo "FAIL: component $id (a name the header defines for $owner) is accepted"
            fail=1
        elif ! grep -q "error:" "$tmp/out"; then
            echo "FAIL: component $id: no diagnostic"; cat "$tmp/out"; fail=1
        fi
    done
done
[ $n -gt 40 ] || { echo "FAIL: only $n generated names found"; fail=1; }
[ $fail -eq 0 ] && echo "all $n generated names are reserved"
exit $fail
