/*
 * diff.c - compare two trees, descending only where ids differ.
 */
#include "diff.h"

#include <string.h>

#include "banned.h"

struct diff {
	struct vs_store *s;
	int (*fn)(enum vs_diff_status st, const char *path, void *arg);
	void *arg;
	struct vs_error *err;
	struct vs_buf path;
};

static int name_cmp(const struct vs_tree_entry *x,
		    const struct vs_tree_entry *y)
{
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int diff_ids(struct diff *d, const struct vs_id *a,
		    const struct vs_id *b);

/* Reports every leaf below (and including) an added or removed entry. */
static int report_all(struct diff *d, enum vs_diff_status st,
		      const struct vs_tree_entry *e)
{
	size_t base = d->path.len, i;
	struct vs_tree t;
	int r;

	if (base)
		vs_buf_addch(&d->path, '/');
	vs_buf_add(&d->path, e->name, e->name_len);
	if (e->type != VS_ENTRY_DIR) {
		r = d->fn(st, d->path.data, d->arg);
		goto out;
	}
	r = vs_store_read_tree(d->s, &e->id, &t, d->err);
	if (r < 0)
		goto out;
	if (t.count == 0) {
		vs_buf_addch(&d->path, '/');
		r = d->fn(st, d->path.data, d->arg);
	}
	for (i = 0; i < t.count && r == 0; i++)
		r = report_all(d, st, &t.entries[i]);
	vs_tree_release(&t);
out:
	vs_buf_setlen(&d->path, base);
	return r;
}

static int diff_entries(struct diff *d, const struct vs_tree_entry *x,
			const struct vs_tree_entry *y)
{
	size_t base = d->path.len;
	int r;

	if (x->type == y->type && vs_id_equal(&x->id, &y->id))
		return 0;
	if (x->type == VS_ENTRY_DIR && y->type == VS_ENTRY_DIR) {
		if (base)
			vs_buf_addch(&d->path, '/');
		vs_buf_add(&d->path, x->name, x->name_len);
		r = diff_ids(d, &x->id, &y->id);
		vs_buf_setlen(&d->path, base);
		return r;
	}
	if (x->type != VS_ENTRY_DIR && y->type != VS_ENTRY_DIR) {
		if (base)
			vs_buf_addch(&d->path, '/');
		vs_buf_add(&d->path, x->name, x->name_len);
		r = d->fn(VS_DIFF_MODIFIED, d->path.data, d->arg);
		vs_buf_setlen(&d->path, base);
		return r;
	}
	/* A file became a directory or the reverse. */
	r = report_all(d, VS_DIFF_REMOVED, x);
	if (r == 0)
		r = report_all(d, VS_DIFF_ADDED, y);
	return r;
}

static int diff_ids(struct diff *d, const struct vs_id *a,
		    const struct vs_id *b)
{
	struct vs_tree ta, tb;
	size_t i = 0, j = 0;
	int r;

	if (vs_id_equal(a, b))
		return 0;
	r = vs_store_read_tree(d->s, a, &ta, d->err);
	if (r < 0)
		return r;
	r = vs_store_read_tree(d->s, b, &tb, d->err);
	if (r < 0) {
		vs_tree_release(&ta);
		return r;
	}
	while (r == 0 && (i < ta.count || j < tb.count)) {
		int c;

		if (i == ta.count)
			c = 1;
		else if (j == tb.count)
			c = -1;
		else
			c = name_cmp(&ta.entries[i], &tb.entries[j]);
		if (c < 0)
			r = report_all(d, VS_DIFF_REMOVED, &ta.entries[i++]);
		else if (c > 0)
			r = report_all(d, VS_DIFF_ADDED, &tb.entries[j++]);
		else
			r = diff_entries(d, &ta.entries[i++],
					 &tb.entries[j++]);
	}
	vs_tree_release(&ta);
	vs_tree_release(&tb);
	return r;
}

int vs_diff_trees(struct vs_store *s, const struct vs_id *a,
		  const struct vs_id *b,
		  int (*fn)(enum vs_diff_status st, const char *path,
			    void *arg),
		  void *arg, struct vs_error *err)
{
	struct diff d = { .s = s, .fn = fn, .arg = arg, .err = err,
			  .path = VS_BUF_INIT };
	int r = diff_ids(&d, a, b);

	vs_buf_release(&d.path);
	return r;
}
