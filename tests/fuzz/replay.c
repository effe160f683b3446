/*
 * Replays fuzzer inputs through LLVMFuzzerTestOneInput without libFuzzer,
 * so `make test` can run the corpus under gcc's ASan+UBSan.  Arguments are
 * files or directories (every regular file in them, not recursive).
 * Prints how many inputs ran; a finding aborts through the sanitizers.
 */
#define _DEFAULT_SOURCE 1
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    char *text;
    size_t len;
    if (soac_read_file(path, SOAC_MAX_SOURCE, true, &text, &len) != 0) {
        perror(path);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)text, len);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed += run_file(argv[i]) != 0;
            ran++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            failed += run_file(p) != 0;
            ran++;
        }
        if (d)
            closedir(d);
    }
    printf("replayed %u inputs, %u unreadable\n", ran, failed);
    return failed ? 1 : 0;
}
