/*
 * rev.h - revisions: "REPO[@X][~N][:PATH]" to a commit, and paths inside it.
 *
 * REPO is datasets/NAME or models/NAME.  X is tried as a branch, then a tag,
 * then a full commit id, then a unique prefix of at least 7 hex digits of a
 * commit reachable from the repository's branches and tags.  Without @X the
 * branch main is meant.  ~N walks N first parents back.
 */
#ifndef VS_REV_H
#define VS_REV_H

#include "refs.h"
#include "store.h"

struct vs_rev {
	struct vs_repo repo;
	struct vs_id commit;
	char *name;	/* X as written, or "main"; owned */
	char *branch;	/* the branch X named, if it named one; else NULL */
	char *path;	/* the part after ':' ("" when absent); owned */
};

/*
 * Resolves spec into rev (release with vs_rev_release, also on failure).
 * allow_path: whether ":PATH" may follow.
 * Returns 0, VS_E_INVAL (syntax, names), VS_E_NOTFOUND (unknown repository,
 * revision, or a ~N past the root), VS_E_AMBIGUOUS.
 */
int vs_rev_resolve(struct vs_store *s, const char *spec, bool allow_path,
		   struct vs_rev *rev, struct vs_error *err);
void vs_rev_release(struct vs_rev *rev);

/* What a path names inside a commit. */
struct vs_node {
	enum vs_entry_type type;
	uint64_t size;
	struct vs_id id;
};

/*
 * Walks path ("" or "/" is the root; components separated by '/', empty
 * ones ignored) from the root tree.  Returns 0, VS_E_NOTFOUND (with the
 * path in the message), or a read error.
 */
int vs_path_lookup(struct vs_store *s, const struct vs_id *root_tree,
		   uint64_t root_size, const char *path, struct vs_node *out,
		   struct vs_error *err);

/* The commit's root as a vs_node (type dir). */
int vs_commit_root(struct vs_store *s, const struct vs_id *commit,
		   struct vs_node *out, struct vs_error *err);

#endif
