#!/bin/sh
# The README's five-minute tour works as written: its schema compiles with
# soac, its program builds against libsoa and prints what the comment says.
cd "$(dirname "$0")/.." || exit 2
build=${SOAC_TEST_BUILD:-build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" -f tests/readme_tour.awk README.md
[ -s "$tmp/hello.soa" ] && [ -s "$tmp/main.c" ] || { echo "FAIL: no tour in README.md"; exit 1; }
"$build/bin/soac" "$tmp/hello.soa" || { echo "FAIL: soac rejects the tour schema"; exit 1; }
cc -std=c11 -Wall -Wextra -Werror -O2 -Iruntime/include -I"$tmp" "$tmp/main.c" \
   "$build/lib/libsoa.a" -lpthread -o "$tmp/hello" || { echo "FAIL: the tour program does not build"; exit 1; }
out=$("$tmp/hello") || { echo "FAIL: the tour program failed"; exit 1; }
[ "$out" = "after 1 s: y = -9.81" ] || { echo "FAIL: the tour printed '$out'"; exit 1; }
echo "README tour: $out"
