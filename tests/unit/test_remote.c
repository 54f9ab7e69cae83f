/*
 * test_remote.c - push and pull between stores through a file:// remote
 * (store/remote/remote.c): a pull into a fresh store gives a byte-identical
 * snapshot and a sound store; a second push sends nothing; a push of a 1%
 * change sends about 1% of the bytes; a push stopped half way and run
 * again does not send its packs again; a corrupted, truncated or missing
 * pack and an index that lies make a pull fail naming the pack, with no
 * ref moved; a non-fast-forward push is refused, --force moves it; a
 * branch moved by another push between the read and the write loses the
 * compare-and-swap; tags stay immutable on both sides; run records travel;
 * a diverged local branch is not moved by a pull; a newer remote format
 * is refused; many manifests are merged into one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "ingest.h"
#include "kv.h"
#include "pack.h"
#include "refs.h"
#include "remote.h"
#include "runs.h"
#include "transport.h"
#include "verify.h"
#include "testutil.h"
#include "banned.h"

/* Packs of 64 KiB: small data makes several. */
#define PACK_TARGET (64 * 1024)
/* Room for a path below a temporary directory. */
#define BIG (PATH_MAX + 256)

struct fx {
	char dir[PATH_MAX];
	char remote_dir[PATH_MAX];
	char url[PATH_MAX + 16];
	char src[PATH_MAX];
	struct tu_env *a, *b;
	struct vs_remote_config cfg;
	struct vs_repo repo;
	struct vs_remote_opts opts;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	tu_mkdtemp(fx->dir);
	tu_join(fx->remote_dir, fx->dir, "remote");
	snprintf(fx->url, sizeof(fx->url), "file://%s", fx->remote_dir);
	tu_join(fx->src, fx->dir, "src");
	tu_mkdir(fx->src);
	fx->a = tu_env_new();
	fx->b = tu_env_new();
	fx->cfg.name = "origin";
	fx->cfg.url = fx->url;
	fx->opts.pack_target = PACK_TARGET;
	assert_int_equal(vs_repo_set(&fx->repo, VS_REPO_DATASET, "d", NULL),
			 0);
	assert_int_equal(vs_repo_create(fx->a->s, &fx->repo, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_env_free(fx->a);
	tu_env_free(fx->b);
	tu_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static struct vs_id commit_dir(struct vs_store *s, const struct vs_repo *r,
			       const char *dir)
{
	struct vs_ingest_opts io = { .message = "m", .author = "t",
				     .allow_empty = true };
	struct vs_ingest_result res;
	struct vs_error e = { 0 };

	if (vs_ingest_dir(s, r, dir, &io, &res, &e) < 0)
		fail_msg("commit: %s", e.msg);
	return res.commit;
}

static int push(struct fx *fx, struct vs_store *s, const char *spec,
		struct vs_remote_result *res, struct vs_error *e)
{
	const char *specs[1] = { spec };
	struct vs_remote_sel sel = { .specs = specs, .nspecs = 1 };

	vs_error_clear(e);
	return vs_push(s, &fx->cfg, &sel, &fx->opts, res, e);
}

static int pull(struct fx *fx, struct vs_store *s, const char *spec,
		struct vs_remote_result *res, struct vs_error *e)
{
	const char *specs[1] = { spec };
	struct vs_remote_sel sel = { .specs = specs, .nspecs = 1 };

	vs_error_clear(e);
	return vs_pull(s, &fx->cfg, &sel, &fx->opts, res, e);
}

static void expect_ok(int r, const struct vs_error *e)
{
	if (r != 0)
		fail_msg("expected success, got %d: %s", r, e->msg);
}

static void verify_sound(struct vs_store *s)
{
	struct vs_verify_opts vo = { .full = true };
	struct vs_verify_result vr;
	struct vs_error e = { 0 };

	expect_ok(vs_verify(s, &vo, &vr, &e), &e);
	assert_int_equal(vr.problems, 0);
}

static void test_push_pull_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	struct vs_id c1, got;
	uint64_t first_bytes;

	tu_make_tree(fx->src, 1, 0);
	c1 = commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	assert_true(res.packs >= 2);	/* data and metadata apart */
	assert_true(res.bytes > 100 * TU_KIB);
	assert_true(res.chunks > 20);
	assert_true(res.objects > 5);
	assert_int_equal(res.nrefs, 1);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_NEW);
	assert_true(vs_id_equal(&res.refs[0].new, &c1));
	first_bytes = res.bytes;
	print_message("first push: %llu packs, %llu bytes, %llu requests\n",
		      (unsigned long long)res.packs,
		      (unsigned long long)res.bytes,
		      (unsigned long long)res.requests);
	/* Requests: about one per pack, plus a few. */
	assert_true(res.requests <= res.packs + 10);
	vs_remote_result_release(&res);

	/* A second push sends nothing. */
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.packs, 0);
	assert_int_equal(res.bytes, 0);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UNCHANGED);
	assert_true(res.requests <= 4);
	vs_remote_result_release(&res);

	/* A fresh store pulls the very snapshot. */
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.nrefs, 1);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_NEW);
	assert_true(res.bytes >= first_bytes / 2);
	vs_remote_result_release(&res);
	expect_ok(vs_branch_get(fx->b->s, &fx->repo, "main", &got, &e), &e);
	assert_true(vs_id_equal(&got, &c1));
	assert_true(tu_commit_matches_dir(fx->b->s, &c1, fx->src));
	verify_sound(fx->b->s);

	/* Pulling again fetches nothing. */
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.packs, 0);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UNCHANGED);
	vs_remote_result_release(&res);
}

/* 1% of a dataset changed: about 1% of the bytes travel. */
static void test_small_change(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	size_t size = 4 * TU_MIB, i;
	uint8_t *data = malloc(size);
	char p[BIG];
	uint64_t full, delta, pulled;
	struct vs_id c2;

	/* Ten files of 400 KiB. */
	tu_fill_random(data, size, 42);
	for (i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "%s/f%zu", fx->src, i);
		tu_write(p, data + i * (size / 10), size / 10, 0644);
	}
	commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	full = res.bytes;
	vs_remote_result_release(&res);
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);

	/* 40 KiB rewritten in the middle of one file: 1% of the bytes. */
	tu_fill_random(data + size / 20, size / 100, 43);
	snprintf(p, sizeof(p), "%s/f0", fx->src);
	tu_write(p, data, size / 10, 0644);
	c2 = commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	delta = res.bytes;
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UPDATED);
	print_message("full push %llu bytes, 1%% change %llu bytes (%.2f%%),"
		      " %llu requests\n", (unsigned long long)full,
		      (unsigned long long)delta, 100.0 * delta / full,
		      (unsigned long long)res.requests);
	/* The change and the chunks cut around it, and the metadata. */
	assert_true(delta < full / 25);
	assert_true(res.requests <= 10);
	vs_remote_result_release(&res);

	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	pulled = res.bytes;
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UPDATED);
	vs_remote_result_release(&res);
	print_message("pull of the change: %llu bytes\n",
		      (unsigned long long)pulled);
	assert_true(pulled < full / 20);
	assert_true(tu_commit_matches_dir(fx->b->s, &c2, fx->src));
	verify_sound(fx->b->s);
	free(data);
}

struct stopper {
	atomic_bool cancel;
	uint64_t after;
};

static void stop_after(void *arg, const struct vs_remote_progress *p)
{
	struct stopper *st = arg;

	if (p->phase == VS_REMOTE_SEND && p->packs_done >= st->after)
		atomic_store(&st->cancel, true);
}

static size_t count_files(const char *dir)
{
	char p[PATH_MAX];
	int n = tu_count_entries(dir);
	char **names;
	size_t k, total = 0;

	if (n <= 0)
		return 0;
	names = tu_list(dir, &k);
	for (size_t i = 0; i < k; i++) {
		struct stat st;

		tu_join(p, dir, names[i]);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			total += count_files(p);
		else
			total++;
	}
	tu_list_free(names, k);
	return total;
}

/* A push stopped half way, run again, sends the rest only. */
static void test_resume(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	struct stopper st = { .after = 3 };
	char packs[PATH_MAX], pending[BIG];
	size_t size = 2 * TU_MIB, before;
	uint8_t *data = malloc(size);
	uint64_t second;
	struct vs_id c1, got;

	tu_fill_random(data, size, 7);
	tu_write(tu_join(packs, fx->src, "big"), data, size, 0644);
	c1 = commit_dir(fx->a->s, &fx->repo, fx->src);
	atomic_init(&st.cancel, false);
	fx->opts.transfers = 1;
	fx->opts.progress = stop_after;
	fx->opts.progress_arg = &st;
	fx->opts.cancel = &st.cancel;
	assert_int_equal(push(fx, fx->a->s, "datasets/d", &res, &e),
			 VS_E_CANCELED);
	vs_remote_result_release(&res);
	tu_join(packs, fx->remote_dir, "packs");
	before = count_files(packs);
	assert_true(before >= 3);
	snprintf(pending, sizeof(pending), "%s/remote/origin/pending",
		 fx->a->store_path);
	assert_int_equal(tu_count_entries(pending), (int)before);
	fx->opts.progress = NULL;
	fx->opts.cancel = NULL;
	fx->opts.transfers = 0;
	/* No ref, no manifest: nothing is visible. */
	assert_int_equal(pull(fx, fx->b->s, "datasets/d", &res, &e),
			 VS_E_NOTFOUND);
	vs_remote_result_release(&res);

	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	second = res.packs;
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_NEW);
	vs_remote_result_release(&res);
	/* Every pack uploaded once: the second run sent the others only. */
	assert_int_equal(count_files(packs), before + second);
	assert_int_equal(tu_count_entries(pending), 0);
	print_message("stopped after %zu packs, the rerun sent %llu\n", before,
		      (unsigned long long)second);

	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
	expect_ok(vs_branch_get(fx->b->s, &fx->repo, "main", &got, &e), &e);
	assert_true(vs_id_equal(&got, &c1));
	assert_true(tu_commit_matches_dir(fx->b->s, &c1, fx->src));
	verify_sound(fx->b->s);
	free(data);
}

/* --- a remote that answers garbage ----------------------------------------- */

/* The first pack file of the given kind under dir, into out. */
static bool find_pack(const char *dir, int kind, char *out)
{
	char **names, p[PATH_MAX];
	size_t n, i;
	bool found = false;

	names = tu_list(dir, &n);
	for (i = 0; i < n && !found; i++) {
		struct stat st;
		struct vs_buf b = VS_BUF_INIT;

		tu_join(p, dir, names[i]);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			found = find_pack(p, kind, out);
		} else if (tu_read(p, &b) == 0 && b.len > 10 &&
			   b.data[9] == kind) {
			snprintf(out, PATH_MAX, "%s", p);
			found = true;
		}
		vs_buf_release(&b);
	}
	tu_list_free(names, n);
	return found;
}

/* The pull fails naming the pack, and store b is as it was. */
static void expect_pull_fails(struct fx *fx, const char *pack_path)
{
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	const char *base = strrchr(pack_path, '/') + 1;
	char hex[65];
	struct vs_id got;

	snprintf(hex, sizeof(hex), "%.64s", base);
	assert_int_equal(pull(fx, fx->b->s, "datasets/d", &res, &e),
			 VS_E_REMOTE);
	print_message("pull failed as it should: %s\n", e.msg);
	assert_non_null(strstr(e.msg, hex));
	vs_remote_result_release(&res);
	assert_int_equal(vs_branch_get(fx->b->s, &fx->repo, "main", &got,
				       NULL),
			 VS_E_NOTFOUND);
	assert_int_equal(vs_repo_check(fx->b->s, &fx->repo, NULL),
			 VS_E_NOTFOUND);
}

static void push_sample(struct fx *fx)
{
	struct vs_remote_result res;
	struct vs_error e = { 0 };

	tu_make_tree(fx->src, 5, 0);
	commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
}

static void test_corrupt_pack(void **state)
{
	struct fx *fx = *state;
	char packs[PATH_MAX], path[PATH_MAX];
	struct vs_buf b = VS_BUF_INIT;

	push_sample(fx);
	tu_join(packs, fx->remote_dir, "packs");
	assert_true(find_pack(packs, VS_PACK_DATA, path));
	assert_int_equal(tu_read(path, &b), 0);
	b.data[VS_PACK_HEADER_LEN + 100] ^= 0x01;
	tu_write(path, b.data, b.len, 0644);
	expect_pull_fails(fx, path);
	vs_buf_release(&b);
}

static void test_corrupt_meta_pack(void **state)
{
	struct fx *fx = *state;
	char packs[PATH_MAX], path[PATH_MAX];
	struct vs_buf b = VS_BUF_INIT;

	push_sample(fx);
	tu_join(packs, fx->remote_dir, "packs");
	assert_true(find_pack(packs, VS_PACK_META, path));
	assert_int_equal(tu_read(path, &b), 0);
	b.data[VS_PACK_HEADER_LEN + 3] ^= 0x80;
	tu_write(path, b.data, b.len, 0644);
	expect_pull_fails(fx, path);
	vs_buf_release(&b);
}

static void test_truncated_pack(void **state)
{
	struct fx *fx = *state;
	char packs[PATH_MAX], path[PATH_MAX];
	struct vs_buf b = VS_BUF_INIT;

	push_sample(fx);
	tu_join(packs, fx->remote_dir, "packs");
	assert_true(find_pack(packs, VS_PACK_DATA, path));
	assert_int_equal(tu_read(path, &b), 0);
	tu_write(path, b.data, b.len / 3, 0644);
	expect_pull_fails(fx, path);
	/* Gone altogether. */
	unlink(path);
	expect_pull_fails(fx, path);
	vs_buf_release(&b);
}

/*
 * A manifest whose entries for a data pack are shuffled: each id at
 * another's place.  It is written under its own name in place of the
 * true one.
 */
static void test_lying_index(void **state)
{
	struct fx *fx = *state;
	char dir[PATH_MAX], path[BIG], hex[65], packhex[65];
	struct vs_buf b = VS_BUF_INIT;
	struct vs_manifest m;
	struct vs_id name, tmp;
	char **names;
	size_t n, i;

	push_sample(fx);
	tu_join(dir, fx->remote_dir, "manifests");
	names = tu_list(dir, &n);
	assert_int_equal(n, 1);
	tu_join(path, dir, names[0]);
	assert_int_equal(tu_read(path, &b), 0);
	assert_int_equal(vs_manifest_decode(&m, b.data, b.len), 0);
	unlink(path);
	tu_list_free(names, n);
	for (i = 0; i < m.npacks; i++) {
		struct vs_manifest_pack *p = &m.packs[i];

		if (p->kind != VS_PACK_DATA || p->count < 2)
			continue;
		tmp = p->entries[0].id;
		p->entries[0].id = p->entries[1].id;
		p->entries[1].id = tmp;
		vs_id_to_hex(&p->id, packhex);
		break;
	}
	assert_true(i < m.npacks);
	vs_buf_reset(&b);
	vs_manifest_encode(&m, &b);
	vs_hash(b.data, b.len, &name);
	snprintf(path, sizeof(path), "%s/%s", dir, vs_id_to_hex(&name, hex));
	tu_write(path, b.data, b.len, 0644);
	snprintf(path, sizeof(path), "%s/packs/%.2s/%s.pack", fx->remote_dir,
		 packhex, packhex);
	expect_pull_fails(fx, path);
	vs_manifest_release(&m);
	vs_buf_release(&b);
}

/* --- refs -------------------------------------------------------------------- */

static void test_non_fast_forward(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	char p[PATH_MAX];
	struct vs_id c1, cb, ca, got;

	tu_write_str(tu_join(p, fx->src, "x"), "one\n");
	c1 = commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);

	/* b moves the remote on; a, still at c1, diverges. */
	tu_write_str(p, "from b\n");
	cb = commit_dir(fx->b->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->b->s, "datasets/d@main", &res, &e), &e);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UPDATED);
	vs_remote_result_release(&res);
	tu_write_str(p, "from a\n");
	ca = commit_dir(fx->a->s, &fx->repo, fx->src);
	assert_int_equal(push(fx, fx->a->s, "datasets/d", &res, &e),
			 VS_E_CONFLICT);
	assert_non_null(strstr(e.msg, "pull first"));
	assert_int_equal(res.rejected, 1);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_REJECTED);
	vs_remote_result_release(&res);

	/* A pull into a does not move its diverged branch either. */
	assert_int_equal(pull(fx, fx->a->s, "datasets/d", &res, &e),
			 VS_E_CONFLICT);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_REJECTED);
	vs_remote_result_release(&res);
	expect_ok(vs_branch_get(fx->a->s, &fx->repo, "main", &got, &e), &e);
	assert_true(vs_id_equal(&got, &ca));

	/* --force does. */
	fx->opts.force = true;
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_FORCED);
	assert_true(vs_id_equal(&res.refs[0].old, &cb));
	vs_remote_result_release(&res);
	fx->opts.force = false;

	/* b's branch and the remote's diverged now. */
	assert_int_equal(pull(fx, fx->b->s, "datasets/d", &res, &e),
			 VS_E_CONFLICT);
	vs_remote_result_release(&res);
	/* a one commit ahead of the remote: a pull leaves it there. */
	tu_write_str(p, "a again\n");
	c1 = commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(pull(fx, fx->a->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_AHEAD);
	vs_remote_result_release(&res);
	expect_ok(vs_branch_get(fx->a->s, &fx->repo, "main", &got, &e), &e);
	assert_true(vs_id_equal(&got, &c1));
}

struct racing {
	struct fx *fx;
	bool done;
};

/* Pushes b's branch while a's push is between its read and its write. */
static void race_in(void *arg, const struct vs_remote_progress *p)
{
	struct racing *rc = arg;
	struct vs_remote_opts o = { .pack_target = PACK_TARGET };
	const char *specs[1] = { "datasets/d" };
	struct vs_remote_sel sel = { .specs = specs, .nspecs = 1 };
	struct vs_remote_result res;
	struct vs_error e = { 0 };

	if (p->phase != VS_REMOTE_SEND || rc->done)
		return;
	rc->done = true;
	expect_ok(vs_push(rc->fx->b->s, &rc->fx->cfg, &sel, &o, &res, &e),
		  &e);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UPDATED);
	vs_remote_result_release(&res);
}

static void test_race(void **state)
{
	struct fx *fx = *state;
	struct racing rc = { fx, false };
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	char p[PATH_MAX];
	struct vs_id cb, got;

	tu_write_str(tu_join(p, fx->src, "x"), "base\n");
	commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
	tu_write_str(p, "b wins\n");
	cb = commit_dir(fx->b->s, &fx->repo, fx->src);
	tu_write_str(p, "a loses\n");
	commit_dir(fx->a->s, &fx->repo, fx->src);

	fx->opts.progress = race_in;
	fx->opts.progress_arg = &rc;
	assert_int_equal(push(fx, fx->a->s, "datasets/d", &res, &e),
			 VS_E_CONFLICT);
	assert_true(rc.done);
	assert_non_null(strstr(e.msg, "the remote branch moved; pull first"));
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_REJECTED);
	vs_remote_result_release(&res);
	fx->opts.progress = NULL;

	/* b's update stands. */
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UNCHANGED);
	vs_remote_result_release(&res);
	expect_ok(vs_branch_get(fx->b->s, &fx->repo, "main", &got, &e), &e);
	assert_true(vs_id_equal(&got, &cb));
}

static void make_tag(struct vs_store *s, const struct vs_repo *r,
		     const char *name, const struct vs_id *commit,
		     const char *msg)
{
	struct vs_tag t;

	vs_tag_init(&t);
	t.commit = *commit;
	vs_tag_set_message(&t, msg);
	assert_int_equal(vs_tag_create(s, r, name, &t, NULL), 0);
	vs_tag_release(&t);
}

static void test_tags_and_runs(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	struct vs_run run, got;
	struct vs_tag t;
	char p[PATH_MAX], key[VS_RUN_KEY_MAX];
	struct vs_id c1, c2;

	tu_write_str(tu_join(p, fx->src, "x"), "one\n");
	c1 = commit_dir(fx->a->s, &fx->repo, fx->src);
	tu_write_str(p, "two\n");
	c2 = commit_dir(fx->a->s, &fx->repo, fx->src);
	make_tag(fx->a->s, &fx->repo, "v1", &c1, "the first");
	make_tag(fx->a->s, &fx->repo, "team/v2", &c2, "with a slash");
	vs_run_init(&run);
	vs_run_set(&run.provider, "github");
	vs_run_set(&run.run_id, "123");
	vs_run_set(&run.job, "train");
	run.time = 1000;
	expect_ok(vs_run_record(fx->a->s, &run, VS_RUN_PRODUCED, &fx->repo,
				&c1, "v1", NULL, &e),
		  &e);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.nrefs, 3);
	assert_int_equal(res.runs, 1);
	vs_remote_result_release(&res);

	/* The tag alone, from a fresh store: its history comes too. */
	expect_ok(pull(fx, fx->b->s, "datasets/d@team/v2", &res, &e), &e);
	assert_int_equal(res.nrefs, 1);
	assert_true(res.refs[0].is_tag);
	assert_int_equal(res.runs, 1);
	vs_remote_result_release(&res);
	expect_ok(vs_tag_get(fx->b->s, &fx->repo, "team/v2", &t, &e), &e);
	assert_true(vs_id_equal(&t.commit, &c2));
	assert_string_equal(t.message, "with a slash");
	vs_tag_release(&t);
	verify_sound(fx->b->s);
	expect_ok(vs_run_get(fx->b->s, vs_run_key(&run, key), &got, &e), &e);
	assert_int_equal(got.noutputs, 1);
	assert_true(vs_id_equal(&got.outputs[0].commit, &c1));
	assert_string_equal(got.outputs[0].tag, "v1");
	vs_run_release(&got);

	/* The same tag name elsewhere: refused on the remote... */
	assert_int_equal(vs_repo_create(fx->b->s, &fx->repo, NULL),
			 VS_E_EXISTS);
	make_tag(fx->b->s, &fx->repo, "v1", &c2, "another v1");
	assert_int_equal(push(fx, fx->b->s, "datasets/d@v1", &res, &e),
			 VS_E_CONFLICT);
	assert_non_null(strstr(e.msg, "immutable"));
	vs_remote_result_release(&res);
	/* ...and the remote's v1 refused locally. */
	assert_int_equal(pull(fx, fx->b->s, "datasets/d@v1", &res, &e),
			 VS_E_CONFLICT);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_REJECTED);
	vs_remote_result_release(&res);
	/* The same tag again is no change. */
	expect_ok(push(fx, fx->a->s, "datasets/d@v1", &res, &e), &e);
	assert_int_equal(res.refs[0].status, VS_REMOTE_REF_UNCHANGED);
	assert_int_equal(res.packs, 0);
	vs_remote_result_release(&res);
	vs_run_release(&run);
}

static void test_formats_and_errors(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	struct vs_remote_config got;
	struct vs_remote_config other = { .name = "other",
					  .url = "s3://bucket/pre" };
	char p[BIG];

	/* Nothing there yet. */
	assert_int_equal(pull(fx, fx->b->s, "datasets/d", &res, &e),
			 VS_E_NOTFOUND);
	assert_non_null(strstr(e.msg, "no varve data"));
	vs_remote_result_release(&res);
	/* Unknown repository and ref. */
	assert_int_equal(push(fx, fx->a->s, "datasets/nope", &res, &e),
			 VS_E_NOTFOUND);
	vs_remote_result_release(&res);
	assert_int_equal(push(fx, fx->a->s, "datasets/d@nope", &res, &e),
			 VS_E_NOTFOUND);
	vs_remote_result_release(&res);
	assert_int_equal(push(fx, fx->a->s, "nonsense", &res, &e),
			 VS_E_INVAL);
	vs_remote_result_release(&res);

	push_sample(fx);
	assert_int_equal(pull(fx, fx->b->s, "datasets/other", &res, &e),
			 VS_E_NOTFOUND);
	vs_remote_result_release(&res);
	/* A newer format is refused by every command. */
	tu_write_str(tu_join(p, fx->remote_dir, "varve-remote"),
		     "varve remote\nformat 2\n");
	assert_int_equal(pull(fx, fx->b->s, "datasets/d", &res, &e),
			 VS_E_VERSION);
	assert_non_null(strstr(e.msg, "upgrade varve"));
	vs_remote_result_release(&res);
	assert_int_equal(push(fx, fx->a->s, "datasets/d", &res, &e),
			 VS_E_VERSION);
	vs_remote_result_release(&res);
	tu_write_str(p, "not a marker");
	assert_int_equal(pull(fx, fx->b->s, "datasets/d", &res, &e),
			 VS_E_REMOTE);
	vs_remote_result_release(&res);

	/* The config of remotes. */
	expect_ok(vs_remote_add(fx->a->s, &fx->cfg, &e), &e);
	assert_int_equal(vs_remote_add(fx->a->s, &fx->cfg, NULL), VS_E_EXISTS);
	expect_ok(vs_remote_find(fx->a->s, NULL, &got, &e), &e);
	assert_string_equal(got.url, fx->url);
	vs_remote_config_release(&got);
	expect_ok(vs_remote_add(fx->a->s, &other, &e), &e);
	expect_ok(vs_remote_find(fx->a->s, NULL, &got, &e), &e);
	assert_string_equal(got.name, "origin");
	vs_remote_config_release(&got);
	expect_ok(vs_remote_remove(fx->a->s, "origin", &e), &e);
	assert_int_equal(vs_remote_find(fx->a->s, NULL, &got, &e), 0);
	assert_string_equal(got.name, "other");
	vs_remote_config_release(&got);
	assert_int_equal(vs_remote_find(fx->a->s, "origin", &got, &e),
			 VS_E_NOTFOUND);
	assert_int_equal(vs_remote_remove(fx->a->s, "origin", NULL),
			 VS_E_NOTFOUND);
	other.url = "http://x";
	other.name = "bad";
	assert_int_equal(vs_remote_add(fx->a->s, &other, NULL), VS_E_INVAL);
	other.url = "file://relative";
	assert_int_equal(vs_remote_add(fx->a->s, &other, NULL), VS_E_INVAL);
	snprintf(p, sizeof(p), "%s/remote/origin", fx->a->store_path);
	assert_false(tu_exists(p));
}

/* A damaged manifest in the store's cache is fetched again. */
static void test_damaged_cache(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	char dir[BIG], p[BIG + 256];
	struct vs_id c2;
	char **names;
	size_t n;

	push_sample(fx);
	snprintf(dir, sizeof(dir), "%s/remote/origin/manifests",
		 fx->a->store_path);
	names = tu_list(dir, &n);
	assert_int_equal(n, 1);
	snprintf(p, sizeof(p), "%s/%s", dir, names[0]);
	tu_write_str(p, "garbage");
	tu_list_free(names, n);
	/* Nothing to send: the refetched manifest says the remote has it. */
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	assert_int_equal(res.packs, 0);
	vs_remote_result_release(&res);
	tu_write_str(tu_join(p, fx->src, "more"), "more\n");
	c2 = commit_dir(fx->a->s, &fx->repo, fx->src);
	expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
	assert_true(tu_commit_matches_dir(fx->b->s, &c2, fx->src));
}

/* Past VS_REMOTE_MANIFESTS_MAX manifests, a push merges them. */
static void test_consolidation(void **state)
{
	struct fx *fx = *state;
	struct vs_remote_result res;
	struct vs_error e = { 0 };
	char p[PATH_MAX], dir[PATH_MAX], text[32];
	struct vs_id last = { { 0 } };
	int i;

	tu_join(dir, fx->remote_dir, "manifests");
	for (i = 0; i < VS_REMOTE_MANIFESTS_MAX + 2; i++) {
		snprintf(text, sizeof(text), "version %d\n", i);
		tu_write_str(tu_join(p, fx->src, "x"), text);
		last = commit_dir(fx->a->s, &fx->repo, fx->src);
		expect_ok(push(fx, fx->a->s, "datasets/d", &res, &e), &e);
		vs_remote_result_release(&res);
	}
	assert_true(tu_count_entries(dir) <= 3);
	expect_ok(pull(fx, fx->b->s, "datasets/d", &res, &e), &e);
	vs_remote_result_release(&res);
	assert_true(tu_commit_matches_dir(fx->b->s, &last, fx->src));
	verify_sound(fx->b->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_pull_roundtrip,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_pack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_meta_pack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_pack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lying_index, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_non_fast_forward, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags_and_runs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_formats_and_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_cache, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_consolidation, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
