#!/bin/sh
# Every identifier a generated header defines for a component or a system is
# reserved: a schema that declares a component under one of those names is
# refused by soac, instead of producing a header that does not compile.  The
# names are read from a header soac writes now, so a new generated function
# that compiler/names.c does not list fails this test.  A component has its
# typed world accessors (a tag only add, has and remove).  A system defines
# exactly the names SPEC and soa/system.h expect, and the names it no longer
# defines are free again.
cd "$(dirname "$0")/../.." || exit 2
soac=${SOAC:-build/asan/bin/soac}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
base='component Position { x: f32; y: f32; }
component Velocity { x: f32; y: f32; }
component Frozen {}
system Integrate { read Velocity; write Position; without Frozen; }'
printf '%s\n' "$base" > "$tmp/p.soa"
"$soac" -o "$tmp/p.h" "$tmp/p.soa" || { echo "FAIL: soac rejects the base schema"; exit 1; }
fail=0; n=0
refused() {
    printf '%s\ncomponent %s { a: u8; }\n' "$base" "$1" > "$tmp/c.soa"
    "$soac" --check "$tmp/c.soa" >"$tmp/out" 2>&1 && return 1
    grep -q "error:" "$tmp/out" || { echo "FAIL: component $1: no diagnostic"; cat "$tmp/out"; fail=1; }
    return 0
}
for owner in Position Frozen Integrate; do
    for id in $(grep -o "\b${owner}_[A-Za-z0-9_]*" "$tmp/p.h" | sort -u); do
        n=$((n + 1))
        refused "$id" ||
            { echo "FAIL: component $id (a name the header defines for $owner) is accepted"; fail=1; }
    done
done
[ $n -gt 60 ] || { echo "FAIL: only $n generated names found"; fail=1; }

# The typed world accessors: a component with fields has all eight, a tag
# only add, has and remove (each refused as a name above, as it is defined).
for a in get set add has remove chunk each_changed reset_changed; do
    for owner in Position Frozen; do
        case $owner:$a in Position:*|Frozen:add|Frozen:has|Frozen:remove) want=1 ;; *) want=0 ;; esac
        got=$(grep -c "^static inline [A-Za-z_ ]*\b${owner}_$a(" "$tmp/p.h")
        [ "$got" = "$want" ] ||
            { echo "FAIL: ${owner}_$a is defined $got times, not $want"; fail=1; }
    done
done

want="Integrate_LAYOUT_HASH Integrate_build Integrate_build_on Integrate_call
Integrate_commit Integrate_commit_on Integrate_erased_snap_init Integrate_kernel
Integrate_kernel_fn Integrate_layout Integrate_layout_cols Integrate_layout_terms
Integrate_reads Integrate_run Integrate_run_range Integrate_shm Integrate_snap
Integrate_snap_attach Integrate_snap_init Integrate_snap_publish
Integrate_snap_release Integrate_system Integrate_view Integrate_without
Integrate_writes"
got=$(grep -o "\bIntegrate_[A-Za-z0-9_]*" "$tmp/p.h" | sort -u | tr '\n' ' ')
if [ "$got" != "$(printf '%s\n' $want | sort -u | tr '\n' ' ')" ]; then
    echo "FAIL: the names defined for system Integrate are not the expected 25:"
    echo "  got:  $got"; fail=1
fi
for id in Integrate_snap_reserve Integrate_erased_build Integrate_run_args \
          Integrate_shm_layout Integrate_shm_hashes; do
    if refused "$id"; then
        echo "FAIL: component $id is refused, but no header defines it any more"; fail=1
    fi
done
[ $fail -eq 0 ] && echo "all $n generated names are reserved; a system defines exactly its 25"
exit $fail
