/*
 * commit.h - the one way a new root tree becomes the next commit of a
 * branch, whether it came from a directory (ingest.c) or from the staged
 * changes of a writable head (staging.c).
 *
 * DESIGN NOTES: making a commit
 *  1. Every object the tree references is written before this starts
 *     (unlogged or logged: kv.h note 1).
 *  2. If the tree equals the base commit's and empty commits are not
 *     asked for, no commit is made: the caller's batch is written alone
 *     and the branch stays where it is.
 *  3. Otherwise the commit object is written; then the caller's hook runs
 *     (ingest writes a large stat-cache change in parts there); then the
 *     branch moves from base to the new commit in one synced batch with
 *     the caller's batch (refs.h: compare-and-swap), which is the moment
 *     the commit becomes visible.  Killed before that, nothing is visible
 *     and the objects are garbage; after it, all of it is there.
 *
 *   step                          function
 *   tree -> commit object         vs_commit_make (write_commit)
 *   commit object -> branch       vs_commit_make (vs_branch_update)
 */
#ifndef VS_COMMIT_H
#define VS_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "ingest.h"
#include "kv.h"
#include "refs.h"
#include "store.h"

struct vs_commit_make {
	const struct vs_repo *repo;
	const char *branch;
	const struct vs_id *base;	/* the branch's commit the new tree
					   was made from; NULL: none yet */
	struct vs_id tree;		/* the new root tree */
	/* message, author, time, meta, allow_empty */
	const struct vs_ingest_opts *opts;
	uint64_t now;			/* the commit's time if opts has none */
	/* Written with the branch update, or alone when nothing changed;
	 * may be NULL.  The hook may add to it or write and clear it, but
	 * not replace it. */
	struct vs_kv_batch *batch;
	/* Write the batch synced when nothing changed (it is synced with the
	 * branch update otherwise). */
	bool sync_unchanged;
	/*
	 * Called after the commit object is written and before the branch
	 * moves, or when nothing changed before the batch is written; may
	 * be NULL.  Its error stops the commit, leaving the branch as it was.
	 */
	int (*before_ref)(void *arg, bool changed, struct vs_error *err);
	void *before_ref_arg;
};

/*
 * Makes the commit (notes 2 and 3).  res->commit gets the branch's commit
 * afterwards (the base when nothing changed) and res->created whether a
 * commit was made.  Returns 0, VS_E_CONFLICT (the branch moved from base),
 * a read or write error, or the hook's error.
 */
int vs_commit_make(struct vs_store *s, const struct vs_commit_make *m,
		   struct vs_ingest_result *res, struct vs_error *err);

#endif
