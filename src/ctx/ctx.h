/* The context: configuration, storage backends and the shared thread pool. */
#ifndef RDI_CTX_H
#define RDI_CTX_H

#include "core/core.h"
#include "core/pool.h"
#include "vfs/vfs.h"

struct radi_ctx {
    radi_config config;
    rdi_vfs *vfs;
    rdi_pool *pool;   /* config.concurrency threads; used for I/O and (de)compression */
};

#endif
