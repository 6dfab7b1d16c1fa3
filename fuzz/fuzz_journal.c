/*
 * libFuzzer target: the dataset intent journal (src/model/journal.c, the text object
 * <root>/__radi_journal that the next writer rolls back). A journal that parses must
 * name an operation, and every path in it must stay inside the dataset (no "..", no
 * absolute path): roll-back deletes and moves what the journal names, so the parser is
 * the guard against a forged journal reaching outside the root. Checks that a parsed
 * journal's paths are all relative and free of ".." segments (rdi_journal_check_paths).
 */
#include <stdint.h>
#include <stdlib.h>

#include "model/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rdi_journal *j = NULL;
    radi_status s = rdi_journal_parse(NULL, "/fuzz/ds", data, size, &j);
    if (s == RADI_OK) {
        if (!j || !rdi_journal_paths_confined(j)) abort();
        rdi_journal_free(j);
    } else if (j) {
        abort();
    }
    return 0;
}
