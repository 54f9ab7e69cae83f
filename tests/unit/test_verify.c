/*
 * test_verify.c - unit tests of store/verify.c: a sound store verifies
 * clean (with exact object counts); a missing or damaged chunk is found by
 * a full verify, named by id, while a quick one reads no chunk bodies;
 * missing and damaged objects are found either way; and the statistics:
 * logical bytes summed over commits, chunk totals, deduplication; and
 * a chunk whose id is also an object's is re-hashed all the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compress.h"
#include "idset.h"
#include "ingest.h"
#include "kv.h"
#include "refs.h"
#include "verify.h"
#include "testutil.h"
#include "banned.h"

struct fx {
	struct tu_env *e;
	struct vs_repo r;
	char src[PATH_MAX];
	struct vs_id commit;
	struct vs_node root;
};

static void commit(struct fx *fx, const char *branch, const char *msg,
		   struct vs_id *out)
{
	struct vs_ingest_opts o = { .branch = branch, .message = msg,
				    .threads = 2 };
	struct vs_ingest_result res;

	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &res,
				       NULL), 0);
	*out = res.commit;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	assert_int_equal(vs_repo_parse(&fx->r, "datasets/v", 10, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->r, NULL), 0);
	tu_join(fx->src, fx->e->dir, "src");
	tu_mkdir(fx->src);
	tu_make_tree(fx->src, 21, 0);
	commit(fx, NULL, "first", &fx->commit);
	assert_int_equal(vs_commit_root(fx->e->s, &fx->commit, &fx->root, NULL),
			 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_env_free(fx->e);
	free(fx);
	return 0;
}

struct problems {
	int n;
	char last[1024];	/* the last message */
	char all[8192];		/* every message, one a line */
};

static void problem_cb(void *arg, const char *msg)
{
	struct problems *p = arg;
	size_t len = strlen(p->all);

	p->n++;
	snprintf(p->last, sizeof(p->last), "%s", msg);
	snprintf(p->all + len, sizeof(p->all) - len, "%s\n", msg);
}

static int progress_calls;

static void progress_cb(void *arg, uint64_t chunks, uint64_t bytes)
{
	(void)arg;
	(void)chunks;
	(void)bytes;
	progress_calls++;
}

static int verify(struct fx *fx, bool full, struct problems *p,
		  struct vs_verify_result *res)
{
	struct vs_verify_opts o = { .full = full, .problem = problem_cb,
				    .problem_arg = p,
				    .progress = progress_cb };

	memset(p, 0, sizeof(*p));
	return vs_verify(fx->e->s, &o, res, NULL);
}

/* The first chunk of the file at path in the fixture's commit. */
static struct vs_chunk_ref chunk_of(struct fx *fx, const char *path,
				    size_t which)
{
	struct vs_chunk_ref c;
	struct vs_node n;
	struct vs_file f;

	assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id, fx->root.size,
					path, &n, NULL), 0);
	assert_int_equal(vs_store_read_file(fx->e->s, &n.id, &f, NULL), 0);
	assert_true(which < f.nchunks);
	c = f.chunks[which];
	vs_file_release(&f);
	return c;
}

/* Sum of the distinct chunks' lengths and their number, by walking. */
static void count_chunks(struct fx *fx, const struct vs_id *tree,
			 struct vs_idset *seen, uint64_t *n, uint64_t *bytes)
{
	struct vs_tree t;
	size_t i, j;

	assert_int_equal(vs_store_read_tree(fx->e->s, tree, &t, NULL), 0);
	for (i = 0; i < t.count; i++) {
		struct vs_file f;

		if (t.entries[i].type == VS_ENTRY_DIR) {
			count_chunks(fx, &t.entries[i].id, seen, n, bytes);
			continue;
		}
		assert_int_equal(vs_store_read_file(fx->e->s, &t.entries[i].id,
						    &f, NULL), 0);
		for (j = 0; j < f.nchunks; j++) {
			if (!vs_idset_add(seen, &f.chunks[j].id))
				continue;
			(*n)++;
			*bytes += f.chunks[j].len;
		}
		vs_file_release(&f);
	}
	vs_tree_release(&t);
}

static void test_sound(void **state)
{
	struct fx *fx = *state;
	struct vs_verify_result res;
	struct problems p;
	struct vs_idset *seen = vs_idset_new();
	uint64_t nchunks = 0, bytes = 0;
	struct vs_tag tag;

	count_chunks(fx, &fx->root.id, seen, &nchunks, &bytes);
	vs_idset_free(seen);
	assert_true(nchunks > TU_BIG_SIZE / (16 * TU_KIB));

	vs_tag_init(&tag);
	tag.commit = fx->commit;
	assert_int_equal(vs_tag_create(fx->e->s, &fx->r, "v1", &tag, NULL), 0);
	vs_tag_release(&tag);

	assert_int_equal(verify(fx, false, &p, &res), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(res.problems, 0);
	assert_int_equal(res.refs, 2);
	assert_int_equal(res.commits, 1);
	/* root, a, a/b, a/b/c, empty */
	assert_int_equal(res.trees, 5);
	/* 9 files and 2 symlink targets, all different */
	assert_int_equal(res.files, 11);
	assert_int_equal(res.chunks, nchunks);
	assert_int_equal(res.chunk_bytes, 0);

	progress_calls = 0;
	assert_int_equal(verify(fx, true, &p, &res), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(res.chunks, nchunks);
	assert_int_equal(res.chunk_bytes, bytes);
	assert_true(progress_calls >= 1);

	/* No repositories at all is sound too. */
	{
		struct tu_env *e2 = tu_env_new();
		struct vs_verify_opts o = { .full = true };

		assert_int_equal(vs_verify(e2->s, &o, &res, NULL), 0);
		assert_int_equal(res.refs, 0);
		tu_env_free(e2);
	}
}

static void cancel_on_progress(void *arg, uint64_t chunks, uint64_t bytes)
{
	(void)chunks;
	(void)bytes;
	atomic_store((atomic_bool *)arg, true);
}

/* A walk its caller stops ends early, with no problem reported. */
static void test_canceled(void **state)
{
	struct fx *fx = *state;
	atomic_bool cancel = true;
	struct vs_verify_opts o = { .full = true, .cancel = &cancel };
	struct vs_verify_result res, all;
	struct vs_error err = { 0 };
	struct problems p;

	assert_int_equal(vs_verify(fx->e->s, &o, &res, &err), VS_E_CANCELED);
	assert_string_equal(err.msg, "interrupted");
	assert_int_equal(res.commits, 0);
	assert_int_equal(res.problems, 0);

	/* Stopped at the first progress report, after the first chunk. */
	assert_int_equal(verify(fx, true, &p, &all), 0);
	atomic_store(&cancel, false);
	o.progress = cancel_on_progress;
	o.progress_arg = &cancel;
	assert_int_equal(vs_verify(fx->e->s, &o, &res, NULL), VS_E_CANCELED);
	assert_true(res.chunks >= 1 && res.chunks < all.chunks);
	assert_int_equal(res.problems, 0);
}

static void test_missing_chunk(void **state)
{
	struct fx *fx = *state;
	struct vs_chunk_ref c = chunk_of(fx, "big.bin", 3);
	struct vs_verify_result res, before;
	struct vs_error err = { 0 };
	struct vs_verify_opts o = { .full = true };
	char hex[VS_ID_HEXLEN + 1];
	struct vs_kv_batch *b;
	struct problems p;

	assert_int_equal(verify(fx, true, &p, &before), 0);
	b = vs_kv_batch_new();
	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_CHUNKS, c.id.b, VS_ID_LEN);
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, VS_KV_SYNC, NULL), 0);
	vs_kv_batch_free(b);

	assert_int_equal(verify(fx, true, &p, &res), VS_E_CORRUPT);
	assert_int_equal(p.n, 1);
	assert_int_equal(res.problems, 1);
	assert_non_null(strstr(p.last, vs_id_to_hex(&c.id, hex)));
	assert_non_null(strstr(p.last, "missing"));
	/* Where it was found. */
	assert_non_null(strstr(p.last, "big.bin"));
	assert_non_null(strstr(p.last, "datasets/v"));
	assert_int_equal(res.chunks, before.chunks);
	assert_int_equal(res.chunk_bytes, before.chunk_bytes - c.len);

	/* Without a problem callback: counted, and the error says so. */
	assert_int_equal(vs_verify(fx->e->s, &o, &res, &err), VS_E_CORRUPT);
	assert_int_equal(res.problems, 1);
	assert_int_equal(err.code, VS_E_CORRUPT);
	assert_non_null(strstr(err.msg, "1 problem"));
}

static void test_garbage_chunk(void **state)
{
	struct fx *fx = *state;
	struct vs_chunk_ref c = chunk_of(fx, "text.txt", 1);
	struct vs_chunk_ref c2 = chunk_of(fx, "a/b/c/mid.bin", 0);
	struct vs_verify_result res;
	char hex[VS_ID_HEXLEN + 1];
	struct problems p;
	uint8_t junk[100];

	tu_fill_random(junk, sizeof(junk), 1);
	assert_int_equal(vs_kv_put(fx->e->s->kv, VS_CF_CHUNKS, c.id.b,
				   VS_ID_LEN, junk, sizeof(junk), NULL), 0);

	/* A quick verify reads no chunk body, so it sees nothing. */
	assert_int_equal(verify(fx, false, &p, &res), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(res.chunk_bytes, 0);

	assert_int_equal(verify(fx, true, &p, &res), VS_E_CORRUPT);
	assert_int_equal(p.n, 1);
	assert_non_null(strstr(p.last, vs_id_to_hex(&c.id, hex)));
	assert_non_null(strstr(p.last, "corrupt"));
	assert_non_null(strstr(p.last, "text.txt"));

	/* A second bad chunk: two problems, each reported once. */
	assert_int_equal(vs_kv_put(fx->e->s->kv, VS_CF_CHUNKS, c2.id.b,
				   VS_ID_LEN, junk, 10, NULL), 0);
	assert_int_equal(verify(fx, true, &p, &res), VS_E_CORRUPT);
	assert_int_equal(p.n, 2);
	assert_int_equal(res.problems, 2);
	assert_non_null(strstr(p.all, vs_id_to_hex(&c.id, hex)));
	assert_non_null(strstr(p.all, vs_id_to_hex(&c2.id, hex)));
}

static void delete_object(struct fx *fx, const struct vs_id *id)
{
	struct vs_kv_batch *b = vs_kv_batch_new();

	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_OBJECTS, id->b, VS_ID_LEN);
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
}

static void test_bad_objects(void **state)
{
	struct fx *fx = *state;
	struct vs_verify_result res;
	char hex[VS_ID_HEXLEN + 1];
	struct problems p;
	struct vs_node n;

	/* A missing file object. */
	assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id, fx->root.size,
					"a/one.txt", &n, NULL), 0);
	delete_object(fx, &n.id);
	assert_int_equal(verify(fx, false, &p, &res), VS_E_CORRUPT);
	assert_int_equal(p.n, 1);
	assert_non_null(strstr(p.last, vs_id_to_hex(&n.id, hex)));
	assert_non_null(strstr(p.last, "missing"));
	assert_non_null(strstr(p.last, "a/one.txt"));

	/* A tree whose bytes were replaced. */
	assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id, fx->root.size,
					"a/b/c", &n, NULL), 0);
	assert_int_equal(vs_kv_put(fx->e->s->kv, VS_CF_OBJECTS, n.id.b,
				   VS_ID_LEN, "T\1\0", 3, NULL), 0);
	assert_int_equal(verify(fx, false, &p, &res), VS_E_CORRUPT);
	assert_int_equal(p.n, 2);
	assert_non_null(strstr(p.all, vs_id_to_hex(&n.id, hex)));
	assert_non_null(strstr(p.all, "corrupt"));
	assert_non_null(strstr(p.all, "a/one.txt"));

	/* A missing commit. */
	delete_object(fx, &fx->commit);
	assert_int_equal(verify(fx, false, &p, &res), VS_E_CORRUPT);
	assert_int_equal(p.n, 1);
	assert_non_null(strstr(p.last, vs_id_to_hex(&fx->commit, hex)));
	assert_int_equal(res.trees, 0);
}

/*
 * A chunk whose bytes are an encoded object has that object's id: a full
 * verify still re-hashes it (README: "re-hashes every chunk").
 */
static void test_chunk_with_object_id(void **state)
{
	struct fx *fx = *state;
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_verify_result before, res;
	struct vs_zctx *z = vs_zctx_new(3);
	struct vs_id kid, fid, tid, cid;
	struct vs_commit c;
	struct vs_tree t;
	struct vs_file f;
	struct problems p;

	assert_int_equal(verify(fx, true, &p, &before), 0);
	assert_int_equal(vs_object_get(fx->e->s, &fx->root.id, &enc, NULL), 0);
	vs_hash(enc.data, enc.len, &kid);
	assert_true(vs_id_equal(&kid, &fx->root.id));
	assert_int_equal(vs_chunk_put(fx->e->s, z, &kid, enc.data, enc.len,
				      NULL, NULL), 0);
	vs_file_init(&f);
	vs_file_add_chunk(&f, &kid, enc.len);
	assert_int_equal(vs_store_write_file(fx->e->s, &f, &fid, NULL), 0);
	vs_file_release(&f);
	/* The root tree and, beside it, a file holding its bytes. */
	vs_tree_init(&t);
	vs_tree_add(&t, "obj", 3, VS_ENTRY_FILE, enc.len, &fid);
	vs_tree_add(&t, "root", 4, VS_ENTRY_DIR, fx->root.size, &fx->root.id);
	vs_tree_sort(&t);
	assert_int_equal(vs_store_write_tree(fx->e->s, &t, &tid, NULL), 0);
	vs_tree_release(&t);
	vs_commit_init(&c);
	c.tree = tid;
	vs_commit_set_author(&c, "test");
	vs_commit_set_message(&c, "odd");
	assert_int_equal(vs_store_write_commit(fx->e->s, &c, &cid, NULL), 0);
	vs_commit_release(&c);
	assert_int_equal(vs_branch_update(fx->e->s, &fx->r, "odd", NULL, &cid,
					  NULL, 0, NULL), 0);

	assert_int_equal(verify(fx, true, &p, &res), 0);
	assert_int_equal(res.trees, before.trees + 1);
	assert_int_equal(res.files, before.files + 1);
	assert_int_equal(res.chunks, before.chunks + 1);
	assert_int_equal(res.chunk_bytes, before.chunk_bytes + enc.len);
	vs_buf_release(&enc);
	vs_zctx_free(z);
}

/* --- statistics ---------------------------------------------------------------- */

static void test_stats(void **state)
{
	struct fx *fx = *state;
	struct vs_idset *seen = vs_idset_new();
	uint64_t nchunks = 0, bytes = 0;
	struct vs_stats st;
	struct vs_id c2;
	struct vs_node root2;
	struct vs_repo other;
	char p[PATH_MAX];

	assert_int_equal(vs_stats_compute(fx->e->s, &st, NULL), 0);
	assert_int_equal(st.repositories, 1);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.logical_bytes, TU_TREE_FILE_BYTES);
	assert_int_equal(st.logical_bytes, fx->root.size);

	/* A second commit adds its own bytes, shared or not. */
	tu_write_str(tu_join(p, fx->src, "more.txt"), "12345");
	commit(fx, NULL, "second", &c2);
	assert_int_equal(vs_commit_root(fx->e->s, &c2, &root2, NULL), 0);
	assert_int_equal(vs_stats_compute(fx->e->s, &st, NULL), 0);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.logical_bytes, 2 * TU_TREE_FILE_BYTES + 5);
	assert_int_equal(st.logical_bytes, fx->root.size + root2.size);

	/* Chunks: the distinct ones, as the commits reference them. */
	count_chunks(fx, &root2.id, seen, &nchunks, &bytes);
	vs_idset_free(seen);
	assert_int_equal(st.chunks, nchunks);
	assert_int_equal(st.chunk_raw_bytes, bytes);
	assert_true(st.chunk_stored_bytes > 0);
	/* The text file compresses; the random one is stored as is. */
	assert_true(st.chunk_stored_bytes < st.chunk_raw_bytes);
	assert_true(st.objects >= 5 + 11 + 2);
	assert_true(st.object_bytes > 0);

	/* Empty repositories count; a tag on a known commit adds nothing. */
	assert_int_equal(vs_repo_parse(&other, "models/empty", 12, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &other, NULL), 0);
	{
		struct vs_tag t;

		vs_tag_init(&t);
		t.commit = fx->commit;
		assert_int_equal(vs_tag_create(fx->e->s, &fx->r, "v1", &t,
					       NULL), 0);
		vs_tag_release(&t);
	}
	assert_int_equal(vs_stats_compute(fx->e->s, &st, NULL), 0);
	assert_int_equal(st.repositories, 2);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.logical_bytes, 2 * TU_TREE_FILE_BYTES + 5);
}

static void test_dedup(void **state)
{
	struct fx *fx = *state;
	struct vs_stats st;
	struct vs_id c2;
	double ratio;

	/* The same data on a second branch: a second commit, no new chunk. */
	commit(fx, "copy", "the same again", &c2);
	assert_false(vs_id_equal(&c2, &fx->commit));
	assert_int_equal(vs_stats_compute(fx->e->s, &st, NULL), 0);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.logical_bytes, 2 * TU_TREE_FILE_BYTES);
	/* As `varve stats` computes it: logical / unique. */
	ratio = (double)st.logical_bytes /
		(double)(st.chunk_raw_bytes + st.object_bytes);
	assert_true(ratio > 1.5);
	assert_true(st.chunk_raw_bytes < TU_TREE_FILE_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canceled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_chunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage_chunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_objects, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_chunk_with_object_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
