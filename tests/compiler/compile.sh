#!/bin/sh
# Compile-the-output: every generated header (generated/, the golden ones and
# those of the runtime tests' schemas) compiles with no warning as C99 and
# C11 (gcc, clang) and C++17 (g++, clang++) under the flags SPEC promises,
# included twice in one file, beside code that calls every component's
# typed world accessors (C_get ... C_reset_changed; a tag's C_add, C_has,
# C_remove) and takes every system's S_system, S_shm and S_layout and calls
# each of its typed wrappers; and two translation units (one C, one C++)
# that include the same headers link into one program that runs.
cd "$(dirname "$0")/../.." || exit 2
strict="-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"
soac=${SOAC:-build/asan/bin/soac}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/h"
inc="-Iruntime/include -Igenerated -Itests/compiler/golden -I$tmp/h"
fail=0; n=0
for s in tests/schemas/*.soa tests/compiler/schemas/*.soa; do
    "$soac" -I "$(dirname "$s")" -o "$tmp/h/$(basename "$s" .soa).h" "$s" ||
        { echo "FAIL: soac $s"; fail=1; }
done

# Calls every wrapper generated for system $1 (syntax and types only: the
# code is compiled, never run).
use_system() {
    cat <<EOT
static void soac_t_$1_k(const $1_view *v, const soa_frame *frame, void *ctx)
{
    (void)v; (void)frame; (void)ctx;
}
int soac_t_$1(soa_world *wo, soa_pool *po, soa_arena *ar, const soa_frame *fr);
int soac_t_$1(soa_world *wo, soa_pool *po, soa_arena *ar, const soa_frame *fr)
{
    $1_snap sn;
    const soa_system_desc *d = &$1_system;
    const soa_shm_system *m = &$1_shm;
    soa_fn fn = $1_kernel_fn(soac_t_$1_k);
    size_t cnt;
    int rc = $1_snap_init(&sn, NULL);
    rc |= $1_build(&sn, wo) | $1_build_on(&sn, wo, po);
    rc |= $1_run(&sn, po, soac_t_$1_k, fr, NULL);
    $1_run_range(&sn, soac_t_$1_k, fr, NULL, 0, 64);
    cnt = $1_commit(&sn, wo) + $1_commit_on(&sn, wo, po);
    rc |= $1_snap_publish(&sn, ar, 0) | $1_snap_attach(&sn, ar, 0);
    $1_snap_release(&sn);
    rc |= $1_erased_snap_init(&sn, NULL);
    return rc + (int)cnt + (m->system == d) + (d->layout == &$1_layout) + (fn != NULL);
}
EOT
}

# Calls every typed world accessor of component $1 (a tag's three when $2
# is "tag"), likewise compiled only.
use_component() {
    if [ "$2" = tag ]; then
        cat <<EOT
int soac_t_$1(soa_world *wo, soa_entity en);
int soac_t_$1(soa_world *wo, soa_entity en)
{
    bool has = $1_has(wo, en);
    return $1_add(wo, en) | $1_remove(wo, en) | (has ? 1 : 0);
}
EOT
        return
    fi
    cat <<EOT
static void soac_t_$1_fn(void *ctx, soa_entity en)
{
    (void)ctx; (void)en;
}
int soac_t_$1(soa_world *wo, soa_entity en, const soa_chunk *ch);
int soac_t_$1(soa_world *wo, soa_entity en, const soa_chunk *ch)
{
    $1 val = $1_default();
    $1_cols co = $1_chunk(ch, 0);
    bool has = $1_has(wo, en);
    int rc = $1_get(wo, en, &val) | $1_set(wo, en, &val);
    size_t cnt = $1_each_changed(wo, soac_t_$1_fn, NULL);
    rc |= $1_add(wo, en) | $1_remove(wo, en);
    $1_reset_changed(wo);
    return rc + (int)cnt + (has ? 1 : 0) + (co.changed != NULL) + (int)co.cap;
}
EOT
}

for h in generated/*.h tests/compiler/golden/*.h "$tmp"/h/*.h; do
    n=$((n + 1))
    { printf '#include "%s"\n#include "%s"\nint soac_compile_test_dummy;\n' \
          "$(basename "$h")" "$(basename "$h")"
      for C in $(sed -n 's/^static const soa_component_desc \([A-Za-z0-9_]*\)_desc = {$/\1/p' "$h"); do
          if grep -q "^static inline int ${C}_get(" "$h"; then
              use_component "$C"
          else
              use_component "$C" tag
          fi
      done
      for S in $(sed -n 's/^static const soa_system_desc \([A-Za-z0-9_]*\)_system = {$/\1/p' "$h"); do
          use_system "$S"
      done; } > "$tmp/t.c"
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
