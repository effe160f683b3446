/*
 * worker.c: the worker binary of the worker-process example.  The main
 * program starts it with the shared arena's fd on the command line; it
 * attaches the arena, checks that its systems match the main program's
 * (layout hashes), and runs Integrate on the snapshots it is sent until it
 * is told to quit.  Started by hand it explains itself and exits 2.
 */
#include <stdio.h>

#include "integrate.h"

int main(int argc, char **argv)
{
    int rc = soa_worker_main(argc, argv, integrate_tasks, NTASKS);
    if (rc == 2)
        fprintf(stderr, "%s: a worker binary: run by worker-process, which "
                "passes --soa-worker-fd and --soa-worker-root\n", argv[0]);
    return rc;
}
