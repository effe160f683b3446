/* rules.h: the partition rules the MPI tests share (mpi_world over MPI,
 * test_mpi_wire between shards): Cell.dest, by value and by columns. */
#ifndef TESTS_MPI_RULES_H
#define TESTS_MPI_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "mpi_test.h"

static inline int dest_rule(const void *value, void *ctx)
{
    (void)ctx;
    return ((const Cell *)value)->dest;
}

/* The same over Cell's columns (dest is column 0). */
static inline void dest_cols(void *const *cols, size_t begin, size_t end,
                             int *ranks, void *ctx)
{
    const int32_t *dest = (const int32_t *)cols[0];
    (void)ctx;
    for (size_t i = begin; i < end; i++)
        ranks[i - begin] = dest[i];
}

#endif
