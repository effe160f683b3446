/*
 * soac_run.h: running soac as a subprocess from the compiler's cmocka
 * tests.  Header-only, shared by tests/unit/test_compiler_*.c.
 */
#ifndef SOAC_RUN_H
#define SOAC_RUN_H

#define _DEFAULT_SOURCE 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The soac under test: $SOAC, else the ASan+UBSan build. */
static inline const char *soac_path(void)
{
    const char *s = getenv("SOAC");
    return s && *s ? s : "build/asan/bin/soac";
}

/* Runs the shell command `cmd 2>&1` with $SOAC set to the soac under test;
 * returns its exit status (-1 if it did not exit normally) and its output
 * in *out (malloc'd). */
static inline int soac_sh(const char *cmd, char **out)
{
    char line[4200];
    snprintf(line, sizeof line, "%.4096s 2>&1", cmd);
    setenv("SOAC", soac_path(), 1);
    FILE *p = popen(line, "r");
    if (!p) {
        *out = strdup("popen failed");
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    int st = pclose(p);
    if (buf)
        buf[len] = '\0';
    *out = buf ? buf : strdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs `soac ARGS 2>&1` through the shell, as soac_sh. */
static inline int soac_run(const char *args, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "\"$SOAC\" %s", args);
    return soac_sh(cmd, out);
}

/* A whole file (NUL-terminated, malloc'd) or NULL; *len its size. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static inline int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

#endif /* SOAC_RUN_H */
