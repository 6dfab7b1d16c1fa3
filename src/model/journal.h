/*
 * The intent journal of dataset writes (docs/dataset.md §8.5): one object,
 * <root>/__radi_journal, written whole before a write changes anything and removed after
 * its last step, that lets the next writer (or `radi repair`) take back a write that was
 * killed half-way, on POSIX and on S3 alike.
 *
 * It records, for one operation:
 *   new  - trees the operation creates (a collection, a new volume slot, a staging
 *          directory, or "." for a dataset being created): roll-back removes them;
 *   keep - for each TileDB directory the operation adds objects to (__commits,
 *          __fragments, __fragment_meta, __meta, __group of the arrays and groups it
 *          changes), the names present before: roll-back removes every other name,
 *          publishing objects (__commits, __group, __meta) before the data they publish;
 *   move - every tree move, appended (and the journal rewritten) just before the move
 *          starts, so all but the last are known to be complete.
 * Roll-back runs in reverse: moves undone last to first, then the keep directories
 * cleaned, then the new trees removed, then the journal. Every step is idempotent (a move
 * whose target is gone was already undone; a missing name is already removed), so a
 * roll-back that is itself interrupted is simply run again. Nothing here needs rename: a
 * move on S3 is rdi_object_move's copy-then-delete, and a move found half-done (both
 * ends exist) is first finished forward, which is right whichever way it was going.
 *
 * Only writers holding the dataset lock (lock.c) use it; they are its only writers.
 */
#ifndef RDI_MODEL_JOURNAL_H
#define RDI_MODEL_JOURNAL_H

#include "ctx/ctx.h"

#define RDI_DS_JOURNAL_NAME "__radi_journal"

typedef struct rdi_journal rdi_journal; /* the tag is also named in model/dataset.h */

/* Starts recording operation `op` (a word: "ingest", "rename_collection", ...) on the
 * dataset at root. Nothing is written until rdi_journal_open. */
radi_status rdi_journal_begin(radi_ctx *ctx, const char *root, const char *op, rdi_journal **out);
/* Declarations, before rdi_journal_open. Paths are URIs of root or below it (or paths
 * relative to root, "" for root itself). keep_array / keep_group list the object's
 * TileDB directories when the journal is opened. */
radi_status rdi_journal_new(rdi_journal *j, const char *rel);
radi_status rdi_journal_keep_array(rdi_journal *j, const char *rel);
radi_status rdi_journal_keep_group(rdi_journal *j, const char *rel);
/* keep for one directory itself (the root: "" or "."; its lock and journal are never
 * cleaned): an operation that adds objects to a directory it does not own whole. */
radi_status rdi_journal_keep_dir(rdi_journal *j, const char *rel);
/* Lists the keep directories (in parallel on remote storage) and writes the journal
 * durably. After this, the operation may change the dataset. */
radi_status rdi_journal_open(rdi_journal *j);
/* Records a tree move from -> to (URIs below root) before the caller performs it
 * (rewrites the journal). A NULL journal is a no-op (callers outside a journaled
 * operation). */
radi_status rdi_journal_move(rdi_journal *j, const char *from, const char *to);
/* Ends the operation and frees j. st == RADI_OK: the journal is removed (the operation
 * is complete). Otherwise everything recorded is rolled back first; the journal is
 * removed only if the roll-back completed (else the next writer finishes it). Returns
 * st with its message kept, or the status of removing the journal. NULL j: returns st. */
radi_status rdi_journal_finish(rdi_journal *j, radi_status st);

/* Rolls back an interrupted operation at root, if its journal exists (the caller holds
 * the dataset lock). *op (may be NULL) gets the operation's name (malloc'd) or NULL when
 * there was none. A journal that cannot be parsed is RADI_E_CORRUPT naming it, and
 * nothing is touched. */
radi_status rdi_journal_recover(radi_ctx *ctx, const char *root, char **op);
/* For validate: a one-line description of the journal at root (malloc'd), or NULL when
 * there is none. */
radi_status rdi_journal_describe(radi_ctx *ctx, const char *root, char **line);

/* The new-root protocol (create.c) of writes that make a dataset or a collection at a
 * new URI: the root directory is made and locked, an interrupted earlier creation there
 * rolled back, the root must then hold nothing (or, with replace_empty, an empty
 * dataset, which is replaced), and a journal records the whole root as new. _end
 * finishes: on success the journal goes; on failure everything made goes, the lock and
 * the directory too. Both return the status, _begin having ended r itself on failure. */
typedef struct rdi_new_root {
    radi_ctx *ctx;
    char *root;            /* normalized URI */
    rdi_lock_hold hold;
    int locked;
    int made_dir;          /* nothing was at root before this call */
    int journaled;         /* the journal was written: failure rolls everything back */
    rdi_journal *journal;
} rdi_new_root;
radi_status rdi_new_root_begin(radi_ctx *ctx, const char *uri, const char *op, int replace_empty, rdi_new_root *r);
radi_status rdi_new_root_end(rdi_new_root *r, radi_status st);

/* The journal parser, exposed for its fuzz target: parses text[0..n) (root is only used
 * to name it in errors); RADI_OK or RADI_E_CORRUPT. */
radi_status rdi_journal_parse(radi_ctx *ctx, const char *root, const uint8_t *text, size_t n,
                              rdi_journal **out);
void rdi_journal_free(rdi_journal *j);
/* Whether every path of a parsed journal stays inside its root (for the fuzz target). */
int rdi_journal_paths_confined(const rdi_journal *j);

#endif
