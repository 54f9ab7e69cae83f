/*
 * test_ingest.c - unit tests of store/ingest.c: a committed directory reads
 * back byte for byte (every entry kind, special files skipped with a
 * warning, the store's own directory skipped), unchanged re-commits make no
 * commit, the stat cache limits re-reads to what changed, a failed ref
 * update leaves the branch where it was, bad sources and repositories
 * fail cleanly, commit metadata is recorded, the thread count does not
 * change the result, and a commit of many files gives the tree the object
 * encodings give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest.h"
#include "refs.h"
#include "rev.h"
#include "testutil.h"
#include "verify.h"
#include "banned.h"

struct fx {
	struct tu_env *e;
	struct vs_repo r;
	char src[PATH_MAX];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->e = tu_env_new();
	assert_int_equal(vs_repo_parse(&fx->r, "datasets/d", 10, NULL), 0);
	assert_int_equal(vs_repo_create(fx->e->s, &fx->r, NULL), 0);
	tu_join(fx->src, fx->e->dir, "src");
	tu_mkdir(fx->src);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	vs_refs_fault_hook = NULL;
	tu_env_free(fx->e);
	free(fx);
	return 0;
}

struct warns {
	int n;
	int fifo;
};

static void warn_cb(void *arg, const char *msg)
{
	struct warns *w = arg;

	w->n++;
	if (strstr(msg, "fifo") && strstr(msg, "pipe"))
		w->fifo++;
}

struct progress {
	int calls;
	struct vs_ingest_progress last;
};

static void progress_cb(void *arg, const struct vs_ingest_progress *p)
{
	struct progress *pr = arg;

	pr->calls++;
	pr->last = *p;
}

static int commit(struct fx *fx, const char *branch, int threads,
		  struct vs_ingest_result *res)
{
	struct vs_ingest_opts o = { .branch = branch, .threads = threads };
	struct vs_error err = { 0 };
	int r = vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, res, &err);

	if (r)
		fprintf(stderr, "ingest: %d %s\n", r, err.msg);
	return r;
}

static void expect_head(struct fx *fx, const char *branch,
			const struct vs_id *want)
{
	struct vs_id got;

	if (!want) {
		assert_int_equal(vs_branch_get(fx->e->s, &fx->r, branch, &got,
					       NULL), VS_E_NOTFOUND);
		return;
	}
	assert_int_equal(vs_branch_get(fx->e->s, &fx->r, branch, &got, NULL),
			 0);
	assert_true(vs_id_equal(&got, want));
}

static struct vs_id commit_tree(struct fx *fx, const struct vs_id *commit,
				struct vs_commit *out)
{
	struct vs_commit c;
	struct vs_id t;

	assert_int_equal(vs_store_read_commit(fx->e->s, commit, &c, NULL), 0);
	t = c.tree;
	if (out)
		*out = c;
	else
		vs_commit_release(&c);
	return t;
}

/* --- a full tree ------------------------------------------------------------ */

static void test_commit_tree(void **state)
{
	struct fx *fx = *state;
	struct warns w = { 0 };
	struct progress pr = { 0 };
	struct vs_ingest_opts o = { .threads = 2, .warn = warn_cb,
				    .warn_arg = &w, .progress = progress_cb,
				    .progress_arg = &pr };
	struct vs_ingest_result res;
	struct vs_error err = { 0 };
	struct vs_node root, n;
	struct vs_commit c;
	struct vs_file f;

	tu_make_tree(fx->src, 1, TU_TREE_FIFO);
	tu_age_tree(fx->src);
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &res,
				       &err), 0);
	assert_true(res.created);
	expect_head(fx, "main", &res.commit);
	assert_true(tu_commit_matches_dir(fx->e->s, &res.commit, fx->src));

	/* The fifo was skipped with one warning naming it. */
	assert_int_equal(w.fifo, 1);
	assert_int_equal(w.n, 1);
	assert_int_equal(vs_commit_root(fx->e->s, &res.commit, &root, NULL),
			 0);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "pipe",
					&n, NULL), VS_E_NOTFOUND);

	/* Sizes: the root's is the sum of the file bytes. */
	assert_int_equal(root.size, TU_TREE_FILE_BYTES);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "a", &n,
					NULL), 0);
	assert_int_equal(n.size, 4 + 8 + 10000);

	/* Entry kinds, and the inline/chunked split. */
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"run.sh", &n, NULL), 0);
	assert_int_equal(n.type, VS_ENTRY_EXEC);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"dangling", &n, NULL), 0);
	assert_int_equal(n.type, VS_ENTRY_SYMLINK);
	assert_int_equal(n.size, strlen("no/such/target"));
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"empty", &n, NULL), 0);
	assert_int_equal(n.type, VS_ENTRY_DIR);
	assert_int_equal(n.size, 0);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "tiny",
					&n, NULL), 0);
	assert_int_equal(vs_store_read_file(fx->e->s, &n.id, &f, NULL), 0);
	assert_non_null(f.inline_data);
	assert_int_equal(f.size, 2);
	vs_file_release(&f);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "zero",
					&n, NULL), 0);
	assert_int_equal(n.size, 0);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"big.bin", &n, NULL), 0);
	assert_int_equal(vs_store_read_file(fx->e->s, &n.id, &f, NULL), 0);
	assert_null(f.inline_data);
	assert_true(f.nchunks >= TU_BIG_SIZE / (16 * TU_KIB));
	for (size_t i = 0; i < f.nchunks; i++)
		assert_true(f.chunks[i].len <= 16 * TU_KIB);
	vs_file_release(&f);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					TU_ODD_NAME, &n, NULL), 0);
	assert_int_equal(n.type, VS_ENTRY_FILE);

	/* The first commit has no parent. */
	commit_tree(fx, &res.commit, &c);
	assert_int_equal(c.nparents, 0);
	vs_commit_release(&c);

	/* Statistics and progress. */
	assert_int_equal(res.stats.files_total, 11);
	assert_int_equal(res.stats.files_read, 9);
	assert_int_equal(res.stats.bytes_total, TU_TREE_FILE_BYTES);
	assert_int_equal(res.stats.bytes_read, TU_TREE_FILE_BYTES);
	assert_true(res.stats.new_chunks > TU_BIG_SIZE / (16 * TU_KIB));
	assert_true(pr.calls >= 1);
	assert_int_equal(pr.last.files_total, 11);
	assert_int_equal(pr.last.bytes_read, TU_TREE_FILE_BYTES);
}

static void test_empty_dir(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_result res;
	struct vs_tree t;
	struct vs_id tree;

	assert_int_equal(commit(fx, NULL, 1, &res), 0);
	assert_true(res.created);
	tree = commit_tree(fx, &res.commit, NULL);
	assert_int_equal(vs_store_read_tree(fx->e->s, &tree, &t, NULL), 0);
	assert_int_equal(t.count, 0);
	vs_tree_release(&t);
	assert_int_equal(res.stats.files_total, 0);
}

/* The store's own directory, inside the source, is left out silently. */
static void test_store_inside_source(void **state)
{
	struct fx *fx = *state;
	struct warns w = { 0 };
	struct vs_ingest_opts o = { .warn = warn_cb, .warn_arg = &w };
	struct vs_ingest_result res;
	struct vs_config cfg;
	struct vs_store *s;
	struct vs_node root, n;
	char p[PATH_MAX];

	tu_write_str(tu_join(p, fx->src, "data.txt"), "data\n");
	tu_config_small(&cfg);
	assert_int_equal(vs_store_create(tu_join(p, fx->src, ".varve"), &cfg,
					 NULL), 0);
	assert_int_equal(vs_store_open(p, &s, NULL), 0);
	assert_int_equal(vs_repo_create(s, &fx->r, NULL), 0);
	assert_int_equal(vs_ingest_dir(s, &fx->r, fx->src, &o, &res, NULL), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(vs_commit_root(s, &res.commit, &root, NULL), 0);
	assert_int_equal(vs_path_lookup(s, &root.id, root.size, ".varve", &n,
					NULL), VS_E_NOTFOUND);
	assert_int_equal(vs_path_lookup(s, &root.id, root.size, "data.txt", &n,
					NULL), 0);
	assert_int_equal(res.stats.files_total, 1);
	vs_store_close(s);
}

/* --- re-commits ------------------------------------------------------------- */

static void test_recommit_unchanged(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_opts o = { .allow_empty = true };
	struct vs_ingest_result r1, r2, r3;
	struct vs_commit c;
	struct vs_id t1;

	tu_make_tree(fx->src, 2, 0);
	assert_int_equal(commit(fx, NULL, 0, &r1), 0);
	assert_true(r1.created);
	assert_int_equal(commit(fx, NULL, 0, &r2), 0);
	assert_false(r2.created);
	assert_true(vs_id_equal(&r1.commit, &r2.commit));
	expect_head(fx, "main", &r1.commit);
	assert_int_equal(r2.stats.new_chunks, 0);

	/* allow_empty makes a commit with the same tree. */
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &r3,
				       NULL), 0);
	assert_true(r3.created);
	assert_false(vs_id_equal(&r1.commit, &r3.commit));
	expect_head(fx, "main", &r3.commit);
	t1 = commit_tree(fx, &r1.commit, NULL);
	commit_tree(fx, &r3.commit, &c);
	assert_true(vs_id_equal(&c.tree, &t1));
	assert_int_equal(c.nparents, 1);
	assert_true(vs_id_equal(&c.parents[0], &r1.commit));
	vs_commit_release(&c);
}

/* Branches are independent: a new branch starts a history of its own. */
static void test_branches(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_result r1, r2;
	struct vs_commit c;
	char p[PATH_MAX];

	tu_write_str(tu_join(p, fx->src, "f"), "1");
	assert_int_equal(commit(fx, NULL, 1, &r1), 0);
	tu_write_str(p, "2");
	assert_int_equal(commit(fx, "exp/one", 1, &r2), 0);
	assert_true(r2.created);
	expect_head(fx, "main", &r1.commit);
	expect_head(fx, "exp/one", &r2.commit);
	commit_tree(fx, &r2.commit, &c);
	assert_int_equal(c.nparents, 0);
	vs_commit_release(&c);
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src,
				       &(struct vs_ingest_opts){
					       .branch = "bad..name" },
				       &r2, NULL), VS_E_INVAL);
	expect_head(fx, "bad..name", NULL);
}

/*
 * Rewrites one byte of path, keeping its size; then sets its mtime to
 * mtime, or back to what it was when mtime is 0.
 */
static void poke(const char *path, off_t off, time_t mtime)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
	if (mtime)
		tu_set_mtime(path, mtime, 0);
	else
		tu_set_mtime(path, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	assert_int_equal(lstat(path, &st), 0);
	if (!mtime)
		return;
	assert_int_equal(st.st_mtim.tv_sec, mtime);
}

/* The entries of branch's stat cache; has: whether path is among them. */
static size_t cache_entries(struct fx *fx, const char *branch,
			    const char *path, bool *has)
{
	struct vs_buf prefix = VS_BUF_INIT;
	struct vs_kv_iter *it;
	size_t n = 0, klen;

	vs_buf_addch(&prefix, 'S');
	vs_buf_addstr(&prefix, "datasets/d");
	vs_buf_addch(&prefix, '\0');
	vs_buf_addstr(&prefix, branch);
	vs_buf_addch(&prefix, '\0');
	*has = false;
	it = vs_kv_iter_new(fx->e->s->kv, VS_CF_META, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		const char *k = vs_kv_iter_key(it, &klen);

		if (klen - prefix.len == strlen(path) &&
		    !memcmp(k + prefix.len, path, klen - prefix.len))
			*has = true;
		n++;
	}
	vs_kv_iter_free(it);
	vs_buf_release(&prefix);
	return n;
}

static void test_incremental(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_result r1, r2;
	struct vs_commit c;
	char p[PATH_MAX];
	time_t old = time(NULL) - 7200;
	struct timespec wait = { 2, 200 * 1000 * 1000 };
	/* Past the racy window of a file system with fine timestamps. */
	struct timespec settle = { 0, 60 * 1000 * 1000 };

	tu_make_tree(fx->src, 3, 0);
	tu_age_tree(fx->src);
	/*
	 * Files changed less than 2 s before the walk are not cached, and
	 * utimensat cannot age the ctime: let the ctimes grow old.
	 */
	nanosleep(&wait, NULL);
	assert_int_equal(commit(fx, NULL, 2, &r1), 0);
	assert_int_equal(r1.stats.files_read, 9);

	/* Change one byte of the big file, with an old (but new) mtime. */
	poke(tu_join(p, fx->src, "big.bin"), TU_BIG_SIZE / 2, old);
	assert_int_equal(commit(fx, NULL, 2, &r2), 0);
	assert_true(r2.created);
	assert_int_equal(r2.stats.files_read, 1);
	assert_int_equal(r2.stats.bytes_read, TU_BIG_SIZE);
	assert_int_equal(r2.stats.files_total, 11);
	/* Content-defined chunks: only the chunk(s) around the edit. */
	assert_true(r2.stats.new_chunks >= 1);
	assert_true(r2.stats.new_chunks <= 3);
	commit_tree(fx, &r2.commit, &c);
	assert_int_equal(c.nparents, 1);
	assert_true(vs_id_equal(&c.parents[0], &r1.commit));
	vs_commit_release(&c);
	expect_head(fx, "main", &r2.commit);
	assert_true(tu_commit_matches_dir(fx->e->s, &r2.commit, fx->src));

	/* Unchanged (but newly changed files are re-read: not cached). */
	nanosleep(&settle, NULL);
	assert_int_equal(commit(fx, NULL, 2, &r1), 0);
	assert_false(r1.created);
	assert_true(vs_id_equal(&r1.commit, &r2.commit));
	assert_true(r1.stats.files_read <= 1);

	/* The cache is per branch: another branch reads everything. */
	assert_int_equal(commit(fx, "other", 2, &r1), 0);
	assert_int_equal(r1.stats.files_read, 9);
	assert_int_equal(r1.stats.new_chunks, 0);

	/*
	 * A change that keeps size and mtime but not ctime is still seen
	 * (the cache checks ctime too).
	 */
	poke(tu_join(p, fx->src, "text.txt"), 10, 0);
	assert_int_equal(commit(fx, NULL, 2, &r1), 0);
	assert_true(r1.created);
	assert_true(tu_commit_matches_dir(fx->e->s, &r1.commit, fx->src));

	/*
	 * The cache is written as a difference: a removed file leaves it,
	 * the others stay (the just-poked file is too new to be cached).
	 */
	{
		bool has;
		size_t before = cache_entries(fx, "main", "a/one.txt", &has);

		assert_true(has);
		assert_true(before >= 7);
		nanosleep(&settle, NULL);
		assert_int_equal(unlink(tu_join(p, fx->src, "a/one.txt")), 0);
		assert_int_equal(commit(fx, NULL, 2, &r1), 0);
		assert_true(r1.created);
		assert_true(r1.stats.files_read <= 1);	/* text.txt */
		assert_true(cache_entries(fx, "main", "a/one.txt", &has) >=
			    before - 1);
		assert_false(has);
		cache_entries(fx, "main", "a/b/two.txt", &has);
		assert_true(has);
	}
}

/* --- failures ---------------------------------------------------------------- */

static int fail_eio(const char *where)
{
	(void)where;
	return -EIO;
}

static void test_fault_injection(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_result r1, r2, r3;
	struct vs_error err = { 0 };
	struct vs_ingest_opts o = { 0 };
	struct vs_node root, n;
	struct vs_commit c;
	char p[PATH_MAX];

	/* A first commit that fails creates no branch. */
	tu_make_tree(fx->src, 4, 0);
	vs_refs_fault_hook = fail_eio;
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &r1,
				       &err), -EIO);
	assert_true(err.msg[0] != '\0');
	expect_head(fx, "main", NULL);
	vs_refs_fault_hook = NULL;
	assert_int_equal(commit(fx, NULL, 0, &r1), 0);
	expect_head(fx, "main", &r1.commit);

	/* A later one leaves the branch at the previous commit. */
	tu_write_str(tu_join(p, fx->src, "new.txt"), "new\n");
	vs_refs_fault_hook = fail_eio;
	vs_error_clear(&err);
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &r2,
				       &err), -EIO);
	expect_head(fx, "main", &r1.commit);
	/* Still so after a reopen. */
	vs_refs_fault_hook = NULL;
	vs_store_close(fx->e->s);
	assert_int_equal(vs_store_open(fx->e->store_path, &fx->e->s, NULL), 0);
	expect_head(fx, "main", &r1.commit);
	assert_int_equal(vs_commit_root(fx->e->s, &r1.commit, &root, NULL), 0);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"new.txt", &n, NULL), VS_E_NOTFOUND);

	/* With the hook cleared the commit goes through. */
	assert_int_equal(commit(fx, NULL, 0, &r3), 0);
	assert_true(r3.created);
	expect_head(fx, "main", &r3.commit);
	commit_tree(fx, &r3.commit, &c);
	assert_int_equal(c.nparents, 1);
	assert_true(vs_id_equal(&c.parents[0], &r1.commit));
	vs_commit_release(&c);
	assert_true(tu_commit_matches_dir(fx->e->s, &r3.commit, fx->src));
}

static void cancel_on_progress(void *arg, const struct vs_ingest_progress *p)
{
	(void)p;
	atomic_store((atomic_bool *)arg, true);
}

/* A commit whose caller stops it changes nothing, wherever it stops. */
static void test_canceled(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_result res;
	struct vs_error err = { 0 };
	atomic_bool cancel = true;
	struct vs_ingest_opts o = { .cancel = &cancel };
	uint8_t *big = malloc(24 * TU_MIB);
	char p[PATH_MAX];

	assert_non_null(big);
	tu_make_tree(fx->src, 9, 0);
	/* Set before it starts: stopped before the ref update at least. */
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &res,
				       &err), VS_E_CANCELED);
	assert_non_null(strstr(err.msg, "interrupted"));
	expect_head(fx, "main", NULL);

	/* Set while files are read (by the first progress report). */
	tu_fill_random(big, 24 * TU_MIB, 10);
	tu_write(tu_join(p, fx->src, "big.bin"), big, 24 * TU_MIB, 0644);
	atomic_store(&cancel, false);
	o.progress = cancel_on_progress;
	o.progress_arg = &cancel;
	vs_error_clear(&err);
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &res,
				       &err), VS_E_CANCELED);
	assert_string_equal(err.msg, "interrupted");
	expect_head(fx, "main", NULL);

	/* Not set: the same commit goes through. */
	assert_int_equal(commit(fx, NULL, 0, &res), 0);
	assert_true(res.created);
	expect_head(fx, "main", &res.commit);
	assert_true(tu_commit_matches_dir(fx->e->s, &res.commit, fx->src));
	free(big);
}

/*
 * Duplicate files read at the same moment: each chunk is stored, and
 * counted, once (32 copies of 1 MiB of 4 KiB chunks, all new).
 */
static void test_duplicates_stored_once(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_result res;
	uint8_t *data = malloc(TU_MIB);
	char p[PATH_MAX], name[32];
	struct vs_node root, n;
	struct vs_file f;
	int k;

	assert_non_null(data);
	tu_fill_random(data, TU_MIB, 11);
	for (k = 0; k < 32; k++) {
		snprintf(name, sizeof(name), "f%02d", k);
		tu_write(tu_join(p, fx->src, name), data, TU_MIB, 0644);
	}
	assert_int_equal(commit(fx, NULL, 0, &res), 0);
	assert_int_equal(res.stats.files_read, 32);
	assert_int_equal(vs_commit_root(fx->e->s, &res.commit, &root, NULL), 0);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size, "f07",
					&n, NULL), 0);
	assert_int_equal(vs_store_read_file(fx->e->s, &n.id, &f, NULL), 0);
	assert_true(f.nchunks > 100);
	/* Random bytes: every chunk of the file is a different one. */
	assert_int_equal(res.stats.new_chunks, f.nchunks);
	vs_file_release(&f);
	free(data);
}

static void test_bad_source(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_opts o = { 0 };
	struct vs_ingest_result res;
	struct vs_error err = { 0 };
	struct vs_repo unknown;
	char p[PATH_MAX];

	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r,
				       tu_join(p, fx->e->dir, "missing"), &o,
				       &res, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing"));
	expect_head(fx, "main", NULL);

	tu_write_str(tu_join(p, fx->e->dir, "file"), "x");
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, p, &o, &res, NULL),
			 -ENOTDIR);
	expect_head(fx, "main", NULL);

	assert_int_equal(vs_repo_parse(&unknown, "models/unknown", 14, NULL),
			 0);
	vs_error_clear(&err);
	assert_int_equal(vs_ingest_dir(fx->e->s, &unknown, fx->src, &o, &res,
				       &err), VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "models/unknown"));

	/* An unreadable subdirectory (unless we are root, who reads all). */
	if (geteuid() != 0) {
		tu_mkdir(tu_join(p, fx->src, "locked"));
		chmod(p, 0);
		assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o,
					       &res, NULL), -EACCES);
		expect_head(fx, "main", NULL);
		chmod(p, 0755);
	}
}

/*
 * The two-step commit: a scan started before the store is used commits the
 * same tree as vs_ingest_dir; a scan can be abandoned, even mid-walk; a
 * failed walk is reported by vs_ingest_scanned.
 */
static void test_scan(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_opts o = { 0 };
	struct vs_ingest_result r1, r2;
	struct vs_error err = { 0 };
	struct vs_id t1, t2;
	char p[PATH_MAX];
	int i;

	tu_make_tree(fx->src, 9, 0);
	for (i = 0; i < 20; i++)
		vs_scan_free(vs_scan_start(fx->src, fx->e->s->path, &o));
	vs_scan_free(NULL);
	assert_int_equal(vs_ingest_scanned(fx->e->s, &fx->r,
					   vs_scan_start(fx->src,
							 fx->e->s->path, &o),
					   &o, &r1, NULL), 0);
	o.branch = "direct";
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &r2,
				       NULL), 0);
	t1 = commit_tree(fx, &r1.commit, NULL);
	t2 = commit_tree(fx, &r2.commit, NULL);
	assert_true(vs_id_equal(&t1, &t2));
	assert_true(tu_commit_matches_dir(fx->e->s, &r1.commit, fx->src));
	assert_int_equal(vs_ingest_scanned(fx->e->s, &fx->r,
					   vs_scan_start(tu_join(p, fx->e->dir,
								 "missing"),
							 NULL, &o),
					   &o, &r1, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing"));
}

static void test_meta_message(void **state)
{
	struct fx *fx = *state;
	struct vs_meta meta[3] = {
		{ "zeta", "last" }, { "accuracy", "0.91" }, { "epoch", "12" },
	};
	struct vs_ingest_opts o = { .message = "first import\nline 2",
				    .author = "Ada <ada@example.org>",
				    .meta = meta, .nmeta = 3,
				    .time = 1700000123 };
	struct vs_ingest_result res;
	struct vs_commit c;
	char p[PATH_MAX];

	tu_write_str(tu_join(p, fx->src, "f"), "x");
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &res,
				       NULL), 0);
	commit_tree(fx, &res.commit, &c);
	assert_string_equal(c.message, "first import\nline 2");
	assert_string_equal(c.author, "Ada <ada@example.org>");
	assert_int_equal(c.time, 1700000123);
	assert_int_equal(c.nmeta, 3);
	assert_string_equal(c.meta[0].key, "accuracy");
	assert_string_equal(c.meta[0].value, "0.91");
	assert_string_equal(c.meta[1].key, "epoch");
	assert_string_equal(c.meta[2].key, "zeta");
	assert_string_equal(c.meta[2].value, "last");
	vs_commit_release(&c);

	/* Defaults: empty message and author, the current time. */
	tu_write_str(p, "y");
	{
		struct vs_ingest_opts d = { 0 };
		uint64_t before = (uint64_t)time(NULL);

		assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &d,
					       &res, NULL), 0);
		commit_tree(fx, &res.commit, &c);
		assert_string_equal(c.message, "");
		assert_string_equal(c.author, "");
		assert_int_equal(c.nmeta, 0);
		assert_true(c.time >= before && c.time <= before + 60);
		vs_commit_release(&c);
	}
}

/* --- many files ----------------------------------------------------------- */

/*
 * The id and size a commit gives directory dir, computed here from the
 * object encodings alone: each file read whole and cut with
 * vs_chunker_next, each tree built with vs_tree_add.
 */
static void expected_tree(struct fx *fx, const char *dir, struct vs_id *id,
			  uint64_t *size)
{
	const struct vs_chunker_params *cp = &fx->e->s->config.chunking;
	struct vs_buf data = VS_BUF_INIT, enc = VS_BUF_INIT;
	char **names, p[PATH_MAX];
	struct vs_tree t;
	size_t n, i;

	*size = 0;
	vs_tree_init(&t);
	names = tu_list(dir, &n);
	for (i = 0; i < n; i++) {
		enum vs_entry_type type;
		struct vs_id kid, cid;
		struct vs_file f;
		struct stat st;
		uint64_t ksize;
		size_t off, cut;

		assert_int_equal(lstat(tu_join(p, dir, names[i]), &st), 0);
		if (S_ISDIR(st.st_mode)) {
			expected_tree(fx, p, &kid, &ksize);
			type = VS_ENTRY_DIR;
		} else {
			if (S_ISLNK(st.st_mode)) {
				char target[PATH_MAX];
				ssize_t len = readlink(p, target,
						       sizeof(target));

				assert_true(len > 0);
				vs_buf_reset(&data);
				vs_buf_add(&data, target, (size_t)len);
				type = VS_ENTRY_SYMLINK;
			} else {
				assert_int_equal(tu_read(p, &data), 0);
				type = st.st_mode & S_IXUSR ? VS_ENTRY_EXEC
							    : VS_ENTRY_FILE;
			}
			vs_file_init(&f);
			if (data.len <= VS_FILE_INLINE_MAX && data.len)
				vs_file_set_inline(&f, data.data, data.len);
			for (off = 0; data.len > VS_FILE_INLINE_MAX &&
				      off < data.len; off += cut) {
				cut = vs_chunker_next(cp, (uint8_t *)data.data +
							  off, data.len - off);
				vs_hash(data.data + off, cut, &cid);
				vs_file_add_chunk(&f, &cid, cut);
			}
			vs_buf_reset(&enc);
			vs_file_encode(&f, &enc);
			vs_hash(enc.data, enc.len, &kid);
			vs_file_release(&f);
			ksize = data.len;
		}
		vs_tree_add(&t, names[i], strlen(names[i]), type, ksize, &kid);
		if (type != VS_ENTRY_SYMLINK)
			*size += ksize;
	}
	vs_tree_sort(&t);
	vs_buf_reset(&enc);
	vs_tree_encode(&t, &enc);
	vs_hash(enc.data, enc.len, id);
	vs_tree_release(&t);
	tu_list_free(names, n);
	vs_buf_release(&data);
	vs_buf_release(&enc);
}

/*
 * A commit of more files than one batch of stat cache changes holds, across
 * many directories: the tree is the one the object encodings give; the
 * stat cache names every file, so a re-commit reads none; and a commit to a
 * new branch whose ref update fails (after the cache parts it wrote) leaves
 * the next one whole.
 */
static void test_many_files(void **state)
{
	enum { DIRS = 18, PER_DIR = 1000 };
	struct fx *fx = *state;
	struct timespec wait = { 2, 200 * 1000 * 1000 };
	struct vs_ingest_opts o = { .branch = "other" };
	struct vs_ingest_result r1, r2;
	struct vs_verify_result vr;
	struct vs_error err = { 0 };
	struct vs_id want, got;
	uint64_t size, nfiles = 0;
	uint8_t buf[24 * 1024];
	char p[PATH_MAX], name[64];
	bool has;
	int d, f;

	for (d = 0; d < DIRS; d++) {
		snprintf(name, sizeof(name), "d%02d", d);
		tu_mkdir(tu_join(p, fx->src, name));
		for (f = 0; f < PER_DIR; f++) {
			/* Mostly inline sizes; every 97th a few chunks. */
			size_t len = f % 97 ? (size_t)(f * 37 + d) % 300
					    : 20000 + (size_t)f;

			snprintf(name, sizeof(name), "d%02d/f%04d", d, f);
			tu_fill_random(buf, len, (uint64_t)d * PER_DIR + f);
			tu_write(tu_join(p, fx->src, name), buf, len,
				 f % 13 ? 0644 : 0755);
			nfiles++;
		}
		if (d % 5)
			continue;
		snprintf(name, sizeof(name), "d%02d/sub", d);
		tu_mkdir(tu_join(p, fx->src, name));
		snprintf(name, sizeof(name), "d%02d/sub/link", d);
		if (symlink("../f0001", tu_join(p, fx->src, name)) < 0)
			fail();
	}
	tu_mkdir(tu_join(p, fx->src, "empty"));
	/* Old enough to be cached, also where timestamps are coarse. */
	nanosleep(&wait, NULL);

	assert_int_equal(commit(fx, NULL, 0, &r1), 0);
	assert_true(r1.created);
	assert_int_equal(r1.stats.files_read, nfiles);
	expected_tree(fx, fx->src, &want, &size);
	got = commit_tree(fx, &r1.commit, NULL);
	assert_true(vs_id_equal(&got, &want));
	assert_int_equal(cache_entries(fx, "main", "d17/f0999", &has), nfiles);
	assert_true(has);

	assert_int_equal(commit(fx, NULL, 0, &r2), 0);
	assert_false(r2.created);
	assert_int_equal(r2.stats.files_read, 0);

	vs_refs_fault_hook = fail_eio;
	assert_int_equal(vs_ingest_dir(fx->e->s, &fx->r, fx->src, &o, &r2,
				       &err), -EIO);
	vs_refs_fault_hook = NULL;
	expect_head(fx, "other", NULL);
	tu_write_str(tu_join(p, fx->src, "d03/f0005"), "changed\n");
	assert_int_equal(commit(fx, "other", 0, &r2), 0);
	assert_true(r2.created);
	assert_true(r2.stats.files_read < nfiles);	/* parts were kept */
	expected_tree(fx, fx->src, &want, &size);
	got = commit_tree(fx, &r2.commit, NULL);
	assert_true(vs_id_equal(&got, &want));
	/* Every object is there: those of the cache's parts too. */
	assert_int_equal(vs_verify(fx->e->s, &(struct vs_verify_opts){ 0 },
				   &vr, NULL), 0);
	assert_int_equal(vr.problems, 0);
}

static void test_threads_identical(void **state)
{
	struct fx *fx = *state;
	struct vs_ingest_result r1, r4, r0;
	struct vs_id t1, t4, t0;
	char p[PATH_MAX];
	uint8_t *buf = malloc(700 * TU_KIB);

	assert_non_null(buf);
	tu_make_tree(fx->src, 5, 0);
	/* More data than the queue holds, in several files. */
	tu_fill_random(buf, 700 * TU_KIB, 55);
	tu_write(tu_join(p, fx->src, "large1"), buf, 700 * TU_KIB, 0644);
	tu_write(tu_join(p, fx->src, "large2"), buf + 1, 700 * TU_KIB - 1,
		 0644);
	free(buf);

	assert_int_equal(commit(fx, "t1", 1, &r1), 0);
	assert_int_equal(commit(fx, "t4", 4, &r4), 0);
	assert_int_equal(commit(fx, "t0", 0, &r0), 0);
	t1 = commit_tree(fx, &r1.commit, NULL);
	t4 = commit_tree(fx, &r4.commit, NULL);
	t0 = commit_tree(fx, &r0.commit, NULL);
	assert_true(vs_id_equal(&t1, &t4));
	assert_true(vs_id_equal(&t1, &t0));
	assert_int_equal(r4.stats.files_read, r1.stats.files_read);
	assert_true(r1.stats.new_chunks > 0);
	assert_int_equal(r4.stats.new_chunks, 0);
	assert_true(tu_commit_matches_dir(fx->e->s, &r4.commit, fx->src));
}

/*
 * Files between 4 and 64 MiB are read with O_DIRECT where the file system
 * allows it: every length around the 4 KiB alignment comes back byte for
 * byte, and a second commit finds every chunk already stored.
 */
static void test_direct_reads(void **state)
{
	static const size_t sizes[] = {
		4 * TU_MIB - 1, 4 * TU_MIB, 4 * TU_MIB + 1,
		5 * TU_MIB + 4095, 9 * TU_MIB + 123,
	};
	struct fx *fx = *state;
	struct vs_ingest_result r1, r2;
	size_t max = 9 * TU_MIB + 123, i;
	uint8_t *buf = malloc(max);
	char p[PATH_MAX], name[32];

	assert_non_null(buf);
	tu_fill_random(buf, max, 77);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "big%zu", i);
		/* Different offsets: no file is a prefix of another. */
		tu_write(tu_join(p, fx->src, name), buf + i, sizes[i] - i,
			 0644);
	}
	free(buf);
	assert_int_equal(commit(fx, NULL, 2, &r1), 0);
	assert_int_equal(r1.stats.files_read, 5);
	assert_true(tu_commit_matches_dir(fx->e->s, &r1.commit, fx->src));
	assert_int_equal(commit(fx, "again", 2, &r2), 0);
	assert_int_equal(r2.stats.new_chunks, 0);
}

/* --- single files --------------------------------------------------------- */

static void ingest_fd(struct fx *fx, const char *path, struct vs_id *id,
		      uint64_t *size, struct vs_put_stats *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	/* Read from offset 0 whatever the descriptor's position. */
	lseek(fd, 7, SEEK_SET);
	assert_int_equal(vs_ingest_fd(fx->e->s, fd, id, size, st, NULL), 0);
	close(fd);
}

static void test_ingest_fd(void **state)
{
	struct fx *fx = *state;
	struct vs_put_stats st = { 0 };
	struct vs_ingest_result res;
	struct vs_buf want = VS_BUF_INIT, got = VS_BUF_INIT;
	struct vs_node root, n;
	struct vs_file f;
	struct vs_id id, id2;
	uint64_t size;
	char p[PATH_MAX];

	tu_make_tree(fx->src, 6, 0);
	assert_int_equal(commit(fx, NULL, 2, &res), 0);
	assert_int_equal(vs_commit_root(fx->e->s, &res.commit, &root, NULL),
			 0);

	/* The same file object as a directory commit makes. */
	ingest_fd(fx, tu_join(p, fx->src, "big.bin"), &id, &size, &st);
	assert_int_equal(size, TU_BIG_SIZE);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"big.bin", &n, NULL), 0);
	assert_true(vs_id_equal(&id, &n.id));
	assert_int_equal(st.new_chunks, 0);
	assert_int_equal(tu_read(p, &want), 0);
	assert_int_equal(tu_read_object_file(fx->e->s, &id, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);

	ingest_fd(fx, tu_join(p, fx->src, "a/one.txt"), &id, &size, &st);
	assert_int_equal(size, 4);
	assert_int_equal(vs_path_lookup(fx->e->s, &root.id, root.size,
					"a/one.txt", &n, NULL), 0);
	assert_true(vs_id_equal(&id, &n.id));
	ingest_fd(fx, tu_join(p, fx->src, "zero"), &id, &size, &st);
	assert_int_equal(size, 0);
	assert_int_equal(vs_store_read_file(fx->e->s, &id, &f, NULL), 0);
	assert_int_equal(f.size, 0);
	vs_file_release(&f);

	/* New content: new chunks, counted once. */
	tu_fill_random(want.data, want.len, 66);
	tu_write(tu_join(p, fx->e->dir, "new.bin"), want.data, want.len, 0644);
	memset(&st, 0, sizeof(st));
	ingest_fd(fx, p, &id, &size, &st);
	assert_true(st.new_chunks >= TU_BIG_SIZE / (16 * TU_KIB));
	assert_int_equal(st.new_raw_bytes, TU_BIG_SIZE);
	assert_int_equal(tu_read_object_file(fx->e->s, &id, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	memset(&st, 0, sizeof(st));
	ingest_fd(fx, p, &id2, &size, &st);
	assert_true(vs_id_equal(&id, &id2));
	assert_int_equal(st.new_chunks, 0);
	vs_buf_release(&want);
	vs_buf_release(&got);
}

struct cuts {
	struct vs_buf joined;
	size_t chunks, smalls, stop_after;
	const struct vs_chunker_params *cp;
};

static int on_chunk(void *arg, const uint8_t *data, size_t len)
{
	struct cuts *c = arg;

	assert_true(len >= 1);
	assert_true(len <= c->cp->max);
	assert_int_equal(vs_chunker_next(c->cp, data, len), len);
	vs_buf_add(&c->joined, data, len);
	return ++c->chunks == c->stop_after ? 42 : 0;
}

static int on_small(void *arg, const uint8_t *data, size_t len)
{
	struct cuts *c = arg;

	vs_buf_add(&c->joined, data, len);
	c->smalls++;
	return 0;
}

static int cut_file(struct fx *fx, const char *path, struct cuts *c,
		    uint64_t *size)
{
	static const struct vs_cut_fns fns = { on_chunk, on_small };
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	assert_true(fd >= 0);
	c->cp = &fx->e->s->config.chunking;
	r = vs_cut_fd(c->cp, fd, &fns, c, size, NULL);
	close(fd);
	return r;
}

/* vs_cut_fd cuts as a commit does, in order, and stops when told. */
static void test_cut_fd(void **state)
{
	struct fx *fx = *state;
	struct vs_buf want = VS_BUF_INIT;
	struct vs_file f;
	struct vs_id id;
	struct cuts c = { VS_BUF_INIT, 0, 0, 0, NULL };
	struct vs_put_stats st = { 0 };
	uint64_t size;
	char p[PATH_MAX];

	vs_buf_grow(&want, TU_BIG_SIZE);
	tu_fill_random(want.data, TU_BIG_SIZE, 5);
	want.len = TU_BIG_SIZE;
	tu_write(tu_join(p, fx->src, "big.bin"), want.data, want.len, 0644);
	assert_int_equal(cut_file(fx, p, &c, &size), 0);
	assert_int_equal(size, TU_BIG_SIZE);
	assert_int_equal(c.smalls, 0);
	assert_int_equal(c.joined.len, want.len);
	assert_memory_equal(c.joined.data, want.data, want.len);
	/* the chunks a commit stores for it */
	ingest_fd(fx, p, &id, &size, &st);
	assert_int_equal(vs_store_read_file(fx->e->s, &id, &f, NULL), 0);
	assert_int_equal(f.nchunks, c.chunks);
	assert_true(c.chunks > 2);
	vs_file_release(&f);

	vs_buf_reset(&c.joined);
	c.chunks = 0;
	c.stop_after = 2;
	assert_int_equal(cut_file(fx, p, &c, &size), 42);
	assert_int_equal(c.chunks, 2);

	vs_buf_reset(&c.joined);
	c.chunks = 0;
	c.stop_after = 0;
	tu_write_str(p, "small\n");
	assert_int_equal(cut_file(fx, p, &c, &size), 0);
	assert_int_equal(size, 6);
	assert_int_equal(c.chunks, 0);
	assert_int_equal(c.smalls, 1);
	assert_memory_equal(c.joined.data, "small\n", 6);

	tu_write_str(p, "");
	c.smalls = 0;
	assert_int_equal(cut_file(fx, p, &c, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(c.chunks + c.smalls, 0);
	vs_buf_release(&c.joined);
	vs_buf_release(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_tree, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_empty_dir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_inside_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recommit_unchanged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_branches, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_incremental, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_canceled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_stored_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_source, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_meta_message, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_reads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads_identical, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ingest_fd, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cut_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
