#!/bin/sh
# The README's five-minute tour works as written: its schema compiles with
# soac, its program builds against libsoa and prints what the comment says,
# as C (gcc, clang) and, unchanged, as C++17 (g++, clang++), each under the
# strict flags (in C++ also -Wold-style-cast -Wzero-as-null-pointer-constant).
cd "$(dirname "$0")/.." || exit 2
build=${SOAC_TEST_BUILD:-build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" -f tests/readme_tour.awk README.md
[ -s "$tmp/hello.soa" ] && [ -s "$tmp/main.c" ] || { echo "FAIL: no tour in README.md"; exit 1; }
"$build/bin/soac" "$tmp/hello.soa" || { echo "FAIL: soac rejects the tour schema"; exit 1; }
strict="-Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"
fail=0
for cc in "cc -std=c11" "clang -std=c11" "g++ -std=c++17" "clang++ -std=c++17"; do
    case "$cc" in
    *++*) lang="-x c++"; extra="-Wold-style-cast -Wzero-as-null-pointer-constant" ;;
    *) lang=""; extra="" ;;
    esac
    # shellcheck disable=SC2086 # word splitting wanted
    if ! $cc $strict $extra -O2 -Iruntime/include -I"$tmp" $lang "$tmp/main.c" -x none \
            "$build/lib/libsoa.a" -lpthread -o "$tmp/hello" 2>"$tmp/err"; then
        echo "FAIL: the tour program does not build with $cc"; head -20 "$tmp/err"; fail=1; continue
    fi
    out=$("$tmp/hello") || { echo "FAIL: the tour program ($cc) failed"; fail=1; continue; }
    [ "$out" = "after 1 s: y = -9.81" ] || { echo "FAIL: the tour program ($cc) printed '$out'"; fail=1; continue; }
done
[ $fail -eq 0 ] && echo "README tour (C: cc, clang; C++17: g++, clang++): after 1 s: y = -9.81"
exit $fail
