/*
 * diff.h - the differences between two trees.
 */
#ifndef VS_DIFF_H
#define VS_DIFF_H

#include "store.h"

enum vs_diff_status {
	VS_DIFF_ADDED = 'A',
	VS_DIFF_REMOVED = 'D',
	VS_DIFF_MODIFIED = 'M',
};

/*
 * Calls fn for every path that differs between trees a and b, in path
 * order: files and symlinks added, removed or modified (content, type or
 * executable bit), and empty directories added or removed (their path ends
 * in '/').  Subtrees with equal ids are skipped without being read, so the
 * cost follows the size of the change.  path is borrowed for the call.
 * Returns 0, a read error, or fn's non-zero answer.
 */
int vs_diff_trees(struct vs_store *s, const struct vs_id *a,
		  const struct vs_id *b,
		  int (*fn)(enum vs_diff_status st, const char *path,
			    void *arg),
		  void *arg, struct vs_error *err);

#endif
