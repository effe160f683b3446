/*
 * The soac command under libFuzzer, against a real directory: what the
 * in-memory harness (fuzz_soac.c) cannot reach.  The input is the command
 * line and the files it runs on:
 *
 *   -I inc -o out.h --depfile out.d main.soa      the arguments, one line
 *   === main.soa                                  a file; its lines follow
 *   include "lib.soa";
 *   === inc/lib.soa
 *   component L { x: f32; }
 *   === out.h -> gen/out.h                        a symbolic link
 *   === null (null)                               a null device (as root)
 *
 * Each run empties a private temporary directory, makes the files there
 * and runs soac_cli_main in it: argument parsing, include resolution
 * (relative, -I, subdirectories, cycles), reading, the depfile and the
 * writing of outputs (temporary files, links, devices).  Beyond crashes,
 * sanitizer reports and leaks, a run fails on an exit status other than
 * 0, 1 or 2, a temporary file left behind, or a link or device node that
 * soac replaced.
 *
 * Nothing outside the directory may be touched: an input with ".." or an
 * absolute path anywhere (in an argument, a file name, a link or a
 * schema's include) is skipped.  The same entry point is driven by
 * tests/fuzz/replay.c over tests/fuzz/corpus_cli in `make test`.
 */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp, mknod, symlink */
#define _DEFAULT_SOURCE 1 /* makedev */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"

#define MAX_ARGS 64
#define MAX_FILES 16
#define MAX_NAME 64

typedef enum kind { REGULAR, LINK, NULLDEV } kind;

typedef struct entry {
    kind kind;
    char name[MAX_NAME + 1];
    char target[MAX_NAME + 1];  /* LINK */
    const char *text;           /* REGULAR: its bytes */
    size_t len;
} entry;

typedef struct plan {
    char *args[MAX_ARGS + 1];   /* argv: "soac" and the arguments */
    int argc;
    entry files[MAX_FILES];
    int nfiles;
} plan;

static char workdir[64];

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0 && remove(path) != 0)
        abort(); /* the next run would see this one's files */
    return 0;
}

static void remove_workdir(void)
{
    nftw(workdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    rmdir(workdir);
}

/* Empties the directory (made on the first call). */
static void fresh_workdir(void)
{
    if (!workdir[0]) {
        strcpy(workdir, "/tmp/soac-fuzz-cli-XXXXXX");
        if (!mkdtemp(workdir))
            abort();
        atexit(remove_workdir);
        return;
    }
    nftw(workdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Whether a path stays inside the directory: relative, no "..". */
static bool confined(const char *p)
{
    return p[0] != '/' && !strstr(p, "..");
}

/* A file name: 1..MAX_NAME bytes of [A-Za-z0-9._-/], confined, no empty
 * part, and not like soac's temporary files (".tmp-"). */
static bool good_name(const char *p, size_t n)
{
    if (n == 0 || n > MAX_NAME || p[0] == '/' || p[n - 1] == '/')
        return false;
    for (size_t i = 0; i + 5 <= n; i++)
        if (memcmp(p + i, ".tmp-", 5) == 0)
            return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-' || c == '/';
        if (!ok || (c == '/' && p[i + 1] == '/'))
            return false;
        if (c == '.' && i + 1 < n && p[i + 1] == '.')
            return false;
    }
    return true;
}

/* Splits the first line into arguments (at spaces; an argument may not
 * name anything outside, nor be "-I/abs" or "--depfile=/abs", nor look
 * like soac's temporary files). */
static bool parse_args(plan *pl, char *line)
{
    pl->args[pl->argc++] = "soac";
    for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
        if (pl->argc == MAX_ARGS || !confined(tok) || strstr(tok, "I/") ||
            strstr(tok, "=/") || strstr(tok, ".tmp-"))
            return false;
        pl->args[pl->argc++] = tok;
    }
    pl->args[pl->argc] = NULL;
    return true;
}

/* Reads the rest of a "=== NAME", "=== NAME -> TARGET" or
 * "=== NAME (null)" line. */
static bool parse_header(entry *e, const char *h, size_t n)
{
    char line[2 * MAX_NAME + 16];
    if (n >= sizeof line)
        return false;
    memcpy(line, h, n);
    line[n] = '\0';
    char *arrow = strstr(line, " -> ");
    if (n > 7 && strcmp(line + n - 7, " (null)") == 0) {
        e->kind = NULLDEV;
        line[n - 7] = '\0';
    } else if (arrow) {
        if (!good_name(arrow + 4, strlen(arrow + 4)))
            return false;
        strcpy(e->target, arrow + 4);
        e->kind = LINK;
        *arrow = '\0';
    }
    if (!good_name(line, strlen(line)))
        return false;
    strcpy(e->name, line);
    return true;
}

/* Whether a schema's bytes could name something outside the directory
 * (an absolute include, or ".."). */
static bool reaches_out(const char *text, size_t len)
{
    for (size_t k = 0; k + 1 < len; k++)
        if ((text[k] == '"' && text[k + 1] == '/') ||
            (text[k] == '.' && text[k + 1] == '.'))
            return true;
    return false;
}

/* Splits `text` (NUL-terminated, modified) into the plan; false to skip
 * the input. */
static bool parse(plan *pl, char *text, size_t len)
{
    char *nl = memchr(text, '\n', len);
    if (!nl)
        return false;
    *nl = '\0';
    if (strlen(text) != (size_t)(nl - text) || !parse_args(pl, text))
        return false;
    char *p = nl + 1, *end = text + len;
    entry *cur = NULL;
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *next = eol ? eol + 1 : end;
        if (end - p >= 4 && memcmp(p, "=== ", 4) == 0) {
            if (pl->nfiles == MAX_FILES)
                return false;
            cur = &pl->files[pl->nfiles++];
            memset(cur, 0, sizeof *cur);
            if (!parse_header(cur, p + 4, (size_t)((eol ? eol : end) - p - 4)))
                return false;
            cur->text = next;
        } else if (!cur) {
            return false;
        } else if (cur->kind == REGULAR) {
            cur->len = (size_t)(next - cur->text);
        }
        p = next;
    }
    for (int i = 0; i < pl->nfiles; i++)
        if (reaches_out(pl->files[i].text, pl->files[i].len))
            return false;
    return true;
}

/* Makes the directories above `name`. */
static void make_parents(const char *name)
{
    char dir[MAX_NAME + 1];
    for (const char *s = strchr(name, '/'); s; s = strchr(s + 1, '/')) {
        memcpy(dir, name, (size_t)(s - name));
        dir[s - name] = '\0';
        mkdir(dir, 0755);
    }
}

static void make_files(const plan *pl)
{
    for (int i = 0; i < pl->nfiles; i++) {
        const entry *e = &pl->files[i];
        make_parents(e->name);
        if (e->kind == LINK) {
            symlink(e->target, e->name);
        } else if (e->kind == NULLDEV) {
            mknod(e->name, S_IFCHR | 0666, makedev(1, 3)); /* not root: none */
        } else {
            int fd = open(e->name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                if (e->len && write(fd, e->text, e->len) != (ssize_t)e->len)
                    abort();
                close(fd);
            }
        }
    }
}

static int check_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (strstr(path + ftw->base, ".tmp-"))
        abort(); /* a temporary file left behind */
    return 0;
}

/* What each file is (a link, a device node, ...): 0 when there is none. */
static mode_t type_of(const char *name)
{
    struct stat st;
    return lstat(name, &st) == 0 ? st.st_mode & S_IFMT : 0;
}

/* What soac must have left as it was: the links and device nodes that
 * were there before it ran (`before`: their types), no temporary files. */
static void check_after(const plan *pl, const mode_t *before)
{
    for (int i = 0; i < pl->nfiles; i++)
        if ((before[i] == S_IFLNK || before[i] == S_IFCHR) &&
            type_of(pl->files[i].name) != before[i])
            abort(); /* a link or a device node replaced by a file */
    nftw(".", check_one, 16, FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static plan pl;
    memset(&pl, 0, sizeof pl);
    if (!parse(&pl, text, size)) {
        free(text);
        return 0;
    }
    /* a schema '-' reads standard input: an empty one, never the
     * fuzzer's terminal or pipe */
    static bool stdin_closed;
    if (!stdin_closed) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) != 0)
            abort();
        close(null);
        stdin_closed = true;
    }
    fresh_workdir();
    int back = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (back < 0 || chdir(workdir) != 0)
        abort();
    make_files(&pl);
    mode_t before[MAX_FILES];
    for (int i = 0; i < pl.nfiles; i++)
        before[i] = type_of(pl.files[i].name);
    int rc = soac_cli_main(pl.argc, pl.args);
    fflush(stdout);
    clearerr(stdout);
    if (rc < 0 || rc > 2)
        abort();
    check_after(&pl, before);
    if (fchdir(back) != 0)
        abort();
    close(back);
    free(text);
    return 0;
}
