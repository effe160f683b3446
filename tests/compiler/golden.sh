#!/bin/sh
# Golden headers: each tests/compiler/golden/X.soa compiles to exactly
# X.h (run `make regen` after an intended emitter change, and review the
# diff).  Also checks determinism: the same schema reached by another path
# gives the same bytes.
cd "$(dirname "$0")/../.." || exit 2
soac=${SOAC:-build/asan/bin/soac}
dir=tests/compiler/golden
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/b"
fail=0; n=0
for s in $dir/*.soa; do
    name=$(basename "$s" .soa)
    n=$((n + 1))
    if ! "$soac" -I $dir/lib -o "$tmp/$name.h" "$s"; then
        echo "FAIL: soac $s"; fail=1; continue
    fi
    if ! cmp -s "$tmp/$name.h" "$dir/$name.h"; then
        echo "FAIL: $dir/$name.h differs from soac's output:"
        diff -u "$dir/$name.h" "$tmp/$name.h" | head -40
        fail=1
    fi
    # another path to the same file, another working directory
    case $soac in /*) abs=$soac ;; *) abs=$PWD/$soac ;; esac
    if ! (cd "$dir" && "$abs" -I ./lib -o "$tmp/b/$name.h" "./$name.soa") ||
       ! cmp -s "$tmp/b/$name.h" "$dir/$name.h"; then
        echo "FAIL: $s: output depends on the path it was given by"; fail=1
    fi
done
[ $fail -eq 0 ] && echo "golden: $n headers match"
exit $fail
