/*
 * A fixed-size thread pool with one operation: a parallel for-loop whose tasks each get
 * their index and the index of the worker running them (0..nthreads-1), so callers can
 * keep per-worker scratch (codec contexts, buffers) without locks or globals.
 */
#ifndef RDI_POOL_H
#define RDI_POOL_H

#include "core/core.h"

typedef struct rdi_pool rdi_pool;

/* A task returns RADI_OK or an error status; the message it set is kept. */
typedef radi_status (*rdi_task_fn)(void *arg, size_t task, unsigned worker);

/* nthreads >= 1. The calling thread also works, so nthreads-1 threads are spawned. */
radi_status rdi_pool_create(unsigned nthreads, rdi_pool **out);
void rdi_pool_free(rdi_pool *pool);
unsigned rdi_pool_size(const rdi_pool *pool);

/* Runs fn(arg, i, worker) for i in [0, ntasks) and waits for all of them. After the first
 * failure no new task starts; the first failing task's status and message are returned
 * to the caller's thread. Calls from inside a task (nesting) or concurrent calls from
 * other threads run their loop on the calling thread alone (worker index 0 is then
 * NOT exclusive: nested callers must not rely on per-worker scratch). A loop of one task
 * outside any task runs it on the calling thread, not marked as in a task, so that the
 * task's own loops use the pool. pool may be NULL (runs inline). */
radi_status rdi_pool_for(rdi_pool *pool, size_t ntasks, rdi_task_fn fn, void *arg);

/* Whether the calling thread is currently inside rdi_pool_for of some pool. */
int rdi_pool_in_task(void);

#endif
