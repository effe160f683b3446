#!/bin/sh
# Runs every test program given and prints one summary line.  A cmocka
# program counts its own tests (its "[  PASSED  ]"/"[  FAILED  ]" lines);
# any other program counts as one test, passed when it exits 0.
passed=0; failed=0; bad=""
log=$(mktemp); trap 'rm -f "$log"' EXIT
n=0; total=$#
for t in "$@"; do
    n=$((n + 1))
    printf '== [%d/%d] %s\n' "$n" "$total" "$t"
    if [ -x "$t" ] || [ "${t%.sh}" != "$t" ]; then :; else
        echo "missing test program: $t"; failed=$((failed + 1)); bad="$bad $t"; continue
    fi
    case "$t" in *.sh) sh "$t" >"$log" 2>&1 ;; *) "$t" >"$log" 2>&1 ;; esac
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        if [ $rc -eq 0 ]; then p=1; else f=1; fi
    elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1   # a cmocka program that crashed after its summary
    fi
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -ne 0 ] && bad="$bad $t"
done
echo
[ -n "$bad" ] && echo "failing:$bad"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
