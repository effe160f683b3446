/*
 * write.h: writing soac's outputs (the header, the depfile) so that a
 * failed run loses nothing and an unchanged output keeps its mtime.
 *
 * A regular file (or a path that does not exist yet) is replaced whole: the
 * data goes to a temporary file in the same directory, renamed over it,
 * and only when the content changes.  A symbolic link is written through
 * to the file it names, as cp does (the link stays; a dangling one is
 * refused).  Anything that is not a regular file (a device such as
 * /dev/null, a FIFO, /dev/stdout on a pipe or a terminal) is written
 * straight to: it is never read, replaced or renamed over.
 */
#ifndef SOAC_WRITE_H
#define SOAC_WRITE_H

#include "out.h"

/* Writes `data` to `path` as above: 0, or 2 (the CLI's exit status for an
 * I/O error) after printing why to stderr.  Leaves no temporary file
 * behind on failure, if SIGXFSZ is ignored (a file size limit then fails
 * the write with EFBIG instead of killing the process). */
int soac_write_output(const char *path, const soac_out *data);

#endif /* SOAC_WRITE_H */
