# Sourced by the MPI test scripts: skips visibly without Open MPI, and
# defines mpi_run NP PROGRAM ARGS... (loopback only, 4 ranks on 2 cores).
#
# btl self,vader: shared memory between ranks on this machine, no network;
# yield_when_idle: a rank waiting in MPI gives its core to the others
# (4 ranks on 2 cores must not starve each other); --bind-to none: the
# ranks share whatever cores are free (other builds run too).
cd "$(dirname "$0")/.." || exit 2
B=${SOAC_TEST_BUILD:-${BUILD:-build}}
if ! command -v mpirun >/dev/null 2>&1 || ! command -v mpicc >/dev/null 2>&1; then
    echo "SKIPPED: $(basename "$0"): Open MPI is not installed (apt-get install libopenmpi-dev openmpi-bin)"
    exit 0
fi
export OMPI_MCA_btl=self,vader OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_orte_base_help_aggregate=0
mpi_run() {
    np=$1; shift
    timeout 120 mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$np" "$@"
}
need() {
    for f in "$@"; do
        [ -x "$f" ] || { echo "FAIL: missing $f (make mpi)"; exit 1; }
    done
}
