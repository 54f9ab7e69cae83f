/*
 * test_kv.c - unit tests of store/kv.c: get/has/put, NOTFOUND empties the
 * value, batches (put, delete, delete_prefix with its exact bounds), prefix
 * iteration and seek in byte order, column families kept apart, and the
 * crash model: data flushed or written with VS_KV_SYNC survives both a
 * clean close and a process that dies without closing; a read-only open
 * writes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>

#include <cmocka.h>

#include "kv.h"
#include "testutil.h"
#include "banned.h"

struct kv_env {
	char dir[PATH_MAX];
	char db[PATH_MAX];
	struct vs_kv *kv;
};

static int setup(void **state)
{
	struct kv_env *e = calloc(1, sizeof(*e));
	struct vs_error err = { 0 };

	if (!e)
		return -1;
	tu_mkdtemp(e->dir);
	tu_join(e->db, e->dir, "db");
	if (vs_kv_open(e->db, VS_KV_CREATE, &e->kv, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct kv_env *e = *state;

	vs_kv_close(e->kv);
	tu_rm_rf(e->dir);
	free(e);
	return 0;
}

static void reopen(struct kv_env *e)
{
	struct vs_error err = { 0 };

	vs_kv_close(e->kv);
	e->kv = NULL;
	assert_int_equal(vs_kv_open(e->db, 0, &e->kv, &err), 0);
}

static void put(struct vs_kv *kv, enum vs_cf cf, const char *k, const char *v)
{
	assert_int_equal(vs_kv_put(kv, cf, k, strlen(k), v, strlen(v), NULL),
			 0);
}

/* A logged, synced write of one key, as a ref update makes it. */
static void put_synced(struct vs_kv *kv, enum vs_cf cf, const char *k,
		       const char *v)
{
	struct vs_kv_batch *b = vs_kv_batch_new();

	vs_kv_batch_put(b, kv, cf, k, strlen(k), v, strlen(v));
	assert_int_equal(vs_kv_write(kv, b, VS_KV_SYNC, NULL), 0);
	vs_kv_batch_free(b);
}

/* Asserts that key k of cf holds v (or is absent when v is NULL). */
static void expect(struct vs_kv *kv, enum vs_cf cf, const char *k,
		   const char *v)
{
	struct vs_buf val = VS_BUF_INIT;
	int r = vs_kv_get(kv, cf, k, strlen(k), &val, NULL);

	if (v) {
		assert_int_equal(r, 0);
		assert_true(vs_kv_has(kv, cf, k, strlen(k)));
		assert_int_equal(val.len, strlen(v));
		assert_memory_equal(val.data, v, val.len);
	} else {
		assert_int_equal(r, VS_E_NOTFOUND);
		assert_false(vs_kv_has(kv, cf, k, strlen(k)));
		assert_int_equal(val.len, 0);
	}
	vs_buf_release(&val);
}

static void test_put_get_has(void **state)
{
	struct kv_env *e = *state;
	struct vs_buf val = VS_BUF_INIT;
	uint8_t bin[300], key[3] = { 0, 0xff, 0 };

	put(e->kv, VS_CF_META, "alpha", "one");
	put(e->kv, VS_CF_META, "beta", "");
	expect(e->kv, VS_CF_META, "alpha", "one");
	expect(e->kv, VS_CF_META, "beta", "");
	expect(e->kv, VS_CF_META, "gamma", NULL);
	expect(e->kv, VS_CF_META, "alph", NULL);
	/* Families are separate key spaces. */
	expect(e->kv, VS_CF_REFS, "alpha", NULL);
	/* Overwrite. */
	put(e->kv, VS_CF_META, "alpha", "uno");
	expect(e->kv, VS_CF_META, "alpha", "uno");

	/* Binary keys and values with NUL bytes. */
	tu_fill_random(bin, sizeof(bin), 7);
	bin[0] = 0;
	assert_int_equal(vs_kv_put(e->kv, VS_CF_CHUNKS, key, sizeof(key), bin,
				   sizeof(bin), NULL), 0);
	assert_int_equal(vs_kv_get(e->kv, VS_CF_CHUNKS, key, sizeof(key),
				   &val, NULL), 0);
	assert_int_equal(val.len, sizeof(bin));
	assert_memory_equal(val.data, bin, sizeof(bin));
	assert_false(vs_kv_has(e->kv, VS_CF_CHUNKS, key, 2));

	/* NOTFOUND replaces an earlier value with nothing. */
	assert_int_equal(vs_kv_get(e->kv, VS_CF_CHUNKS, "x", 1, &val, NULL),
			 VS_E_NOTFOUND);
	assert_int_equal(val.len, 0);
	assert_int_equal(val.data[0], '\0');
	vs_buf_release(&val);
}

static void test_batch(void **state)
{
	struct kv_env *e = *state;
	struct vs_kv_batch *b;

	put(e->kv, VS_CF_REFS, "gone", "x");
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, e->kv, VS_CF_REFS, "k1", 2, "v1", 2);
	vs_kv_batch_put(b, e->kv, VS_CF_META, "k2", 2, "v2", 2);
	vs_kv_batch_delete(b, e->kv, VS_CF_REFS, "gone", 4);
	vs_kv_batch_delete(b, e->kv, VS_CF_REFS, "never", 5);
	/* Nothing is visible before the write. */
	expect(e->kv, VS_CF_REFS, "k1", NULL);
	expect(e->kv, VS_CF_REFS, "gone", "x");
	assert_int_equal(vs_kv_write(e->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
	expect(e->kv, VS_CF_REFS, "k1", "v1");
	expect(e->kv, VS_CF_META, "k2", "v2");
	expect(e->kv, VS_CF_REFS, "k2", NULL);
	expect(e->kv, VS_CF_REFS, "gone", NULL);

	/* Later operations in a batch win over earlier ones. */
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, e->kv, VS_CF_REFS, "k1", 2, "a", 1);
	vs_kv_batch_delete(b, e->kv, VS_CF_REFS, "k1", 2);
	vs_kv_batch_put(b, e->kv, VS_CF_REFS, "k3", 2, "a", 1);
	vs_kv_batch_delete(b, e->kv, VS_CF_REFS, "k3", 2);
	vs_kv_batch_put(b, e->kv, VS_CF_REFS, "k3", 2, "b", 1);
	assert_int_equal(vs_kv_write(e->kv, b, VS_KV_NOWAL, NULL), 0);
	vs_kv_batch_free(b);
	expect(e->kv, VS_CF_REFS, "k1", NULL);
	expect(e->kv, VS_CF_REFS, "k3", "b");

	vs_kv_batch_free(NULL);
}

static void test_delete_prefix(void **state)
{
	struct kv_env *e = *state;
	static const char *const doomed[] = { "p/", "p/1", "p/2", "p/2/x",
					      "p/\xff" };
	static const char *const kept[] = { "p", "p.", "p0", "o", "q/1",
					    "P/1", "" };
	struct vs_kv_batch *b;
	size_t i;

	for (i = 0; i < 5; i++)
		put(e->kv, VS_CF_META, doomed[i], "d");
	for (i = 0; i < 7; i++)
		put(e->kv, VS_CF_META, kept[i], "k");
	/* The same keys in another family survive. */
	put(e->kv, VS_CF_REFS, "p/1", "other");

	b = vs_kv_batch_new();
	vs_kv_batch_delete_prefix(b, e->kv, VS_CF_META, "p/", 2);
	/* A put after the range delete in the same batch survives it. */
	vs_kv_batch_put(b, e->kv, VS_CF_META, "p/new", 5, "n", 1);
	assert_int_equal(vs_kv_write(e->kv, b, VS_KV_SYNC, NULL), 0);
	vs_kv_batch_free(b);

	for (i = 0; i < 5; i++)
		expect(e->kv, VS_CF_META, doomed[i], NULL);
	for (i = 0; i < 7; i++)
		expect(e->kv, VS_CF_META, kept[i], "k");
	expect(e->kv, VS_CF_META, "p/new", "n");
	expect(e->kv, VS_CF_REFS, "p/1", "other");
}

/* A prefix ending in 0xff: its upper bound carries into the byte before. */
static void test_delete_prefix_ff(void **state)
{
	struct kv_env *e = *state;
	struct vs_kv_batch *b;

	put(e->kv, VS_CF_META, "k\xff", "d");
	put(e->kv, VS_CF_META, "k\xff\x01", "d");
	put(e->kv, VS_CF_META, "k\xff\xff\xff", "d");
	put(e->kv, VS_CF_META, "k\xfe", "k");
	put(e->kv, VS_CF_META, "k", "k");
	put(e->kv, VS_CF_META, "l", "k");
	b = vs_kv_batch_new();
	vs_kv_batch_delete_prefix(b, e->kv, VS_CF_META, "k\xff", 2);
	assert_int_equal(vs_kv_write(e->kv, b, 0, NULL), 0);
	vs_kv_batch_free(b);
	expect(e->kv, VS_CF_META, "k\xff", NULL);
	expect(e->kv, VS_CF_META, "k\xff\x01", NULL);
	expect(e->kv, VS_CF_META, "k\xff\xff\xff", NULL);
	expect(e->kv, VS_CF_META, "k\xfe", "k");
	expect(e->kv, VS_CF_META, "k", "k");
	expect(e->kv, VS_CF_META, "l", "k");
}

/* Collects the keys an iterator yields, joined by ','. */
static void collect(struct vs_kv_iter *it, struct vs_buf *out)
{
	vs_buf_reset(out);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		size_t klen, vlen;
		const char *k = vs_kv_iter_key(it, &klen);
		const char *v = vs_kv_iter_value(it, &vlen);

		/* Every value is the key in upper case. */
		assert_int_equal(vlen, klen);
		for (size_t i = 0; i < klen; i++)
			assert_int_equal(v[i], k[i] >= 'a' && k[i] <= 'z' ?
					       k[i] - 32 : k[i]);
		if (out->len)
			vs_buf_addch(out, ',');
		vs_buf_add(out, k, klen);
	}
	assert_int_equal(vs_kv_iter_status(it, NULL), 0);
}

static void test_iter(void **state)
{
	static const char *const keys[] = { "b3", "a1", "c1", "b1", "b", "b2",
					    "ba", "b10", "c" };
	struct kv_env *e = *state;
	struct vs_buf got = VS_BUF_INIT;
	struct vs_kv_iter *it;
	size_t i;

	for (i = 0; i < 9; i++) {
		char up[8];
		size_t j;

		for (j = 0; keys[i][j]; j++)
			up[j] = keys[i][j] >= 'a' && keys[i][j] <= 'z' ?
					keys[i][j] - 32 : keys[i][j];
		up[j] = '\0';
		put(e->kv, VS_CF_OBJECTS, keys[i], up);
	}
	/* Another family's keys never show. */
	put(e->kv, VS_CF_RUNS, "b0", "B0");

	it = vs_kv_iter_new(e->kv, VS_CF_OBJECTS, "b", 1);
	collect(it, &got);
	assert_string_equal(got.data, "b,b1,b10,b2,b3,ba");
	vs_kv_iter_free(it);

	it = vs_kv_iter_new(e->kv, VS_CF_OBJECTS, "", 0);
	collect(it, &got);
	assert_string_equal(got.data, "a1,b,b1,b10,b2,b3,ba,c,c1");
	vs_kv_iter_free(it);

	it = vs_kv_iter_new(e->kv, VS_CF_OBJECTS, "b1", 2);
	collect(it, &got);
	assert_string_equal(got.data, "b1,b10");
	vs_kv_iter_free(it);

	/* Seek: the first key >= start, still bounded by the prefix. */
	it = vs_kv_iter_new(e->kv, VS_CF_OBJECTS, "b", 1);
	vs_kv_iter_seek(it, "b2", 2);
	collect(it, &got);
	assert_string_equal(got.data, "b2,b3,ba");
	vs_kv_iter_seek(it, "b25", 3);
	collect(it, &got);
	assert_string_equal(got.data, "b3,ba");
	vs_kv_iter_seek(it, "a", 1);
	collect(it, &got);
	assert_string_equal(got.data, "");
	vs_kv_iter_seek(it, "bb", 2);
	collect(it, &got);
	assert_string_equal(got.data, "");
	vs_kv_iter_free(it);

	/* No key with this prefix. */
	it = vs_kv_iter_new(e->kv, VS_CF_OBJECTS, "bz", 2);
	assert_false(vs_kv_iter_valid(it));
	vs_kv_iter_free(it);
	it = vs_kv_iter_new(e->kv, VS_CF_OBJECTS, "d", 1);
	assert_false(vs_kv_iter_valid(it));
	vs_kv_iter_free(it);
	vs_buf_release(&got);
}

/* Binary keys order as unsigned bytes, 0xff after everything else. */
static void test_iter_binary(void **state)
{
	struct kv_env *e = *state;
	static const uint8_t keys[][3] = {
		{ 'x', 0xff, 0x00 }, { 'x', 0x00, 0x01 }, { 'x', 0x7f, 0xff },
		{ 'x', 0x80, 0x00 }, { 'y', 0x00, 0x00 },
	};
	static const int order[] = { 1, 2, 3, 0 };
	struct vs_kv_iter *it;
	size_t i;

	for (i = 0; i < 5; i++)
		assert_int_equal(vs_kv_put(e->kv, VS_CF_STAGING, keys[i], 3,
					   &i, sizeof(i), NULL), 0);
	it = vs_kv_iter_new(e->kv, VS_CF_STAGING, "x", 1);
	for (i = 0; vs_kv_iter_valid(it); vs_kv_iter_next(it), i++) {
		size_t klen;
		const uint8_t *k = vs_kv_iter_key(it, &klen);

		assert_true(i < 4);
		assert_int_equal(klen, 3);
		assert_memory_equal(k, keys[order[i]], 3);
	}
	assert_int_equal(i, 4);
	vs_kv_iter_free(it);

	it = vs_kv_iter_new(e->kv, VS_CF_STAGING, "x\xff", 2);
	assert_true(vs_kv_iter_valid(it));
	vs_kv_iter_next(it);
	assert_false(vs_kv_iter_valid(it));
	vs_kv_iter_free(it);
}

static void test_reopen_after_flush(void **state)
{
	struct kv_env *e = *state;

	put(e->kv, VS_CF_CHUNKS, "chunk", "body");
	put(e->kv, VS_CF_OBJECTS, "obj", "enc");
	assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	put_synced(e->kv, VS_CF_REFS, "ref", "head");
	reopen(e);
	expect(e->kv, VS_CF_CHUNKS, "chunk", "body");
	expect(e->kv, VS_CF_OBJECTS, "obj", "enc");
	expect(e->kv, VS_CF_REFS, "ref", "head");
	/* Reopened twice: still there, and writable. */
	put(e->kv, VS_CF_REFS, "more", "m");
	reopen(e);
	expect(e->kv, VS_CF_REFS, "ref", "head");
	expect(e->kv, VS_CF_REFS, "more", "m");
}

/*
 * Runs the child action `what` on db in a fresh process (this binary,
 * re-executed) that dies with _exit() without closing the database.
 * A fresh process, not a bare fork: RocksDB's thread pools do not survive
 * a fork.
 */
static void in_dying_child(const char *db, const char *what)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_kv", "--child", what, db,
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int child_flush(struct vs_kv *kv)
{
	if (vs_kv_put(kv, VS_CF_CHUNKS, "c1", 2, "flushed", 7, NULL) < 0 ||
	    vs_kv_put(kv, VS_CF_META, "m1", 2, "size", 4, NULL) < 0)
		return 11;
	if (vs_kv_flush(kv, NULL) < 0)
		return 12;
	return 0;
}

static int child_sync(struct vs_kv *kv)
{
	struct vs_kv_batch *b = vs_kv_batch_new();
	int r;

	vs_kv_batch_put(b, kv, VS_CF_REFS, "r1", 2, "synced", 6);
	vs_kv_batch_put(b, kv, VS_CF_META, "m2", 2, "also", 4);
	r = vs_kv_write(kv, b, VS_KV_SYNC, NULL);
	vs_kv_batch_free(b);
	return r < 0 ? 13 : 0;
}

/* Writes that would skip the WAL, logged: durable once a sync follows. */
static int child_logged(struct vs_kv *kv)
{
	struct vs_kv_batch *b = vs_kv_batch_new();
	int r;

	vs_kv_logged_begin(kv);
	if (vs_kv_put(kv, VS_CF_CHUNKS, "c2", 2, "logged", 6, NULL) < 0)
		return 15;
	vs_kv_batch_put(b, kv, VS_CF_META, "m3", 2, "nowal", 5);
	r = vs_kv_write(kv, b, VS_KV_NOWAL, NULL);
	vs_kv_batch_free(b);
	vs_kv_logged_end(kv);
	if (r < 0 || vs_kv_flush(kv, NULL) < 0)
		return 16;
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, kv, VS_CF_REFS, "r2", 2, "names c2", 8);
	r = vs_kv_write(kv, b, VS_KV_SYNC, NULL);
	vs_kv_batch_free(b);
	return r < 0 ? 17 : 0;
}

/* The child side of in_dying_child(): never returns. */
static void child_main(const char *what, const char *db)
{
	struct vs_kv *kv;

	if (vs_kv_open(db, 0, &kv, NULL) < 0)
		_exit(10);
	if (!strcmp(what, "flush"))
		_exit(child_flush(kv));
	if (!strcmp(what, "sync"))
		_exit(child_sync(kv));
	if (!strcmp(what, "logged"))
		_exit(child_logged(kv));
	_exit(14);
}

/* The crash model: what was flushed or synced survives a crash. */
static void test_survives_crash(void **state)
{
	struct kv_env *e = *state;

	/* The database is used by one process at a time. */
	vs_kv_close(e->kv);
	e->kv = NULL;
	in_dying_child(e->db, "flush");
	in_dying_child(e->db, "sync");
	in_dying_child(e->db, "logged");
	assert_int_equal(vs_kv_open(e->db, 0, &e->kv, NULL), 0);
	expect(e->kv, VS_CF_CHUNKS, "c1", "flushed");
	expect(e->kv, VS_CF_META, "m1", "size");
	expect(e->kv, VS_CF_REFS, "r1", "synced");
	expect(e->kv, VS_CF_META, "m2", "also");
	expect(e->kv, VS_CF_CHUNKS, "c2", "logged");
	expect(e->kv, VS_CF_META, "m3", "nowal");
	expect(e->kv, VS_CF_REFS, "r2", "names c2");
}

static void test_open_missing(void **state)
{
	struct kv_env *e = *state;
	struct vs_error err = { 0 };
	struct vs_kv *kv = NULL;
	char p[PATH_MAX];

	/* Without VS_KV_CREATE a missing database is an error. */
	assert_int_equal(vs_kv_open(tu_join(p, e->dir, "nope"), 0, &kv, &err),
			 VS_E_KV);
	assert_null(kv);
	assert_int_equal(err.code, VS_E_KV);
	assert_true(err.msg[0] != '\0');
	vs_kv_close(NULL);
}

/* The files in dir whose names end in suffix (".sst", ".log"). */
static size_t count_files(const char *dir, const char *suffix)
{
	size_t n = 0, len, slen = strlen(suffix);
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > slen && !strcmp(de->d_name + len - slen, suffix))
			n++;
	}
	closedir(d);
	return n;
}

static size_t count_sst(const char *dir)
{
	return count_files(dir, ".sst");
}

static size_t count_logs(const char *dir)
{
	return count_files(dir, ".log");
}

/*
 * Four flushes of the same keys start a compaction in the background; the
 * close lets it finish instead of cancelling it (which would have every
 * later open start it over), so one merged file is left.
 */
static void test_close_finishes_compaction(void **state)
{
	struct kv_env *e = *state;
	char key[16], val[16];
	int round, i;

	for (round = 0; round < 4; round++) {
		for (i = 0; i < 100; i++) {
			snprintf(key, sizeof(key), "key%05d", i);
			snprintf(val, sizeof(val), "r%d", round);
			put(e->kv, VS_CF_META, key, val);
		}
		assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	}
	reopen(e);
	assert_int_equal(count_sst(e->db), 1);
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		expect(e->kv, VS_CF_META, key, "r3");
	}
}

/*
 * vs_kv_flush() writes table files only when an unlogged write is pending:
 * not twice for the same writes, and not for writes made in a logged
 * section.
 */
static void test_flush_only_unlogged(void **state)
{
	struct kv_env *e = *state;
	size_t n;

	put(e->kv, VS_CF_OBJECTS, "o1", "unlogged");
	assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	n = count_sst(e->db);
	assert_true(n > 0);
	assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	assert_int_equal(count_sst(e->db), n);

	vs_kv_logged_begin(e->kv);
	vs_kv_logged_begin(e->kv);	/* sections nest */
	put(e->kv, VS_CF_OBJECTS, "o2", "logged");
	vs_kv_logged_end(e->kv);
	put(e->kv, VS_CF_OBJECTS, "o3", "still logged");
	vs_kv_logged_end(e->kv);
	assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	assert_int_equal(count_sst(e->db), n);

	put(e->kv, VS_CF_OBJECTS, "o4", "unlogged again");
	assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	assert_true(count_sst(e->db) > n);
	reopen(e);
	expect(e->kv, VS_CF_OBJECTS, "o1", "unlogged");
	expect(e->kv, VS_CF_OBJECTS, "o2", "logged");
	expect(e->kv, VS_CF_OBJECTS, "o3", "still logged");
	expect(e->kv, VS_CF_OBJECTS, "o4", "unlogged again");
}

/*
 * A close leaves logged writes in the WAL for the next open to replay, but
 * every open starts a log: the closes keep their number and size bounded,
 * and nothing logged is lost on the way.
 */
static void test_logs_stay_few(void **state)
{
	struct kv_env *e = *state;
	char key[16], big[64 << 10];
	int i;

	memset(big, 'x', sizeof(big));
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		put_synced(e->kv, VS_CF_REFS, key, "v");
		/* Every fifth session also logs 64 KiB x 20. */
		if (i % 5 == 0) {
			int j;

			vs_kv_logged_begin(e->kv);
			for (j = 0; j < 20; j++) {
				snprintf(key, sizeof(key), "big%03d-%02d", i,
					 j);
				assert_int_equal(vs_kv_put(e->kv, VS_CF_CHUNKS,
							   key, strlen(key),
							   big, sizeof(big),
							   NULL), 0);
			}
			vs_kv_logged_end(e->kv);
		}
		reopen(e);
		assert_true(count_logs(e->db) <= 6);
	}
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		expect(e->kv, VS_CF_REFS, key, "v");
	}
	assert_true(vs_kv_has(e->kv, VS_CF_CHUNKS, "big035-19", 9));
}

/*
 * One key per flush, in key order, as a stat cache grows by a file per
 * commit: RocksDB would move each one-key file to the last level as is.
 * Closing merges a family that holds too many files, so their number stays
 * bounded and every key stays readable.
 */
static void test_files_stay_few(void **state)
{
	struct kv_env *e = *state;
	char key[16];
	int i;

	for (i = 0; i < 150; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		put(e->kv, VS_CF_META, key, "v");
		assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	}
	assert_true(count_sst(e->db) > 100);
	reopen(e);
	assert_true(count_sst(e->db) < 60);
	for (i = 0; i < 150; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		expect(e->kv, VS_CF_META, key, "v");
	}
}

/* Every entry of dir as "name size mtime" lines, sorted by name. */
static char *dir_state(const char *dir)
{
	struct vs_buf out = VS_BUF_INIT;
	struct dirent **names;
	int i, n = scandir(dir, &names, NULL, alphasort);

	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;

		tu_join(path, dir, names[i]->d_name);
		assert_int_equal(lstat(path, &st), 0);
		vs_buf_addf(&out, "%s %lld %lld.%09ld\n", names[i]->d_name,
			    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			    st.st_mtim.tv_nsec);
		free(names[i]);
	}
	free(names);
	return vs_buf_detach(&out, NULL);
}

/*
 * A read-only open sees everything a writer left, the writes still in its
 * log included, lets a second reader open the database at the same time,
 * refuses writes, and changes nothing on disk, not even on close.
 */
static void test_read_only(void **state)
{
	struct kv_env *e = *state;
	struct vs_kv *r1 = NULL, *r2 = NULL;
	struct vs_error err = { 0 };
	struct vs_kv_batch *b;
	char *before, *after;

	put(e->kv, VS_CF_OBJECTS, "flushed", "1");
	assert_int_equal(vs_kv_flush(e->kv, NULL), 0);
	put_synced(e->kv, VS_CF_REFS, "logged", "2");
	vs_kv_close(e->kv);
	e->kv = NULL;
	assert_true(count_logs(e->db) > 0);	/* "logged" is only there */
	before = dir_state(e->db);

	assert_int_equal(vs_kv_open(e->db, VS_KV_READ_ONLY, &r1, &err), 0);
	assert_int_equal(vs_kv_open(e->db, VS_KV_READ_ONLY, &r2, &err), 0);
	expect(r1, VS_CF_OBJECTS, "flushed", "1");
	expect(r1, VS_CF_REFS, "logged", "2");
	expect(r2, VS_CF_REFS, "logged", "2");
	expect(r2, VS_CF_REFS, "absent", NULL);

	assert_int_equal(vs_kv_put(r1, VS_CF_OBJECTS, "k", 1, "v", 1, &err),
			 -EROFS);
	assert_non_null(strstr(err.msg, "read"));
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, r1, VS_CF_REFS, "k", 1, "v", 1);
	assert_int_equal(vs_kv_write(r1, b, VS_KV_SYNC, NULL), -EROFS);
	assert_int_equal(vs_kv_write(r1, b, VS_KV_NOWAL, NULL), -EROFS);
	vs_kv_batch_free(b);
	assert_int_equal(vs_kv_flush(r1, NULL), 0);
	expect(r1, VS_CF_OBJECTS, "k", NULL);
	vs_kv_close(r1);
	vs_kv_close(r2);

	after = dir_state(e->db);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* A writer opens it afterwards as usual. */
	assert_int_equal(vs_kv_open(e->db, 0, &e->kv, &err), 0);
	expect(e->kv, VS_CF_REFS, "logged", "2");
	put(e->kv, VS_CF_OBJECTS, "k", "v");
	expect(e->kv, VS_CF_OBJECTS, "k", "v");
}

/*
 * The CRC-32C varve gives librocksdb: the standard check value, and the
 * same results as librocksdb's own definition for every length and
 * alignment, chained or not.
 */
static void test_crc32c(void **state)
{
	uint32_t (*theirs)(uint32_t, const char *, size_t);
	static char data[5000];
	size_t i, off, len;
	uint32_t a, b;

	assert_int_equal(vs_kv_rocksdb_crc32c_extend(0, "123456789", 9),
			 0xe3069283u);
	assert_int_equal(vs_kv_rocksdb_crc32c_extend(0, "", 0), 0u);
	*(void **)&theirs = dlsym(RTLD_NEXT, "_ZN7rocksdb6crc32c6ExtendEjPKcm");
	if (!theirs) {
		print_message("librocksdb exports no crc32c::Extend here\n");
		return;
	}
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 131 + (i >> 7));
	for (off = 0; off < 8; off++)
		for (len = 0; len + off <= sizeof(data); len += 1 + len / 3) {
			a = vs_kv_rocksdb_crc32c_extend(0, data + off, len);
			b = theirs(0, data + off, len);
			assert_int_equal(a, b);
			/* Extending a CRC: A then B. */
			a = vs_kv_rocksdb_crc32c_extend(a, data, off + 3);
			b = theirs(b, data, off + 3);
			assert_int_equal(a, b);
		}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test_setup_teardown(test_put_get_has, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_prefix, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_prefix_ff, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iter_binary, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_finishes_compaction,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_only_unlogged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_logs_stay_few, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_files_stay_few, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_survives_crash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_missing, setup,
						teardown),
	};

	if (argc == 4 && !strcmp(argv[1], "--child"))
		child_main(argv[2], argv[3]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
