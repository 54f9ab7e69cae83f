/*
 * test_checkout.c - unit tests of store/checkout.c: a checkout reproduces
 * the committed directory byte for byte (modes whatever the umask, symlink
 * targets, dangling ones too, empty dirs and files, odd names), subtrees,
 * never overwrites (a non-empty target is VS_E_EXISTS and untouched), a
 * subtree shared by two paths is written (and counted) at both, and a
 * failure (a corrupt chunk, a missing object) leaves no target, no
 * temporary directory and no descriptor open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checkout.h"
#include "ingest.h"
#include "kv.h"
#include "refs.h"
#include "rev.h"
#include "testutil.h"
#include "banned.h"

struct fx {
	struct tu_env *e;
	struct vs_repo r;
	char src[PATH_MAX];
	char out[PATH_MAX];
	struct vs_id commit;
	struct vs_node root;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct vs_ingest_opts o = { .threads = 2 };
	struct vs_ingest_result res;

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	assert_int_equal(vs_repo_parse(&fx->r, "datasets/co", 11, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->r, NULL), 0);
	tu_join(fx->src, fx->e->dir, "src");
	tu_join(fx->out, fx->e->dir, "out");
	tu_mkdir(fx->src);
	tu_make_tree(fx->src, 11, 0);
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &res,
				       NULL), 0);
	fx->commit = res.commit;
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

struct progress {
	int calls;
	struct vs_checkout_progress last;
};

static void progress_cb(void *arg, const struct vs_checkout_progress *p)
{
	struct progress *pr = arg;

	pr->calls++;
	pr->last = *p;
}

static void test_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct progress pr = { 0 };
	struct vs_checkout_opts o = { .progress = progress_cb,
				      .progress_arg = &pr };
	struct vs_error err = { 0 };
	mode_t old;
	int r;

	/* A restrictive umask must not change the committed modes. */
	old = umask(077);
	r = vs_checkout(fx->e->s, &fx->root, fx->out, &o, &err);
	umask(old);
	if (r)
		fprintf(stderr, "checkout: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_true(tu_dirs_equal(fx->src, fx->out, true));
	/* Spot checks of what tu_dirs_equal covers. */
	{
		char p[PATH_MAX], t[PATH_MAX];
		struct stat st;
		ssize_t n;

		n = readlink(tu_join(p, fx->out, "dangling"), t, sizeof(t));
		assert_int_equal(n, strlen("no/such/target"));
		assert_memory_equal(t, "no/such/target", n);
		assert_int_equal(lstat(tu_join(p, fx->out, "run.sh"), &st), 0);
		assert_int_equal(st.st_mode & 07777, 0755);
		assert_int_equal(lstat(tu_join(p, fx->out, "tiny"), &st), 0);
		assert_int_equal(st.st_mode & 07777, 0644);
		assert_int_equal(lstat(tu_join(p, fx->out, "empty"), &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(tu_count_entries(p), 0);
		assert_int_equal(lstat(tu_join(p, fx->out, TU_ODD_NAME), &st),
				 0);
	}
	/* Nothing but the target appeared beside it. */
	assert_int_equal(tu_count_entries(fx->e->dir), 3);

	assert_true(pr.calls >= 1);
	assert_int_equal(pr.last.files_total, 11);
	assert_int_equal(pr.last.files_done, 11);
	assert_int_equal(pr.last.bytes_done, pr.last.bytes_total);
	assert_true(pr.last.bytes_total >= TU_TREE_FILE_BYTES);

	/* A second checkout, elsewhere, is identical; no opts is fine. */
	{
		char other[PATH_MAX];

		assert_int_equal(vs_checkout(fx->e->s, &fx->root,
					     tu_join(other, fx->e->dir, "o2"),
					     NULL, NULL), 0);
		assert_true(tu_dirs_equal(fx->out, other, true));
	}
}

static void test_existing_empty_target(void **state)
{
	struct fx *fx = *state;
	char rel[PATH_MAX], cwd[PATH_MAX];

	tu_mkdir(fx->out);
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, fx->out, NULL, NULL),
			 0);
	assert_true(tu_dirs_equal(fx->src, fx->out, true));

	/* A relative path with a trailing slash. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(fx->e->dir), 0);
	snprintf(rel, sizeof(rel), "rel/");
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, rel, NULL, NULL), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_true(tu_dirs_equal(fx->src, tu_join(rel, fx->e->dir, "rel"),
				  true));
}

static void test_never_overwrites(void **state)
{
	struct fx *fx = *state;
	struct vs_buf b = VS_BUF_INIT;
	struct vs_error err = { 0 };
	char p[PATH_MAX];

	tu_mkdir(fx->out);
	tu_write_str(tu_join(p, fx->out, "tiny"), "mine");
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, fx->out, NULL, &err),
			 VS_E_EXISTS);
	assert_non_null(strstr(err.msg, fx->out));
	assert_int_equal(tu_count_entries(fx->out), 1);
	assert_int_equal(tu_read(p, &b), 0);
	assert_string_equal(b.data, "mine");
	/* Not even a hidden file may be there. */
	unlink(p);
	tu_write_str(tu_join(p, fx->out, ".hidden"), "h");
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, fx->out, NULL, NULL),
			 VS_E_EXISTS);
	assert_int_equal(tu_count_entries(fx->out), 1);
	/* A file or a symlink as target. */
	tu_write_str(tu_join(p, fx->e->dir, "file"), "f");
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, p, NULL, NULL),
			 VS_E_EXISTS);
	assert_int_equal(tu_read(p, &b), 0);
	assert_string_equal(b.data, "f");
	assert_int_equal(symlink("out", tu_join(p, fx->e->dir, "ln")), 0);
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, p, NULL, NULL),
			 VS_E_EXISTS);
	assert_int_equal(tu_count_entries(fx->out), 1);
	/* No temporary directory was left. */
	assert_int_equal(tu_count_entries(fx->e->dir), 5);
	vs_buf_release(&b);
}

static void test_absent_parent(void **state)
{
	struct fx *fx = *state;
	char p[PATH_MAX];

	assert_int_equal(vs_checkout(fx->e->s, &fx->root,
				     tu_join(p, fx->e->dir, "no/such/dir"),
				     NULL, NULL), -ENOENT);
	assert_false(tu_exists(p));
}

static void test_subtree(void **state)
{
	struct fx *fx = *state;
	struct vs_node n;
	char p[PATH_MAX];

	assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id, fx->root.size,
					"a/b", &n, NULL), 0);
	assert_int_equal(vs_checkout(fx->e->s, &n, fx->out, NULL, NULL), 0);
	assert_true(tu_dirs_equal(tu_join(p, fx->src, "a/b"), fx->out, true));
	assert_int_equal(tu_count_entries(fx->out), 2);

	/* Only directories can be checked out. */
	assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id, fx->root.size,
					"tiny", &n, NULL), 0);
	assert_int_equal(vs_checkout(fx->e->s, &n, tu_join(p, fx->e->dir,
							   "f"),
				     NULL, NULL), VS_E_INVAL);
	assert_false(tu_exists(p));
}

/* Damages one chunk in the middle of big.bin; returns its id. */
static struct vs_id damage_chunk(struct fx *fx)
{
	struct vs_node n;
	struct vs_file f;
	struct vs_id id;

	assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id, fx->root.size,
					"big.bin", &n, NULL), 0);
	assert_int_equal(vs_store_read_file(fx->e->s, &n.id, &f, NULL), 0);
	assert_true(f.nchunks > 2);
	id = f.chunks[f.nchunks / 2].id;
	vs_file_release(&f);
	assert_int_equal(vs_kv_put(fx->e->s->kv, VS_CF_CHUNKS, id.b, VS_ID_LEN,
				   "\1\3abc", 5, NULL), 0);
	return id;
}

static void test_corrupt_chunk(void **state)
{
	struct fx *fx = *state;
	struct vs_error err = { 0 };
	char hex[VS_ID_HEXLEN + 1];
	struct vs_id id = damage_chunk(fx);

	assert_int_equal(vs_checkout(fx->e->s, &fx->root, fx->out, NULL, &err),
			 VS_E_CORRUPT);
	assert_non_null(strstr(err.msg, vs_id_to_hex(&id, hex)));
	assert_false(tu_exists(fx->out));
	/* Only "src" and "store" remain: no temporary directory. */
	assert_int_equal(tu_count_entries(fx->e->dir), 2);

	/* An empty target directory stays, empty. */
	tu_mkdir(fx->out);
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, fx->out, NULL, NULL),
			 VS_E_CORRUPT);
	assert_true(tu_exists(fx->out));
	assert_int_equal(tu_count_entries(fx->out), 0);
	assert_int_equal(tu_count_entries(fx->e->dir), 3);

	/* A subtree without the damaged chunk still checks out. */
	{
		struct vs_node n;
		char p[PATH_MAX];

		assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id,
						fx->root.size, "a", &n, NULL),
				 0);
		assert_int_equal(vs_checkout(fx->e->s, &n,
					     tu_join(p, fx->e->dir, "sub"),
					     NULL, NULL), 0);
		assert_true(tu_dirs_equal(tu_join(p, fx->src, "a"),
					  tu_join(p, fx->e->dir, "sub"),
					  true));
	}
}

/* Descriptors this process has open. */
static int open_fds(void)
{
	return tu_count_entries("/proc/self/fd");
}

/*
 * A subtree shared by two paths (x and y alike, each with f.txt and
 * in/f.txt) is written, and counted in the progress totals, at each path.
 */
static void test_shared_subtree(void **state)
{
	struct fx *fx = *state;
	struct progress pr = { 0 };
	struct vs_checkout_opts o = { .progress = progress_cb,
				      .progress_arg = &pr };
	struct vs_ingest_opts io = { .threads = 2 };
	struct vs_ingest_result res;
	char src[PATH_MAX], d[PATH_MAX], p[PATH_MAX];
	struct vs_node root, x, y;
	static const char *const dirs[] = { "x", "y", "x/in", "y/in" };
	size_t i;

	tu_join(src, fx->e->dir, "shared");
	tu_mkdir(src);
	for (i = 0; i < 4; i++) {
		tu_mkdir(tu_join(d, src, dirs[i]));
		tu_write_str(tu_join(p, d, "f.txt"), "the same\n");
	}
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, src, &io, &res, NULL),
			 0);
	assert_int_equal(vs_commit_root(fx->e->s, &res.commit, &root, NULL), 0);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "x", &x,
					NULL), 0);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "y", &y,
					NULL), 0);
	assert_true(vs_id_equal(&x.id, &y.id));

	assert_int_equal(vs_checkout(fx->e->s, &root, fx->out, &o, NULL), 0);
	assert_true(tu_dirs_equal(src, fx->out, true));
	assert_int_equal(pr.last.files_total, 4);
	assert_int_equal(pr.last.files_done, 4);
	assert_int_equal(pr.last.bytes_total, 4 * 9);
	assert_int_equal(pr.last.bytes_done, 4 * 9);
}

/* A checkout its caller stops leaves nothing behind. */
static void test_canceled(void **state)
{
	struct fx *fx = *state;
	atomic_bool cancel = true;
	struct vs_checkout_opts o = { .cancel = &cancel };
	struct vs_error err = { 0 };

	assert_int_equal(vs_checkout(fx->e->s, &fx->root, fx->out, &o, &err),
			 VS_E_CANCELED);
	assert_string_equal(err.msg, "interrupted");
	assert_false(tu_exists(fx->out));
	/* Only "src" and "store" remain: no temporary directory. */
	assert_int_equal(tu_count_entries(fx->e->dir), 2);
	atomic_store(&cancel, false);
	assert_int_equal(vs_checkout(fx->e->s, &fx->root, fx->out, &o, NULL),
			 0);
	assert_true(tu_dirs_equal(fx->src, fx->out, true));
}

static void test_missing_object(void **state)
{
	struct fx *fx = *state;
	struct vs_kv_batch *b;
	struct vs_node n;
	int r, fds;

	assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id, fx->root.size,
					"a/b/two.txt", &n, NULL), 0);
	b = vs_kv_batch_new();
	vs_kv_batch_delete(b, fx->e->s->kv, VS_CF_OBJECTS, n.id.b, VS_ID_LEN);
	assert_int_equal(vs_kv_write(fx->e->s->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
	fds = open_fds();
	r = vs_checkout(fx->e->s, &fx->root, fx->out, NULL, NULL);
	assert_true(r == VS_E_NOTFOUND || r == VS_E_CORRUPT);
	assert_false(tu_exists(fx->out));
	assert_int_equal(tu_count_entries(fx->e->dir), 2);
	/* Stopped three directories deep, it closed them all. */
	assert_int_equal(open_fds(), fds);
}

static void test_file_fd(void **state)
{
	struct fx *fx = *state;
	struct vs_buf want = VS_BUF_INIT, got = VS_BUF_INIT;
	static const char *const names[] = { "big.bin", "tiny", "zero",
					     "text.txt" };
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < 4; i++) {
		struct vs_node n;
		int fd;

		assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id,
						fx->root.size, names[i], &n,
						NULL), 0);
		tu_join(p, fx->e->dir, "fd-out");
		fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		/* Written at the current offset. */
		assert_int_equal(write(fd, "HDR", 3), 3);
		assert_int_equal(vs_checkout_file_fd(fx->e->s, &n.id, fd, NULL),
				 0);
		close(fd);
		assert_int_equal(tu_read(tu_join(p, fx->src, names[i]), &want),
				 0);
		assert_int_equal(tu_read(tu_join(p, fx->e->dir, "fd-out"),
					 &got), 0);
		assert_int_equal(got.len, want.len + 3);
		assert_memory_equal(got.data, "HDR", 3);
		assert_memory_equal(got.data + 3, want.data, want.len);
	}
	/* A damaged chunk: an error, not wrong bytes. */
	damage_chunk(fx);
	{
		struct vs_node n;
		int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(vs_path_lookup(fx->e->s, &fx->root.id,
						fx->root.size, "big.bin", &n,
						NULL), 0);
		assert_int_equal(vs_checkout_file_fd(fx->e->s, &n.id, fd, NULL),
				 VS_E_CORRUPT);
		close(fd);
	}
	vs_buf_release(&want);
	vs_buf_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_existing_empty_target,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_overwrites, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_absent_parent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_chunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shared_subtree, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_canceled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_object, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_file_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
