/* SPDX-License-Identifier: Apache-2.0 */
/* main() for a fuzz harness without libFuzzer: calls LLVMFuzzerTestOneInput once on every file named on the
 * command line and on every file of the directories named there (in name order), as CTest's fuzz.<name> tests do
 * with corpus/<name>. Each input is in a buffer of exactly its size, so a sanitizer build catches over-reads. A
 * crash or a failed check ends the run, and so does finding no input at all: an empty corpus tests nothing. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;
    size_t n;

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    n = buf != NULL ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (buf == NULL || n != (size_t)st.st_size) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int skip_dots(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    int count = 0;

    for (int i = 1; i < argc; i++) {
        struct dirent **names = NULL;
        struct stat st;
        int n;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) != 0)
                return 1;
            count++;
            continue;
        }
        if ((n = scandir(argv[i], &names, skip_dots, alphasort)) < 0) {
            fprintf(stderr, "replay: %s: cannot list\n", argv[i]);
            return 1;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
            if (run_file(path) != 0)
                return 1;
            count++;
            free(names[k]);
        }
        free(names);
    }
    printf("replay: %d inputs, no failure\n", count);
    return count > 0 ? 0 : 1;
}
