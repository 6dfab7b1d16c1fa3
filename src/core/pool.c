/* Thread pool: workers wait on a condition variable for a "generation" of work. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/pool.h"

struct rdi_pool {
    unsigned nthreads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    pthread_mutex_t busy;     /* held by the one caller whose loop uses the workers */
    /* current job, valid while active */
    rdi_task_fn fn;
    void *arg;
    size_t ntasks;
    size_t next;
    size_t finished;
    unsigned generation;
    unsigned running;         /* workers inside the current generation */
    int failed;
    radi_status status;
    char errmsg[1024];
    int stop;
    pid_t pid;                /* the creating process: its threads exist only there */
};

/* Marks threads running pool tasks, so nested loops run inline instead of deadlocking. */
static _Thread_local int tl_in_task;

int rdi_pool_in_task(void) { return tl_in_task; }

static void run_tasks(rdi_pool *p, unsigned worker)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->failed || p->next >= p->ntasks) {
            pthread_mutex_unlock(&p->mu);
            return;
        }
        size_t i = p->next++;
        pthread_mutex_unlock(&p->mu);

        tl_in_task = 1;
        radi_status s = p->fn(p->arg, i, worker);
        tl_in_task = 0;

        pthread_mutex_lock(&p->mu);
        p->finished++;
        if (s != RADI_OK && !p->failed) {
            p->failed = 1;
            p->status = s;
            snprintf(p->errmsg, sizeof p->errmsg, "%s", radi_errmsg());
        }
        if (p->finished == p->ntasks || p->failed) pthread_cond_broadcast(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker_main(void *argp)
{
    rdi_pool *p = argp;
    pthread_mutex_lock(&p->mu);
    unsigned worker = 0;
    for (unsigned i = 0; i < p->nthreads - 1; i++)
        if (pthread_equal(p->threads[i], pthread_self())) worker = i + 1;
    unsigned seen = 0;
    pthread_mutex_unlock(&p->mu);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        p->running++;
        pthread_mutex_unlock(&p->mu);
        run_tasks(p, worker);
        pthread_mutex_lock(&p->mu);
        p->running--;
        pthread_cond_broadcast(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

radi_status rdi_pool_create(unsigned nthreads, rdi_pool **out)
{
    if (nthreads < 1) nthreads = 1;
    rdi_pool *p = rdi_calloc(1, sizeof *p);
    if (!p) return RADI_E_NOMEM;
    p->nthreads = nthreads;
    p->pid = getpid();
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->busy, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (nthreads > 1) {
        p->threads = rdi_calloc(nthreads - 1, sizeof *p->threads);
        if (!p->threads) {
            rdi_pool_free(p);
            return RADI_E_NOMEM;
        }
        /* Hold mu so workers read a complete threads[] when finding their index. */
        pthread_mutex_lock(&p->mu);
        for (unsigned i = 0; i < nthreads - 1; i++) {
            if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
                p->nthreads = i + 1;
                pthread_mutex_unlock(&p->mu);
                rdi_pool_free(p);
                return rdi_error(RADI_E_INTERNAL, "cannot start worker thread %u", i);
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
    *out = p;
    return RADI_OK;
}

void rdi_pool_free(rdi_pool *p)
{
    if (!p) return;
    /* In a fork()ed child the threads do not exist and the locks may be held by them. */
    if (getpid() != p->pid) return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i + 1 < p->nthreads; i++) pthread_join(p->threads[i], NULL);
        free(p->threads);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->busy);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

unsigned rdi_pool_size(const rdi_pool *p) { return p ? p->nthreads : 1; }

static radi_status run_inline(size_t ntasks, rdi_task_fn fn, void *arg)
{
    int outer = tl_in_task;
    /* A lone task of a top-level loop runs on the caller as if no loop were running:
     * nothing else uses the pool meanwhile, so its own loops may (an ingest of one DICOM
     * series decodes its frames and compresses its tiles on every worker). */
    int mark = outer || ntasks > 1;
    for (size_t i = 0; i < ntasks; i++) {
        tl_in_task = mark;
        radi_status s = fn(arg, i, 0);
        tl_in_task = outer;
        if (s != RADI_OK) return s;
    }
    return RADI_OK;
}

radi_status rdi_pool_for(rdi_pool *p, size_t ntasks, rdi_task_fn fn, void *arg)
{
    if (ntasks == 0) return RADI_OK;
    if (p && getpid() != p->pid) return rdi_forked_error((long)p->pid);
    if (!p || p->nthreads == 1 || ntasks == 1 || tl_in_task || pthread_mutex_trylock(&p->busy) != 0)
        return run_inline(ntasks, fn, arg);

    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->ntasks = ntasks;
    p->next = 0;
    p->finished = 0;
    p->failed = 0;
    p->status = RADI_OK;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);

    run_tasks(p, 0);

    pthread_mutex_lock(&p->mu);
    /* Wait until every task finished (or failed) and no worker is still inside the job. */
    while ((p->finished < p->ntasks && !(p->failed && p->finished == p->next)) || p->running > 0)
        pthread_cond_wait(&p->done_cv, &p->mu);
    radi_status s = p->failed ? p->status : RADI_OK;
    char msg[1024];
    if (p->failed) snprintf(msg, sizeof msg, "%s", p->errmsg);
    p->fn = NULL;
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_unlock(&p->busy);
    if (s != RADI_OK) rdi_error(s, "%s", msg);
    return s;
}
