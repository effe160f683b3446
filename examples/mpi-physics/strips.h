/*
 * strips.h: what examples/mpi-physics and bench_mpi share: the 2-D domain
 * [0, STRIPS_WIDTH) in x cut into one strip per rank, the partition rule
 * that says which strip a Position is in, and Integrate's kernel (the
 * same as examples/physics).
 */
#ifndef MPI_PHYSICS_STRIPS_H
#define MPI_PHYSICS_STRIPS_H

#include "physics_sim.h" /* examples/physics: the kernel, start and checksum */

#define STRIPS_WIDTH 1000.0f

/* The rank whose strip Position *value is in; beyond the edges (or NaN)
 * the first or last.  ctx: a const int, the number of ranks. */
int strip_of(const void *value, void *ctx);

/* strip_of over a block of rows of Position's columns (x is column 0):
 * what soa_mpi_partition_cols takes, a loop the compiler vectorises. */
void strips_of_cols(void *const *cols, size_t begin, size_t end, int *ranks,
                    void *ctx);

#endif
