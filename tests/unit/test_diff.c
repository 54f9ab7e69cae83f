/*
 * test_diff.c - unit tests of store/diff.c: added, removed and modified
 * files, an executable bit or a symlink target that changed, a file that
 * became a directory and the reverse, empty directories ("dir/"), path
 * order, equal trees (no calls, nothing read), and stopping early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"
#include "ingest.h"
#include "kv.h"
#include "refs.h"
#include "testutil.h"
#include "banned.h"

struct fx {
	struct tu_env *e;
	struct vs_repo r;
	char a[PATH_MAX], b[PATH_MAX];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	assert_int_equal(vs_repo_parse(&fx->r, "datasets/df", 11, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->r, NULL), 0);
	tu_mkdir(tu_join(fx->a, fx->e->dir, "a"));
	tu_mkdir(tu_join(fx->b, fx->e->dir, "b"));
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

/* Commits dir to branch; returns the commit's tree. */
static struct vs_id tree_of(struct fx *fx, const char *dir,
			    const char *branch)
{
	struct vs_ingest_opts o = { .branch = branch, .threads = 1,
				    .allow_empty = true };
	struct vs_ingest_result res;
	struct vs_commit c;
	struct vs_id t;

	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, dir, &o, &res, NULL),
			 0);
	assert_int_equal(vs_store_read_commit(fx->e->s, &res.commit, &c, NULL),
			 0);
	t = c.tree;
	vs_commit_release(&c);
	return t;
}

struct calls {
	struct vs_buf out;
	int n;
	int stop_at;
};

static int diff_cb(enum vs_diff_status st, const char *path, void *arg)
{
	struct calls *c = arg;

	vs_buf_addf(&c->out, "%c %s\n", st, path);
	return ++c->n == c->stop_at ? 5 : 0;
}

static void w(const char *root, const char *rel, const char *text)
{
	char p[PATH_MAX];

	tu_write_str(tu_join(p, root, rel), text);
}

static void d(const char *root, const char *rel)
{
	char p[PATH_MAX];

	tu_mkdir(tu_join(p, root, rel));
}

static void test_changes(void **state)
{
	struct fx *fx = *state;
	struct calls c = { .out = VS_BUF_INIT };
	struct vs_id ta, tb;
	char p[PATH_MAX];

	/* Both. */
	w(fx->a, "same.txt", "same");
	w(fx->b, "same.txt", "same");
	d(fx->a, "dir");
	d(fx->b, "dir");
	d(fx->a, "dir/sub");
	d(fx->b, "dir/sub");
	w(fx->a, "dir/sub/keep.txt", "keep");
	w(fx->b, "dir/sub/keep.txt", "keep");
	w(fx->a, "dir/sub/chg.txt", "v1");
	w(fx->b, "dir/sub/chg.txt", "v2");
	d(fx->a, "dir/untouched");
	d(fx->b, "dir/untouched");
	w(fx->a, "dir/untouched/u", "u");
	w(fx->b, "dir/untouched/u", "u");
	/* Modified content, same size. */
	w(fx->a, "mod.txt", "aaaa");
	w(fx->b, "mod.txt", "bbbb");
	/* Only the executable bit. */
	w(fx->a, "exec.sh", "#!");
	w(fx->b, "exec.sh", "#!");
	chmod(tu_join(p, fx->b, "exec.sh"), 0755);
	/* Only the symlink target. */
	assert_int_equal(symlink("same.txt", tu_join(p, fx->a, "link")), 0);
	assert_int_equal(symlink("mod.txt", tu_join(p, fx->b, "link")), 0);
	/* A symlink that became a file with the target as content. */
	assert_int_equal(symlink("same", tu_join(p, fx->a, "lf")), 0);
	w(fx->b, "lf", "same");
	/* Removed. */
	w(fx->a, "rm.txt", "x");
	d(fx->a, "gone");
	d(fx->a, "gone/deep");
	w(fx->a, "gone/deep/z.txt", "z");
	w(fx->a, "gone/y.txt", "y");
	d(fx->a, "emptyrm");
	/* Added. */
	w(fx->b, "new.txt", "n");
	d(fx->b, "newdir");
	d(fx->b, "added");
	d(fx->b, "added/x");
	w(fx->b, "added/x/y.txt", "y");
	d(fx->b, "added/x/e");
	/* File -> dir and dir -> file. */
	w(fx->a, "f2d", "file");
	d(fx->b, "f2d");
	w(fx->b, "f2d/inner.txt", "i");
	d(fx->a, "d2f");
	w(fx->a, "d2f/x", "x");
	w(fx->a, "d2f/y", "y");
	w(fx->b, "d2f", "file");

	ta = tree_of(fx, fx->a, "a");
	tb = tree_of(fx, fx->b, "b");
	assert_int_equal(vs_diff_trees(fx->e->s, &ta, &tb, diff_cb, &c, NULL),
			 0);
	assert_string_equal(c.out.data,
			    "A added/x/e/\n"
			    "A added/x/y.txt\n"
			    "D d2f/x\n"
			    "D d2f/y\n"
			    "A d2f\n"
			    "M dir/sub/chg.txt\n"
			    "D emptyrm/\n"
			    "M exec.sh\n"
			    "D f2d\n"
			    "A f2d/inner.txt\n"
			    "D gone/deep/z.txt\n"
			    "D gone/y.txt\n"
			    "M lf\n"
			    "M link\n"
			    "M mod.txt\n"
			    "A new.txt\n"
			    "A newdir/\n"
			    "D rm.txt\n");

	/* The reverse diff swaps A and D. */
	vs_buf_reset(&c.out);
	assert_int_equal(vs_diff_trees(fx->e->s, &tb, &ta, diff_cb, &c, NULL),
			 0);
	assert_string_equal(c.out.data,
			    "D added/x/e/\n"
			    "D added/x/y.txt\n"
			    "D d2f\n"
			    "A d2f/x\n"
			    "A d2f/y\n"
			    "M dir/sub/chg.txt\n"
			    "A emptyrm/\n"
			    "M exec.sh\n"
			    "D f2d/inner.txt\n"
			    "A f2d\n"
			    "A gone/deep/z.txt\n"
			    "A gone/y.txt\n"
			    "M lf\n"
			    "M link\n"
			    "M mod.txt\n"
			    "D new.txt\n"
			    "D newdir/\n"
			    "A rm.txt\n");

	/* A non-zero answer stops the walk and is returned. */
	vs_buf_reset(&c.out);
	c.n = 0;
	c.stop_at = 4;
	assert_int_equal(vs_diff_trees(fx->e->s, &ta, &tb, diff_cb, &c, NULL),
			 5);
	assert_int_equal(c.n, 4);
	vs_buf_release(&c.out);
}

static void test_equal_trees(void **state)
{
	struct fx *fx = *state;
	struct calls c = { .out = VS_BUF_INIT };
	struct vs_kv_batch *b;
	struct vs_id ta, tb;

	tu_make_tree(fx->a, 1, 0);
	tu_make_tree(fx->b, 1, 0);
	ta = tree_of(fx, fx->a, "a");
	tb = tree_of(fx, fx->b, "b");
	assert_true(vs_id_equal(&ta, &tb));
	assert_int_equal(vs_diff_trees(fx->e->s, &ta, &tb, diff_cb, &c, NULL),
			 0);
	assert_int_equal(c.n, 0);

	/* Equal ids are not even read: delete the tree and diff again. */
	b = vs_kv_batch_new();
	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_OBJECTS, ta.b, VS_ID_LEN);
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
	assert_int_equal(vs_diff_trees(fx->e->s, &ta, &tb, diff_cb, &c, NULL),
			 0);
	assert_int_equal(c.n, 0);
	vs_buf_release(&c.out);
}

/* Unchanged subtrees are skipped without being read. */
static void test_skips_equal_subtrees(void **state)
{
	struct fx *fx = *state;
	struct calls c = { .out = VS_BUF_INIT };
	struct vs_kv_batch *b;
	struct vs_node n;
	struct vs_id ta, tb;

	tu_make_tree(fx->a, 2, 0);
	tu_make_tree(fx->b, 2, 0);
	w(fx->b, "tiny", "changed");
	ta = tree_of(fx, fx->a, "a");
	tb = tree_of(fx, fx->b, "b");
	assert_int_equal(vs_path_lookup(fx->e->s, &ta, 0, "a", &n, NULL), 0);
	b = vs_kv_batch_new();
	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_OBJECTS, n.id.b, VS_ID_LEN);
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
	assert_int_equal(vs_diff_trees(fx->e->s, &ta, &tb, diff_cb, &c, NULL),
			 0);
	assert_string_equal(c.out.data, "M tiny\n");

	/* A missing tree that must be read is an error. */
	vs_buf_reset(&c.out);
	w(fx->b, "a/one.txt", "changed");
	tb = tree_of(fx, fx->b, "b");
	assert_int_equal(vs_diff_trees(fx->e->s, &ta, &tb, diff_cb, &c, NULL),
			 VS_E_NOTFOUND);
	vs_buf_release(&c.out);
}

static void test_from_empty(void **state)
{
	struct fx *fx = *state;
	struct calls c = { .out = VS_BUF_INIT };
	struct vs_id ta, tb;

	ta = tree_of(fx, fx->a, "a");
	d(fx->b, "e");
	d(fx->b, "x");
	w(fx->b, "x/1", "1");
	w(fx->b, "0", "0");
	tb = tree_of(fx, fx->b, "b");
	assert_int_equal(vs_diff_trees(fx->e->s, &ta, &tb, diff_cb, &c, NULL),
			 0);
	assert_string_equal(c.out.data, "A 0\nA e/\nA x/1\n");
	vs_buf_reset(&c.out);
	assert_int_equal(vs_diff_trees(fx->e->s, &tb, &ta, diff_cb, &c, NULL),
			 0);
	assert_string_equal(c.out.data, "D 0\nD e/\nD x/1\n");
	vs_buf_release(&c.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_trees, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_skips_equal_subtrees,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_empty, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
