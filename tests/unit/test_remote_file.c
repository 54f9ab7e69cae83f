/*
 * test_remote_file.c - the transport contract (store/remote/transport.h)
 * on the file:// transport (store/remote/file.c) through transport.c:
 * put, get (whole and ranges), head, etags that change with every put,
 * listings in byte order under a prefix, delete; conditional puts
 * (if-absent, if-match); bad keys and URLs; and races of threads: many
 * creators of one key (exactly one wins), and many compare-and-swap
 * incrementers of one counter (no update lost).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "transport.h"
#include "testutil.h"
#include "banned.h"

struct fx {
	char dir[PATH_MAX];
	char url[PATH_MAX + 16];
	struct vs_transport *t;
};

static int setup(void **state)
{
	struct vs_remote_config cfg = { 0 };
	struct fx *fx = calloc(1, sizeof(*fx));

	tu_mkdtemp(fx->dir);
	/* The remote's directory does not exist yet: puts make it. */
	snprintf(fx->url, sizeof(fx->url), "file://%s/remote/", fx->dir);
	cfg.name = "test";
	cfg.url = fx->url;
	assert_int_equal(vs_transport_open(&cfg, &fx->t, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	vs_transport_free(fx->t);
	tu_rm_rf(fx->dir);
	free(fx);
	return 0;
}

static void put_str(struct fx *fx, const char *key, const char *s)
{
	assert_int_equal(vs_transport_put(fx->t, key, s, strlen(s), 0, NULL,
					  NULL, NULL),
			 0);
}

static void test_put_get(void **state)
{
	struct fx *fx = *state;
	struct vs_buf b = VS_BUF_INIT;
	struct vs_obj_info i1, i2, h;
	struct vs_error e = { 0 };

	assert_int_equal(vs_transport_get(fx->t, "a/b", 0, 0, &b, NULL, &e),
			 VS_E_NOTFOUND);
	assert_int_equal(vs_transport_head(fx->t, "a/b", &h, NULL),
			 VS_E_NOTFOUND);
	assert_int_equal(vs_transport_put(fx->t, "a/b", "hello world", 11, 0,
					  NULL, &i1, NULL),
			 0);
	assert_int_equal(i1.size, 11);
	assert_int_equal(vs_transport_get(fx->t, "a/b", 0, 0, &b, &h, NULL),
			 0);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "hello world", 11);
	assert_string_equal(h.etag, i1.etag);
	/* Ranges append; len 0 reads to the end. */
	assert_int_equal(vs_transport_get(fx->t, "a/b", 6, 5, &b, NULL, NULL),
			 0);
	assert_int_equal(b.len, 16);
	assert_memory_equal(b.data + 11, "world", 5);
	vs_buf_reset(&b);
	assert_int_equal(vs_transport_get(fx->t, "a/b", 10, 0, &b, NULL, NULL),
			 0);
	assert_int_equal(b.len, 1);
	assert_int_equal(vs_transport_get(fx->t, "a/b", 11, 0, &b, NULL, NULL),
			 0);
	assert_int_equal(b.len, 1);
	assert_int_equal(vs_transport_get(fx->t, "a/b", 6, 6, &b, NULL, NULL),
			 VS_E_INVAL);
	assert_int_equal(vs_transport_get(fx->t, "a/b", 12, 0, &b, NULL, NULL),
			 VS_E_INVAL);
	/* The same bytes again: a new etag all the same. */
	assert_int_equal(vs_transport_put(fx->t, "a/b", "hello world", 11, 0,
					  NULL, &i2, NULL),
			 0);
	assert_string_not_equal(i1.etag, i2.etag);
	assert_int_equal(vs_transport_head(fx->t, "a/b", &h, NULL), 0);
	assert_string_equal(h.etag, i2.etag);
	assert_int_equal(h.size, 11);
	/* A directory is no object. */
	assert_int_equal(vs_transport_get(fx->t, "a", 0, 0, &b, NULL, NULL),
			 VS_E_NOTFOUND);
	/* An empty object. */
	assert_int_equal(vs_transport_put(fx->t, "empty", "", 0, 0, NULL, NULL,
					  NULL),
			 0);
	vs_buf_reset(&b);
	assert_int_equal(vs_transport_get(fx->t, "empty", 0, 0, &b, NULL,
					  NULL),
			 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(vs_transport_delete(fx->t, "a/b", NULL), 0);
	assert_int_equal(vs_transport_delete(fx->t, "a/b", NULL), 0);
	assert_int_equal(vs_transport_get(fx->t, "a/b", 0, 0, &b, NULL, NULL),
			 VS_E_NOTFOUND);
	vs_buf_release(&b);
}

struct collected {
	char keys[32][64];
	uint64_t sizes[32];
	int n;
	int stop_after;
};

static int collect(void *arg, const char *key, uint64_t size)
{
	struct collected *c = arg;

	assert_true(c->n < 32);
	snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
	c->sizes[c->n++] = size;
	return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void test_list(void **state)
{
	struct fx *fx = *state;
	struct collected c = { 0 };

	/* Nothing there yet, not even the directory. */
	assert_int_equal(vs_transport_list(fx->t, "", collect, &c, NULL), 0);
	assert_int_equal(c.n, 0);
	put_str(fx, "packs/ab/x", "1");
	put_str(fx, "packs/a-c", "22");
	put_str(fx, "packs/ab/y", "333");
	put_str(fx, "packs/b", "4444");
	put_str(fx, "packsz", "5");
	put_str(fx, "refs/z", "6");
	/* Byte order: "packs/a-c" < "packs/ab/..." ('-' < 'b'). */
	assert_int_equal(vs_transport_list(fx->t, "packs/", collect, &c,
					   NULL),
			 0);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.keys[0], "packs/a-c");
	assert_string_equal(c.keys[1], "packs/ab/x");
	assert_string_equal(c.keys[2], "packs/ab/y");
	assert_string_equal(c.keys[3], "packs/b");
	assert_int_equal(c.sizes[2], 3);
	memset(&c, 0, sizeof(c));
	assert_int_equal(vs_transport_list(fx->t, "packs", collect, &c, NULL),
			 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[4], "packsz");
	memset(&c, 0, sizeof(c));
	assert_int_equal(vs_transport_list(fx->t, "packs/a", collect, &c,
					   NULL),
			 0);
	assert_int_equal(c.n, 3);
	memset(&c, 0, sizeof(c));
	assert_int_equal(vs_transport_list(fx->t, "", collect, &c, NULL), 0);
	assert_int_equal(c.n, 6);	/* not the lock or temporary files */
	assert_string_equal(c.keys[5], "refs/z");
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(vs_transport_list(fx->t, "", collect, &c, NULL), 42);
	assert_int_equal(c.n, 2);
	memset(&c, 0, sizeof(c));
	assert_int_equal(vs_transport_list(fx->t, "nothing/", collect, &c,
					   NULL),
			 0);
	assert_int_equal(c.n, 0);
}

static void test_conditional(void **state)
{
	struct fx *fx = *state;
	struct vs_obj_info i1, i2;
	struct vs_error e = { 0 };
	struct vs_buf b = VS_BUF_INIT;

	assert_int_equal(vs_transport_put(fx->t, "refs/x", "1", 1,
					  VS_PUT_IF_ABSENT, NULL, &i1, NULL),
			 0);
	assert_int_equal(vs_transport_put(fx->t, "refs/x", "2", 1,
					  VS_PUT_IF_ABSENT, NULL, NULL, &e),
			 VS_E_CONFLICT);
	assert_non_null(strstr(e.msg, "refs/x"));
	assert_int_equal(vs_transport_put(fx->t, "refs/x", "3", 1, 0, i1.etag,
					  &i2, NULL),
			 0);
	/* A stale etag loses. */
	assert_int_equal(vs_transport_put(fx->t, "refs/x", "4", 1, 0, i1.etag,
					  NULL, NULL),
			 VS_E_CONFLICT);
	/* An etag of an absent key too. */
	assert_int_equal(vs_transport_put(fx->t, "refs/y", "4", 1, 0, i1.etag,
					  NULL, NULL),
			 VS_E_CONFLICT);
	assert_int_equal(vs_transport_get(fx->t, "refs/x", 0, 0, &b, NULL,
					  NULL),
			 0);
	assert_memory_equal(b.data, "3", 1);
	vs_buf_release(&b);
}

static void test_bad_keys_and_urls(void **state)
{
	static const char *const bad[] = {
		"", "/a", "a/", "a//b", "./a", "a/./b", "a/..", "..", ".",
		".hidden", "a/.varve-lock",
	};
	struct vs_remote_config cfg = { .name = "x" };
	struct fx *fx = *state;
	struct vs_transport *t;
	struct vs_error e = { 0 };
	struct vs_buf b = VS_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vs_transport_put(fx->t, bad[i], "x", 1, 0,
						  NULL, NULL, NULL),
				 VS_E_INVAL);
		assert_int_equal(vs_transport_get(fx->t, bad[i], 0, 0, &b,
						  NULL, NULL),
				 VS_E_INVAL);
	}
	cfg.url = "ftp://host/x";
	assert_int_equal(vs_transport_open(&cfg, &t, &e), VS_E_INVAL);
	assert_non_null(strstr(e.msg, "file:///PATH"));
	cfg.url = "file://relative/path";
	assert_int_equal(vs_transport_open(&cfg, &t, NULL), VS_E_INVAL);
	cfg.url = "/no/scheme";
	assert_int_equal(vs_transport_open(&cfg, &t, NULL), VS_E_INVAL);
	cfg.url = "file:///etc/passwd";	/* a file, not a directory */
	assert_int_equal(vs_transport_open(&cfg, &t, NULL), VS_E_INVAL);
	vs_buf_release(&b);
}

/* --- races ----------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 40

struct racer {
	struct fx *fx;
	int id;
	int won;		/* creations that succeeded */
	int conflicts;
};

static void *create_racer(void *arg)
{
	struct racer *r = arg;
	char key[32];
	int i;

	for (i = 0; i < ROUNDS; i++) {
		int n;

		snprintf(key, sizeof(key), "race/%d", i);
		n = vs_transport_put(r->fx->t, key, &r->id, sizeof(r->id),
				     VS_PUT_IF_ABSENT, NULL, NULL, NULL);
		if (n == 0)
			r->won++;
		else if (n != VS_E_CONFLICT)
			abort();
	}
	return NULL;
}

/* Read the counter, add one, compare-and-swap; retry on a conflict. */
static void *cas_racer(void *arg)
{
	struct racer *r = arg;
	struct vs_buf b = VS_BUF_INIT;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		for (;;) {
			struct vs_obj_info info;
			char text[32];
			long v;
			int n;

			vs_buf_reset(&b);
			if (vs_transport_get(r->fx->t, "counter", 0, 0, &b,
					     &info, NULL) < 0)
				abort();
			v = strtol(b.data, NULL, 10);
			snprintf(text, sizeof(text), "%ld", v + 1);
			n = vs_transport_put(r->fx->t, "counter", text,
					     strlen(text), 0, info.etag, NULL,
					     NULL);
			if (n == 0)
				break;
			if (n != VS_E_CONFLICT)
				abort();
			r->conflicts++;
		}
	}
	vs_buf_release(&b);
	return NULL;
}

static void test_races(void **state)
{
	struct fx *fx = *state;
	struct racer r[THREADS];
	pthread_t th[THREADS];
	struct vs_buf b = VS_BUF_INIT;
	int i, won = 0, conflicts = 0;

	for (i = 0; i < THREADS; i++) {
		r[i] = (struct racer){ .fx = fx, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, create_racer,
						&r[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		won += r[i].won;
	}
	/* Each key created exactly once. */
	assert_int_equal(won, ROUNDS);

	put_str(fx, "counter", "0");
	for (i = 0; i < THREADS; i++) {
		r[i] = (struct racer){ .fx = fx, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, cas_racer,
						&r[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		conflicts += r[i].conflicts;
	}
	assert_int_equal(vs_transport_get(fx->t, "counter", 0, 0, &b, NULL,
					  NULL),
			 0);
	/* No update lost. */
	assert_int_equal(strtol(b.data, NULL, 10), THREADS * ROUNDS);
	print_message("%d compare-and-swap conflicts retried\n", conflicts);
	vs_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conditional, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys_and_urls, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_races, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
