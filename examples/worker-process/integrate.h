/*
 * integrate.h: what both halves of the worker-process example share:
 * Integrate's kernel (the same as examples/physics) and the task table the
 * worker serves.  Task 0 is Integrate.
 */
#ifndef WORKER_PROCESS_INTEGRATE_H
#define WORKER_PROCESS_INTEGRATE_H

#include "physics.h"

#define INTEGRATE_TASK 0u
#define NTASKS 1u

extern const soa_worker_task integrate_tasks[NTASKS];

#endif
