/*
 * test_walk.c - unit tests of store/walk.c on a small hand-built store
 * whose subtree S is shared by two paths of one commit and by two commits,
 * and whose file chunks overlap: the exact visit order; each object and
 * chunk once with deduplication (across roots and walks), every path
 * without; pruning a ref, a commit, a tree, a file; history on and off;
 * a missing tree, file or chunk reported through the visitor while the walk
 * goes on; a visitor's error stopping the walk; cancellation; and a chunk
 * whose id equals an object's id still visited.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compress.h"
#include "kv.h"
#include "refs.h"
#include "walk.h"
#include "testutil.h"
#include "banned.h"

/*
 * The store:
 *   chunks k1, k2, k3
 *   file A = [k1, k2], file B = [k2, k3], file I = inline "hello"
 *   tree S = { x: A }
 *   root1 = { a: A, s1: S, s2: S }         commit C1 (no parent)
 *   root2 = { b: B, s: S, t: I }           commit C2 (parent C1)
 *   datasets/w: branch main -> C2, tag v1 -> C1
 */
struct fx {
	struct tu_env *e;
	struct vs_zctx *z;
	struct vs_repo r;
	struct vs_id k1, k2, k3, fa, fb, fi, s, root1, root2, c1, c2;
};

static struct vs_id put_chunk(struct fx *fx, const void *data, size_t len)
{
	struct vs_id id;

	vs_hash(data, len, &id);
	assert_int_equal(vs_chunk_put(fx->e->s, fx->z, &id, data, len, NULL,
				      NULL), 0);
	return id;
}

static struct vs_id put_file(struct fx *fx, const struct vs_id *c1,
			     size_t len1, const struct vs_id *c2, size_t len2)
{
	struct vs_file f;
	struct vs_id id;

	vs_file_init(&f);
	vs_file_add_chunk(&f, c1, len1);
	if (c2)
		vs_file_add_chunk(&f, c2, len2);
	assert_int_equal(vs_store_write_file(fx->e->s, &f, &id, NULL), 0);
	vs_file_release(&f);
	return id;
}

/* A tree of n entries given as name, type, id triples. */
static struct vs_id put_tree(struct fx *fx, size_t n, ...)
{
	struct vs_tree t;
	struct vs_id id;
	va_list ap;
	size_t i;

	vs_tree_init(&t);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *name = va_arg(ap, const char *);
		enum vs_entry_type type = va_arg(ap, enum vs_entry_type);
		const struct vs_id *eid = va_arg(ap, const struct vs_id *);

		vs_tree_add(&t, name, strlen(name), type, 1, eid);
	}
	va_end(ap);
	vs_tree_sort(&t);
	assert_int_equal(vs_store_write_tree(fx->e->s, &t, &id, NULL), 0);
	vs_tree_release(&t);
	return id;
}

static struct vs_id put_commit(struct fx *fx, const struct vs_id *tree,
			       const struct vs_id *parent)
{
	struct vs_commit c;
	struct vs_id id;

	vs_commit_init(&c);
	c.tree = *tree;
	c.time = 1700000000;
	vs_commit_set_author(&c, "test");
	vs_commit_set_message(&c, "walk");
	if (parent)
		vs_commit_add_parent(&c, parent);
	assert_int_equal(vs_store_write_commit(fx->e->s, &c, &id, NULL), 0);
	vs_commit_release(&c);
	return id;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct vs_file f;
	struct vs_tag tag;

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	fx->z = vs_zctx_new(3);
	assert_int_equal(vs_repo_parse(&fx->r, "datasets/w", 10, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->r, NULL), 0);
	fx->k1 = put_chunk(fx, "chunk one", 9);
	fx->k2 = put_chunk(fx, "chunk two", 9);
	fx->k3 = put_chunk(fx, "chunk three", 11);
	fx->fa = put_file(fx, &fx->k1, 9, &fx->k2, 9);
	fx->fb = put_file(fx, &fx->k2, 9, &fx->k3, 11);
	vs_file_init(&f);
	vs_file_set_inline(&f, "hello", 5);
	assert_int_equal(vs_store_write_file(fx->e->s, &f, &fx->fi, NULL), 0);
	vs_file_release(&f);
	fx->s = put_tree(fx, 1, "x", VS_ENTRY_FILE, &fx->fa);
	fx->root1 = put_tree(fx, 3, "a", VS_ENTRY_FILE, &fx->fa,
			     "s1", VS_ENTRY_DIR, &fx->s,
			     "s2", VS_ENTRY_DIR, &fx->s);
	fx->root2 = put_tree(fx, 3, "b", VS_ENTRY_FILE, &fx->fb,
			     "s", VS_ENTRY_DIR, &fx->s,
			     "t", VS_ENTRY_SYMLINK, &fx->fi);
	fx->c1 = put_commit(fx, &fx->root1, NULL);
	fx->c2 = put_commit(fx, &fx->root2, &fx->c1);
	assert_int_equal(vs_branch_update(fx->e->s, &fx->r, "main", NULL,
					  &fx->c2, NULL, 0, NULL), 0);
	vs_tag_init(&tag);
	tag.commit = fx->c1;
	assert_int_equal(vs_tag_create(fx->e->s, &fx->r, "v1", &tag, NULL), 0);
	vs_tag_release(&tag);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	vs_zctx_free(fx->z);
	tu_env_free(fx->e);
	free(fx);
	return 0;
}

static void delete_object(struct fx *fx, const struct vs_id *id)
{
	struct vs_kv_batch *b = vs_kv_batch_new();

	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_OBJECTS, id->b, VS_ID_LEN);
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
}

/* The body and the size record ("c" + id), which vs_chunk_has looks up. */
static void delete_chunk(struct fx *fx, const struct vs_id *id)
{
	struct vs_kv_batch *b = vs_kv_batch_new();
	uint8_t key[1 + VS_ID_LEN] = { 'c' };

	memcpy(key + 1, id->b, VS_ID_LEN);
	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_CHUNKS, id->b, VS_ID_LEN);
	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_META, key, sizeof(key));
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
	assert_false(vs_chunk_has(fx->e->s, id));
}

/* --- a recording visitor ------------------------------------------------------ */

struct rec {
	struct fx *fx;
	struct vs_buf log;	/* one token per visit, space-separated */
	int counts[VS_WALK_CHUNK + 1];
	int errors;
	/* Answers: PRUNE or an error at the visit of this kind and path. */
	enum vs_walk_kind at_kind;
	const char *at_path;	/* NULL: never */
	int answer;
	atomic_bool *cancel;	/* set at the first FILE visit, if not NULL */
};

static const char *chunk_name(struct fx *fx, const struct vs_id *id)
{
	if (vs_id_equal(id, &fx->k1))
		return "k1";
	if (vs_id_equal(id, &fx->k2))
		return "k2";
	if (vs_id_equal(id, &fx->k3))
		return "k3";
	return "k?";
}

static int record(void *arg, const struct vs_walk_visit *v,
		  struct vs_error *err)
{
	static const char *const kinds = "RCTLFK";
	struct rec *rc = arg;

	(void)err;
	assert_true(strlen(v->path) == v->path_len);
	if (rc->log.len)
		vs_buf_addch(&rc->log, ' ');
	vs_buf_addch(&rc->log, kinds[v->kind]);
	switch (v->kind) {
	case VS_WALK_REF:
		vs_buf_addf(&rc->log, ":%s", v->ref);
		break;
	case VS_WALK_COMMIT:
		vs_buf_addstr(&rc->log,
			      vs_id_equal(v->id, &rc->fx->c1) ? ":c1" :
			      vs_id_equal(v->id, &rc->fx->c2) ? ":c2" : ":c?");
		assert_true(v->error || v->commit);
		break;
	case VS_WALK_CHUNK:
		vs_buf_addf(&rc->log, ":%s", chunk_name(rc->fx, v->id));
		assert_non_null(v->chunk);
		assert_non_null(v->file);
		assert_true(vs_id_equal(v->id, &v->chunk->id));
		break;
	default:
		vs_buf_addf(&rc->log, ":%s", v->path);
		/* A root tree has no entry, anything below one. */
		assert_true((v->entry == NULL) == (v->path_len == 0));
		break;
	}
	if (v->error) {
		vs_buf_addch(&rc->log, '!');
		rc->errors++;
	}
	rc->counts[v->kind]++;
	if (rc->cancel && v->kind == VS_WALK_FILE)
		atomic_store(rc->cancel, true);
	if (rc->at_path && v->kind == rc->at_kind &&
	    !strcmp(v->path, rc->at_path))
		return rc->answer;
	return 0;
}

static void rec_init(struct rec *rc, struct fx *fx)
{
	memset(rc, 0, sizeof(*rc));
	rc->fx = fx;
	vs_buf_init(&rc->log, 256);
}

/* Back to as after rec_init, keeping the log's memory. */
static void rec_reset(struct rec *rc)
{
	struct vs_buf log = rc->log;
	struct fx *fx = rc->fx;

	memset(rc, 0, sizeof(*rc));
	rc->fx = fx;
	rc->log = log;
	vs_buf_reset(&rc->log);
}

/* Walks every ref with flags into rc; returns the walk's answer. */
static int walk_refs(struct fx *fx, unsigned flags, struct rec *rc)
{
	struct vs_walk *w = vs_walk_new(fx->e->s, flags, record, rc);
	int r = vs_walk_refs(w, NULL);

	vs_walk_free(w);
	return r;
}

/* --- order and counts ------------------------------------------------------------ */

static void test_order_dedup(void **state)
{
	struct fx *fx = *state;
	struct vs_walk *w;
	struct rec rc;

	rec_init(&rc, fx);
	w = vs_walk_new(fx->e->s, VS_WALK_HISTORY | VS_WALK_CHUNKS, record,
			&rc);
	assert_int_equal(vs_walk_refs(w, NULL), 0);
	/* main: C2 and below, then C1 (history) where A and S are known;
	 * v1: its commit C1 was walked already. */
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b K:k2 K:k3 T:s F:s/x K:k1 L:s "
			    "F:t L: C:c1 T: L: R:v1");
	assert_int_equal(rc.counts[VS_WALK_REF], 2);
	assert_int_equal(rc.counts[VS_WALK_COMMIT], 2);
	assert_int_equal(rc.counts[VS_WALK_TREE], 3);	/* root2, S, root1 */
	assert_int_equal(rc.counts[VS_WALK_FILE], 3);	/* B, A, I */
	assert_int_equal(rc.counts[VS_WALK_CHUNK], 3);
	assert_int_equal(rc.errors, 0);

	/* The seen-sets outlive the call: a second walk sees only refs. */
	vs_buf_reset(&rc.log);
	assert_int_equal(vs_walk_refs(w, NULL), 0);
	assert_string_equal(rc.log.data, "R:main R:v1");
	assert_int_equal(vs_walk_tree(w, &fx->s, NULL), 0);
	assert_int_equal(vs_walk_commit(w, &fx->c1, NULL), 0);
	assert_string_equal(rc.log.data, "R:main R:v1");
	vs_walk_free(w);

	/* One tree as a root, on a fresh walker: path "", no ref; A is
	 * known by the time s1/x names it again. */
	vs_buf_reset(&rc.log);
	w = vs_walk_new(fx->e->s, VS_WALK_FILES, record, &rc);
	assert_int_equal(vs_walk_tree(w, &fx->root1, NULL), 0);
	assert_string_equal(rc.log.data, "T: F:a T:s1 L:s1 L:");
	vs_walk_free(w);

	/* One ref, given by its head. */
	vs_buf_reset(&rc.log);
	w = vs_walk_new(fx->e->s, 0, record, &rc);
	assert_int_equal(vs_walk_ref(w, &fx->r, "v1", true, &fx->c1, NULL),
			 0);
	assert_string_equal(rc.log.data, "R:v1 C:c1 T: F:a T:s1 L:s1 L:");
	vs_walk_free(w);
	vs_buf_release(&rc.log);
}

/* Without deduplication every path is visited; commits still once. */
static void test_every_path(void **state)
{
	struct fx *fx = *state;
	struct rec rc;

	rec_init(&rc, fx);
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY | VS_WALK_CHUNKS |
					       VS_WALK_EVERY_PATH, &rc), 0);
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b K:k2 K:k3 T:s F:s/x K:k1 K:k2 "
			    "L:s F:t L: C:c1 T: F:a K:k1 K:k2 T:s1 F:s1/x "
			    "K:k1 K:k2 L:s1 T:s2 F:s2/x K:k1 K:k2 L:s2 L: "
			    "R:v1");
	/* root2, s, root1, s1, s2 */
	assert_int_equal(rc.counts[VS_WALK_TREE], 5);
	assert_int_equal(rc.counts[VS_WALK_LEAVE_TREE], 5);
	assert_int_equal(rc.counts[VS_WALK_FILE], 6);
	assert_int_equal(rc.counts[VS_WALK_CHUNK], 10);

	/* Without reading files: FILE visits, no chunks. */
	rec_reset(&rc);
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY | VS_WALK_EVERY_PATH,
				   &rc), 0);
	assert_int_equal(rc.counts[VS_WALK_FILE], 6);
	assert_int_equal(rc.counts[VS_WALK_CHUNK], 0);
	vs_buf_release(&rc.log);
}

static void test_history(void **state)
{
	struct fx *fx = *state;
	struct rec rc;

	/* Off: each ref's own commit only; v1's C1 is new then (its A and
	 * S were met below C2). */
	rec_init(&rc, fx);
	assert_int_equal(walk_refs(fx, 0, &rc), 0);
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b T:s F:s/x L:s F:t L: "
			    "R:v1 C:c1 T: L:");

	/* On, from one commit outside any ref. */
	rec_reset(&rc);
	{
		struct vs_walk *w = vs_walk_new(fx->e->s, VS_WALK_HISTORY,
						record, &rc);

		assert_int_equal(vs_walk_commit(w, &fx->c2, NULL), 0);
		vs_walk_free(w);
	}
	assert_int_equal(rc.counts[VS_WALK_COMMIT], 2);
	assert_int_equal(rc.counts[VS_WALK_REF], 0);
	vs_buf_release(&rc.log);
}

static void test_prune(void **state)
{
	struct fx *fx = *state;
	struct rec rc;

	/* A tree: neither its entries nor its LEAVE_TREE. */
	rec_init(&rc, fx);
	rc.at_kind = VS_WALK_TREE;
	rc.at_path = "s";
	rc.answer = VS_WALK_PRUNE;
	assert_int_equal(walk_refs(fx, VS_WALK_CHUNKS, &rc), 0);
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b K:k2 K:k3 T:s F:t L: "
			    "R:v1 C:c1 T: F:a K:k1 L:");

	/* A file: not its chunks. */
	rec_reset(&rc);
	rc.at_kind = VS_WALK_FILE;
	rc.at_path = "b";
	rc.answer = VS_WALK_PRUNE;
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY | VS_WALK_CHUNKS, &rc),
			 0);
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b T:s F:s/x K:k1 K:k2 L:s "
			    "F:t L: C:c1 T: L: R:v1");

	/* A commit (path ""): not its tree, nor its history. */
	rec_reset(&rc);
	rc.at_kind = VS_WALK_COMMIT;
	rc.at_path = "";
	rc.answer = VS_WALK_PRUNE;
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY, &rc), 0);
	assert_string_equal(rc.log.data, "R:main C:c2 R:v1 C:c1");

	/* A ref: none of its commits. */
	rec_reset(&rc);
	rc.at_kind = VS_WALK_REF;
	rc.at_path = "";
	rc.answer = VS_WALK_PRUNE;
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY, &rc), 0);
	assert_string_equal(rc.log.data, "R:main R:v1");
	vs_buf_release(&rc.log);
}

/* --- errors ------------------------------------------------------------------------ */

static void test_missing(void **state)
{
	struct fx *fx = *state;
	struct vs_error err = { 0 };
	struct vs_walk *w;
	struct rec rc;

	delete_object(fx, &fx->s);
	delete_object(fx, &fx->fb);
	delete_chunk(fx, &fx->k1);

	/* Each reported once, nothing below it, the walk goes on, and err
	 * is left clear as the visitor accepted them. */
	rec_init(&rc, fx);
	w = vs_walk_new(fx->e->s, VS_WALK_HISTORY | VS_WALK_HAS_CHUNKS,
			record, &rc);
	assert_int_equal(vs_walk_refs(w, &err), 0);
	vs_walk_free(w);
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b! T:s! F:t L: C:c1 T: F:a "
			    "K:k1! K:k2 L: R:v1");
	assert_int_equal(rc.errors, 3);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");

	/* Without VS_WALK_HAS_CHUNKS a chunk is not looked up. */
	vs_buf_reset(&rc.log);
	rc.errors = 0;
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY | VS_WALK_CHUNKS, &rc),
			 0);
	assert_int_equal(rc.errors, 2);

	/* A visitor that stops at a missing one: its code, and the read's
	 * message in err. */
	vs_buf_reset(&rc.log);
	rc.at_kind = VS_WALK_FILE;
	rc.at_path = "b";
	rc.answer = VS_E_NOTFOUND;
	w = vs_walk_new(fx->e->s, VS_WALK_CHUNKS, record, &rc);
	assert_int_equal(vs_walk_refs(w, &err), VS_E_NOTFOUND);
	vs_walk_free(w);
	assert_string_equal(rc.log.data, "R:main C:c2 T: F:b!");
	assert_int_equal(err.code, VS_E_NOTFOUND);
	assert_true(err.msg[0] != '\0');

	/* A missing commit: reported, its tree and parents unreachable. */
	delete_object(fx, &fx->c2);
	rec_reset(&rc);
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY, &rc), 0);
	assert_string_equal(rc.log.data,
			    "R:main C:c2! R:v1 C:c1 T: F:a T:s1! L:");
	vs_buf_release(&rc.log);
}

/* A visitor's error stops the walk at once: no LEAVE_TREE, no next ref. */
static void test_stop(void **state)
{
	struct fx *fx = *state;
	struct rec rc;

	rec_init(&rc, fx);
	rc.at_kind = VS_WALK_FILE;
	rc.at_path = "s/x";
	rc.answer = -EIO;
	assert_int_equal(walk_refs(fx, VS_WALK_HISTORY | VS_WALK_CHUNKS, &rc),
			 -EIO);
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b K:k2 K:k3 T:s F:s/x");

	/* From a LEAVE_TREE alike. */
	rec_reset(&rc);
	rc.at_kind = VS_WALK_LEAVE_TREE;
	rc.at_path = "s";
	rc.answer = -ENOSPC;
	assert_int_equal(walk_refs(fx, VS_WALK_CHUNKS, &rc), -ENOSPC);
	assert_string_equal(rc.log.data,
			    "R:main C:c2 T: F:b K:k2 K:k3 T:s F:s/x K:k1 L:s");
	vs_buf_release(&rc.log);
}

static void test_cancel(void **state)
{
	struct fx *fx = *state;
	atomic_bool cancel = true;
	struct vs_error err = { 0 };
	struct vs_walk *w;
	struct rec rc;

	/* Set before: the first ref is visited, no commit. */
	rec_init(&rc, fx);
	w = vs_walk_new(fx->e->s, VS_WALK_HISTORY | VS_WALK_CHUNKS, record,
			&rc);
	vs_walk_set_cancel(w, &cancel);
	assert_int_equal(vs_walk_refs(w, &err), VS_E_CANCELED);
	assert_string_equal(err.msg, "interrupted");
	assert_string_equal(rc.log.data, "R:main");
	vs_walk_free(w);

	/* Set during: stops before the next chunk. */
	atomic_store(&cancel, false);
	rec_reset(&rc);
	rc.cancel = &cancel;
	w = vs_walk_new(fx->e->s, VS_WALK_HISTORY | VS_WALK_CHUNKS, record,
			&rc);
	vs_walk_set_cancel(w, &cancel);
	assert_int_equal(vs_walk_refs(w, NULL), VS_E_CANCELED);
	assert_string_equal(rc.log.data, "R:main C:c2 T: F:b");
	vs_walk_free(w);

	/* Set during, no chunks: stops before the next entry. */
	atomic_store(&cancel, false);
	rec_reset(&rc);
	rc.cancel = &cancel;
	w = vs_walk_new(fx->e->s, 0, record, &rc);
	vs_walk_set_cancel(w, &cancel);
	assert_int_equal(vs_walk_tree(w, &fx->root2, NULL), VS_E_CANCELED);
	assert_string_equal(rc.log.data, "T: F:b");
	vs_walk_free(w);
	vs_buf_release(&rc.log);
}

/* A chunk whose bytes are an encoded object has that object's id: the
 * separate seen-sets still visit both. */
static void test_chunk_like_object(void **state)
{
	struct fx *fx = *state;
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_id kid, fid, root, c;
	struct vs_walk *w;
	struct rec rc;

	assert_int_equal(vs_object_get(fx->e->s, &fx->s, &enc, NULL), 0);
	kid = put_chunk(fx, enc.data, enc.len);
	assert_true(vs_id_equal(&kid, &fx->s));
	fid = put_file(fx, &kid, enc.len, NULL, 0);
	root = put_tree(fx, 2, "obj", VS_ENTRY_FILE, &fid,
			"s", VS_ENTRY_DIR, &fx->s);
	c = put_commit(fx, &root, NULL);

	rec_init(&rc, fx);
	w = vs_walk_new(fx->e->s, VS_WALK_CHUNKS, record, &rc);
	assert_int_equal(vs_walk_commit(w, &c, NULL), 0);
	vs_walk_free(w);
	assert_string_equal(rc.log.data,
			    "C:c? T: F:obj K:k? T:s F:s/x K:k1 K:k2 L:s L:");
	vs_buf_release(&rc.log);
	vs_buf_release(&enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_dedup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_every_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunk_like_object, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
