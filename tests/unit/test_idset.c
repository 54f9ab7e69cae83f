/*
 * test_idset.c - unit tests of store/idset.c: add/has/count over 100,000
 * random ids (through many growths), duplicates, ids that differ only in
 * their last byte (all in one probe chain), absent ids, and the zero id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash.h"
#include "idset.h"
#include "testutil.h"
#include "banned.h"

#define N 100000

static void test_random(void **state)
{
	struct vs_idset *set = vs_idset_new();
	struct vs_id *ids = malloc(N * sizeof(*ids));
	struct vs_id other;
	size_t i;

	(void)state;
	assert_non_null(ids);
	tu_fill_random(ids, N * sizeof(*ids), 12345);
	assert_int_equal(vs_idset_count(set), 0);
	for (i = 0; i < N; i++) {
		assert_false(vs_idset_has(set, &ids[i]));
		assert_true(vs_idset_add(set, &ids[i]));
		assert_true(vs_idset_has(set, &ids[i]));
		assert_int_equal(vs_idset_count(set), i + 1);
	}
	/* Everything is still there after all the growth. */
	for (i = 0; i < N; i++)
		assert_true(vs_idset_has(set, &ids[i]));
	/* Duplicates are refused and not counted. */
	for (i = 0; i < N; i += 3) {
		struct vs_id copy = ids[i];

		assert_false(vs_idset_add(set, &copy));
	}
	assert_int_equal(vs_idset_count(set), N);
	/* Absent ids: fresh ones, and ones one bit away from a member. */
	for (i = 0; i < 1000; i++) {
		tu_fill_random(&other, sizeof(other), 999999 + i);
		assert_false(vs_idset_has(set, &other));
		other = ids[i * 7];
		other.b[i % VS_ID_LEN] ^= (uint8_t)(1u << (i % 8));
		assert_false(vs_idset_has(set, &other));
	}
	assert_int_equal(vs_idset_count(set), N);
	vs_idset_free(set);
	free(ids);
}

/* Ids with equal first 8 bytes share a home slot: one long probe chain. */
static void test_collisions(void **state)
{
	struct vs_idset *set = vs_idset_new();
	struct vs_id id, zero;
	size_t i;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	for (i = 0; i < 2000; i++) {
		memset(&id, 0, sizeof(id));
		id.b[30] = (uint8_t)(i >> 8);
		id.b[31] = (uint8_t)i;
		assert_true(vs_idset_add(set, &id));
	}
	assert_int_equal(vs_idset_count(set), 2000);
	/* i == 0 was the zero id. */
	assert_true(vs_idset_has(set, &zero));
	assert_false(vs_idset_add(set, &zero));
	for (i = 0; i < 2000; i++) {
		memset(&id, 0, sizeof(id));
		id.b[30] = (uint8_t)(i >> 8);
		id.b[31] = (uint8_t)i;
		assert_true(vs_idset_has(set, &id));
		assert_false(vs_idset_add(set, &id));
		id.b[29] = 1;
		assert_false(vs_idset_has(set, &id));
	}
	assert_int_equal(vs_idset_count(set), 2000);
	vs_idset_free(set);
	vs_idset_free(NULL);
}

/* Hashes of real content, as the walks use them. */
static void test_hashes(void **state)
{
	struct vs_idset *a = vs_idset_new(), *b = vs_idset_new();
	struct vs_id id;
	char text[32];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "%d", i);
		vs_hash(text, strlen(text), &id);
		assert_true(vs_idset_add(i % 2 ? a : b, &id));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(text, sizeof(text), "%d", i);
		vs_hash(text, strlen(text), &id);
		/* Two sets never share state. */
		assert_true(vs_idset_has(i % 2 ? a : b, &id));
		assert_false(vs_idset_has(i % 2 ? b : a, &id));
	}
	assert_int_equal(vs_idset_count(a), 2500);
	assert_int_equal(vs_idset_count(b), 2500);
	vs_idset_free(a);
	vs_idset_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_hashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
