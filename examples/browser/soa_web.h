/*
 * soa_web.h: any system's transfer path (transfer.js), for a module built
 * without threads and loaded twice: once by the page, which holds the
 * world, and once by each Web Worker (or Node worker_threads Worker),
 * which holds only columns.  Everything JavaScript needs is read from the
 * system's layout table (soa_sys_layout in soa/desc.h), so transfer.js
 * knows no component.
 *
 * The program names the systems it offloads, with their kernels, in
 * soa_web_setup(); each side finds them by name (soa_web_find).
 *
 * A frame:
 *
 *   page    soa_web_build; copies each column k < soa_web_ncols out of
 *           soa_web_col (soa_web_rows rows of soa_web_col_size bytes)
 *   worker  soa_web_kernel_reserve, copies the columns in at
 *           soa_web_kernel_col, soa_web_kernel_run: the kernel over every
 *           row, then the reply packed at soa_web_kernel_out
 *   page    copies the reply into soa_web_inbox, soa_web_commit
 *
 * The reply, for each written term with columns in layout order: its
 * changed bitset (soa_bitset_words(rows) uint64 words), then each of its
 * columns' values at the changed rows only, in row order, each part padded
 * to 8 bytes.  The bitset is the row index: the page takes from the reply
 * only what its own bitset count says is there, and refuses a reply whose
 * size differs from that.
 *
 * Kernels run over rows [0, rows) in one call, with the worker's view's
 * `eids` NULL (entity ids are not sent).  Functions return -1 (or NULL)
 * on a bad argument or when memory runs out; the sides are
 * single-threaded.  Declared with C linkage for emscripten's exports.
 */
#ifndef SOA_WEB_H
#define SOA_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "soa/soa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by the program: registers its offloaded systems
 * (soa_web_register); 0, or -1 to fail every soa_web_find.  Called once
 * per instance, at the first soa_web_find. */
int soa_web_setup(void);

/* Offloads `sys` (a generated S_system) with `kernel` (erased with
 * S_kernel_fn) and its ctx.  Its id, or -1 (a NULL argument, a name taken,
 * too many systems). */
int soa_web_register(const soa_system_desc *sys, soa_fn kernel, void *ctx);

/* The id of the system named `name`, or -1. */
int soa_web_find(const char *name);

/* ---- the page ------------------------------------------------------- */

/* Builds system `id`'s snapshot of `w` (the first build makes it): its
 * rows, or -1. */
int soa_web_build(int id, soa_world *w);

/* Rows of the last build (0 before). */
int soa_web_rows(int id);

/* Columns of system `id` (soa_sys_layout.ncols), or -1. */
int soa_web_ncols(int id);

/* Bytes per row of column k, or 0. */
int soa_web_col_size(int id, int k);

/* 1 when column k belongs to a written component, 0 when read, -1 for no
 * such column. */
int soa_web_col_written(int id, int k);

/* Column k of the built snapshot (rows [0, soa_web_rows)), or NULL. */
void *soa_web_col(int id, int k);

/* Room for a reply of `bytes` bytes, or NULL. */
void *soa_web_inbox(int id, int bytes);

/* Checks the reply of `bytes` bytes in the inbox against the snapshot
 * (its size must be what its bitsets say, for this build's rows), writes
 * its rows into the snapshot, marks them changed and commits them to `w`:
 * the values written (soa_snap_commit), or -1 with the snapshot's values
 * untouched when the reply does not fit this build. */
int soa_web_commit(int id, soa_world *w, int bytes);

/* ---- the worker ----------------------------------------------------- */

/* Room for `rows` rows of every column; 0 or -1. */
int soa_web_kernel_reserve(int id, int rows);

/* Where column k's rows go (room for the reserved rows), or NULL. */
void *soa_web_kernel_col(int id, int k);

/* Runs the kernel over rows [0, rows) (at most the reserved rows) of frame
 * `index` (a double: JavaScript's numbers) and packs the reply: its size
 * in bytes, or -1. */
int soa_web_kernel_run(int id, int rows, double dt, double time,
                       double index);

/* The packed reply of the last soa_web_kernel_run, or NULL. */
void *soa_web_kernel_out(int id);

#ifdef __cplusplus
}
#endif

#endif /* SOA_WEB_H */
