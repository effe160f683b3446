# Timing helpers for the shell benchmarks (sourced, not run):
#   time_runs CMD...   runs CMD $runs times and prints the median seconds
# (exits the benchmark when CMD fails).
now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
time_runs() {
    i=0
    while [ $i -lt "$runs" ]; do
        t0=$(now); "$@" || exit 1; t1=$(now)
        echo "$t1 - $t0" | bc -l
        i=$((i + 1))
    done | median
}
