#!/bin/sh
# A kernel that writes a component its system only reads does not compile:
# read-only columns are const in S_view.  The same kernel writing the
# written component compiles, so the failure is the const and nothing else.
# Checked with gcc and clang as C11 and C++17.
cd "$(dirname "$0")/.." || exit 2
gen=${BUILD:-build}/gen
[ -f "$gen/systems.h" ] || { echo "missing $gen/systems.h"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
kernel() { # $1: the statement inside the loop
    cat <<EOK
#include "systems.h"
void k(const Integrate_view *v, const soa_frame *f, void *ctx);
void k(const Integrate_view *v, const soa_frame *f, void *ctx)
{
    (void)f; (void)ctx;
    for (size_t i = v->begin; i < v->end; i++) { $1; }
}
EOK
}
kernel 'v->Position.x[i] += v->Velocity.x[i]' > "$tmp/good.c"
kernel 'v->Velocity.x[i] += v->Position.x[i]' > "$tmp/bad.c"
cp "$tmp/good.c" "$tmp/good.cpp"; cp "$tmp/bad.c" "$tmp/bad.cpp"
fail=0
for cc in "gcc -std=c11" "clang -std=c11" "g++ -std=c++17" "clang++ -std=c++17"; do
    case "$cc" in *++*) ext=cpp ;; *) ext=c ;; esac
    flags="-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -Iruntime/include -I$gen -c -o $tmp/o.o"
    if ! $cc $flags "$tmp/good.$ext" 2>"$tmp/err"; then
        echo "FAIL: $cc: a kernel writing a written component does not compile"
        cat "$tmp/err"; fail=1
    fi
    if $cc $flags "$tmp/bad.$ext" 2>"$tmp/err"; then
        echo "FAIL: $cc: a kernel writing a read-only component compiled"; fail=1
    elif ! grep -Eq "read-only|const-qualified" "$tmp/err"; then
        echo "FAIL: $cc: the diagnostic does not name the const:"; cat "$tmp/err"; fail=1
    fi
done
[ $fail -eq 0 ] && echo "writing a read-only component is a compile error (gcc, clang; C11, C++17)"
exit $fail
