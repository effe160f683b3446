#!/bin/sh
# The build follows the conventions users expect of a Makefile: one short
# line per step unless V=1; CC, CFLAGS, CPPFLAGS and LDFLAGS from the
# command line or the environment, after ours; -Werror in development
# builds, not in `make install`.  Each in a private BUILD directory.
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
obj=obj/rel/runtime/src/pool.o
m() { make --no-print-directory BUILD="$tmp/b" "$@" 2>&1; }

out=$(m "$tmp/b/$obj")
printf '%s\n' "$out" | grep -q '^  CC      runtime/src/pool.c$' ||
    { echo "FAIL: no short line for pool.c:"; printf '%s\n' "$out"; fail=1; }
printf '%s\n' "$out" | grep -q -- '-Wall' &&
    { echo "FAIL: the whole command was printed without V=1"; fail=1; }

rm -f "$tmp/b/$obj"
out=$(m V=1 CFLAGS=-DUSER_CFLAG CPPFLAGS=-DUSER_CPPFLAG "$tmp/b/$obj")
line=$(printf '%s\n' "$out" | grep 'pool.c')
case "$line" in
*-Werror*-DUSER_CFLAG*-Iruntime/include*-DUSER_CPPFLAG*) ;;
*) echo "FAIL: V=1 with CFLAGS/CPPFLAGS: $line"; fail=1 ;;
esac

rm -f "$tmp/b/$obj"
out=$(CC=true m V=1 "$tmp/b/$obj")
printf '%s\n' "$out" | grep -q '^true ' ||
    { echo "FAIL: CC from the environment was not used: $out"; fail=1; }

out=$(m -n V=1 LDFLAGS=-Wl,--as-needed "$tmp/b/bin/physics")
printf '%s\n' "$out" | grep -q 'physics.*-Wl,--as-needed\|-Wl,--as-needed.*physics' ||
    { echo "FAIL: LDFLAGS not in the link of physics"; fail=1; }

out=$(m -n V=1 install PREFIX="$tmp/prefix")
printf '%s\n' "$out" | grep -E '^gcc .* -c ' | grep -q -- '-Werror' &&
    { echo "FAIL: make install compiles with -Werror"; fail=1; }
printf '%s\n' "$out" | grep -Eq '^gcc .* -c ' ||
    { echo "FAIL: make -n install compiled nothing (test broken)"; fail=1; }
out=$(m -n V=1 all)
printf '%s\n' "$out" | grep -E '^gcc .* -c ' | grep -q -- '-Werror' ||
    { echo "FAIL: a development build has no -Werror"; fail=1; }

[ $fail -eq 0 ] && echo "make: short lines, V=1, CC/CFLAGS/CPPFLAGS/LDFLAGS, no -Werror in install"
exit $fail
