/*
 * test_cache.c - unit tests of fs/cache.c, the mount's cache of decompressed
 * chunks: loads are verified and shared, a chunk whose bytes have all been
 * replied leaves the cache and is not prefetched again, repeated prefetch
 * hints load a chunk once, and a file hint loads the file's first chunk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "cache.h"

#include "banned.h"

#define CHUNK_LEN (12 * TU_KIB)
#define NCHUNKS 4

struct fixture {
	struct tu_env *env;
	struct vs_id ids[NCHUNKS];
	uint8_t data[NCHUNKS][CHUNK_LEN];
	struct fs_cache *c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vs_zctx *z;
	int k;

	assert_non_null(f);
	f->env = tu_env_new();
	z = vs_zctx_new(f->env->s->config.zstd_level);
	for (k = 0; k < NCHUNKS; k++) {
		tu_fill_random(f->data[k], CHUNK_LEN, 100 + k);
		vs_hash(f->data[k], CHUNK_LEN, &f->ids[k]);
		assert_int_equal(vs_chunk_put(f->env->s, z, &f->ids[k],
					      f->data[k], CHUNK_LEN, NULL,
					      NULL), 0);
	}
	vs_zctx_free(z);
	f->c = fs_cache_new(f->env->s, 64 * TU_MIB);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_cache_free(f->c);
	tu_env_free(f->env);
	free(f);
	return 0;
}

static struct fs_cache_stats stats(struct fs_cache *c)
{
	struct fs_cache_stats st;

	fs_cache_stats(c, &st);
	return st;
}

/* Waits up to 2 s for the prefetch threads to have loaded n chunks. */
static void wait_prefetched(struct fs_cache *c, uint64_t n)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000 && stats(c).prefetched < n; i++)
		nanosleep(&pause, NULL);
	assert_true(stats(c).prefetched >= n);
}

/* Gives the prefetch threads time to do what they should not. */
static void settle(void)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	nanosleep(&pause, NULL);
}

static void test_get_verified_and_shared(void **state)
{
	struct fixture *f = *state;
	const struct fs_chunk *a, *b;
	struct vs_id missing;

	assert_int_equal(fs_cache_get(f->c, &f->ids[0], &a, NULL), 0);
	assert_int_equal(a->len, CHUNK_LEN);
	assert_memory_equal(a->data, f->data[0], CHUNK_LEN);
	/* A second reader shares the loaded entry. */
	assert_int_equal(fs_cache_get(f->c, &f->ids[0], &b, NULL), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(stats(f->c).misses, 1);
	assert_int_equal(stats(f->c).hits, 1);
	assert_int_equal(stats(f->c).bytes, CHUNK_LEN);
	fs_cache_put(f->c, a, 0);
	fs_cache_put(f->c, b, 0);

	vs_hash("nothing", 7, &missing);
	assert_int_equal(fs_cache_get(f->c, &missing, &a, NULL),
			 VS_E_NOTFOUND);
}

static void test_served_chunk_leaves_and_is_not_prefetched(void **state)
{
	struct fixture *f = *state;
	const struct fs_chunk *a;

	/* Replied in two halves: dropped once the second half is out. */
	assert_int_equal(fs_cache_get(f->c, &f->ids[0], &a, NULL), 0);
	fs_cache_put(f->c, a, CHUNK_LEN / 2);
	assert_int_equal(stats(f->c).bytes, CHUNK_LEN);
	assert_int_equal(fs_cache_get(f->c, &f->ids[0], &a, NULL), 0);
	fs_cache_put(f->c, a, CHUNK_LEN - CHUNK_LEN / 2);
	assert_int_equal(stats(f->c).bytes, 0);

	/*
	 * A read-ahead hint that arrives late, after the reader got the
	 * chunk, must not load it again: the kernel has those pages.
	 */
	fs_cache_prefetch(f->c, &f->ids[0]);
	fs_cache_prefetch(f->c, &f->ids[1]);
	wait_prefetched(f->c, 1);
	settle();
	assert_int_equal(stats(f->c).prefetched, 1);
	assert_int_equal(stats(f->c).bytes, CHUNK_LEN);

	/* The chunk the hint did load is served from the cache (the
	 * second half of chunk 0 was the first hit). */
	assert_int_equal(fs_cache_get(f->c, &f->ids[1], &a, NULL), 0);
	assert_memory_equal(a->data, f->data[1], CHUNK_LEN);
	assert_int_equal(stats(f->c).hits, 2);
	fs_cache_put(f->c, a, CHUNK_LEN);
}

static void test_repeated_hints_load_once(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 50; i++) {
		fs_cache_prefetch(f->c, &f->ids[2]);
		fs_cache_prefetch(f->c, &f->ids[3]);
	}
	wait_prefetched(f->c, 2);
	settle();
	assert_int_equal(stats(f->c).prefetched, 2);
	assert_int_equal(stats(f->c).bytes, 2 * CHUNK_LEN);
}

static void test_file_hint_loads_first_chunk(void **state)
{
	struct fixture *f = *state;
	struct vs_buf enc = VS_BUF_INIT;
	struct vs_file file;
	struct vs_id file_id;
	const struct fs_chunk *a;

	vs_file_init(&file);
	vs_file_add_chunk(&file, &f->ids[3], CHUNK_LEN);
	vs_file_add_chunk(&file, &f->ids[2], CHUNK_LEN);
	vs_file_encode(&file, &enc);
	assert_int_equal(vs_object_put(f->env->s, enc.data, enc.len, &file_id,
				       NULL), 0);
	vs_file_release(&file);
	vs_buf_release(&enc);

	fs_cache_prefetch_file(f->c, &file_id);
	wait_prefetched(f->c, 1);
	settle();
	assert_int_equal(stats(f->c).prefetched, 1);
	assert_int_equal(fs_cache_get(f->c, &f->ids[3], &a, NULL), 0);
	assert_int_equal(stats(f->c).hits, 1);
	assert_memory_equal(a->data, f->data[3], CHUNK_LEN);
	fs_cache_put(f->c, a, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_verified_and_shared,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_served_chunk_leaves_and_is_not_prefetched, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_repeated_hints_load_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_file_hint_loads_first_chunk, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
