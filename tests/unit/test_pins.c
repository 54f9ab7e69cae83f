/*
 * test_pins.c - unit tests of store/pins.c: a pin's snapshot is checked
 * for presence (repository, commit, and what is missing below it, each
 * counted once); a lock checks out into DIR/datasets/NAME and
 * DIR/models/NAME, never over a non-empty DIR, and a failure leaves DIR as
 * it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest.h"
#include "kv.h"
#include "lockfile.h"
#include "pins.h"
#include "refs.h"
#include "testutil.h"
#include "banned.h"

#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void repo(struct vs_repo *r, const char *full)
{
	assert_int_equal(vs_repo_parse(r, full, strlen(full), NULL), 0);
}

static void id_of(struct vs_id *id, const char *hex)
{
	assert_int_equal(vs_id_from_hex(id, hex), 0);
}

struct fx {
	struct tu_env *e;
	struct vs_repo data, model;
	char src1[PATH_MAX], src2[PATH_MAX];
	struct vs_id c1, c2, m1;
};

static void ingest(struct fx *fx, const struct vs_repo *r, const char *src,
		   struct vs_id *id)
{
	struct vs_ingest_opts o = { .threads = 2 };
	struct vs_ingest_result res;

	assert_int_equal(vs_ingest_dir(fx->e->s, r, src, &o, &res, NULL), 0);
	*id = res.commit;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char p[PATH_MAX];

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	repo(&fx->data, "datasets/d");
	repo(&fx->model, "models/m");
	assert_int_equal(vs_repo_create(fx->e->s, &fx->data, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->model, NULL), 0);
	tu_join(fx->src1, fx->e->dir, "src1");
	tu_join(fx->src2, fx->e->dir, "src2");
	tu_mkdir(fx->src1);
	tu_make_tree(fx->src1, 3, 0);
	ingest(fx, &fx->data, fx->src1, &fx->c1);
	tu_mkdir(fx->src2);
	tu_write_str(tu_join(p, fx->src2, "weights.bin"), "weights v1\n");
	ingest(fx, &fx->model, fx->src2, &fx->m1);
	/* A newer dataset commit: the pin must keep the old one. */
	tu_write_str(tu_join(p, fx->src1, "new.txt"), "newer\n");
	ingest(fx, &fx->data, fx->src1, &fx->c2);
	assert_false(vs_id_equal(&fx->c1, &fx->c2));
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

static void test_check_pin(void **state)
{
	struct fx *fx = *state;
	struct vs_pins_status ck;
	struct vs_lockfile l;
	struct vs_repo ghost;
	struct vs_id missing;

	vs_lockfile_init(&l);
	vs_lockfile_pin(&l, &fx->data, &fx->c1, NULL);
	assert_int_equal(vs_pins_check(fx->e->s, &l.lines[l.nlines - 1],
					       &ck, NULL), 0);
	assert_false(ck.repo_missing);
	assert_false(ck.commit_missing);
	assert_int_equal(ck.missing, 0);

	id_of(&missing, HEX_C);
	repo(&ghost, "datasets/ghost");
	vs_lockfile_pin(&l, &ghost, &missing, NULL);
	assert_int_equal(vs_pins_check(fx->e->s,
					       vs_lockfile_find(&l,
								"datasets/ghost"),
					       &ck, NULL), 0);
	assert_true(ck.repo_missing);
	assert_true(ck.commit_missing);

	/* The commit is there but in another repository's name: present. */
	vs_lockfile_release(&l);
	vs_lockfile_init(&l);
	vs_lockfile_pin(&l, &ghost, &fx->m1, NULL);
	assert_int_equal(vs_pins_check(fx->e->s, &l.lines[l.nlines - 1],
					       &ck, NULL), 0);
	assert_true(ck.repo_missing);
	assert_false(ck.commit_missing);
	vs_lockfile_release(&l);
}

static void delete_keys(struct fx *fx, enum vs_cf cf, const void *key,
			size_t klen)
{
	struct vs_kv_batch *b = vs_kv_batch_new();

	vs_kv_batch_delete(b, fx->e->s->kv, cf, key, klen);
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
}

/* Missing objects and chunks are counted, each once; a corrupt object
 * stops the check with an error. */
static void test_check_pin_missing(void **state)
{
	struct fx *fx = *state;
	struct vs_error err = { 0 };
	struct vs_pins_status ck;
	struct vs_node root, n;
	struct vs_lockfile l;
	uint8_t key[1 + VS_ID_LEN] = { 'c' };
	struct vs_file f;

	vs_lockfile_init(&l);
	vs_lockfile_pin(&l, &fx->data, &fx->c1, NULL);
	assert_int_equal(vs_commit_root(fx->e->s, &fx->c1, &root, NULL), 0);

	/* A file object. */
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"a/one.txt", &n, NULL), 0);
	delete_keys(fx, VS_CF_OBJECTS, n.id.b, VS_ID_LEN);
	assert_int_equal(vs_pins_check(fx->e->s, &l.lines[l.nlines - 1], &ck,
				       &err), 0);
	assert_false(ck.commit_missing);
	assert_int_equal(ck.missing, 1);
	assert_string_equal(err.msg, "");

	/* A chunk (its size record is what presence looks up). */
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"big.bin", &n, NULL), 0);
	assert_int_equal(vs_store_read_file(fx->e->s, &n.id, &f, NULL), 0);
	assert_true(f.nchunks > 2);
	memcpy(key + 1, f.chunks[1].id.b, VS_ID_LEN);
	vs_file_release(&f);
	delete_keys(fx, VS_CF_META, key, sizeof(key));
	assert_int_equal(vs_pins_check(fx->e->s, &l.lines[l.nlines - 1], &ck,
				       NULL), 0);
	assert_int_equal(ck.missing, 2);

	/* A corrupt tree: an error, with its message. */
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "a/b",
					&n, NULL), 0);
	assert_int_equal(vs_kv_put(fx->e->s->kv, VS_CF_OBJECTS, n.id.b,
				   VS_ID_LEN, "T\1\0", 3, NULL), 0);
	assert_int_equal(vs_pins_check(fx->e->s, &l.lines[l.nlines - 1], &ck,
				       &err), VS_E_CORRUPT);
	assert_true(err.msg[0] != '\0');
	vs_lockfile_release(&l);
}

static void test_checkout(void **state)
{
	struct fx *fx = *state;
	struct vs_error err = { 0 };
	char out[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	struct vs_lockfile l;
	struct vs_repo ghost;
	struct vs_id missing;

	tu_join(out, fx->e->dir, "out");
	vs_lockfile_init(&l);
	assert_int_equal(vs_pins_checkout(fx->e->s, &l, out, NULL, &err),
			 VS_E_INVAL);
	vs_lockfile_pin(&l, &fx->data, &fx->c1, NULL);
	vs_lockfile_pin(&l, &fx->model, &fx->m1, NULL);
	assert_int_equal(vs_pins_checkout(fx->e->s, &l, out, NULL, NULL), 0);
	/* The pinned (older) dataset, not the head. */
	assert_true(tu_commit_matches_dir(fx->e->s, &fx->c1,
					  tu_join(p, out, "datasets/d")));
	assert_false(tu_exists(tu_join(p, out, "datasets/d/new.txt")));
	assert_true(tu_commit_matches_dir(fx->e->s, &fx->m1,
					  tu_join(p, out, "models/m")));
	assert_int_equal(tu_count_entries(out), 2);
	/* Nothing left next to it. */
	assert_int_equal(tu_count_entries(fx->e->dir), 4);

	/* Never over a non-empty directory. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(vs_pins_checkout(fx->e->s, &l, out, NULL, &err),
			 VS_E_EXISTS);
	assert_non_null(strstr(err.msg, "not empty"));
	/* An empty directory is fine and is replaced. */
	tu_join(q, fx->e->dir, "empty");
	tu_mkdir(q);
	assert_int_equal(vs_pins_checkout(fx->e->s, &l, q, NULL, NULL), 0);
	assert_int_equal(tu_count_entries(q), 2);

	/* A missing pin fails before anything is written. */
	id_of(&missing, HEX_C);
	repo(&ghost, "datasets/ghost");
	vs_lockfile_pin(&l, &ghost, &missing, NULL);
	tu_join(q, fx->e->dir, "out2");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vs_pins_checkout(fx->e->s, &l, q, NULL, &err),
			 VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "datasets/ghost"));
	assert_false(tu_exists(q));
	assert_int_equal(tu_count_entries(fx->e->dir), 5);
	vs_lockfile_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_pin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check_pin_missing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkout, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
