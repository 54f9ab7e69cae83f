/*
 * test_dircache.c - unit tests of fs/dircache.c, the mount's index of
 * directories: a tree is decoded once and then found by name; the index
 * stays under its byte limit but never frees a directory in use; a failed
 * load is reported and not kept; threads that want the same directory at
 * once share one decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "testutil.h"

#include "dircache.h"

#include "banned.h"

#define BIG 5000	/* entries of the big tree */

struct fixture {
	struct tu_env *env;
	struct vs_id big, small, file;
};

/* A tree of n files named like a dataset's, with odd names among them. */
static void write_tree(struct vs_store *s, size_t n, uint64_t seed,
		       struct vs_id *id)
{
	struct vs_tree t;
	struct vs_id fid;
	char name[64];
	size_t k;

	vs_tree_init(&t);
	for (k = 0; k < n; k++) {
		int len = snprintf(name, sizeof(name), "img%06zu.jpg", k);

		tu_fill_random(fid.b, sizeof(fid.b), seed + k);
		vs_tree_add(&t, name, (size_t)len, VS_ENTRY_FILE, k, &fid);
	}
	vs_tree_add(&t, TU_ODD_NAME, strlen(TU_ODD_NAME), VS_ENTRY_SYMLINK, 3,
		    &fid);
	vs_tree_add(&t, "Zebra", 5, VS_ENTRY_DIR, 0, &fid);
	vs_tree_sort(&t);
	assert_int_equal(vs_store_write_tree(s, &t, id, NULL), 0);
	vs_tree_release(&t);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vs_file file;

	assert_non_null(f);
	f->env = tu_env_new();
	write_tree(f->env->s, BIG, 1, &f->big);
	write_tree(f->env->s, 10, 2, &f->small);
	vs_file_init(&file);
	vs_file_set_inline(&file, "x", 1);
	assert_int_equal(vs_store_write_file(f->env->s, &file, &f->file, NULL),
			 0);
	vs_file_release(&file);
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

static struct fs_dircache_stats stats(struct fs_dircache *c)
{
	struct fs_dircache_stats st;

	fs_dircache_stats(c, &st);
	return st;
}

/* The index shows what the store's decoder shows, and finds every name. */
static void test_decoded_once(void **state)
{
	struct fixture *f = *state;
	struct fs_dircache *c = fs_dircache_new(f->env->s, 64 * TU_MIB);
	const struct fs_dir *d, *again;
	struct vs_tree t;
	size_t k, pos;

	assert_int_equal(vs_store_read_tree(f->env->s, &f->big, &t, NULL), 0);
	assert_int_equal(fs_dircache_get(c, &f->big, &d, NULL), 0);
	assert_int_equal(d->count, BIG + 2);
	for (k = 0; k < t.count; k++) {
		const struct vs_tree_entry *e = &d->entries[k];

		assert_int_equal(e->name_len, t.entries[k].name_len);
		assert_memory_equal(e->name, t.entries[k].name, e->name_len + 1);
		assert_int_equal(e->type, t.entries[k].type);
		assert_true(e->size == t.entries[k].size);
		assert_true(vs_id_equal(&e->id, &t.entries[k].id));
		assert_ptr_equal(fs_dir_find(d, e->name, e->name_len, &pos), e);
		assert_int_equal(pos, k);
	}
	assert_null(fs_dir_find(d, "img", 3, NULL));
	assert_null(fs_dir_find(d, "img999999.jpg", 13, NULL));
	assert_non_null(fs_dir_find(d, TU_ODD_NAME, 2, NULL));
	/* Uses after the first cost no decode, held or not. */
	for (k = 0; k < 100; k++) {
		assert_int_equal(fs_dircache_get(c, &f->big, &again, NULL), 0);
		assert_ptr_equal(again, d);
		fs_dircache_put(c, again);
	}
	fs_dircache_put(c, d);
	assert_int_equal(fs_dircache_get(c, &f->big, &d, NULL), 0);
	fs_dircache_put(c, d);
	assert_int_equal(stats(c).decodes, 1);
	assert_int_equal(stats(c).hits, 101);
	assert_true(stats(c).bytes > BIG * sizeof(struct vs_tree_entry));
	vs_tree_release(&t);
	fs_dircache_free(c);
}

/* Over the limit, cold directories go and come back decoded again; a
 * directory in use is never freed. */
static void test_bounded(void **state)
{
	struct fixture *f = *state;
	struct fs_dircache *c = fs_dircache_new(f->env->s, 64 * TU_KIB);
	const struct fs_dir *big, *small;
	size_t k;

	assert_int_equal(fs_dircache_get(c, &f->big, &big, NULL), 0);
	/* Held: over the limit, yet still there and readable. */
	assert_int_equal(fs_dircache_get(c, &f->small, &small, NULL), 0);
	fs_dircache_put(c, small);
	for (k = 0; k < big->count; k++)
		assert_non_null(fs_dir_find(big, big->entries[k].name,
					    big->entries[k].name_len, NULL));
	fs_dircache_put(c, big);
	assert_true(stats(c).bytes <= 64 * TU_KIB);
	/* The big one was evicted once released: a new decode. */
	assert_int_equal(fs_dircache_get(c, &f->big, &big, NULL), 0);
	fs_dircache_put(c, big);
	assert_int_equal(stats(c).decodes, 3);
	fs_dircache_free(c);
}

/* A missing or wrong object is an error, every time it is asked for. */
static void test_errors(void **state)
{
	struct fixture *f = *state;
	struct fs_dircache *c = fs_dircache_new(f->env->s, 64 * TU_MIB);
	const struct fs_dir *d;
	struct vs_id missing;
	struct vs_error err;
	int k;

	tu_fill_random(missing.b, sizeof(missing.b), 99);
	for (k = 0; k < 2; k++) {
		err.msg[0] = 0;
		assert_int_equal(fs_dircache_get(c, &missing, &d, &err),
				 VS_E_NOTFOUND);
		assert_non_null(strstr(err.msg, "missing"));
		assert_int_equal(fs_dircache_get(c, &f->file, &d, NULL),
				 VS_E_CORRUPT);
	}
	assert_int_equal(stats(c).decodes, 4);
	assert_int_equal(stats(c).bytes, 0);
	fs_dircache_free(c);
}

struct racer {
	struct fs_dircache *c;
	const struct vs_id *id;
	const struct fs_dir *d;
	int r;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	r->r = fs_dircache_get(r->c, r->id, &r->d, NULL);
	return NULL;
}

/* Threads that want one directory at once share one decode. */
static void test_shared_load(void **state)
{
	struct fixture *f = *state;
	struct fs_dircache *c = fs_dircache_new(f->env->s, 64 * TU_MIB);
	struct racer r[8];
	pthread_t t[8];
	int k;

	for (k = 0; k < 8; k++) {
		r[k] = (struct racer){ .c = c, .id = &f->big };
		assert_int_equal(pthread_create(&t[k], NULL, race, &r[k]), 0);
	}
	for (k = 0; k < 8; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(r[k].r, 0);
		assert_ptr_equal(r[k].d, r[0].d);
	}
	for (k = 0; k < 8; k++)
		fs_dircache_put(c, r[k].d);
	assert_int_equal(stats(c).decodes, 1);
	assert_int_equal(stats(c).hits, 7);
	fs_dircache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_decoded_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_load, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
