/*
 * integrate.c: Integrate's kernel, linked into the worker binary (which
 * runs it) and into the main program (which needs it only when it falls
 * back to a worker thread).
 */
#include "integrate.h"

/* position += velocity * dt for one chunk of rows, columns in place. */
static void integrate_kernel(const Integrate_view *v, const soa_frame *f,
                             void *ctx)
{
    (void)ctx;
    float dt = (float)f->dt;
    for (size_t i = v->begin; i < v->end; i++) {
        v->Position.x[i] += v->Velocity.x[i] * dt;
        v->Position.y[i] += v->Velocity.y[i] * dt;
        soa_bitset_set(v->Position.changed, i);
    }
}

const soa_worker_task integrate_tasks[NTASKS] = {
    {&Integrate_shm, (soa_fn)integrate_kernel, NULL},
};
