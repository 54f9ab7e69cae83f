/*
 * commit.c - a new root tree becomes the next commit of a branch (see
 * commit.h's design notes).
 */
#include "commit.h"
#include "store_int.h"

#include "banned.h"

/* The commit object of m's tree, written; *id gets its id. */
static int write_commit(struct vs_store *s, const struct vs_commit_make *m,
			struct vs_id *id, struct vs_error *err)
{
	const struct vs_ingest_opts *o = m->opts;
	struct vs_commit c;
	size_t i;
	int r;

	vs_commit_init(&c);
	c.tree = m->tree;
	if (m->base)
		vs_commit_add_parent(&c, m->base);
	c.time = o->time ? o->time : m->now;
	vs_commit_set_author(&c, o->author ? o->author : "");
	vs_commit_set_message(&c, o->message ? o->message : "");
	for (i = 0; i < o->nmeta; i++)
		vs_commit_set_meta(&c, o->meta[i].key, o->meta[i].value);
	r = vs_store_write_commit(s, &c, id, err);
	vs_commit_release(&c);
	return r;
}

int vs_commit_make(struct vs_store *s, const struct vs_commit_make *m,
		   struct vs_ingest_result *res, struct vs_error *err)
{
	bool changed = true;
	int r;

	res->created = false;
	if (m->base && !m->opts->allow_empty) {
		struct vs_commit base;

		r = vs_store_read_commit(s, m->base, &base, err);
		if (r < 0)
			return r;
		changed = !vs_id_equal(&base.tree, &m->tree);
		vs_commit_release(&base);
	}
	if (!changed) {
		r = m->before_ref ? m->before_ref(m->before_ref_arg, false, err)
				  : 0;
		if (r == 0 && m->batch)
			r = vs_kv_write(s->kv, m->batch,
					m->sync_unchanged ? VS_KV_SYNC : 0, err);
		if (r == 0)
			res->commit = *m->base;
		return r;
	}
	r = write_commit(s, m, &res->commit, err);
	if (r == 0 && m->before_ref)
		r = m->before_ref(m->before_ref_arg, true, err);
	if (r == 0)
		r = vs_branch_update(s, m->repo, m->branch, m->base,
				     &res->commit, m->batch, 0, err);
	res->created = r == 0;
	return r;
}
