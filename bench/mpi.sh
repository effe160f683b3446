#!/bin/sh
# make bench-mpi: bench_mpi (bench/mpi.c) on 1, 2 and 4 ranks of this
# machine, and the table: ns per entity per frame (median of the repeats)
# with its ratio to 1 rank measured in the same run, migrations and bytes
# per frame, and the bytes of replication at 100% and 1% changed rows.
# `--quick` runs a short version.
bin=$1; shift
n=1000000; f=20; r=5
[ "$1" = --quick ] && { n=200000; f=10; r=3; }
export OMPI_MCA_btl=self,vader OMPI_MCA_mpi_yield_when_idle=1
cores=$(nproc)
out=$(mktemp); trap 'rm -f "$out"' EXIT
for np in 1 2 4; do
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np $np \
        "$bin" -n $n -f $f -r $r >>"$out" || { echo "bench_mpi failed on $np ranks" >&2; exit 1; }
done
echo "bench-mpi: $n entities (Position + Velocity, strips of x, Integrate + end of frame),"
echo "$f frames x $r repeats per rank count; this machine has $cores cores, so more than"
echo "$cores ranks share them (oversubscribed: 4 ranks on 2 cores measure the protocol, not a speed-up)."
echo
awk '
/^scale/ { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    np = v["ranks"]; ns[np] = v["ns_per_entity_frame"]; lo[np] = v["min"]; hi[np] = v["max"]
    mig[np] = v["migrated_per_frame"]; by[np] = v["bytes_per_frame"]; order[++k] = np }
/^replicate/ { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    rnp = v["ranks"]; b100[rnp] = v["bytes_100"]; b1[rnp] = v["bytes_1"]; full[rnp] = v["full_copy"]
    r100[rnp] = v["rows_100"]; r1[rnp] = v["rows_1"] }
/^migrate/ { for (i = 1; i < NF; i++) v[$i] = $(i + 1)
    key = v["ranks"] " " v["percent"]; mb[key] = v["bytes"]; mm[key] = v["moved"]; mt[key] = v["ms"] }
END {
    printf "%-6s %22s %12s %16s %18s\n", "ranks", "ns/entity/frame (med)", "vs 1 rank", "migrated/frame", "migration B/frame"
    for (j = 1; j <= k; j++) { np = order[j]
        printf "%-6s %12.2f (%.2f-%.2f) %11.2fx %16.1f %18.0f\n", np, ns[np], lo[np], hi[np], ns[np] / ns[1], mig[np], by[np] }
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
