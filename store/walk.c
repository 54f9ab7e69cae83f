/*
 * walk.c - the reachability walk (walk.h): reads commits, trees and file
 * objects in the order walk.h's design notes fix, keeps the seen-sets,
 * and hands each object to the visitor.  It decides nothing about what a
 * visit means: verify, stats, the pin check and checkout are visitors.
 */
#include "walk.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "idset.h"
#include "xalloc.h"

#include "banned.h"

struct vs_walk {
	struct vs_store *s;
	unsigned flags;
	vs_walk_fn *fn;
	void *arg;
	const atomic_bool *cancel;	/* may be NULL */
	struct vs_idset *objects;	/* commits, trees, files (note 2) */
	struct vs_idset *chunks;
	/* For the call in progress: */
	struct vs_error *err;		/* the caller's, may be NULL */
	struct vs_buf path;		/* of the tree or file being visited */
	const struct vs_repo *repo;	/* the ref being walked, or NULL */
	const char *ref;
	bool is_tag;
};

/* Unused when NDEBUG drops the asserts. */
__attribute__((unused))
static bool walk_invariants(const struct vs_walk *w)
{
	return w->s && w->fn && w->objects && w->chunks &&
	       (!(w->flags & VS_WALK_HAS_CHUNKS) ||
		(w->flags & VS_WALK_CHUNKS)) &&
	       (!(w->flags & VS_WALK_CHUNKS) || (w->flags & VS_WALK_FILES));
}

struct vs_walk *vs_walk_new(struct vs_store *s, unsigned flags,
			    vs_walk_fn *fn, void *arg)
{
	struct vs_walk *w = vs_xcalloc(1, sizeof(*w));

	if (flags & VS_WALK_HAS_CHUNKS)
		flags |= VS_WALK_CHUNKS;
	if (flags & VS_WALK_CHUNKS)
		flags |= VS_WALK_FILES;
	w->s = s;
	w->flags = flags;
	w->fn = fn;
	w->arg = arg;
	w->objects = vs_idset_new();
	w->chunks = vs_idset_new();
	vs_buf_init(&w->path, 256);
	assert(walk_invariants(w));
	return w;
}

void vs_walk_free(struct vs_walk *w)
{
	if (!w)
		return;
	vs_idset_free(w->objects);
	vs_idset_free(w->chunks);
	vs_buf_release(&w->path);
	free(w);
}

void vs_walk_set_cancel(struct vs_walk *w, const atomic_bool *cancel)
{
	w->cancel = cancel;
}

/* Whether id is to be visited: first met, or every path is (note 3). */
static bool first_time(struct vs_walk *w, struct vs_idset *set,
		       const struct vs_id *id)
{
	return (w->flags & VS_WALK_EVERY_PATH) || vs_idset_add(set, id);
}

/*
 * Calls the visitor with v (kind, id, error and the objects filled by the
 * caller; the rest here).  Returns its answer; a read error it accepted
 * is cleared from err (note 5).
 */
static int visit(struct vs_walk *w, struct vs_walk_visit *v)
{
	int r;

	v->path = w->path.data;
	v->path_len = w->path.len;
	v->repo = w->repo;
	v->ref = w->ref;
	v->is_tag = w->is_tag;
	r = w->fn(w->arg, v, w->err);
	if (r >= 0 && v->error)
		vs_error_clear(w->err);
	return r;
}

static int walk_file(struct vs_walk *w, const struct vs_tree_entry *e)
{
	struct vs_walk_visit v = { .kind = VS_WALK_FILE, .id = &e->id,
				   .entry = e };
	char hex[VS_ID_HEXLEN + 1];
	struct vs_file f;
	size_t i;
	int r;

	if (!first_time(w, w->objects, &e->id))
		return 0;
	if (!(w->flags & VS_WALK_FILES)) {
		r = visit(w, &v);
		return r < 0 ? r : 0;
	}
	v.error = vs_store_read_file(w->s, &e->id, &f, w->err);
	if (v.error == 0)
		v.file = &f;
	r = visit(w, &v);
	if (v.error < 0)
		return r < 0 ? r : 0;
	if (r < 0 || r == VS_WALK_PRUNE || !(w->flags & VS_WALK_CHUNKS))
		goto out;
	v.kind = VS_WALK_CHUNK;
	for (i = 0; i < f.nchunks; i++) {
		r = vs_check_cancel(w->cancel, w->err);
		if (r < 0)
			break;
		if (!first_time(w, w->chunks, &f.chunks[i].id))
			continue;
		v.id = &f.chunks[i].id;
		v.chunk = &f.chunks[i];
		v.error = 0;
		if ((w->flags & VS_WALK_HAS_CHUNKS) && !vs_chunk_has(w->s, v.id))
			v.error = vs_error_set(w->err, VS_E_NOTFOUND,
					       "chunk %s is missing",
					       vs_id_to_hex(v.id, hex));
		r = visit(w, &v);
		if (r < 0)
			break;
	}
out:
	vs_file_release(&f);
	return r < 0 ? r : 0;
}

/* Walks tree id, named by e in its parent (NULL for a root). */
static int walk_tree(struct vs_walk *w, const struct vs_tree_entry *e,
		     const struct vs_id *id)
{
	struct vs_walk_visit v = { .kind = VS_WALK_TREE, .id = id,
				   .entry = e };
	size_t base = w->path.len, i;
	struct vs_tree t;
	int r;

	if (!first_time(w, w->objects, id))
		return 0;
	v.error = vs_store_read_tree(w->s, id, &t, w->err);
	if (v.error == 0)
		v.tree = &t;
	r = visit(w, &v);
	if (v.error < 0)
		return r < 0 ? r : 0;
	if (r < 0 || r == VS_WALK_PRUNE)
		goto out;
	for (i = 0; i < t.count; i++) {
		const struct vs_tree_entry *c = &t.entries[i];

		r = vs_check_cancel(w->cancel, w->err);
		if (r < 0)
			break;
		if (base)
			vs_buf_addch(&w->path, '/');
		vs_buf_add(&w->path, c->name, c->name_len);
		if (c->type == VS_ENTRY_DIR)
			r = walk_tree(w, c, &c->id);
		else
			r = walk_file(w, c);
		vs_buf_setlen(&w->path, base);
		if (r < 0)
			break;
	}
	if (r >= 0) {
		v.kind = VS_WALK_LEAVE_TREE;
		r = visit(w, &v);
	}
out:
	vs_tree_release(&t);
	return r < 0 ? r : 0;
}

/*
 * Walks commit head and, with VS_WALK_HISTORY, its history: the first
 * parent by looping, merge parents by recursing (note 1).
 */
static int walk_commits(struct vs_walk *w, const struct vs_id *head)
{
	struct vs_id id = *head;
	int r = 0;

	for (;;) {
		struct vs_walk_visit v = { .kind = VS_WALK_COMMIT, .id = &id };
		struct vs_commit c;
		size_t i;

		r = vs_check_cancel(w->cancel, w->err);
		if (r < 0 || !vs_idset_add(w->objects, &id))
			break;
		v.error = vs_store_read_commit(w->s, &id, &c, w->err);
		if (v.error == 0)
			v.commit = &c;
		vs_buf_reset(&w->path);
		r = visit(w, &v);
		if (v.error < 0)
			break;
		if (r == 0)
			r = walk_tree(w, NULL, &c.tree);
		if (r != 0 || !(w->flags & VS_WALK_HISTORY) ||
		    c.nparents == 0) {
			vs_commit_release(&c);
			break;
		}
		for (i = 1; i < c.nparents && r == 0; i++)
			r = walk_commits(w, &c.parents[i]);
		id = c.parents[0];
		vs_commit_release(&c);
		if (r < 0)
			break;
	}
	return r < 0 ? r : 0;
}

static int walk_ref(const struct vs_repo *repo, const char *name,
		    bool is_tag, const struct vs_id *head, void *arg)
{
	struct vs_walk *w = arg;
	struct vs_walk_visit v = { .kind = VS_WALK_REF, .id = head };
	int r;

	w->repo = repo;
	w->ref = name;
	w->is_tag = is_tag;
	vs_buf_reset(&w->path);
	r = visit(w, &v);
	if (r == 0)
		r = walk_commits(w, head);
	w->repo = NULL;
	w->ref = NULL;
	w->is_tag = false;
	return r < 0 ? r : 0;
}

int vs_walk_refs(struct vs_walk *w, struct vs_error *err)
{
	int r;

	assert(walk_invariants(w));
	w->err = err;
	r = vs_refs_each(w->s, walk_ref, w, err);
	w->err = NULL;
	return r;
}

int vs_walk_ref(struct vs_walk *w, const struct vs_repo *repo,
		const char *name, bool is_tag, const struct vs_id *head,
		struct vs_error *err)
{
	int r;

	assert(walk_invariants(w));
	w->err = err;
	r = walk_ref(repo, name, is_tag, head, w);
	w->err = NULL;
	return r;
}

int vs_walk_commit(struct vs_walk *w, const struct vs_id *id,
		   struct vs_error *err)
{
	int r;

	assert(walk_invariants(w));
	w->err = err;
	r = walk_commits(w, id);
	w->err = NULL;
	return r;
}

int vs_walk_tree(struct vs_walk *w, const struct vs_id *id,
		 struct vs_error *err)
{
	int r;

	assert(walk_invariants(w));
	w->err = err;
	vs_buf_reset(&w->path);
	r = walk_tree(w, NULL, id);
	w->err = NULL;
	return r;
}
