/*
 * source.h: loaded schema files, the line map, and diagnostics.
 *
 * A soac_source owns the bytes of one file.  Locations (soac_loc) point into
 * it by line, column and byte offset; the diagnostic printer uses the offset
 * to show the source line with a caret under the column, GNU style:
 *
 *   game.soa:3:12: error: unknown type 'f33'
 *       pos: f33;
 *            ^
 */
#ifndef SOAC_SOURCE_H
#define SOAC_SOURCE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ast.h"

struct soac_source {
    char *key;       /* identity for "read once": a canonical path */
    char *display;   /* the path as shown in messages and depfiles */
    char *text;      /* the bytes, NUL-terminated (the file may hold NULs) */
    size_t len;
    soac_loc included_at; /* the include that first loaded it (src NULL:
                           * the main file): messages say "In file
                           * included from" */
};

/* Takes ownership of `text` (malloc'd, len bytes plus a NUL); copies the
 * strings.  Aborts the compiler on out-of-memory. */
soac_source *soac_source_new(const char *key, const char *display,
                             char *text, size_t len);
void soac_source_free(soac_source *s);

/* The largest schema file: the scanner takes its length as an int. */
#define SOAC_MAX_SOURCE ((size_t)1 << 30)

/* The errno soac_read_file gives a file that is not a regular one. */
#define SOAC_ENOTREG ENODEV

/*
 * Reads a whole file into a malloc'd, NUL-terminated buffer (*text, *len
 * bytes): 0, or -1 with errno set (the caller reports it with
 * soac_read_strerror).  Never holds more than `max` bytes: a longer file
 * fails with EFBIG, a regular one before anything is read, anything else
 * (a pipe, a device such as /dev/zero) as soon as it has given max + 1.
 * A directory fails with EISDIR.  With `regular_only`, anything else that
 * is not a regular file fails with SOAC_ENOTREG before it is read or
 * waited on (a FIFO with no writer).
 */
int soac_read_file(const char *path, size_t max, bool regular_only,
                   char **text, size_t *len);

/* The text for an errno from soac_read_file or a loader. */
const char *soac_read_strerror(int err);

/* ---- diagnostics ----------------------------------------------------- */

#define SOAC_MAX_SHOWN 20

/* One buffered message (see soac_diag). */
typedef struct soac_diag_msg {
    unsigned rank;     /* the file's place in the order files were seen */
    uint32_t offset;   /* the position in it */
    unsigned seq;      /* the report's number: ties keep report order */
    char *text;        /* the whole message, source line and caret */
} soac_diag_msg;

/*
 * Diagnostics.  Zero-initialise, set `out` (NULL: count only, for the
 * fuzzer).  Messages with a location are kept, and soac_diag_flush prints
 * the first SOAC_MAX_SHOWN in file and source order (the checker finds
 * errors pass by pass, a reader wants them top to bottom), then a count.
 * Only those SOAC_MAX_SHOWN are ever held, so memory stays bounded however
 * many errors a schema has.
 */
typedef struct soac_diag {
    FILE *out;
    unsigned errors;  /* how many were reported, shown or not */
    soac_diag_msg kept[SOAC_MAX_SHOWN];
    unsigned nkept;
    const soac_source *files[64]; /* ranks: the first 64 files seen */
    unsigned nfiles;
} soac_diag;

/* Reports `FILE:LINE:COL: error: MESSAGE`, the line and a caret. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void soac_error(soac_diag *d, soac_loc loc, const char *fmt, ...);
void soac_verror(soac_diag *d, soac_loc loc, const char *fmt, va_list ap);

/* An error with no location (`soac: error: MESSAGE`). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void soac_error_noloc(soac_diag *d, const char *fmt, ...);

/* Prints the kept messages in order, then "N errors generated." (and how
 * many were not shown), and frees them.  Nothing when there were none. */
void soac_diag_flush(soac_diag *d);

#endif /* SOAC_SOURCE_H */
