#!/bin/sh
# Compile-the-output: every generated header (generated/ and the golden
# ones) compiles with no warning as C99 and C11 (gcc, clang) and C++17 (g++,
# clang++) under the flags SPEC promises, included twice in one file; and
# two translation units (one C, one C++) that include the same headers link
# into one program that runs.
cd "$(dirname "$0")/../.." || exit 2
strict="-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"
inc="-Iruntime/include -Igenerated -Itests/compiler/golden"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0; n=0
for h in generated/*.h tests/compiler/golden/*.h; do
    n=$((n + 1))
    printf '#include "%s"\n#include "%s"\nint soac_compile_test_dummy;\n' \
        "$(basename "$h")" "$(basename "$h")" > "$tmp/t.c"
    cp "$tmp/t.c" "$tmp/t.cpp"
    for cc in "gcc -std=c99" "gcc -std=c11" "clang -std=c99" "clang -std=c11" \
              "g++ -std=c++17" "clang++ -std=c++17"; do
        case "$cc" in *++*) src="$tmp/t.cpp" ;; *) src="$tmp/t.c" ;; esac
        if ! $cc $strict $inc -c "$src" -o "$tmp/t.o" 2>"$tmp/err"; then
            echo "FAIL: $h with $cc"; head -20 "$tmp/err"; fail=1
        fi
    done
done

# a system whose components are all tags has no columns: its generated
# code must not leave unused locals behind
soac=${SOAC:-build/asan/bin/soac}
printf 'component Marked {}\ncomponent Parked {}\nsystem Sweep { read Marked; without Parked; }\n' > "$tmp/tagsys.soa"
if ! "$soac" -o "$tmp/tagsys.h" "$tmp/tagsys.soa"; then
    echo "FAIL: soac rejects a system of tags"; fail=1
else
    printf '#include "tagsys.h"\nint soac_compile_test_dummy;\n' > "$tmp/ts.c"
    cp "$tmp/ts.c" "$tmp/ts.cpp"
    for cc in "gcc -std=c99" "clang -std=c11" "g++ -std=c++17"; do
        case "$cc" in *++*) src="$tmp/ts.cpp" ;; *) src="$tmp/ts.c" ;; esac
        if ! $cc $strict -Iruntime/include -I"$tmp" -c "$src" -o "$tmp/ts.o" 2>"$tmp/err"; then
            echo "FAIL: a system of tags with $cc"; head -20 "$tmp/err"; fail=1
        fi
    done
fi

# two translation units, C and C++, one program: game.h and sim.h both
# carry common.soa's declarations and meet in each unit
cat > "$tmp/tu1.c" <<'EOT'
#include "game.h"
#include "sim.h"
#include "physics.h"
float tu2_sum(void);
int main(void)
{
    game_Health h = game_Health_default();
    common_Transform t = common_Transform_default();
    if (h.hp != 100 || t.rot[3] != 1.0f || tu2_sum() != 3.0f)
        return 1;
    return game_Health_desc.size == sizeof(game_Health) ? 0 : 1;
}
EOT
cat > "$tmp/tu2.cpp" <<'EOT'
#include "sim.h"
#include "game.h"
#include "physics.h"
extern "C" float tu2_sum(void)
{
    Position_cols c;
    Position p = Position_default();
    p.x = 1.0f;
    p.y = 2.0f;
    if (Position_cols_init(&c, 10, NULL) != 0)
        return -1.0f;
    Position_cols_store(&c, 9, &p);
    Position q = Position_cols_load(&c, 9);
    Position_cols_release(&c, NULL);
    return q.x + q.y;
}
EOT
for pair in "gcc g++" "clang clang++"; do
    set -- $pair
    if ! $1 -std=c11 $strict $inc -c "$tmp/tu1.c" -o "$tmp/tu1.o" ||
       ! $2 -std=c++17 $strict $inc -c "$tmp/tu2.cpp" -o "$tmp/tu2.o" ||
       ! $2 "$tmp/tu1.o" "$tmp/tu2.o" build/lib/libsoa.a -lpthread -o "$tmp/prog" ||
       ! "$tmp/prog"; then
        echo "FAIL: two translation units with $pair"; fail=1
    fi
done
# two headers whose schemas include one schema with a system, in one unit
soac=${SOAC:-build/asan/bin/soac}
mkdir -p "$tmp/shared"
printf 'namespace c;\ncomponent P { x: f32; }\ncomponent V { x: f32; }\nsystem M { read V; write P; }\n' > "$tmp/shared/common.soa"
printf 'namespace a;\ninclude "common.soa";\ncomponent A { x: f32; }\n' > "$tmp/shared/a.soa"
printf 'namespace b;\ninclude "common.soa";\ncomponent B { x: f32; }\n' > "$tmp/shared/b.soa"
printf '#include "a.h"\n#include "b.h"\nint main(void) { return c_M_system.nwrites == 1 ? 0 : 1; }\n' > "$tmp/shared/t.c"
if ! "$soac" -o "$tmp/shared/a.h" "$tmp/shared/a.soa" ||
   ! "$soac" -o "$tmp/shared/b.h" "$tmp/shared/b.soa" ||
   ! gcc -std=c11 $strict -Iruntime/include -I"$tmp/shared" -c "$tmp/shared/t.c" -o "$tmp/shared/t.o"; then
    echo "FAIL: two headers sharing an included system in one unit"; fail=1
fi

[ $fail -eq 0 ] && echo "compile: $n headers clean as C99/C11/C++17 (gcc, clang); two-unit program links and runs"
exit $fail
