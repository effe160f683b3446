#!/bin/sh
# make bench-mpi: bench_mpi (bench/mpi.c) on 1, 2 and 4 ranks of this
# machine, and the table: ns per entity per frame with its ratio to 1 rank
# measured in the same round, migrations and bytes per frame, and the
# bytes of replication and of migration at 100% and 1% of the rows.  The
# partition rule is timed twice: by value (a call per row, as
# examples/mpi-physics) and by columns (soa_mpi_partition_cols).
# Three rounds of 1, 2, 4 ranks in turn, so each ratio compares runs made
# under the same load; the table shows the median round.  `--quick` runs
# a short version.
bin=$1; shift
n=1000000; f=20; r=3; rounds=3
[ "$1" = --quick ] && { n=200000; f=10; r=2; rounds=1; }
export OMPI_MCA_btl=self,vader OMPI_MCA_mpi_yield_when_idle=1
cores=$(nproc)
out=$(mktemp); trap 'rm -f "$out"' EXIT
for round in $(seq $rounds); do
    for np in 1 2 4; do
        flag=-s; [ $round -eq 1 ] && flag=
        echo "round $round" >>"$out"
        mpirun --allow-run-as-root --oversubscribe --bind-to none -np $np \
            "$bin" -n $n -f $f -r $r $flag >>"$out" || { echo "bench_mpi failed on $np ranks" >&2; exit 1; }
    done
done
echo "bench-mpi: $n entities (Position + Velocity, strips of x, Integrate + end of frame),"
echo "$rounds rounds of 1, 2, 4 ranks, each the median of $r x $f frames; this machine has"
echo "$cores cores, load $(cut -d' ' -f1-3 /proc/loadavg) (others' work shares them): more than $cores"
echo "ranks are oversubscribed and measure the protocol's cost, not a speed-up."
echo
awk -v rounds=$rounds '
function median(list,   a, n, i, j, t) { n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)] }
# "10.58  1.03x (1.01 1.19 1.03)": the median ns of a rank count, its ratios
function cell(t, np,   q, nl, rl, rs, x) { nl = ""; rl = ""; rs = ""
    for (q = 1; q <= rounds; q++) { nl = nl " " t[q, np]; x = t[q, np] / t[q, 1]
        rl = rl " " x; rs = rs sprintf("%s%.2f", q > 1 ? " " : "", x) }
    return sprintf("%6.2f %5.2fx (%s)", median(nl), median(rl), rs) }
/^round/ { round = $2 }
/^scale/ { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    np = v["ranks"]; ns[round, np] = v["ns_per_entity_frame"]; nc[round, np] = v["ns_cols"]
    sp[round, np] = v["spin_ms"]
    mig[np] = v["migrated_per_frame"]; by[np] = v["bytes_per_frame"]; if (!(np in seen)) { seen[np] = 1; order[++k] = np } }
/^replicate/ { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    rnp = v["ranks"]; b100[rnp] = v["bytes_100"]; b1[rnp] = v["bytes_1"]; full[rnp] = v["full_copy"]
    r100[rnp] = v["rows_100"]; r1[rnp] = v["rows_1"] }
/^migrate/ { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    key = v["ranks"] " " v["percent"]; mb[key] = v["bytes"]; mm[key] = v["moved"]; mt[key] = v["ms"] }
END {
    printf "%-6s %-38s %-38s %9s %9s %8s\n", "ranks", "ns/entity/frame, rule by value", "rule by columns", "migrated", "bytes", "cores"
    printf "%-6s %-38s %-38s %9s %9s %8s\n", "", "(vs 1 rank: median; the rounds)", "(vs 1 rank: median; the rounds)", "/frame", "/frame", "got"
    for (j = 1; j <= k; j++) { np = order[j]; cl = ""
        for (q = 1; q <= rounds; q++) cl = cl " " np * sp[q, 1] / sp[q, np]
        printf "%-6s %-38s %-38s %9.1f %9.0f %8.2f\n", np, cell(ns, np), cell(nc, np), mig[np], by[np], median(cl) }
    print ""
    print "cores got: how many cores the ranks had between them, from a fixed loop every rank ran at"
    print "once before timing (np x its time on 1 rank / its time on np ranks; 2.00 = two free cores)."
    print ""
    printf "%-6s %-28s %-28s %s\n", "ranks", "replication, 100% changed", "replication, 1% changed", "1% / 100%"
    for (j = 1; j <= k; j++) { np = order[j]; if (np == 1) continue
        printf "%-6s %12d B (%7d rows)   %12d B (%7d rows)   %.2f%% (full copy %d B)\n", np, b100[np], r100[np], b1[np], r1[np], 100 * b1[np] / b100[np], full[np] }
    print ""
    printf "%-6s %-36s %-36s %s\n", "ranks", "migration, 1% of entities move", "migration, 100% move", "1% / 100%"
    for (j = 1; j <= k; j++) { np = order[j]; if (np == 1) continue
        a = np " 1"; b = np " 100"
        printf "%-6s %12d B %8d moved %7.1f ms   %12d B %8d moved %7.1f ms   %.2f%%\n", np, mb[a], mm[a], mt[a], mb[b], mm[b], mt[b], 100 * mb[a] / mb[b] }
}' "$out"
