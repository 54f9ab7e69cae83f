/*
 * test_rev.c - unit tests of store/rev.c: every form of revision (REPO,
 * @branch, @tag, @full id, @prefix, ~N, :path), the errors (unknown repo or
 * revision, ~N past the root, bad syntax, a path where none is allowed, a
 * commit of another repository), and path lookups inside a commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "refs.h"
#include "rev.h"
#include "testutil.h"
#include "banned.h"

/*
 * The fixture: datasets/r with commits c1 <- c2 <- c3, main at c3, dev at
 * c1, tag v1 at c2, and an unreachable commit; datasets/other with its own
 * commit o1; datasets/empty with no commits.  c3's tree:
 *   top (file "top-level\n"), run (exec), a/b/f.txt ("hello"),
 *   a/empty/ (an empty dir), a/link -> "b/f.txt"
 */
struct fx {
	struct tu_env *e;
	struct vs_repo r, other;
	struct vs_id c1, c2, c3, o1, lonely;
	struct vs_id tree3, f_id;
};

static void write_inline(struct vs_store *s, const char *text,
			 struct vs_id *id)
{
	struct vs_file f;

	vs_file_init(&f);
	vs_file_set_inline(&f, text, strlen(text));
	assert_int_equal(vs_store_write_file(s, &f, id, NULL), 0);
	vs_file_release(&f);
}

static void write_commit(struct vs_store *s, const struct vs_id *tree,
			 const struct vs_id *parent, const char *msg,
			 struct vs_id *id)
{
	struct vs_commit c;

	vs_commit_init(&c);
	c.tree = *tree;
	if (parent)
		vs_commit_add_parent(&c, parent);
	c.time = 1000;
	vs_commit_set_message(&c, msg);
	assert_int_equal(vs_store_write_commit(s, &c, id, NULL), 0);
	vs_commit_release(&c);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct vs_store *s;
	struct vs_tree t, b, a, empty;
	struct vs_id top, run, link, bid, aid, eid, t1;
	struct vs_tag tag;

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	s = fx->e->s;
	assert_int_equal(vs_repo_parse(&fx->r, "datasets/r", 10, NULL), 0);
	assert_int_equal(vs_repo_parse(&fx->other, "datasets/other", 14, NULL),
			 0);
	assert_int_equal(vs_repo_create(s, &fx->r, NULL), 0);
	assert_int_equal(vs_repo_create(s, &fx->other, NULL), 0);
	{
		struct vs_repo em;

		assert_int_equal(vs_repo_parse(&em, "datasets/empty", 14,
					       NULL), 0);
		assert_int_equal(vs_repo_create(s, &em, NULL), 0);
	}

	write_inline(s, "top-level\n", &top);
	write_inline(s, "#!/bin/sh\n", &run);
	write_inline(s, "hello", &fx->f_id);
	write_inline(s, "b/f.txt", &link);
	vs_tree_init(&b);
	vs_tree_add(&b, "f.txt", 5, VS_ENTRY_FILE, 5, &fx->f_id);
	assert_int_equal(vs_store_write_tree(s, &b, &bid, NULL), 0);
	vs_tree_init(&empty);
	assert_int_equal(vs_store_write_tree(s, &empty, &eid, NULL), 0);
	vs_tree_init(&a);
	vs_tree_add(&a, "link", 4, VS_ENTRY_SYMLINK, 7, &link);
	vs_tree_add(&a, "b", 1, VS_ENTRY_DIR, 5, &bid);
	vs_tree_add(&a, "empty", 5, VS_ENTRY_DIR, 0, &eid);
	vs_tree_sort(&a);
	assert_int_equal(vs_store_write_tree(s, &a, &aid, NULL), 0);
	vs_tree_init(&t);
	vs_tree_add(&t, "top", 3, VS_ENTRY_FILE, 10, &top);
	vs_tree_add(&t, "run", 3, VS_ENTRY_EXEC, 10, &run);
	vs_tree_add(&t, "a", 1, VS_ENTRY_DIR, 5, &aid);
	vs_tree_sort(&t);
	assert_int_equal(vs_store_write_tree(s, &t, &fx->tree3, NULL), 0);

	write_commit(s, &eid, NULL, "first", &fx->c1);
	write_commit(s, &bid, &fx->c1, "second", &t1);
	fx->c2 = t1;
	write_commit(s, &fx->tree3, &fx->c2, "third", &fx->c3);
	write_commit(s, &fx->tree3, NULL, "other repo", &fx->o1);
	write_commit(s, &fx->tree3, NULL, "unreachable", &fx->lonely);

	assert_int_equal(vs_branch_update(s, &fx->r, "main", NULL, &fx->c3,
					  NULL, 0, NULL), 0);
	assert_int_equal(vs_branch_update(s, &fx->r, "dev", NULL, &fx->c1,
					  NULL, 0, NULL), 0);
	assert_int_equal(vs_branch_update(s, &fx->other, "main", NULL, &fx->o1,
					  NULL, 0, NULL), 0);
	vs_tag_init(&tag);
	tag.commit = fx->c2;
	assert_int_equal(vs_tag_create(s, &fx->r, "v1", &tag, NULL), 0);
	vs_tag_release(&tag);

	vs_tree_release(&t);
	vs_tree_release(&a);
	vs_tree_release(&b);
	vs_tree_release(&empty);
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

/* Resolves spec and expects commit want. */
static void expect_rev(struct fx *fx, const char *spec, bool allow_path,
		       const struct vs_id *want, const char *name,
		       const char *branch, const char *path)
{
	struct vs_error err = { 0 };
	struct vs_rev rev;
	int r = vs_rev_resolve(fx->e->s, spec, allow_path, &rev, &err);

	if (r)
		fprintf(stderr, "'%s': %s\n", spec, err.msg);
	assert_int_equal(r, 0);
	assert_true(vs_id_equal(&rev.commit, want));
	assert_string_equal(rev.name, name);
	if (branch)
		assert_string_equal(rev.branch, branch);
	else
		assert_null(rev.branch);
	assert_string_equal(rev.path, path);
	vs_rev_release(&rev);
	assert_null(rev.name);
	assert_null(rev.path);
}

static void expect_fail(struct fx *fx, const char *spec, bool allow_path,
			int code)
{
	struct vs_error err = { 0 };
	struct vs_rev rev;
	int r = vs_rev_resolve(fx->e->s, spec, allow_path, &rev, &err);

	if (r != code)
		fprintf(stderr, "'%s': %d (%s)\n", spec, r, err.msg);
	assert_int_equal(r, code);
	assert_int_equal(err.code, code);
	assert_true(err.msg[0] != '\0');
	vs_rev_release(&rev);
}

static void test_forms(void **state)
{
	struct fx *fx = *state;
	char hex[VS_ID_HEXLEN + 1], spec[128];

	expect_rev(fx, "datasets/r", false, &fx->c3, "main", "main", "");
	expect_rev(fx, "datasets/r@main", false, &fx->c3, "main", "main", "");
	expect_rev(fx, "datasets/r@dev", false, &fx->c1, "dev", "dev", "");
	expect_rev(fx, "datasets/r@v1", false, &fx->c2, "v1", NULL, "");
	expect_rev(fx, "datasets/other", false, &fx->o1, "main", "main", "");

	/* Full ids and prefixes of commits reachable in the repository. */
	vs_id_to_hex(&fx->c2, hex);
	snprintf(spec, sizeof(spec), "datasets/r@%s", hex);
	expect_rev(fx, spec, false, &fx->c2, hex, NULL, "");
	snprintf(spec, sizeof(spec), "datasets/r@%.7s", hex);
	expect_rev(fx, spec, false, &fx->c2, spec + 11, NULL, "");
	snprintf(spec, sizeof(spec), "datasets/r@%.12s", hex);
	expect_rev(fx, spec, false, &fx->c2, spec + 11, NULL, "");
	vs_id_to_hex(&fx->c1, hex);
	snprintf(spec, sizeof(spec), "datasets/r@%.7s", hex);
	expect_rev(fx, spec, false, &fx->c1, spec + 11, NULL, "");
	snprintf(spec, sizeof(spec), "datasets/r@%.9s~0", hex);
	hex[9] = '\0';
	expect_rev(fx, spec, false, &fx->c1, hex, NULL, "");
}

static void test_ancestors(void **state)
{
	struct fx *fx = *state;
	char hex[VS_ID_HEXLEN + 1], spec[128];

	expect_rev(fx, "datasets/r~0", false, &fx->c3, "main", "main", "");
	expect_rev(fx, "datasets/r~1", false, &fx->c2, "main", "main", "");
	expect_rev(fx, "datasets/r~", false, &fx->c2, "main", "main", "");
	expect_rev(fx, "datasets/r~2", false, &fx->c1, "main", "main", "");
	expect_rev(fx, "datasets/r@main~2", false, &fx->c1, "main", "main",
		   "");
	expect_rev(fx, "datasets/r@v1~1", false, &fx->c1, "v1", NULL, "");
	vs_id_to_hex(&fx->c3, hex);
	snprintf(spec, sizeof(spec), "datasets/r@%s~1", hex);
	expect_rev(fx, spec, false, &fx->c2, hex, NULL, "");
	expect_rev(fx, "datasets/r~2:a/b", true, &fx->c1, "main", "main",
		   "a/b");

	/* Past the root. */
	expect_fail(fx, "datasets/r~3", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/r~1000", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/r@dev~1", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/r@v1~2", false, VS_E_NOTFOUND);
}

static void test_errors(void **state)
{
	struct fx *fx = *state;
	char hex[VS_ID_HEXLEN + 1], spec[128];

	/* Unknown repositories and revisions. */
	expect_fail(fx, "datasets/nope", false, VS_E_NOTFOUND);
	expect_fail(fx, "models/r", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/nope@main", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/r@nope", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/r@abcdef0", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/empty", false, VS_E_NOTFOUND);
	expect_fail(fx, "datasets/empty@main", false, VS_E_NOTFOUND);

	/* Bad syntax. */
	expect_fail(fx, "", false, VS_E_INVAL);
	expect_fail(fx, "r", false, VS_E_INVAL);
	expect_fail(fx, "datasets", false, VS_E_INVAL);
	expect_fail(fx, "dataset/r", false, VS_E_INVAL);
	expect_fail(fx, "datasets/R", false, VS_E_INVAL);
	expect_fail(fx, "datasets/r@", false, VS_E_INVAL);
	expect_fail(fx, "datasets/r~x", false, VS_E_INVAL);
	expect_fail(fx, "datasets/r~1x", false, VS_E_INVAL);
	expect_fail(fx, "datasets/r~-1", false, VS_E_INVAL);
	expect_fail(fx, "datasets/r~99999999999999999999999", false,
		    VS_E_INVAL);
	expect_fail(fx, "@main", false, VS_E_INVAL);

	/* A path only where allowed. */
	expect_fail(fx, "datasets/r:a/b", false, VS_E_INVAL);
	expect_fail(fx, "datasets/r:", false, VS_E_INVAL);
	expect_rev(fx, "datasets/r:a/b", true, &fx->c3, "main", "main", "a/b");
	expect_rev(fx, "datasets/r@dev:x", true, &fx->c1, "dev", "dev", "x");
	expect_rev(fx, "datasets/r:", true, &fx->c3, "main", "main", "");
	/* '@' and '~' after the colon belong to the path. */
	expect_rev(fx, "datasets/r@v1:a@b~1", true, &fx->c2, "v1", NULL,
		   "a@b~1");

	/* A commit of another repository is not a revision of this one. */
	vs_id_to_hex(&fx->o1, hex);
	snprintf(spec, sizeof(spec), "datasets/r@%s", hex);
	expect_fail(fx, spec, false, VS_E_NOTFOUND);
	snprintf(spec, sizeof(spec), "datasets/r@%.8s", hex);
	expect_fail(fx, spec, false, VS_E_NOTFOUND);
	snprintf(spec, sizeof(spec), "datasets/other@%s", hex);
	expect_rev(fx, spec, false, &fx->o1, hex, NULL, "");
	/* Nor is a commit no ref reaches. */
	vs_id_to_hex(&fx->lonely, hex);
	snprintf(spec, sizeof(spec), "datasets/r@%s", hex);
	expect_fail(fx, spec, false, VS_E_NOTFOUND);
	/* Nor a tree or file id, reachable or not. */
	vs_id_to_hex(&fx->tree3, hex);
	snprintf(spec, sizeof(spec), "datasets/r@%s", hex);
	expect_fail(fx, spec, false, VS_E_NOTFOUND);
	vs_id_to_hex(&fx->f_id, hex);
	snprintf(spec, sizeof(spec), "datasets/r@%.10s", hex);
	expect_fail(fx, spec, false, VS_E_NOTFOUND);
}

/* --- paths ---------------------------------------------------------------- */

static void expect_node(struct fx *fx, const struct vs_node *root,
			const char *path, enum vs_entry_type type,
			uint64_t size)
{
	struct vs_error err = { 0 };
	struct vs_node n;
	int r = vs_path_lookup(fx->e->s, &root->id, root->size, path, &n, &err);

	if (r)
		fprintf(stderr, "'%s': %s\n", path, err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(n.type, type);
	assert_int_equal(n.size, size);
}

static void expect_no_node(struct fx *fx, const struct vs_node *root,
			   const char *path)
{
	struct vs_error err = { 0 };
	struct vs_node n;

	assert_int_equal(vs_path_lookup(fx->e->s, &root->id, root->size, path,
					&n, &err), VS_E_NOTFOUND);
	assert_int_equal(err.code, VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, path));
}

static void test_paths(void **state)
{
	struct fx *fx = *state;
	struct vs_node root, n;

	assert_int_equal(vs_commit_root(fx->e->s, &fx->c3, &root, NULL), 0);
	assert_int_equal(root.type, VS_ENTRY_DIR);
	assert_true(vs_id_equal(&root.id, &fx->tree3));
	assert_int_equal(root.size, 25);

	expect_node(fx, &root, "", VS_ENTRY_DIR, 25);
	expect_node(fx, &root, "/", VS_ENTRY_DIR, 25);
	expect_node(fx, &root, "top", VS_ENTRY_FILE, 10);
	expect_node(fx, &root, "run", VS_ENTRY_EXEC, 10);
	expect_node(fx, &root, "a", VS_ENTRY_DIR, 5);
	expect_node(fx, &root, "a/b", VS_ENTRY_DIR, 5);
	expect_node(fx, &root, "a/b/f.txt", VS_ENTRY_FILE, 5);
	expect_node(fx, &root, "/a//b/f.txt", VS_ENTRY_FILE, 5);
	expect_node(fx, &root, "a/b/", VS_ENTRY_DIR, 5);
	expect_node(fx, &root, "a/empty", VS_ENTRY_DIR, 0);
	expect_node(fx, &root, "a/link", VS_ENTRY_SYMLINK, 7);

	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"a/b/f.txt", &n, NULL), 0);
	assert_true(vs_id_equal(&n.id, &fx->f_id));

	expect_no_node(fx, &root, "missing");
	expect_no_node(fx, &root, "a/missing");
	expect_no_node(fx, &root, "a/b/f.txt2");
	expect_no_node(fx, &root, "a/empty/x");
	/* Through a file or a symlink: symlinks are not followed. */
	expect_no_node(fx, &root, "top/x");
	expect_no_node(fx, &root, "a/b/f.txt/x");
	expect_no_node(fx, &root, "a/link/f.txt");
	/* Names are matched exactly. */
	expect_no_node(fx, &root, "A");
	expect_no_node(fx, &root, "a/./b");
	expect_no_node(fx, &root, "a/../top");

	/* Roots of other commits. */
	assert_int_equal(vs_commit_root(fx->e->s, &fx->c1, &root, NULL), 0);
	assert_int_equal(root.size, 0);
	expect_no_node(fx, &root, "top");
	assert_int_equal(vs_commit_root(fx->e->s, &fx->tree3, &root, NULL),
			 VS_E_CORRUPT);
	{
		struct vs_id none;

		vs_hash("none", 4, &none);
		assert_int_equal(vs_commit_root(fx->e->s, &none, &root, NULL),
				 VS_E_NOTFOUND);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ancestors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
