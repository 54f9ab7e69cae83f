/*
 * rev.c - resolving revision strings to commits, and paths to nodes.
 */
#include "rev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"

#include "xalloc.h"
#include "banned.h"

void vs_rev_release(struct vs_rev *rev)
{
	free(rev->name);
	free(rev->branch);
	free(rev->path);
	rev->name = rev->branch = rev->path = NULL;
}

struct prefix_match {
	struct vs_store *s;
	struct vs_idset *reachable;
	struct vs_id found;
	int count;
};

static int prefix_cb(const struct vs_id *id, void *arg)
{
	struct prefix_match *m = arg;

	if (!vs_idset_has(m->reachable, id))
		return 0;
	if (m->count++ == 0)
		m->found = *id;
	return 0;
}

/* Adds every commit reachable from one ref to set. */
static int add_history(struct vs_store *s, struct vs_idset *set,
		       const struct vs_id *head, struct vs_error *err)
{
	struct vs_id *stack;
	size_t n = 0, alloc = 16;
	int r = 0;

	stack = vs_xreallocarray(NULL, alloc, sizeof(*stack));
	stack[n++] = *head;
	while (n > 0 && !r) {
		struct vs_id id = stack[--n];
		struct vs_commit c;
		size_t i;

		if (vs_idset_has(set, &id))
			continue;
		r = vs_store_read_commit(s, &id, &c, err);
		if (r < 0)
			break;
		vs_idset_add(set, &id);
		for (i = 0; i < c.nparents; i++) {
			if (n == alloc) {
				alloc *= 2;
				stack = vs_xreallocarray(stack, alloc,
							 sizeof(*stack));
			}
			stack[n++] = c.parents[i];
		}
		vs_commit_release(&c);
	}
	free(stack);
	return r;
}

static int branch_cb(const char *name, const struct vs_id *id, void *arg)
{
	struct prefix_match *m = arg;

	return add_history(m->s, m->reachable, id, NULL) < 0 ? 0 : 0;
}

static int tag_cb(const char *name, const struct vs_tag *tag, void *arg)
{
	struct prefix_match *m = arg;

	add_history(m->s, m->reachable, &tag->commit, NULL);
	return 0;
}

/* X as a commit id or prefix reachable in the repository. */
static int resolve_hex(struct vs_store *s, const struct vs_repo *repo,
		       const char *x, struct vs_id *out, struct vs_error *err)
{
	struct prefix_match m = { .s = s };
	int r;

	m.reachable = vs_idset_new();
	r = vs_branch_list(s, repo, branch_cb, &m, err);
	if (r == 0)
		r = vs_tag_list(s, repo, tag_cb, &m, err);
	if (r == 0)
		r = vs_object_scan_prefix(s, x, prefix_cb, &m, err);
	if (r == 0 && m.count == 0)
		r = VS_E_NOTFOUND;
	else if (r == 0 && m.count > 1)
		r = vs_error_set(err, VS_E_AMBIGUOUS,
				 "id prefix '%s' is ambiguous in '%s' (%d "
				 "commits match; give more digits)", x,
				 repo->full, m.count);
	else if (r == 0)
		*out = m.found;
	vs_idset_free(m.reachable);
	return r;
}

int vs_rev_resolve(struct vs_store *s, const char *spec, bool allow_path,
		   struct vs_rev *rev, struct vs_error *err)
{
	const char *colon, *at, *tilde, *end;
	char hex[VS_ID_HEXLEN + 1];
	unsigned long back = 0;
	struct vs_tag tag;
	int r;

	memset(rev, 0, sizeof(*rev));
	colon = strchr(spec, ':');
	end = colon ? colon : spec + strlen(spec);
	if (colon && !allow_path)
		return vs_error_set(err, VS_E_INVAL,
				    "'%s': a path is not allowed here", spec);
	rev->path = strdup(colon ? colon + 1 : "");
	tilde = memchr(spec, '~', end - spec);
	if (tilde) {
		char *e;

		errno = 0;
		back = strtoul(tilde + 1, &e, 10);
		if (e == tilde + 1)
			back = 1;	/* "~" alone means ~1, as in git */
		if (errno || e != end || back > 1000000000UL)
			return vs_error_set(err, VS_E_INVAL,
					    "invalid revision '%s' (bad ~N)",
					    spec);
		end = tilde;
	}
	at = memchr(spec, '@', end - spec);
	r = vs_repo_parse(&rev->repo, spec, (at ? at : end) - spec, err);
	if (r < 0)
		return r;
	r = vs_repo_check(s, &rev->repo, err);
	if (r < 0)
		return r;
	rev->name = at ? vs_xstrndup(at + 1, end - at - 1)
		       : vs_xstrndup(VS_DEFAULT_BRANCH, 4);
	if (!*rev->name)
		return vs_error_set(err, VS_E_INVAL,
				    "invalid revision '%s' (empty after '@')",
				    spec);

	r = vs_branch_get(s, &rev->repo, rev->name, &rev->commit, err);
	if (r == 0) {
		rev->branch = vs_xstrndup(rev->name, strlen(rev->name));
	} else if (r == VS_E_NOTFOUND) {
		r = vs_tag_get(s, &rev->repo, rev->name, &tag, err);
		if (r == 0)
			rev->commit = tag.commit;
		vs_tag_release(&tag);
	}
	if (r == VS_E_NOTFOUND && vs_id_is_hex_prefix(rev->name))
		r = resolve_hex(s, &rev->repo, rev->name, &rev->commit, err);
	if (r == VS_E_NOTFOUND) {
		if (!at && !strcmp(rev->name, VS_DEFAULT_BRANCH))
			return vs_error_set(err, r, "'%s' has no commits yet",
					    rev->repo.full);
		return vs_error_set(err, r,
				    "unknown revision '%s' in '%s' (not a "
				    "branch, tag or commit id)",
				    rev->name, rev->repo.full);
	}
	if (r < 0)
		return r;

	for (unsigned long i = 0; i < back; i++) {
		struct vs_commit c;

		r = vs_store_read_commit(s, &rev->commit, &c, err);
		if (r < 0)
			return r;
		if (c.nparents == 0) {
			vs_commit_release(&c);
			return vs_error_set(err, VS_E_NOTFOUND,
					    "revision '%.*s' goes past the "
					    "first commit %.12s (%lu commits "
					    "back at most)",
					    (int)(colon ? colon - spec
							: (long)strlen(spec)),
					    spec, vs_id_to_hex(&rev->commit, hex),
					    i);
		}
		rev->commit = c.parents[0];
		vs_commit_release(&c);
	}
	return 0;
}

int vs_commit_root(struct vs_store *s, const struct vs_id *commit,
		   struct vs_node *out, struct vs_error *err)
{
	struct vs_commit c;
	struct vs_tree t;
	uint64_t size = 0;
	size_t i;
	int r;

	r = vs_store_read_commit(s, commit, &c, err);
	if (r < 0)
		return r;
	out->type = VS_ENTRY_DIR;
	out->id = c.tree;
	vs_commit_release(&c);
	r = vs_store_read_tree(s, &out->id, &t, err);
	if (r < 0)
		return r;
	/* As in every directory entry: file bytes, not symlink targets. */
	for (i = 0; i < t.count; i++)
		if (t.entries[i].type != VS_ENTRY_SYMLINK)
			size += t.entries[i].size;
	vs_tree_release(&t);
	out->size = size;
	return 0;
}

int vs_path_lookup(struct vs_store *s, const struct vs_id *root_tree,
		   uint64_t root_size, const char *path, struct vs_node *out,
		   struct vs_error *err)
{
	const char *p = path;
	int r = 0;

	out->type = VS_ENTRY_DIR;
	out->id = *root_tree;
	out->size = root_size;
	while (*p) {
		const struct vs_tree_entry *e;
		size_t len = strcspn(p, "/");
		struct vs_tree t;

		if (len == 0) {
			p++;
			continue;
		}
		if (out->type != VS_ENTRY_DIR)
			return vs_error_set(err, VS_E_NOTFOUND,
					    "path '%s' does not exist (not a "
					    "directory before '%s')", path, p);
		r = vs_store_read_tree(s, &out->id, &t, err);
		if (r < 0)
			return r;
		e = vs_tree_find(&t, p, len);
		if (!e) {
			vs_tree_release(&t);
			return vs_error_set(err, VS_E_NOTFOUND,
					    "path '%s' does not exist", path);
		}
		out->type = e->type;
		out->size = e->size;
		out->id = e->id;
		vs_tree_release(&t);
		p += len;
	}
	return 0;
}
