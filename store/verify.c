/*
 * verify.c - integrity walk (verify) and space accounting (stats).
 */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "idset.h"
#include "refs.h"

#include "banned.h"

struct walk {
	struct vs_store *s;
	const struct vs_verify_opts *opts;
	struct vs_verify_result *res;
	struct vs_idset *seen;		/* commits, trees, files, chunks */
	struct vs_buf where;		/* "datasets/x@main" */
	struct vs_buf path;
	struct vs_buf chunk;
	struct timespec last;
	bool stopped;			/* opts->cancel was seen set */
};

static bool stopped(struct walk *w)
{
	if (!w->stopped && w->opts->cancel && atomic_load(w->opts->cancel))
		w->stopped = true;
	return w->stopped;
}

static void problem(struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct walk *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	w->res->problems++;
	if (!w->opts->problem)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, " (in %s%s%s)",
			 w->where.data, w->path.len ? ":" : "",
			 w->path.data);
	w->opts->problem(w->opts->problem_arg, msg);
}

static void progress(struct walk *w)
{
	struct timespec now;

	if (!w->opts->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - w->last.tv_sec) * 1000000000LL +
		    (now.tv_nsec - w->last.tv_nsec) < 100000000LL)
		return;
	w->last = now;
	w->opts->progress(w->opts->progress_arg, w->res->chunks,
			  w->res->chunk_bytes);
}

static void check_chunk(struct walk *w, const struct vs_chunk_ref *c)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_error e = { 0 };
	int r;

	if (stopped(w) || !vs_idset_add(w->seen, &c->id))
		return;
	w->res->chunks++;
	vs_id_to_hex(&c->id, hex);
	if (!w->opts->full) {
		if (!vs_chunk_has(w->s, &c->id))
			problem(w, "chunk %s is missing", hex);
		return;
	}
	r = vs_chunk_get_rehashed(w->s, NULL, &c->id, &w->chunk, &e);
	if (r == VS_E_NOTFOUND)
		problem(w, "chunk %s is missing", hex);
	else if (r < 0)
		problem(w, "chunk %s is corrupt (%s)", hex, vs_strerror(r));
	else if (w->chunk.len != c->len)
		problem(w, "chunk %s has length %zu, expected %llu", hex,
			w->chunk.len, (unsigned long long)c->len);
	/* A failed read may leave the previous chunk in w->chunk. */
	if (r == 0)
		w->res->chunk_bytes += w->chunk.len;
	progress(w);
}

static void check_file(struct walk *w, const struct vs_id *id)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_file f;
	size_t i;
	int r;

	if (!vs_idset_add(w->seen, id))
		return;
	w->res->files++;
	r = vs_store_read_file(w->s, id, &f, NULL);
	if (r < 0) {
		problem(w, "file %s is %s", vs_id_to_hex(id, hex),
			r == VS_E_NOTFOUND ? "missing" : "corrupt");
		return;
	}
	for (i = 0; i < f.nchunks && !w->stopped; i++)
		check_chunk(w, &f.chunks[i]);
	vs_file_release(&f);
}

static void check_tree(struct walk *w, const struct vs_id *id)
{
	char hex[VS_ID_HEXLEN + 1];
	size_t base = w->path.len, i;
	struct vs_tree t;
	int r;

	if (!vs_idset_add(w->seen, id))
		return;
	w->res->trees++;
	r = vs_store_read_tree(w->s, id, &t, NULL);
	if (r < 0) {
		problem(w, "tree %s is %s", vs_id_to_hex(id, hex),
			r == VS_E_NOTFOUND ? "missing" : "corrupt");
		return;
	}
	for (i = 0; i < t.count && !stopped(w); i++) {
		const struct vs_tree_entry *e = &t.entries[i];

		if (base)
			vs_buf_addch(&w->path, '/');
		vs_buf_add(&w->path, e->name, e->name_len);
		if (e->type == VS_ENTRY_DIR)
			check_tree(w, &e->id);
		else
			check_file(w, &e->id);
		vs_buf_setlen(&w->path, base);
	}
	vs_tree_release(&t);
}

static int check_ref(const struct vs_repo *r, const char *name, bool is_tag,
		     const struct vs_id *head, void *arg)
{
	struct walk *w = arg;
	struct vs_id id = *head;
	char hex[VS_ID_HEXLEN + 1];

	w->res->refs++;
	vs_buf_reset(&w->where);
	vs_buf_addf(&w->where, "%s@%s", r->full, name);
	/* First-parent chains are the common case: loop, recurse on merges. */
	for (;;) {
		struct vs_commit c;
		size_t i;
		int rc;

		if (stopped(w) || !vs_idset_add(w->seen, &id))
			break;
		w->res->commits++;
		rc = vs_store_read_commit(w->s, &id, &c, NULL);
		if (rc < 0) {
			problem(w, "commit %s is %s", vs_id_to_hex(&id, hex),
				rc == VS_E_NOTFOUND ? "missing" : "corrupt");
			break;
		}
		vs_buf_reset(&w->path);
		check_tree(w, &c.tree);
		for (i = 1; i < c.nparents; i++)
			check_ref(r, name, is_tag, &c.parents[i], w);
		if (c.nparents == 0) {
			vs_commit_release(&c);
			break;
		}
		id = c.parents[0];
		vs_commit_release(&c);
	}
	return w->stopped ? VS_E_CANCELED : 0;	/* ends vs_refs_each */
}

int vs_verify(struct vs_store *s, const struct vs_verify_opts *opts,
	      struct vs_verify_result *res, struct vs_error *err)
{
	struct walk w = { .s = s, .opts = opts, .res = res,
			  .where = VS_BUF_INIT, .path = VS_BUF_INIT,
			  .chunk = VS_BUF_INIT };
	int r;

	memset(res, 0, sizeof(*res));
	w.seen = vs_idset_new();
	r = vs_refs_each(s, check_ref, &w, err);
	if (w.stopped)
		r = vs_check_cancel(opts->cancel, err);
	else if (r == 0 && res->problems)
		r = vs_error_set(err, VS_E_CORRUPT,
				 "%llu problem%s found",
				 (unsigned long long)res->problems,
				 res->problems == 1 ? "" : "s");
	vs_idset_free(w.seen);
	vs_buf_release(&w.where);
	vs_buf_release(&w.path);
	vs_buf_release(&w.chunk);
	return r;
}

/* --- stats ------------------------------------------------------------ */

struct stats_walk {
	struct vs_store *s;
	struct vs_stats *st;
	struct vs_idset *seen;
	struct vs_error *err;
};

static int count_repo(const struct vs_repo *r, void *arg)
{
	struct stats_walk *sw = arg;

	sw->st->repositories++;
	return 0;
}

static int stats_ref(const struct vs_repo *r, const char *name, bool is_tag,
		     const struct vs_id *head, void *arg)
{
	struct stats_walk *sw = arg;
	struct vs_id id = *head;

	for (;;) {
		struct vs_commit c;
		struct vs_tree t;
		size_t i;
		int rc;

		if (!vs_idset_add(sw->seen, &id))
			return 0;
		rc = vs_store_read_commit(sw->s, &id, &c, sw->err);
		if (rc < 0)
			return rc;
		sw->st->commits++;
		rc = vs_store_read_tree(sw->s, &c.tree, &t, sw->err);
		if (rc < 0) {
			vs_commit_release(&c);
			return rc;
		}
		for (i = 0; i < t.count; i++)
			if (t.entries[i].type != VS_ENTRY_SYMLINK)
				sw->st->logical_bytes += t.entries[i].size;
		vs_tree_release(&t);
		for (i = 1; i < c.nparents && rc == 0; i++)
			rc = stats_ref(r, name, is_tag, &c.parents[i], sw);
		if (rc < 0 || c.nparents == 0) {
			vs_commit_release(&c);
			return rc;
		}
		id = c.parents[0];
		vs_commit_release(&c);
	}
}

int vs_stats_compute(struct vs_store *s, struct vs_stats *st,
		     struct vs_error *err)
{
	struct stats_walk sw = { .s = s, .st = st, .err = err };
	struct vs_kv_iter *it;
	int r;

	memset(st, 0, sizeof(*st));
	sw.seen = vs_idset_new();
	r = vs_repo_list(s, count_repo, &sw, err);
	if (r == 0)
		r = vs_refs_each(s, stats_ref, &sw, err);
	vs_idset_free(sw.seen);
	if (r < 0)
		return r;

	it = vs_kv_iter_new(s->kv, VS_CF_META, "c", 1);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		struct vs_cursor c;
		size_t vlen;
		const void *v = vs_kv_iter_value(it, &vlen);
		uint64_t raw, stored;

		vs_cursor_init(&c, v, vlen);
		raw = vs_cursor_varint(&c);
		stored = vs_cursor_varint(&c);
		if (!vs_cursor_ok(&c))
			continue;
		st->chunks++;
		st->chunk_raw_bytes += raw;
		st->chunk_stored_bytes += stored;
	}
	r = vs_kv_iter_end(it, 0, err);
	if (r < 0)
		return r;

	it = vs_kv_iter_new(s->kv, VS_CF_OBJECTS, "", 0);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		size_t vlen;

		vs_kv_iter_value(it, &vlen);
		st->objects++;
		st->object_bytes += vlen;
	}
	r = vs_kv_iter_end(it, 0, err);
	return r;
}
