/*
 * integrate.c: the task table with Integrate's kernel, linked into the
 * worker binary (which runs it) and into the main program (which needs it
 * only when it falls back to a worker thread).
 */
#include "integrate.h"

const soa_worker_task integrate_tasks[NTASKS] = {
    {&Integrate_shm, (soa_fn)physics_integrate, NULL},
};
