/*
 * integrate.h: what both halves of the worker-process example share:
 * the task table the worker serves, with Integrate's kernel from
 * examples/physics/physics_sim.c (so both print the same checksum).  Task 0 is
 * Integrate.
 */
#ifndef WORKER_PROCESS_INTEGRATE_H
#define WORKER_PROCESS_INTEGRATE_H

#include "physics_sim.h"

#define INTEGRATE_TASK 0u
#define NTASKS 1u

extern const soa_worker_task integrate_tasks[NTASKS];

#endif
