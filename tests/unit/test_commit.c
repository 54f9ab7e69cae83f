/*
 * test_commit.c - unit tests of store/commit.c: a tree that changes
 * nothing makes no commit but its batch is written; a new tree becomes a
 * commit with its parent, time, author, message and metadata, in one
 * batch with the caller's; a moved branch or a failing hook leaves the
 * branch where it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "commit.h"

#include "banned.h"

struct fixture {
	struct tu_env *env;
	struct vs_repo repo;
	struct vs_id t1, t2;	/* two trees */
};

static void tree_of(struct vs_store *s, const char *name, struct vs_id *id)
{
	struct vs_tree t;
	struct vs_id file;

	vs_tree_init(&t);
	memset(&file, 7, sizeof(file));
	vs_tree_add(&t, name, strlen(name), VS_ENTRY_FILE, 1, &file);
	assert_int_equal(vs_store_write_tree(s, &t, id, NULL), 0);
	vs_tree_release(&t);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->env = tu_env_new();
	assert_int_equal(vs_repo_set(&f->repo, VS_REPO_DATASET, "d", NULL), 0);
	assert_int_equal(vs_repo_create(f->env->s, &f->repo, NULL), 0);
	tree_of(f->env->s, "a", &f->t1);
	tree_of(f->env->s, "b", &f->t2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_env_free(f->env);
	free(f);
	return 0;
}

/* A key in the meta family, written by the caller's batch. */
static struct vs_kv_batch *marker(struct vs_store *s, const char *key)
{
	struct vs_kv_batch *b = vs_kv_batch_new();

	vs_kv_batch_put(b, s->kv, VS_CF_META, key, strlen(key), "1", 1);
	return b;
}

static bool has_marker(struct vs_store *s, const char *key)
{
	struct vs_buf v = VS_BUF_INIT;
	bool found = vs_kv_get(s->kv, VS_CF_META, key, strlen(key), &v,
			       NULL) == 0;

	vs_buf_release(&v);
	return found;
}

struct hook {
	int calls;
	bool changed;
	int fail;
};

static int hook(void *arg, bool changed, struct vs_error *err)
{
	struct hook *h = arg;

	h->calls++;
	h->changed = changed;
	return h->fail ? vs_error_set(err, h->fail, "the hook failed") : 0;
}

static void test_first_and_next(void **state)
{
	struct fixture *f = *state;
	struct vs_store *s = f->env->s;
	struct vs_meta meta = { .key = "run", .value = "42" };
	struct vs_ingest_opts opts = { .message = "m", .author = "a",
				       .meta = &meta, .nmeta = 1, .time = 77 };
	struct vs_ingest_result res, res2;
	struct hook h = { 0 };
	struct vs_commit_make mk = {
		.repo = &f->repo, .branch = "main", .tree = f->t1,
		.opts = &opts, .now = 5, .before_ref = hook,
		.before_ref_arg = &h,
	};
	struct vs_commit c;
	struct vs_id head;

	mk.batch = marker(s, "x1");
	assert_int_equal(vs_commit_make(s, &mk, &res, NULL), 0);
	vs_kv_batch_free(mk.batch);
	assert_true(res.created);
	assert_int_equal(h.calls, 1);
	assert_true(h.changed);
	assert_true(has_marker(s, "x1"));
	assert_int_equal(vs_branch_get(s, &f->repo, "main", &head, NULL), 0);
	assert_true(vs_id_equal(&head, &res.commit));
	assert_int_equal(vs_store_read_commit(s, &head, &c, NULL), 0);
	assert_true(vs_id_equal(&c.tree, &f->t1));
	assert_int_equal(c.nparents, 0);
	assert_true(c.time == 77);
	assert_string_equal(c.author, "a");
	assert_string_equal(c.message, "m");
	assert_int_equal(c.nmeta, 1);
	assert_string_equal(c.meta[0].value, "42");
	vs_commit_release(&c);

	/* The same tree again: no commit, the batch alone, the hook told. */
	mk.base = &head;
	mk.batch = marker(s, "x2");
	assert_int_equal(vs_commit_make(s, &mk, &res2, NULL), 0);
	vs_kv_batch_free(mk.batch);
	assert_false(res2.created);
	assert_true(vs_id_equal(&res2.commit, &head));
	assert_false(h.changed);
	assert_true(has_marker(s, "x2"));

	/* Unless asked: then a commit whose parent is the head. */
	opts.allow_empty = true;
	opts.time = 0;
	mk.batch = NULL;
	assert_int_equal(vs_commit_make(s, &mk, &res2, NULL), 0);
	assert_true(res2.created);
	assert_int_equal(vs_store_read_commit(s, &res2.commit, &c, NULL), 0);
	assert_int_equal(c.nparents, 1);
	assert_true(vs_id_equal(&c.parents[0], &head));
	assert_true(c.time == 5);
	vs_commit_release(&c);
}

static void test_conflict_and_hook_failure(void **state)
{
	struct fixture *f = *state;
	struct vs_store *s = f->env->s;
	struct vs_ingest_opts opts = { 0 };
	struct vs_ingest_result res;
	struct hook h = { .fail = VS_E_KV };
	struct vs_commit_make mk = {
		.repo = &f->repo, .branch = "main", .tree = f->t1,
		.opts = &opts, .now = 5,
	};
	struct vs_id first, now;
	struct vs_error err = { 0 };

	assert_int_equal(vs_commit_make(s, &mk, &res, NULL), 0);
	first = res.commit;
	/* Based on "no commit yet", but the branch has one now. */
	mk.tree = f->t2;
	mk.batch = marker(s, "lost");
	assert_int_equal(vs_commit_make(s, &mk, &res, &err), VS_E_CONFLICT);
	vs_kv_batch_free(mk.batch);
	assert_false(res.created);
	assert_false(has_marker(s, "lost"));
	/* A failing hook stops it before the branch moves. */
	mk.base = &first;
	mk.before_ref = hook;
	mk.before_ref_arg = &h;
	mk.batch = marker(s, "lost2");
	memset(&err, 0, sizeof(err));
	assert_int_equal(vs_commit_make(s, &mk, &res, &err), VS_E_KV);
	vs_kv_batch_free(mk.batch);
	assert_string_equal(err.msg, "the hook failed");
	assert_false(has_marker(s, "lost2"));
	assert_int_equal(vs_branch_get(s, &f->repo, "main", &now, NULL), 0);
	assert_true(vs_id_equal(&now, &first));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_and_next, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_conflict_and_hook_failure,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
