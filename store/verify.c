/*
 * verify.c - integrity check (verify) and space accounting (stats), both
 * visitors of the reachability walk (walk.h).
 */
#include "verify.h"
#include "store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "refs.h"
#include "walk.h"

#include "banned.h"

/*
 * The verify visitor's state.  Every check is a visit of the walk over
 * every ref (walk.h): objects the walker could not read are reported as
 * they come; chunks are looked up (quick) or read and re-hashed (full).
 */
struct verify {
	struct vs_store *s;
	const struct vs_verify_opts *opts;
	struct vs_verify_result *res;
	struct vs_buf chunk;
	struct timespec last;
};

static void problem(struct verify *vf, const struct vs_walk_visit *v,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports a problem found at visit v: the message, then where it was. */
static void problem(struct verify *vf, const struct vs_walk_visit *v,
		    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	vf->res->problems++;
	if (!vf->opts->problem)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, " (in %s@%s%s%s)",
			 v->repo->full, v->ref, v->path_len ? ":" : "",
			 v->path);
	vf->opts->problem(vf->opts->problem_arg, msg);
}

static void progress(struct verify *vf)
{
	struct timespec now;

	if (!vf->opts->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - vf->last.tv_sec) * 1000000000LL +
		    (now.tv_nsec - vf->last.tv_nsec) < 100000000LL)
		return;
	vf->last = now;
	vf->opts->progress(vf->opts->progress_arg, vf->res->chunks,
			   vf->res->chunk_bytes);
}

static void check_chunk(struct verify *vf, const struct vs_walk_visit *v)
{
	const struct vs_chunk_ref *c = v->chunk;
	char hex[VS_ID_HEXLEN + 1];
	struct vs_error e = { 0 };
	int r;

	vf->res->chunks++;
	vs_id_to_hex(&c->id, hex);
	if (!vf->opts->full) {
		/* The walker looked it up (VS_WALK_HAS_CHUNKS). */
		if (v->error)
			problem(vf, v, "chunk %s is missing", hex);
		return;
	}
	r = vs_chunk_get_rehashed(vf->s, NULL, &c->id, &vf->chunk, &e);
	if (r == VS_E_NOTFOUND)
		problem(vf, v, "chunk %s is missing", hex);
	else if (r < 0)
		problem(vf, v, "chunk %s is corrupt (%s)", hex,
			vs_strerror(r));
	else if (vf->chunk.len != c->len)
		problem(vf, v, "chunk %s has length %zu, expected %llu", hex,
			vf->chunk.len, (unsigned long long)c->len);
	/* A failed read may leave the previous chunk in vf->chunk. */
	if (r == 0)
		vf->res->chunk_bytes += vf->chunk.len;
	progress(vf);
}

/* Reports an object the walker could not read. */
static void unreadable(struct verify *vf, const struct vs_walk_visit *v,
		       const char *what)
{
	char hex[VS_ID_HEXLEN + 1];

	problem(vf, v, "%s %s is %s", what, vs_id_to_hex(v->id, hex),
		v->error == VS_E_NOTFOUND ? "missing" : "corrupt");
}

static int verify_visit(void *arg, const struct vs_walk_visit *v,
			struct vs_error *err)
{
	struct verify *vf = arg;

	(void)err;
	switch (v->kind) {
	case VS_WALK_REF:
		vf->res->refs++;
		break;
	case VS_WALK_COMMIT:
		vf->res->commits++;
		if (v->error)
			unreadable(vf, v, "commit");
		break;
	case VS_WALK_TREE:
		vf->res->trees++;
		if (v->error)
			unreadable(vf, v, "tree");
		break;
	case VS_WALK_FILE:
		vf->res->files++;
		if (v->error)
			unreadable(vf, v, "file");
		break;
	case VS_WALK_CHUNK:
		check_chunk(vf, v);
		break;
	case VS_WALK_LEAVE_TREE:
		break;
	}
	/* A problem is counted and reported, and the walk goes on. */
	return 0;
}

int vs_verify(struct vs_store *s, const struct vs_verify_opts *opts,
	      struct vs_verify_result *res, struct vs_error *err)
{
	struct verify vf = { .s = s, .opts = opts, .res = res,
			     .chunk = VS_BUF_INIT };
	struct vs_walk *w;
	int r;

	memset(res, 0, sizeof(*res));
	w = vs_walk_new(s, VS_WALK_HISTORY | (opts->full ? VS_WALK_CHUNKS :
							  VS_WALK_HAS_CHUNKS),
			verify_visit, &vf);
	vs_walk_set_cancel(w, opts->cancel);
	r = vs_walk_refs(w, err);
	if (r == 0 && res->problems)
		r = vs_error_set(err, VS_E_CORRUPT,
				 "%llu problem%s found",
				 (unsigned long long)res->problems,
				 res->problems == 1 ? "" : "s");
	vs_walk_free(w);
	vs_buf_release(&vf.chunk);
	return r;
}

/* --- stats ------------------------------------------------------------ */

static int count_repo(const struct vs_repo *r, void *arg)
{
	struct vs_stats *st = arg;

	(void)r;
	st->repositories++;
	return 0;
}

/*
 * The stats visitor: every reachable commit once, and the bytes its root
 * tree's entries hold (a directory entry's size is its subtree's), so a
 * root tree counts once per commit that has it (VS_WALK_EVERY_PATH) and
 * nothing below it is read.  A read error stops the walk.
 */
static int stats_visit(void *arg, const struct vs_walk_visit *v,
		       struct vs_error *err)
{
	struct vs_stats *st = arg;
	size_t i;

	(void)err;
	if (v->error)
		return v->error;
	switch (v->kind) {
	case VS_WALK_COMMIT:
		st->commits++;
		return 0;
	case VS_WALK_TREE:
		for (i = 0; i < v->tree->count; i++)
			if (v->tree->entries[i].type != VS_ENTRY_SYMLINK)
				st->logical_bytes += v->tree->entries[i].size;
		return VS_WALK_PRUNE;
	default:
		return 0;
	}
}

int vs_stats_compute(struct vs_store *s, struct vs_stats *st,
		     struct vs_error *err)
{
	struct vs_kv_iter *it;
	struct vs_walk *w;
	int r;

	memset(st, 0, sizeof(*st));
	r = vs_repo_list(s, count_repo, st, err);
	if (r < 0)
		return r;
	w = vs_walk_new(s, VS_WALK_HISTORY | VS_WALK_EVERY_PATH, stats_visit,
			st);
	r = vs_walk_refs(w, err);
	vs_walk_free(w);
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
