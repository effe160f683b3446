/* write.c: writing outputs without losing anything (see write.h). */
#define _DEFAULT_SOURCE 1 /* mkstemp, fchmod, realpath */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"
#include "write.h"

/* Writes all of `data` to fd: 0 or an errno. */
static int write_all(int fd, const soac_out *data)
{
    size_t done = 0;
    while (done < data->len) {
        ssize_t w = write(fd, data->data + done, data->len - done);
        if (w < 0 && errno != EINTR)
            return errno;
        if (w > 0)
            done += (size_t)w;
    }
    return 0;
}

/* Whether the regular file `path` holds exactly `data`. */
static bool same_content(const char *path, const soac_out *data)
{
    char *text;
    size_t len;
    if (soac_read_file(path, SOAC_MAX_SOURCE, true, &text, &len) != 0)
        return false;
    bool same = len == data->len && memcmp(text, data->data, len) == 0;
    free(text);
    return same;
}

static int write_error(const char *path, int err)
{
    fprintf(stderr, "soac: error: cannot write '%s': %s\n", path, strerror(err));
    return 2;
}

/* Replaces the regular file `file` (or creates it) with `data` through a
 * temporary file beside it, unless it already holds it; `path` is the
 * name messages use. */
static int replace(const char *path, const char *file, const soac_out *data)
{
    if (same_content(file, data))
        return 0;
    size_t n = strlen(file);
    char *tmp = malloc(n + 16);
    if (!tmp) {
        fprintf(stderr, "soac: error: out of memory\n");
        return 2;
    }
    memcpy(tmp, file, n);
    memcpy(tmp + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "soac: error: cannot create a temporary file next to '%s': %s\n",
                file, strerror(errno));
        free(tmp);
        return 2;
    }
    mode_t mask = umask(0);
    umask(mask);
    int err = fchmod(fd, 0666 & ~mask) != 0 ? errno : 0;
    if (!err)
        err = write_all(fd, data);
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, file) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    free(tmp);
    return err ? write_error(path, err) : 0;
}

/* Writes `data` straight into what `path` names (following links), with
 * `flags` added to the open: a device, a FIFO, a terminal. */
static int write_through(const char *path, const soac_out *data, int flags)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | flags);
    if (fd < 0)
        return write_error(path, errno);
    int err = write_all(fd, data);
    if (close(fd) != 0 && !err)
        err = errno;
    return err ? write_error(path, err) : 0;
}

int soac_write_output(const char *path, const soac_out *data)
{
    struct stat st, lst;
    bool link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return write_error(path, errno);
        if (link) {
            fprintf(stderr, "soac: error: not writing through dangling symbolic link '%s'\n",
                    path);
            return 2;
        }
        return replace(path, path, data);
    }
    if (!S_ISREG(st.st_mode))
        return write_through(path, data, 0);
    if (!link)
        return replace(path, path, data);
    /* the file a link names is replaced in its own directory; a link
     * whose target has no name of its own (/proc/self/fd/1 of a deleted
     * file) is written through */
    char *file = realpath(path, NULL);
    struct stat fst;
    int rc;
    if (file && stat(file, &fst) == 0 && fst.st_dev == st.st_dev &&
        fst.st_ino == st.st_ino)
        rc = replace(path, file, data);
    else
        rc = write_through(path, data, O_TRUNC);
    free(file);
    return rc;
}
