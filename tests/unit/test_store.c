/*
 * test_store.c - unit tests of store/store.c: creating and opening stores
 * (and every way that fails), the config parser, vs_store_locate's order of
 * precedence, chunk and object round trips, idempotent puts, verified
 * reads (a damaged chunk or object is VS_E_CORRUPT, never wrong bytes),
 * typed reads, vs_file_read at any offset, id prefix scans, and readers
 * that share a store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmocka.h>

#include "chunker.h"
#include "kv.h"
#include "store.h"
#include "testutil.h"
#include "codec.h"
#include "banned.h"

/* --- create and open ------------------------------------------------------ */

static int setup_dir(void **state)
{
	char *dir = malloc(PATH_MAX);

	if (!dir)
		return -1;
	tu_mkdtemp(dir);
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	tu_rm_rf(*state);
	free(*state);
	return 0;
}

static void open_close(const char *path, const struct vs_config *want)
{
	struct vs_error err = { 0 };
	struct vs_store *s = NULL;

	assert_int_equal(vs_store_open(path, &s, &err), 0);
	assert_non_null(s);
	assert_true(s->path[0] == '/');
	assert_int_equal(s->config.format, VS_STORE_FORMAT);
	assert_int_equal(s->config.chunking.min, want->chunking.min);
	assert_int_equal(s->config.chunking.avg, want->chunking.avg);
	assert_int_equal(s->config.chunking.max, want->chunking.max);
	assert_int_equal(s->config.zstd_level, want->zstd_level);
	vs_store_close(s);
}

static void test_create(void **state)
{
	const char *dir = *state;
	struct vs_error err = { 0 };
	struct vs_config cfg;
	char p[PATH_MAX], q[PATH_MAX];

	tu_config_small(&cfg);
	cfg.zstd_level = 7;

	/* A new directory. */
	assert_int_equal(vs_store_create(tu_join(p, dir, "new"), &cfg, &err),
			 0);
	open_close(p, &cfg);
	/* Already a store. */
	vs_error_clear(&err);
	assert_int_equal(vs_store_create(p, &cfg, &err), VS_E_EXISTS);
	assert_int_equal(err.code, VS_E_EXISTS);
	assert_non_null(strstr(err.msg, "new"));
	open_close(p, &cfg);

	/* An existing empty directory. */
	tu_mkdir(tu_join(p, dir, "empty"));
	assert_int_equal(vs_store_create(p, &cfg, NULL), 0);
	open_close(p, &cfg);

	/* A non-empty directory is left alone. */
	tu_mkdir(tu_join(p, dir, "full"));
	tu_write_str(tu_join(q, p, "data.txt"), "keep me");
	assert_int_equal(vs_store_create(p, &cfg, NULL), VS_E_EXISTS);
	assert_int_equal(tu_count_entries(p), 1);
	assert_int_equal(vs_store_open(p, &(struct vs_store *){ NULL }, NULL),
			 VS_E_NOSTORE);

	/* A regular file. */
	assert_int_equal(vs_store_create(q, &cfg, NULL), VS_E_EXISTS);

	/* The parent does not exist. */
	assert_int_equal(vs_store_create(tu_join(p, dir, "no/such"), &cfg,
					 NULL), -ENOENT);

	/* Invalid chunking parameters make nothing. */
	cfg.chunking.avg = 3000;
	assert_int_equal(vs_store_create(tu_join(p, dir, "bad"), &cfg, NULL),
			 VS_E_INVAL);
	assert_false(tu_exists(p));
}

static void test_defaults(void **state)
{
	struct vs_config c;

	(void)state;
	vs_config_defaults(&c);
	assert_int_equal(c.format, VS_STORE_FORMAT);
	assert_true(vs_chunker_params_valid(&c.chunking));
	assert_true(c.zstd_level >= 1 && c.zstd_level <= 19);
}

static void test_open_not_a_store(void **state)
{
	const char *dir = *state;
	struct vs_error err = { 0 };
	struct vs_store *s = NULL;
	char p[PATH_MAX];

	assert_int_equal(vs_store_open(dir, &s, &err), VS_E_NOSTORE);
	assert_null(s);
	assert_int_equal(err.code, VS_E_NOSTORE);
	assert_int_equal(vs_store_open(tu_join(p, dir, "missing"), &s, NULL),
			 VS_E_NOSTORE);
	assert_null(s);
}

/* Creates a store in dir/name, then replaces its config with text. */
static void store_with_config(const char *dir, const char *name,
			      const char *text, char *path)
{
	struct vs_config cfg;
	char p[PATH_MAX];

	tu_config_small(&cfg);
	assert_int_equal(vs_store_create(tu_join(path, dir, name), &cfg,
					 NULL), 0);
	tu_write_str(tu_join(p, path, "config"), text);
}

static int open_with_config(const char *dir, const char *text,
			    struct vs_error *err)
{
	static int n;
	struct vs_store *s = NULL;
	char name[32], path[PATH_MAX];
	int r;

	snprintf(name, sizeof(name), "s%d", n++);
	store_with_config(dir, name, text, path);
	vs_error_clear(err);
	r = vs_store_open(path, &s, err);
	if (r == 0)
		vs_store_close(s);
	else
		assert_null(s);
	return r;
}

static void test_config(void **state)
{
	static const char *const corrupt[] = {
		"[store]\nformat = one\n",
		"[store]\nformat\n",
		"[store\nformat = 1\n",
		"[store]\nformat = -1\n",
		"[store]\nformat = 0\n",
		"[store]\n",
		"",
		"format = 1\n",	/* outside its section */
		"[store]\nformat = 1\n[chunking]\nmin = 1024\navg = 3000\n"
		"max = 16384\n",
		"[store]\nformat = 1\n[chunking]\nmin = 1024\navg = 4096\n"
		"max = 16384\n[compression]\nlevel = 0\n",
		"[store]\nformat = 1\n[chunking]\nmin = 1024\navg = 4096\n"
		"max = 16384\n[compression]\nlevel = 99\n",
		"[store]\nformat = 99999999999999999999\n",
		"garbage\n",
	};
	const char *dir = *state;
	struct vs_error err = { 0 };
	size_t i;

	assert_int_equal(open_with_config(dir, "[store]\nformat = 99\n"
					  "[chunking]\nmin = 1024\n"
					  "avg = 4096\nmax = 16384\n", &err),
			 VS_E_VERSION);
	assert_int_equal(err.code, VS_E_VERSION);
	assert_non_null(strstr(err.msg, "99"));

	for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		int r = open_with_config(dir, corrupt[i], &err);

		if (r != VS_E_CORRUPT)
			fprintf(stderr, "config %zu: %d\n", i, r);
		assert_int_equal(r, VS_E_CORRUPT);
		assert_int_equal(err.code, VS_E_CORRUPT);
	}

	/* Comments, blank lines, spaces, CRLF and unknown keys are fine. */
	assert_int_equal(open_with_config(dir, "# c\n; c\n\n  [store]  \r\n"
					  "\tformat=1\r\n[chunking]\n"
					  "min = 1024\navg = 4096\n"
					  "max = 16384\nfuture = 3\n"
					  "[future]\nx = 1\n", &err), 0);
}

/* --- locate -------------------------------------------------------------- */

static void test_locate(void **state)
{
	const char *dir = *state;
	struct vs_error err = { 0 };
	char root[PATH_MAX], nested[PATH_MAX], p[PATH_MAX], *out = NULL;

	/* opt, then env, then the search. */
	assert_int_equal(vs_store_locate("/opt/s", "/env/s", dir, &out, NULL),
			 0);
	assert_string_equal(out, "/opt/s");
	free(out);
	assert_int_equal(vs_store_locate(NULL, "/env/s", dir, &out, NULL), 0);
	assert_string_equal(out, "/env/s");
	free(out);
	assert_int_equal(vs_store_locate("", "/env/s", dir, &out, NULL), 0);
	assert_string_equal(out, "/env/s");
	free(out);

	/* The nearest .varve upward from a nested directory. */
	tu_join(root, dir, "w");
	tu_mkdir(root);
	tu_mkdir(tu_join(p, root, ".varve"));
	tu_mkdir(tu_join(p, root, "x"));
	tu_mkdir(tu_join(p, root, "x/y"));
	tu_mkdir(tu_join(nested, root, "x/y/z"));
	assert_int_equal(vs_store_locate(NULL, NULL, nested, &out, NULL), 0);
	assert_string_equal(out, tu_join(p, root, ".varve"));
	free(out);
	assert_int_equal(vs_store_locate(NULL, "", root, &out, NULL), 0);
	assert_string_equal(out, tu_join(p, root, ".varve"));
	free(out);
	/* A nearer one wins; a .varve that is a file does not count. */
	tu_mkdir(tu_join(p, root, "x/.varve"));
	tu_write_str(tu_join(p, root, "x/y/.varve"), "not a store");
	assert_int_equal(vs_store_locate(NULL, NULL, nested, &out, NULL), 0);
	assert_string_equal(out, tu_join(p, root, "x/.varve"));
	free(out);
	/* opt still wins over a found one. */
	assert_int_equal(vs_store_locate("rel", NULL, nested, &out, NULL), 0);
	assert_string_equal(out, "rel");
	free(out);

	/* None found (unless the machine has one at / or /tmp). */
	if (!tu_exists("/.varve") && !tu_exists("/tmp/.varve")) {
		tu_mkdir(tu_join(p, dir, "none"));
		tu_mkdir(tu_join(p, dir, "none/deeper"));
		out = NULL;
		assert_int_equal(vs_store_locate(NULL, NULL, p, &out, &err),
				 VS_E_NOSTORE);
		assert_null(out);
		assert_int_equal(err.code, VS_E_NOSTORE);
	}
}

/* --- chunks ------------------------------------------------------------------ */

static int setup_env(void **state)
{
	*state = tu_env_new();
	return 0;
}

static int teardown_env(void **state)
{
	tu_env_free(*state);
	return 0;
}

static void put_chunk(struct vs_store *s, const void *data, size_t len,
		      struct vs_id *id, struct vs_put_stats *st)
{
	vs_hash(data, len, id);
	assert_int_equal(vs_chunk_put(s, s->zctx, id, data, len, st, NULL), 0);
}

static void check_chunk(struct vs_store *s, const struct vs_id *id,
			const void *data, size_t len)
{
	struct vs_buf out = VS_BUF_INIT;

	vs_buf_addstr(&out, "old contents");
	assert_true(vs_chunk_has(s, id));
	assert_int_equal(vs_chunk_get(s, NULL, id, &out, NULL), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, data, len);
	/* With an explicit context too. */
	assert_int_equal(vs_chunk_get(s, s->zctx, id, &out, NULL), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, data, len);
	vs_buf_release(&out);
}

/* The chunk's stored value, as kv.c holds it. */
static void raw_value(struct vs_store *s, const struct vs_id *id,
		      struct vs_buf *out)
{
	assert_int_equal(vs_kv_get(s->kv, VS_CF_CHUNKS, id->b, VS_ID_LEN, out,
				   NULL), 0);
}

/*
 * Readers share the store: two open it at once, each reads what the writer
 * left, neither can write, and a writer is kept out (its flock fails) until
 * both have closed.
 */
static void test_read_only_shared(void **state)
{
	struct tu_env *e = *state;
	struct vs_store *r1 = NULL, *r2 = NULL;
	struct vs_error err = { 0 };
	struct vs_put_stats st = { 0 };
	char data[5000], lock[PATH_MAX];
	struct vs_id id, other;
	int fd;

	tu_fill_random(data, sizeof(data), 7);
	put_chunk(e->s, data, sizeof(data), &id, &st);
	vs_store_close(e->s);
	e->s = NULL;

	assert_int_equal(vs_store_open_flags(e->store_path, VS_STORE_READ_ONLY,
					     &r1, &err), 0);
	assert_int_equal(vs_store_open_flags(e->store_path, VS_STORE_READ_ONLY,
					     &r2, &err), 0);
	check_chunk(r1, &id, data, sizeof(data));
	check_chunk(r2, &id, data, sizeof(data));
	data[0] ^= 1;
	vs_hash(data, sizeof(data), &other);
	assert_int_equal(vs_chunk_put(r1, r1->zctx, &other, data, sizeof(data),
				      &st, &err), -EROFS);
	assert_false(vs_chunk_has(r1, &other));

	tu_join(lock, e->store_path, "lock");
	fd = open(lock, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	vs_store_close(r1);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	vs_store_close(r2);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);

	assert_int_equal(vs_store_open(e->store_path, &e->s, &err), 0);
	data[0] ^= 1;
	check_chunk(e->s, &id, data, sizeof(data));
}

struct waits {
	int calls;
	char who[256];
};

static void on_waiting(void *arg, const char *dir, const char *who,
		       int timeout_ms)
{
	struct waits *w = arg;

	(void)dir;
	assert_int_equal(timeout_ms, 1500);
	w->calls++;
	snprintf(w->who, sizeof(w->who), "%s", who);
}

/* A writer waits for a reader as long as it is told, names the holder, and
 * gets the store once the reader is gone. */
static void test_lock_wait(void **state)
{
	struct tu_env *e = *state;
	struct vs_store *r = NULL, *w = NULL;
	struct vs_error err = { 0 };
	struct waits seen = { 0 };
	struct vs_store_wait now = { 0, on_waiting, &seen };
	struct vs_store_wait brief = { 1500, on_waiting, &seen };
	char pid[32];
	struct timespec t0, t1;
	double secs;

	vs_store_close(e->s);
	e->s = NULL;
	snprintf(pid, sizeof(pid), "pid %ld (", (long)getpid());
	assert_int_equal(vs_store_open_flags(e->store_path, VS_STORE_READ_ONLY,
					     &r, &err), 0);

	assert_int_equal(vs_store_open_wait(e->store_path, 0, &now, &w, &err),
			 -EBUSY);
	assert_null(w);
	assert_non_null(strstr(err.msg, "is in use by "));
	assert_non_null(strstr(err.msg, pid));
	assert_null(strstr(err.msg, "gave up"));
	assert_int_equal(seen.calls, 0);

	memset(&err, 0, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vs_store_open_wait(e->store_path, 0, &brief, &w,
					    &err), -EBUSY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 1.5);
	assert_int_equal(seen.calls, 1);
	assert_non_null(strstr(seen.who, pid));
	assert_non_null(strstr(err.msg, "; gave up after 1.5 s"));

	vs_store_close(r);
	memset(&err, 0, sizeof(err));
	assert_int_equal(vs_store_open_wait(e->store_path, 0, &now, &e->s,
					    &err), 0);
	assert_int_equal(seen.calls, 1);
}

struct writer {
	const char *path;
	struct vs_store *s;
	atomic_int r;
};

static void *open_writer(void *arg)
{
	struct vs_store_wait wait = { 60000, NULL, NULL };
	struct writer *w = arg;

	w->r = vs_store_open_wait(w->path, 0, &wait, &w->s, NULL);
	return NULL;
}

/* Readers that come while a writer waits for the store queue behind it. */
static void test_writer_not_starved(void **state)
{
	struct tu_env *e = *state;
	struct vs_store_wait now = { 0, NULL, NULL };
	struct vs_store *r1 = NULL, *r2 = NULL;
	struct writer w = { e->store_path, NULL, 1 };
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pthread_t t;
	int i, r = 0;

	vs_store_close(e->s);
	e->s = NULL;
	assert_int_equal(vs_store_open_flags(e->store_path, VS_STORE_READ_ONLY,
					     &r1, NULL), 0);
	assert_int_equal(pthread_create(&t, NULL, open_writer, &w), 0);
	/* Once the writer waits, a new reader is turned away. */
	for (i = 0; i < 1000; i++) {
		r = vs_store_open_wait(e->store_path, VS_STORE_READ_ONLY, &now,
				       &r2, NULL);
		if (r < 0)
			break;
		vs_store_close(r2);
		r2 = NULL;
		nanosleep(&ts, NULL);
	}
	assert_int_equal(r, -EBUSY);
	assert_int_equal(w.r, 1);	/* still waiting for r1 */
	vs_store_close(r1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.r, 0);
	assert_int_equal(vs_store_open_wait(e->store_path, VS_STORE_READ_ONLY,
					    &now, &r2, NULL), -EBUSY);
	vs_store_close(w.s);
	assert_int_equal(vs_store_open_wait(e->store_path, VS_STORE_READ_ONLY,
					    &now, &r2, NULL), 0);
	vs_store_close(r2);
	assert_int_equal(vs_store_open(e->store_path, &e->s, NULL), 0);
}

static void test_chunk_roundtrip(void **state)
{
	struct tu_env *e = *state;
	struct vs_put_stats st = { 0 };
	struct vs_buf val = VS_BUF_INIT;
	struct vs_id text_id, rnd_id, tiny_id, missing;
	size_t len = 12000;
	uint8_t *text = malloc(len), *rnd = malloc(len);

	assert_non_null(text);
	assert_non_null(rnd);
	tu_fill_text(text, len, 1);
	tu_fill_random(rnd, len, 2);

	put_chunk(e->s, text, len, &text_id, &st);
	assert_int_equal(st.new_chunks, 1);
	assert_int_equal(st.new_raw_bytes, len);
	assert_true(st.new_stored_bytes < len / 2);
	raw_value(e->s, &text_id, &val);
	assert_int_equal((uint8_t)val.data[0],
			 VS_CODEC_ZSTD | VS_CODEC_CHECKSUM_BIT);

	put_chunk(e->s, rnd, len, &rnd_id, &st);
	assert_int_equal(st.new_chunks, 2);
	assert_int_equal(st.new_raw_bytes, 2 * len);
	/* Incompressible data is kept raw: one byte codec, two of length,
	 * eight of checksum. */
	raw_value(e->s, &rnd_id, &val);
	assert_int_equal((uint8_t)val.data[0],
			 VS_CODEC_RAW | VS_CODEC_CHECKSUM_BIT);
	assert_int_equal(val.len, len + 3 + 8);

	put_chunk(e->s, "x", 1, &tiny_id, &st);
	assert_int_equal(st.new_chunks, 3);

	check_chunk(e->s, &text_id, text, len);
	check_chunk(e->s, &rnd_id, rnd, len);
	check_chunk(e->s, &tiny_id, "x", 1);

	/* Idempotent: putting again stores nothing new. */
	memset(&st, 0, sizeof(st));
	put_chunk(e->s, text, len, &text_id, &st);
	put_chunk(e->s, rnd, len, &rnd_id, &st);
	assert_int_equal(st.new_chunks, 0);
	assert_int_equal(st.new_raw_bytes, 0);
	assert_int_equal(st.new_stored_bytes, 0);
	/* No stats wanted. */
	assert_int_equal(vs_chunk_put(e->s, e->s->zctx, &text_id, text, len,
				      NULL, NULL), 0);
	check_chunk(e->s, &text_id, text, len);

	/* Missing. */
	vs_hash("absent", 6, &missing);
	assert_false(vs_chunk_has(e->s, &missing));
	vs_buf_reset(&val);
	assert_int_equal(vs_chunk_get(e->s, NULL, &missing, &val, NULL),
			 VS_E_NOTFOUND);

	/* Survives a close and reopen. */
	vs_store_close(e->s);
	assert_int_equal(vs_store_open(e->store_path, &e->s, NULL), 0);
	check_chunk(e->s, &text_id, text, len);
	check_chunk(e->s, &rnd_id, rnd, len);
	vs_buf_release(&val);
	free(text);
	free(rnd);
}

/* Overwrites chunk id's stored value with <v, vlen>; expects CORRUPT. */
static void expect_corrupt_chunk(struct vs_store *s, const struct vs_id *id,
				 const void *v, size_t vlen)
{
	struct vs_buf out = VS_BUF_INIT;
	struct vs_error err = { 0 };
	char hex[VS_ID_HEXLEN + 1];

	assert_int_equal(vs_kv_put(s->kv, VS_CF_CHUNKS, id->b, VS_ID_LEN, v,
				   vlen, NULL), 0);
	vs_buf_addstr(&out, "stale");
	assert_int_equal(vs_chunk_get(s, NULL, id, &out, &err), VS_E_CORRUPT);
	assert_int_equal(out.len, 0);
	assert_int_equal(err.code, VS_E_CORRUPT);
	assert_non_null(strstr(err.msg, vs_id_to_hex(id, hex)));
	vs_buf_addstr(&out, "stale");
	assert_int_equal(vs_chunk_get(s, s->zctx, id, &out, NULL),
			 VS_E_CORRUPT);
	assert_int_equal(out.len, 0);
	vs_buf_release(&out);
}

/* float32-like: noisy mantissa bytes, a sign-and-exponent byte of few values. */
static void fill_weights(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i + 4 <= len; i += 4) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 24);
		p[i + 1] = (uint8_t)(seed >> 17);
		p[i + 2] = (uint8_t)(seed >> 9);
		p[i + 3] = (uint8_t)(0x3c + (seed >> 30));
	}
}

/*
 * Byte planes in a format 2 or 3 store, never in a format 1 store; a
 * checksum only in a format 3 store.
 */
static void test_chunk_planes_by_format(void **state)
{
	struct tu_env *e = *state;
	struct vs_buf val = VS_BUF_INIT;
	struct vs_put_stats st = { 0 };
	size_t len = 200000;
	uint8_t *w = malloc(len);
	struct vs_id id;

	assert_non_null(w);
	assert_int_equal(e->s->config.format, 3);
	fill_weights(w, len, 7);
	put_chunk(e->s, w, len, &id, &st);
	raw_value(e->s, &id, &val);
	assert_int_equal((uint8_t)val.data[0],
			 VS_CODEC_PLANES | VS_CODEC_CHECKSUM_BIT);
	check_chunk(e->s, &id, w, len);

	e->s->config.format = 2;
	fill_weights(w, len, 9);
	put_chunk(e->s, w, len, &id, &st);
	raw_value(e->s, &id, &val);
	assert_int_equal((uint8_t)val.data[0], VS_CODEC_PLANES);
	check_chunk(e->s, &id, w, len);

	e->s->config.format = 1;
	fill_weights(w, len, 8);
	put_chunk(e->s, w, len, &id, &st);
	raw_value(e->s, &id, &val);
	assert_true((uint8_t)val.data[0] == VS_CODEC_ZSTD ||
		    (uint8_t)val.data[0] == VS_CODEC_RAW);
	check_chunk(e->s, &id, w, len);
	e->s->config.format = VS_STORE_FORMAT;
	vs_buf_release(&val);
	free(w);
}

static void test_chunk_corrupt(void **state)
{
	struct tu_env *e = *state;
	struct vs_buf v = VS_BUF_INIT, good = VS_BUF_INIT;
	struct vs_id id, rid;
	uint8_t data[5000], garbage[3000];
	size_t i;

	tu_fill_text(data, sizeof(data), 3);
	put_chunk(e->s, data, sizeof(data), &id, NULL);
	raw_value(e->s, &id, &good);
	assert_int_equal((uint8_t)good.data[0],
			 VS_CODEC_ZSTD | VS_CODEC_CHECKSUM_BIT);

	/* Random garbage. */
	tu_fill_random(garbage, sizeof(garbage), 4);
	expect_corrupt_chunk(e->s, &id, garbage, sizeof(garbage));
	/* Empty. */
	expect_corrupt_chunk(e->s, &id, "", 0);
	/* Unknown codec. */
	vs_buf_reset(&v);
	vs_buf_add(&v, good.data, good.len);
	v.data[0] = 7;
	expect_corrupt_chunk(e->s, &id, v.data, v.len);
	/* Truncated frame. */
	expect_corrupt_chunk(e->s, &id, good.data, good.len - 1);
	/* A zstd frame that decodes to the wrong length (no checksum). */
	vs_buf_reset(&v);
	vs_buf_addch(&v, VS_CODEC_ZSTD);
	vs_buf_add_varint(&v, sizeof(data) + 1);
	vs_buf_add(&v, good.data + 3 + 8, good.len - 3 - 8);
	expect_corrupt_chunk(e->s, &id, v.data, v.len);
	/* The checksum of other bytes. */
	vs_buf_reset(&v);
	vs_buf_add(&v, good.data, good.len);
	v.data[3 + 7] ^= 0x10;
	expect_corrupt_chunk(e->s, &id, v.data, v.len);
	/* Without a checksum, well-formed, right length, other bytes: only
	 * the hash can tell. */
	data[100] ^= 1;
	vs_buf_reset(&v);
	vs_buf_addch(&v, VS_CODEC_RAW);
	vs_buf_add_varint(&v, sizeof(data));
	vs_buf_add(&v, data, sizeof(data));
	expect_corrupt_chunk(e->s, &id, v.data, v.len);
	/* Raw with a length that does not match the payload. */
	v.data[1] ^= 1;
	expect_corrupt_chunk(e->s, &id, v.data, v.len);
	/*
	 * Every single-bit flip of a good value: either VS_E_CORRUPT with
	 * nothing returned, or (a bit zstd ignores) exactly the right bytes.
	 * The value carries a checksum, so this is the codec's check alone.
	 */
	data[100] ^= 1;
	for (i = 0; i < good.len * 8; i += 3) {
		struct vs_buf out = VS_BUF_INIT;
		int r;

		vs_buf_reset(&v);
		vs_buf_add(&v, good.data, good.len);
		v.data[i / 8] ^= (char)(1 << (i % 8));
		assert_int_equal(vs_kv_put(e->s->kv, VS_CF_CHUNKS, id.b,
					   VS_ID_LEN, v.data, v.len, NULL), 0);
		vs_buf_addstr(&out, "stale");
		r = vs_chunk_get(e->s, NULL, &id, &out, NULL);
		if (r == 0) {
			assert_int_equal(out.len, sizeof(data));
			assert_memory_equal(out.data, data, sizeof(data));
		} else {
			assert_int_equal(r, VS_E_CORRUPT);
			assert_int_equal(out.len, 0);
		}
		vs_buf_release(&out);
	}
	/* Restoring the value restores the chunk. */
	assert_int_equal(vs_kv_put(e->s->kv, VS_CF_CHUNKS, id.b, VS_ID_LEN,
				   good.data, good.len, NULL), 0);
	check_chunk(e->s, &id, data, sizeof(data));

	/*
	 * An intact value of other bytes, stored under this id: its own
	 * checksum holds, so only the re-hash of `verify --full` can tell.
	 */
	{
		struct vs_buf out = VS_BUF_INIT;

		data[7] ^= 1;
		vs_buf_reset(&v);
		assert_int_equal(vs_codec_encode(e->s->zctx, data,
						 sizeof(data),
						 VS_CODEC_CHECKSUM, &v), 0);
		data[7] ^= 1;
		assert_int_equal(vs_kv_put(e->s->kv, VS_CF_CHUNKS, id.b,
					   VS_ID_LEN, v.data, v.len, NULL), 0);
		assert_int_equal(vs_chunk_get(e->s, NULL, &id, &out, NULL), 0);
		assert_int_not_equal(out.data[7], data[7]);
		assert_int_equal(vs_chunk_get_rehashed(e->s, NULL, &id, &out,
						       NULL), VS_E_CORRUPT);
		assert_int_equal(out.len, 0);
		assert_int_equal(vs_kv_put(e->s->kv, VS_CF_CHUNKS, id.b,
					   VS_ID_LEN, good.data, good.len,
					   NULL), 0);
		assert_int_equal(vs_chunk_get_rehashed(e->s, NULL, &id, &out,
						       NULL), 0);
		assert_memory_equal(out.data, data, sizeof(data));
		vs_buf_release(&out);
	}

	/* A raw chunk, damaged. */
	tu_fill_random(garbage, sizeof(garbage), 5);
	put_chunk(e->s, garbage, sizeof(garbage), &rid, NULL);
	raw_value(e->s, &rid, &good);
	assert_int_equal((uint8_t)good.data[0],
			 VS_CODEC_RAW | VS_CODEC_CHECKSUM_BIT);
	good.data[good.len - 1] ^= 1;
	expect_corrupt_chunk(e->s, &rid, good.data, good.len);
	vs_buf_release(&v);
	vs_buf_release(&good);
}

/* --- objects -------------------------------------------------------------------- */

static void test_object_roundtrip(void **state)
{
	struct tu_env *e = *state;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_error err = { 0 };
	struct vs_id id, id2, missing;
	char hex[VS_ID_HEXLEN + 1];
	static const char obj[] = "not even a real object";

	assert_int_equal(vs_object_put(e->s, obj, sizeof(obj), &id, NULL), 0);
	vs_hash(obj, sizeof(obj), &id2);
	assert_true(vs_id_equal(&id, &id2));
	assert_true(vs_object_has(e->s, &id));
	assert_int_equal(vs_object_put(e->s, obj, sizeof(obj), &id2, NULL), 0);
	assert_true(vs_id_equal(&id, &id2));
	assert_int_equal(vs_object_get(e->s, &id, &out, NULL), 0);
	assert_int_equal(out.len, sizeof(obj));
	assert_memory_equal(out.data, obj, sizeof(obj));

	vs_hash("nothing", 7, &missing);
	assert_false(vs_object_has(e->s, &missing));
	assert_int_equal(vs_object_get(e->s, &missing, &out, &err),
			 VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, vs_id_to_hex(&missing, hex)));

	/* Overwritten with other bytes: corrupt, nothing returned. */
	assert_int_equal(vs_kv_put(e->s->kv, VS_CF_OBJECTS, id.b, VS_ID_LEN,
				   "other bytes", 11, NULL), 0);
	vs_error_clear(&err);
	vs_buf_addstr(&out, "x");
	assert_int_equal(vs_object_get(e->s, &id, &out, &err), VS_E_CORRUPT);
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(err.msg, vs_id_to_hex(&id, hex)));
	vs_buf_release(&out);
}

static void test_typed(void **state)
{
	struct tu_env *e = *state;
	struct vs_file f, f2;
	struct vs_tree t, t2;
	struct vs_commit c, c2;
	struct vs_id fid, tid, cid;
	struct vs_error err = { 0 };

	vs_file_init(&f);
	vs_file_set_inline(&f, "hello", 5);
	assert_int_equal(vs_store_write_file(e->s, &f, &fid, NULL), 0);
	vs_tree_init(&t);
	vs_tree_add(&t, "hello.txt", 9, VS_ENTRY_FILE, 5, &fid);
	vs_tree_sort(&t);
	assert_int_equal(vs_store_write_tree(e->s, &t, &tid, NULL), 0);
	vs_commit_init(&c);
	c.tree = tid;
	c.time = 1234;
	vs_commit_set_message(&c, "msg");
	vs_commit_set_author(&c, "me");
	vs_commit_set_meta(&c, "k", "v");
	assert_int_equal(vs_store_write_commit(e->s, &c, &cid, NULL), 0);

	assert_int_equal(vs_store_read_file(e->s, &fid, &f2, NULL), 0);
	assert_int_equal(f2.size, 5);
	assert_memory_equal(f2.inline_data, "hello", 5);
	vs_file_release(&f2);
	assert_int_equal(vs_store_read_tree(e->s, &tid, &t2, NULL), 0);
	assert_int_equal(t2.count, 1);
	assert_string_equal(t2.entries[0].name, "hello.txt");
	assert_true(vs_id_equal(&t2.entries[0].id, &fid));
	vs_tree_release(&t2);
	assert_int_equal(vs_store_read_commit(e->s, &cid, &c2, NULL), 0);
	assert_true(vs_id_equal(&c2.tree, &tid));
	assert_int_equal(c2.time, 1234);
	assert_string_equal(c2.message, "msg");
	assert_string_equal(c2.author, "me");
	assert_int_equal(c2.nmeta, 1);
	vs_commit_release(&c2);

	/* Each read as another type. */
	assert_int_equal(vs_store_read_tree(e->s, &fid, &t2, &err),
			 VS_E_CORRUPT);
	assert_non_null(strstr(err.msg, "file"));
	vs_tree_release(&t2);
	assert_int_equal(vs_store_read_commit(e->s, &fid, &c2, NULL),
			 VS_E_CORRUPT);
	vs_commit_release(&c2);
	assert_int_equal(vs_store_read_file(e->s, &tid, &f2, NULL),
			 VS_E_CORRUPT);
	vs_file_release(&f2);
	assert_int_equal(vs_store_read_commit(e->s, &tid, &c2, NULL),
			 VS_E_CORRUPT);
	vs_commit_release(&c2);
	assert_int_equal(vs_store_read_file(e->s, &cid, &f2, NULL),
			 VS_E_CORRUPT);
	vs_file_release(&f2);
	assert_int_equal(vs_store_read_tree(e->s, &cid, &t2, NULL),
			 VS_E_CORRUPT);
	vs_tree_release(&t2);

	/* An object whose content hashes right but does not decode. */
	{
		static const char junk[] = { 'F', 1, 0 };
		struct vs_id jid;

		assert_int_equal(vs_object_put(e->s, junk, sizeof(junk), &jid,
					       NULL), 0);
		assert_int_equal(vs_store_read_file(e->s, &jid, &f2, NULL),
				 VS_E_CORRUPT);
		vs_file_release(&f2);
	}
	/* Missing. */
	vs_hash("none", 4, &cid);
	assert_int_equal(vs_store_read_commit(e->s, &cid, &c2, NULL),
			 VS_E_NOTFOUND);
	vs_commit_release(&c2);

	vs_file_release(&f);
	vs_tree_release(&t);
	vs_commit_release(&c);
}

/* --- file reads ----------------------------------------------------------------- */

static void test_file_read(void **state)
{
	struct tu_env *e = *state;
	const struct vs_chunker_params *cp = &e->s->config.chunking;
	size_t len = 300 * TU_KIB, pos = 0, i;
	uint8_t *src = malloc(len);
	struct vs_buf out = VS_BUF_INIT;
	struct vs_file f;
	uint64_t seed = 99;

	assert_non_null(src);
	tu_fill_random(src, len / 2, 6);
	tu_fill_text(src + len / 2, len - len / 2, 7);
	vs_file_init(&f);
	while (pos < len) {
		size_t n = vs_chunker_next(cp, src + pos, len - pos);
		struct vs_id id;

		put_chunk(e->s, src + pos, n, &id, NULL);
		vs_file_add_chunk(&f, &id, n);
		pos += n;
	}
	assert_true(f.nchunks > 20);

	/* Whole, and every chunk boundary +-1. */
	assert_int_equal(vs_file_read(e->s, NULL, &f, 0, len, &out, NULL), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, src, len);
	for (i = 1; i < f.nchunks; i++) {
		uint64_t b = f.chunks[i].offset;

		vs_buf_reset(&out);
		assert_int_equal(vs_file_read(e->s, e->s->zctx, &f, b - 1, 2,
					      &out, NULL), 0);
		assert_int_equal(out.len, 2);
		assert_memory_equal(out.data, src + b - 1, 2);
	}
	/* Random ranges, appended to what out holds. */
	for (i = 0; i < 300; i++) {
		uint64_t off = tu_rand64(&seed) % len;
		size_t n = tu_rand64(&seed) % (i % 3 ? 40000 : 200) + 1;
		size_t want = n < len - off ? n : len - off;

		vs_buf_reset(&out);
		vs_buf_addstr(&out, "pre");
		assert_int_equal(vs_file_read(e->s, NULL, &f, off, n, &out,
					      NULL), 0);
		assert_int_equal(out.len, 3 + want);
		assert_memory_equal(out.data, "pre", 3);
		assert_memory_equal(out.data + 3, src + off, want);
	}
	/* Past the end and empty reads add nothing. */
	vs_buf_reset(&out);
	assert_int_equal(vs_file_read(e->s, NULL, &f, len, 10, &out, NULL), 0);
	assert_int_equal(vs_file_read(e->s, NULL, &f, len + 5, 10, &out, NULL),
			 0);
	assert_int_equal(vs_file_read(e->s, NULL, &f, 5, 0, &out, NULL), 0);
	assert_int_equal(out.len, 0);
	/* The last byte. */
	assert_int_equal(vs_file_read(e->s, NULL, &f, len - 1, 100, &out,
				      NULL), 0);
	assert_int_equal(out.len, 1);
	assert_int_equal((uint8_t)out.data[0], src[len - 1]);

	/* A damaged chunk in the middle fails the read that touches it. */
	{
		const struct vs_chunk_ref *c = &f.chunks[f.nchunks / 2];

		assert_int_equal(vs_kv_put(e->s->kv, VS_CF_CHUNKS, c->id.b,
					   VS_ID_LEN, "\0\1x", 3, NULL), 0);
		vs_buf_reset(&out);
		assert_int_equal(vs_file_read(e->s, NULL, &f, c->offset, 1,
					      &out, NULL), VS_E_CORRUPT);
		vs_buf_reset(&out);
		assert_int_equal(vs_file_read(e->s, NULL, &f, 0, len, &out,
					      NULL), VS_E_CORRUPT);
		/* Reads that avoid it still work. */
		vs_buf_reset(&out);
		assert_int_equal(vs_file_read(e->s, NULL, &f, 0, 10, &out,
					      NULL), 0);
		assert_memory_equal(out.data, src, 10);
	}
	vs_file_release(&f);

	/* Inline files. */
	vs_file_init(&f);
	vs_file_set_inline(&f, "0123456789", 10);
	vs_buf_reset(&out);
	assert_int_equal(vs_file_read(e->s, NULL, &f, 3, 4, &out, NULL), 0);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, "3456", 4);
	assert_int_equal(vs_file_read(e->s, NULL, &f, 8, 100, &out, NULL), 0);
	assert_int_equal(out.len, 6);
	assert_memory_equal(out.data, "345689", 6);
	vs_file_release(&f);
	vs_buf_release(&out);
	free(src);
}

/* --- prefix scans ---------------------------------------------------------------- */

struct scan {
	struct vs_id found[64];
	int n;
	int stop_after;
};

static int scan_cb(const struct vs_id *id, void *arg)
{
	struct scan *sc = arg;

	assert_true(sc->n < 64);
	sc->found[sc->n++] = *id;
	return sc->n == sc->stop_after ? 42 : 0;
}

static bool scan_has(const struct scan *sc, const struct vs_id *id)
{
	int i;

	for (i = 0; i < sc->n; i++)
		if (vs_id_equal(&sc->found[i], id))
			return true;
	return false;
}

static int scan(struct vs_store *s, const char *hex, struct scan *sc)
{
	memset(sc, 0, sizeof(*sc));
	return vs_object_scan_prefix(s, hex, scan_cb, sc, NULL);
}

static void put_key(struct vs_store *s, const uint8_t *key, size_t klen)
{
	assert_int_equal(vs_kv_put(s->kv, VS_CF_OBJECTS, key, klen, "v", 1,
				   NULL), 0);
}

static void test_scan_prefix(void **state)
{
	struct tu_env *e = *state;
	/* Keys crafted around "abcdef1" (bytes ab cd ef 1x). */
	static const uint8_t fourth[] = { 0x0f, 0x10, 0x11, 0x1f, 0x20, 0xf1 };
	struct vs_id ids[6], real[40];
	struct scan sc;
	char hex[VS_ID_HEXLEN + 1], pre[VS_ID_HEXLEN + 1];
	uint8_t longkey[VS_ID_LEN + 1];
	size_t i;
	int j;

	for (i = 0; i < 6; i++) {
		memset(ids[i].b, 0x55, VS_ID_LEN);
		ids[i].b[0] = 0xab;
		ids[i].b[1] = 0xcd;
		ids[i].b[2] = 0xef;
		ids[i].b[3] = fourth[i];
		put_key(e->s, ids[i].b, VS_ID_LEN);
	}
	/* A key that is not an id (wrong length) is never reported. */
	memcpy(longkey, ids[2].b, VS_ID_LEN);
	longkey[VS_ID_LEN] = 0;
	put_key(e->s, longkey, sizeof(longkey));
	put_key(e->s, ids[2].b, 5);

	/* 7 digits: the odd one filters on the high nibble of byte 4. */
	assert_int_equal(scan(e->s, "abcdef1", &sc), 0);
	assert_int_equal(sc.n, 3);
	assert_true(scan_has(&sc, &ids[1]));
	assert_true(scan_has(&sc, &ids[2]));
	assert_true(scan_has(&sc, &ids[3]));
	assert_int_equal(scan(e->s, "ABCDEF1", &sc), 0);
	assert_int_equal(sc.n, 3);
	assert_int_equal(scan(e->s, "abcdef0", &sc), 0);
	assert_int_equal(sc.n, 1);
	assert_true(scan_has(&sc, &ids[0]));
	assert_int_equal(scan(e->s, "abcdeff", &sc), 0);
	assert_int_equal(sc.n, 1);
	assert_true(scan_has(&sc, &ids[5]));
	assert_int_equal(scan(e->s, "abcdee0", &sc), 0);
	assert_int_equal(sc.n, 0);
	/* 8 digits. */
	assert_int_equal(scan(e->s, "abcdef11", &sc), 0);
	assert_int_equal(sc.n, 1);
	assert_true(scan_has(&sc, &ids[2]));
	assert_int_equal(scan(e->s, "abcdef12", &sc), 0);
	assert_int_equal(sc.n, 0);
	/* 9 digits. */
	assert_int_equal(scan(e->s, "abcdef1f5", &sc), 0);
	assert_int_equal(sc.n, 1);
	assert_true(scan_has(&sc, &ids[3]));
	assert_int_equal(scan(e->s, "abcdef1f4", &sc), 0);
	assert_int_equal(sc.n, 0);
	/* 64 digits: exactly one. */
	assert_int_equal(scan(e->s, vs_id_to_hex(&ids[4], hex), &sc), 0);
	assert_int_equal(sc.n, 1);
	assert_true(vs_id_equal(&sc.found[0], &ids[4]));
	/* Stopping early returns the callback's answer. */
	memset(&sc, 0, sizeof(sc));
	sc.stop_after = 2;
	assert_int_equal(vs_object_scan_prefix(e->s, "abcdef1", scan_cb, &sc,
					       NULL), 42);
	assert_int_equal(sc.n, 2);
	/* Not prefixes. */
	assert_int_equal(scan(e->s, "abcdef", &sc), VS_E_INVAL);
	assert_int_equal(scan(e->s, "abcdefg", &sc), VS_E_INVAL);
	assert_int_equal(scan(e->s, "", &sc), VS_E_INVAL);

	/* Real objects: every prefix length finds its own, and only those
	 * whose hex starts with it. */
	for (i = 0; i < 40; i++) {
		char text[32];

		snprintf(text, sizeof(text), "object %zu", i);
		assert_int_equal(vs_object_put(e->s, text, strlen(text),
					       &real[i], NULL), 0);
	}
	for (i = 0; i < 40; i++) {
		size_t n;

		vs_id_to_hex(&real[i], hex);
		for (n = 7; n <= 64; n += (n < 12 ? 1 : 13)) {
			int want = 0;
			size_t k;

			memcpy(pre, hex, n);
			pre[n] = '\0';
			for (k = 0; k < 40; k++) {
				char h2[VS_ID_HEXLEN + 1];

				vs_id_to_hex(&real[k], h2);
				want += !memcmp(h2, pre, n);
			}
			assert_int_equal(scan(e->s, pre, &sc), 0);
			assert_int_equal(sc.n, want);
			assert_true(scan_has(&sc, &real[i]));
			for (j = 0; j < sc.n; j++) {
				vs_id_to_hex(&sc.found[j], pre);
				assert_memory_equal(pre, hex, n);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_open_not_a_store,
						setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_config, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_locate, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_chunk_roundtrip,
						setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_chunk_planes_by_format,
						setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_read_only_shared,
						setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_lock_wait, setup_env,
						teardown_env),
		cmocka_unit_test_setup_teardown(test_writer_not_starved,
						setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_chunk_corrupt, setup_env,
						teardown_env),
		cmocka_unit_test_setup_teardown(test_object_roundtrip,
						setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_typed, setup_env,
						teardown_env),
		cmocka_unit_test_setup_teardown(test_file_read, setup_env,
						teardown_env),
		cmocka_unit_test_setup_teardown(test_scan_prefix, setup_env,
						teardown_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
