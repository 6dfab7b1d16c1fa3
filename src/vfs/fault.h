/*
 * A fault-injecting backend for tests (SQLite's testvfs is the model): it forwards to
 * another backend and fails chosen calls, so tests can prove that every write is
 * all-or-nothing and that a failing read never damages stored data.
 */
#ifndef RDI_VFS_FAULT_H
#define RDI_VFS_FAULT_H

#include "vfs/vfs.h"

typedef enum rdi_fault_op {
    RDI_FAULT_READ = 1 << 0,
    RDI_FAULT_WRITE = 1 << 1,
    RDI_FAULT_LS = 1 << 2,
    RDI_FAULT_REMOVE = 1 << 3,
    RDI_FAULT_SIZE = 1 << 4
} rdi_fault_op;

typedef struct rdi_fault {
    unsigned ops_mask;      /* which operations count and may fail */
    uint64_t fail_at;       /* 1-based index of the counted call that fails; 0 = never */
    int persistent;         /* after fail_at, every counted call fails */
    int short_read;         /* a failing read returns RADI_E_CORRUPT (truncated) instead of IO */
    uint64_t calls;         /* counted calls so far (read back by tests) */
    uint64_t failures;      /* failures injected so far */
    const rdi_vfs_ops *inner;
    void *inner_self;
} rdi_fault;

/* The table to install with rdi_vfs_set_local(vfs, &rdi_vfs_fault_ops, &fault). The
 * rdi_fault struct is owned by the caller and must outlive its use. */
extern const rdi_vfs_ops rdi_vfs_fault_ops;

#endif
