/* Byte-for-byte snapshots of a directory tree, for the tests that show a failed or
 * rolled-back write leaves every file as it was. Include after dataset_fixture.h. */
#ifndef RADI_TEST_SNAPSHOT_FIXTURE_H
#define RADI_TEST_SNAPSHOT_FIXTURE_H

#include <dirent.h>

#include "model/dataset.h"

/* Every file below dir (names sorted, the writer lock excluded: it stays between
 * writes) with its size and an FNV-1a hash of its bytes, one line each. */
static void snapshot_dir(const char *dir, const char *rel, rdi_buf *out)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 || strcmp(nm, RDI_DS_LOCK_NAME) == 0) {
            free(ents[i]);
            continue;
        }
        char path[1024], sub[1024], line[1200];
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        snprintf(sub, sizeof sub, "%s/%s", rel, nm);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            snprintf(line, sizeof line, "%s/\n", sub);
            OK(rdi_buf_append(out, line, strlen(line)));
            snapshot_dir(path, sub, out);
        } else {
            uint64_t h = 1469598103934665603ull;
            FILE *fp = fopen(path, "rb");
            assert_non_null(fp);
            int c;
            while ((c = fgetc(fp)) != EOF) h = (h ^ (uint64_t)c) * 1099511628211ull;
            fclose(fp);
            snprintf(line, sizeof line, "%s %lld %016llx\n", sub, (long long)st.st_size, (unsigned long long)h);
            OK(rdi_buf_append(out, line, strlen(line)));
        }
        free(ents[i]);
    }
    free(ents);
}

static void snapshot(const char *root, rdi_buf *out)
{
    out->len = 0;
    snapshot_dir(root, "", out);
    OK(rdi_buf_append(out, "", 1));
}

#endif
