/* Group fixture shared by the tdb object tests: one context and one codec scratch. */
#ifndef RADI_TEST_CTX_FIXTURE_H
#define RADI_TEST_CTX_FIXTURE_H

#include "tdb/tdb.h"

static radi_ctx *g_ctx;
static rdi_scratch *g_scratch;

static int setup(void **state)
{
    (void)state;
    if (rdi_scratch_create(&g_scratch) != RADI_OK) return -1;
    return radi_ctx_create(NULL, &g_ctx) == RADI_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rdi_scratch_free(g_scratch);
    radi_ctx_free(g_ctx);
    return 0;
}

#endif
