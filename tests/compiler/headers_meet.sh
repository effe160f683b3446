#!/bin/sh
# Two generated headers in one translation unit: a silent wrong result is
# refused, anything else works.
#  - schemas of one file name (ai/components.soa, phys/components.soa, no
#    namespace) give headers with different include guards: both count;
#  - one component with other defaults (or another layout), or one enum
#    with other values, in the two schemas: an #error naming it and this
#    header's schema, then an error naming both schemas, whichever header
#    comes first; with the same defaults the two headers agree.
# Each with gcc, clang (C11) and g++, clang++ (C++17).
cd "$(dirname "$0")/../.." || exit 2
soac=${SOAC:-build/asan/bin/soac}
strict="-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0

# Compiles `$tmp/t.c` (which includes $1 then $2) with every compiler: 0
# when all accept it; the diagnostics of the last in $tmp/err.
unit() {
    printf '#include "%s"\n#include "%s"\nint meet_test_dummy;\n' "$1" "$2" > "$tmp/t.c"
    cp "$tmp/t.c" "$tmp/t.cpp"
    rc=0
    for cc in "gcc -std=c11" "clang -std=c11" "g++ -std=c++17" "clang++ -std=c++17"; do
        case "$cc" in *++*) src="$tmp/t.cpp" ;; *) src="$tmp/t.c" ;; esac
        # shellcheck disable=SC2086 # word splitting wanted
        if ! $cc $strict -Iruntime/include -I"$tmp" -c "$src" -o "$tmp/t.o" 2>"$tmp/err.$cc"; then
            rc=1
        fi
    done
    return $rc
}

# Whether every compiler refused the unit of $1 then $2 with an error
# naming $3 ("the defaults of Position") and both schemas, $4 and $5.
refused() {
    if unit "$1" "$2"; then
        echo "FAIL: $1 then $2 compile (they disagree on $3)"; return 1
    fi
    for cc in "gcc -std=c11" "clang -std=c11" "g++ -std=c++17" "clang++ -std=c++17"; do
        e="$tmp/err.$cc"
        if ! grep -q "error.*two generated headers disagree on $3 (this one is from $5;" "$e" ||
           ! grep -q "error.*$3 differ.* between $4 and $5" "$e"; then
            echo "FAIL: $1 then $2 with $cc: no error naming $3, $4 and $5:"; head -20 "$e"; return 1
        fi
    done
    return 0
}

mk() { # mk DIR FILE TEXT: a schema, compiled with -I $tmp next to itself
    mkdir -p "$tmp/$1"
    printf '%s\n' "$3" > "$tmp/$1/$2.soa"
    "$soac" -I "$tmp" "$tmp/$1/$2.soa" || { echo "FAIL: soac $1/$2.soa"; fail=1; }
}

# one file name, no namespace: two guards, both headers count
mk ai components 'component Brain { iq: u8 = 100; }'
mk phys components 'component Body { mass: f32 = 1; }'
g1=$(sed -n 2p "$tmp/ai/components.h"); g2=$(sed -n 2p "$tmp/phys/components.h")
[ "$g1" != "$g2" ] || { echo "FAIL: one include guard for two schemas: $g1"; fail=1; }
printf '#include "ai/components.h"\n#include "phys/components.h"\n#include "ai/components.h"\n' > "$tmp/u.c"
printf 'int main(void) { Brain b = Brain_default(); Body d = Body_default(); return b.iq == 100 && d.mass == 1.0f ? 0 : 1; }\n' >> "$tmp/u.c"
cp "$tmp/u.c" "$tmp/u.cpp"
for cc in "gcc -std=c11" "clang -std=c11" "g++ -std=c++17" "clang++ -std=c++17"; do
    case "$cc" in *++*) src="$tmp/u.cpp" ;; *) src="$tmp/u.c" ;; esac
    # shellcheck disable=SC2086 # word splitting wanted
    if ! $cc $strict -Iruntime/include -I"$tmp" "$src" build/lib/libsoa.a -lpthread -o "$tmp/u" 2>"$tmp/err" ||
       ! "$tmp/u"; then
        echo "FAIL: ai/components.h and phys/components.h with $cc:"; head -20 "$tmp/err"; fail=1
    fi
done

# one component, other defaults
mk a pos 'component Position { x: f32; y: f32 = 1; }'
mk b pos 'component Position { x: f32; y: f32 = 2; }'
refused a/pos.h b/pos.h "the defaults of Position" a/pos.soa b/pos.soa || fail=1
refused b/pos.h a/pos.h "the defaults of Position" b/pos.soa a/pos.soa || fail=1
# ... another layout
mk c pos 'component Position { x: f32; y: f64 = 1; }'
refused a/pos.h c/pos.h "the layout of Position" a/pos.soa c/pos.soa || fail=1
# ... the same defaults, written another way: one component
mk d pos 'component Position { x: f32 = 0; y: f32 = 1.0; } // the same as a/pos.soa'
unit a/pos.h d/pos.h || { echo "FAIL: a/pos.h and d/pos.h agree, yet:"; cat "$tmp/err.gcc -std=c11"; fail=1; }
# one enum, other values (the layout hash names the enum, not its values)
mk a team 'enum Team : u8 { red, blue }
component Member { team: Team; }'
mk b team 'enum Team : u8 { blue, red }
component Member { team: Team; }'
refused a/team.h b/team.h "the values of enum Team" a/team.soa b/team.soa || fail=1

[ $fail -eq 0 ] && echo "headers meet: distinct guards per schema; other defaults, layouts and enum values refused, naming both schemas"
exit $fail
