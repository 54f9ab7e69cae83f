/*
 * walk.h - the reachability walk: refs -> commits -> trees -> files ->
 * chunks, with a visitor.
 *
 * Everything that asks "what is reachable from here" walks through this
 * module: verify and stats (verify.c), the pin check (pins.c), checkout's
 * counting and writing (checkout.c); push, pull and gc are meant to.
 * A walker (struct vs_walk) holds the store, the flags, the visitor and
 * the seen-sets; each vs_walk_* call walks one root, or every ref, with it.
 *
 * DESIGN NOTES: the walk
 *
 *  1. Order.  Depth first, pre-order, a tree's entries in tree order (by
 *     name).  For one ref:
 *       REF, COMMIT, the commit's root TREE, then for each entry either
 *       (a directory) its TREE, its entries, LEAVE_TREE, or (anything else:
 *       file, executable, symlink) FILE followed by its CHUNKs in file
 *       order; LEAVE_TREE of the root; then, with VS_WALK_HISTORY, the
 *       merge parents (parents[1..], each with its whole history) and
 *       last the first parent, which the walk follows as a loop (a long
 *       linear history costs no stack).
 *     vs_walk_refs walks the refs in vs_refs_each order (repository by
 *     repository, branches then tags).  vs_walk_commit starts at COMMIT,
 *     vs_walk_tree at the root TREE (path "", no ref, no commit).
 *
 *  2. Seen-sets.  A walker keeps two for its whole life, shared by every
 *     root it walks: one of objects (commits, trees, files) and one of
 *     chunks.  They are kept apart because a chunk's id equals an object's
 *     id when a file's bytes are an encoded object: one set would skip
 *     that chunk.  An object or chunk is marked when first met, before it
 *     is read, so a missing one is visited (and reported) once.  A marked
 *     one is not visited again and nothing below it is walked from there.
 *     REF visits are never deduplicated.
 *
 *  3. VS_WALK_EVERY_PATH turns deduplication off below commits: a tree,
 *     file or chunk is visited at every path that holds it (a subtree
 *     shared by two directories twice, a root tree shared by two commits
 *     once per commit).  Commits are marked and visited once whatever the
 *     flags: history is a graph whose commits are walked once each.
 *
 *  4. Reading.  Commits and trees are always read; file objects only with
 *     VS_WALK_FILES (or VS_WALK_CHUNKS, which implies it): without it a
 *     FILE visit has file NULL (its entry still gives type and size) and
 *     no CHUNK follows.  Chunk bodies are never read: a CHUNK visit gives
 *     the chunk's id and length, and reading it is the visitor's call.
 *     With VS_WALK_HAS_CHUNKS the walker checks each chunk's presence (a
 *     key lookup, no body read) and a missing one's visit has error
 *     VS_E_NOTFOUND, as a missing object's has.
 *
 *  5. Errors.  When an object cannot be read, its visit carries the code
 *     (VS_E_NOTFOUND when missing, VS_E_CORRUPT, a read error) in
 *     v->error and the read's message in the walk's err; nothing below it
 *     is visited.  If the visitor returns 0 the walk goes on and err is
 *     cleared (the visitor has dealt with it); if it returns a negative
 *     code the walk stops with it and err keeps the message (the read's,
 *     unless the visitor set its own first).
 *
 *  6. The visitor's answer.  0: go on.  VS_WALK_PRUNE: skip what is below
 *     this object: a ref's commits, a commit's tree and parents, a tree's
 *     entries (and its LEAVE_TREE), a file's chunks; meaningless (as 0)
 *     for CHUNK and LEAVE_TREE.  The object stays marked.  Negative: stop
 *     the walk; the vs_walk_* call returns that code.
 *
 *  7. LEAVE_TREE follows every TREE visit that was read and answered 0,
 *     after its entries, for post-order work (checkout closes the
 *     directory it opened).  A walk that stops delivers no LEAVE_TREE for
 *     the trees it was inside: the visitor's owner cleans up after the
 *     vs_walk_* call returns.
 *
 *  8. Cancellation (vs_walk_set_cancel): polled before each commit, each
 *     tree entry and each chunk; once set the walk stops with
 *     VS_E_CANCELED and "interrupted" in err.
 *
 *   what                                  function
 *   every branch and tag of every repo    vs_walk_refs
 *   one ref (its head given)              vs_walk_ref
 *   one commit                            vs_walk_commit
 *   one tree                              vs_walk_tree
 */
#ifndef VS_WALK_H
#define VS_WALK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "hash.h"
#include "object.h"
#include "refs.h"
#include "store.h"

enum vs_walk_flags {
	VS_WALK_HISTORY = 1 << 0,	/* follow commit parents */
	VS_WALK_FILES = 1 << 1,		/* read file objects */
	VS_WALK_CHUNKS = 1 << 2,	/* visit chunks (implies FILES) */
	VS_WALK_EVERY_PATH = 1 << 3,	/* no dedup below commits (note 3) */
	VS_WALK_HAS_CHUNKS = 1 << 4,	/* check chunks are there (note 4);
					   implies CHUNKS */
};

enum vs_walk_kind {
	VS_WALK_REF,
	VS_WALK_COMMIT,
	VS_WALK_TREE,
	VS_WALK_LEAVE_TREE,
	VS_WALK_FILE,
	VS_WALK_CHUNK,
};

/* A visitor's answer that skips what is below the object (note 6). */
#define VS_WALK_PRUNE 1

/*
 * One visit.  Every pointer is borrowed from the walker for the duration
 * of the call only.
 */
struct vs_walk_visit {
	enum vs_walk_kind kind;
	/* The object's id; a chunk's id for CHUNK; the head for REF. */
	const struct vs_id *id;
	/* 0, or why the object could not be read (note 5). */
	int error;
	/* The decoded object, when read (NULL otherwise): */
	const struct vs_commit *commit;		/* COMMIT */
	const struct vs_tree *tree;		/* TREE, LEAVE_TREE */
	const struct vs_file *file;		/* FILE, CHUNK */
	const struct vs_chunk_ref *chunk;	/* CHUNK */
	/*
	 * The entry naming this tree or file in its parent tree (for CHUNK,
	 * the file's); NULL for REF, COMMIT and a root tree.
	 */
	const struct vs_tree_entry *entry;
	/*
	 * The path inside the commit's tree, NUL-terminated: "" for a commit
	 * and its root tree, "a/b" below (for CHUNK, the file's path).
	 */
	const char *path;
	size_t path_len;
	/* The ref being walked (vs_walk_refs, vs_walk_ref), or NULL/false. */
	const struct vs_repo *repo;
	const char *ref;
	bool is_tag;
};

/*
 * The visitor: returns 0, VS_WALK_PRUNE or a negative code (note 6).  err
 * is the one passed to the vs_walk_* call (may be NULL): the place for
 * the visitor's own message when it stops the walk.
 */
typedef int vs_walk_fn(void *arg, const struct vs_walk_visit *v,
		       struct vs_error *err);

struct vs_walk;

/*
 * A walker over store s (borrowed: it must outlive the walker) with flags
 * (enum vs_walk_flags) calling fn(arg, ...) for each visit, its seen-sets
 * empty.  Returns the walker, owned by the caller (vs_walk_free); never
 * NULL.
 */
struct vs_walk *vs_walk_new(struct vs_store *s, unsigned flags,
			    vs_walk_fn *fn, void *arg);
/* Frees w and its seen-sets; accepts NULL. */
void vs_walk_free(struct vs_walk *w);

/* Polls *cancel (borrowed; may be NULL: never canceled) during walks. */
void vs_walk_set_cancel(struct vs_walk *w, const atomic_bool *cancel);

/*
 * Walks every branch and tag of every repository (note 1).  Returns 0, the
 * visitor's negative answer, VS_E_CANCELED, or an error listing the refs.
 */
int vs_walk_refs(struct vs_walk *w, struct vs_error *err);

/*
 * Walks one ref: repo's branch or tag (is_tag) name, whose head is the
 * commit head (resolved by the caller: vs_branch_get, vs_tag_get).  repo
 * and name are what the visits' repo and ref point to.  Returns 0, the
 * visitor's negative answer or VS_E_CANCELED.
 */
int vs_walk_ref(struct vs_walk *w, const struct vs_repo *repo,
		const char *name, bool is_tag, const struct vs_id *head,
		struct vs_error *err);

/* Walks from commit id, outside any ref.  Returns as vs_walk_ref. */
int vs_walk_commit(struct vs_walk *w, const struct vs_id *id,
		   struct vs_error *err);

/* Walks tree id as a root (path ""), outside any commit.  Returns as
 * vs_walk_ref. */
int vs_walk_tree(struct vs_walk *w, const struct vs_id *id,
		 struct vs_error *err);

#endif
