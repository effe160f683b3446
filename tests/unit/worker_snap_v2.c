/*
 * worker_snap_v2.c: the other side of test_worker_snap's mismatch test, a
 * translation unit compiled against worker_snap_v2.soa (Body has one more
 * field), as a newer worker binary would be.
 */
#include <errno.h>

#include "worker_snap_v2.h"

int v2_drift_attach(const soa_arena *a, size_t offset);

/* What a v2 worker gets when it attaches to a v1 snapshot. */
int v2_drift_attach(const soa_arena *a, size_t offset)
{
    Drift_snap s;
    return Drift_snap_attach(&s, a, offset);
}
