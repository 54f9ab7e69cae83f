/*
 * test_chunker.c - property tests of store/chunker.c: chunk sizes within
 * [min, max], chunks that tile the input, determinism, re-synchronisation
 * after an edit, the "window of exactly max bytes" contract, the size
 * distribution, and golden cut points that pin the gear table forever.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chunker.h"
#include "hash.h"
#include "banned.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

static const struct vs_chunker_params p_default = { 16 * KIB, 64 * KIB,
						    256 * KIB };

static const struct vs_chunker_params p_sets[] = {
	{ 64, 256, 1024 },
	{ 64, 64, 128 },
	{ 1 * KIB, 4 * KIB, 16 * KIB },
	{ 4 * KIB, 16 * KIB, 64 * KIB },
	{ 16 * KIB, 64 * KIB, 256 * KIB },
	{ 64 * KIB, 64 * KIB, 1 * MIB },
	{ 256 * KIB, 1 * MIB, 4 * MIB },
};

static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t z = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!(i % 8)) {
			z = (seed += 0x9e3779b97f4a7c15ull);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			z ^= z >> 31;
		}
		p[i] = (uint8_t)(z >> (8 * (i % 8)));
	}
}

/* Text-like, low-entropy data: words from a small dictionary. */
static void fill_text(uint8_t *p, size_t len, uint64_t seed)
{
	static const char *const words[] = {
		"alpha ", "beta ", "gamma\n", "delta ", "epsilon ", "zeta, ",
		"eta ", "theta ",
	};
	const char *w;
	size_t i = 0, n;

	while (i < len) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		w = words[seed >> 61];
		for (n = 0; w[n] && i < len; n++)
			p[i++] = (uint8_t)w[n];
	}
}

struct cuts {
	size_t n;
	size_t *len;
};

static void chunk_all(const struct vs_chunker_params *p, const uint8_t *data,
		      size_t len, struct cuts *c)
{
	size_t off = 0, cap = 0, n;

	c->n = 0;
	c->len = NULL;
	while (off < len) {
		n = vs_chunker_next(p, data + off, len - off);
		assert_true(n >= 1 && n <= len - off);
		if (c->n == cap) {
			cap = cap ? 2 * cap : 256;
			c->len = realloc(c->len, cap * sizeof(*c->len));
			assert_non_null(c->len);
		}
		c->len[c->n++] = n;
		off += n;
	}
}

static void check_bounds(const struct vs_chunker_params *p,
			 const struct cuts *c, size_t total)
{
	size_t i, sum = 0;

	for (i = 0; i < c->n; i++) {
		assert_true(c->len[i] <= p->max);
		if (i + 1 < c->n)
			assert_true(c->len[i] >= p->min);
		else
			assert_true(c->len[i] >= 1);
		sum += c->len[i];
	}
	assert_int_equal(sum, total);
}

static void test_params_valid(void **state)
{
	static const struct vs_chunker_params good[] = {
		{ 64, 64, 128 }, { 64, 128, 128 }, { 16 * KIB, 64 * KIB,
						     256 * KIB },
		{ 8 * MIB, 8 * MIB, 16 * MIB }, { 64, 1 * MIB, 16 * MIB },
	};
	static const struct vs_chunker_params bad[] = {
		{ 0, 0, 0 }, { 32, 64, 128 }, { 64, 64, 64 },
		{ 100, 128, 256 }, { 64, 96, 256 }, { 64, 128, 200 },
		{ 128, 64, 256 }, { 64, 512, 256 }, { 64, 64, 32 * MIB },
		{ 16 * MIB, 16 * MIB, 16 * MIB },
		{ 64, 128, 1u << 31 },
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(vs_chunker_params_valid(&good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(vs_chunker_params_valid(&bad[i]));
	for (i = 0; i < sizeof(p_sets) / sizeof(p_sets[0]); i++)
		assert_true(vs_chunker_params_valid(&p_sets[i]));
}

static void test_small_inputs(void **state)
{
	const struct vs_chunker_params *p = &p_default;
	uint8_t *data = malloc(p->max + 1);
	size_t n;

	assert_non_null(data);
	fill_random(data, p->max + 1, 5);
	assert_int_equal(vs_chunker_next(p, data, 0), 0);
	assert_int_equal(vs_chunker_next(p, data, 1), 1);
	assert_int_equal(vs_chunker_next(p, data, p->min - 1), p->min - 1);
	assert_int_equal(vs_chunker_next(p, data, p->min), p->min);
	n = vs_chunker_next(p, data, p->min + 1);
	assert_true(n > p->min && n <= p->min + 1);
	/* More than max: the cut is at or before max. */
	n = vs_chunker_next(p, data, p->max + 1);
	assert_true(n > p->min && n <= p->max);
	free(data);
}

/* Every chunk is in [min, max] but the last; chunks tile the input. */
static void test_bounds_and_determinism(void **state)
{
	size_t len = 8 * MIB + 12345;
	uint8_t *data = malloc(len);
	struct cuts a, b;
	size_t i, kind;

	assert_non_null(data);
	for (kind = 0; kind < 3; kind++) {
		if (kind == 0)
			fill_random(data, len, 42);
		else if (kind == 1)
			fill_text(data, len, 42);
		else
			memset(data, 0, len);
		for (i = 0; i < sizeof(p_sets) / sizeof(p_sets[0]); i++) {
			chunk_all(&p_sets[i], data, len, &a);
			check_bounds(&p_sets[i], &a, len);
			chunk_all(&p_sets[i], data, len, &b);
			assert_int_equal(a.n, b.n);
			assert_memory_equal(a.len, b.len,
					    a.n * sizeof(*a.len));
			free(a.len);
			free(b.len);
		}
	}
	free(data);
}

/*
 * A caller that holds only max bytes of a longer input gets the same cut as
 * one holding the whole input: the cut is final once max bytes are seen.
 */
static void test_window_of_max(void **state)
{
	size_t len = 4 * MIB, i, j, off, n;
	uint8_t *data = malloc(len);
	const struct vs_chunker_params *p;
	struct cuts c;

	assert_non_null(data);
	fill_random(data, len, 7);
	for (i = 0; i < sizeof(p_sets) / sizeof(p_sets[0]); i++) {
		p = &p_sets[i];
		chunk_all(p, data, len, &c);
		off = 0;
		for (j = 0; j < c.n; j++) {
			if (len - off >= p->max) {
				n = vs_chunker_next(p, data + off, p->max);
				assert_int_equal(n, c.len[j]);
				if (len - off > p->max) {
					n = vs_chunker_next(p, data + off,
							    p->max + 1);
					assert_int_equal(n, c.len[j]);
				}
			}
			off += c.len[j];
		}
		free(c.len);
	}
	free(data);
}

static int id_cmp(const void *a, const void *b)
{
	return vs_id_cmp(a, b);
}

static struct vs_id *chunk_ids(const struct vs_chunker_params *p,
			       const uint8_t *data, size_t len, size_t *n)
{
	struct vs_id *ids;
	struct cuts c;
	size_t i, off = 0;

	chunk_all(p, data, len, &c);
	ids = malloc(c.n * sizeof(*ids));
	assert_non_null(ids);
	for (i = 0; i < c.n; i++) {
		vs_hash(data + off, c.len[i], &ids[i]);
		off += c.len[i];
	}
	qsort(ids, c.n, sizeof(*ids), id_cmp);
	*n = c.n;
	free(c.len);
	return ids;
}

/* Number of ids of a (sorted) not found in b (sorted). */
static size_t ids_missing(const struct vs_id *a, size_t na,
			  const struct vs_id *b, size_t nb)
{
	size_t i;
	size_t missing = 0;

	for (i = 0; i < na; i++)
		if (!bsearch(&a[i], b, nb, sizeof(*b), id_cmp))
			missing++;
	return missing;
}

/* An edit in the middle changes only the chunks around it. */
static void test_resync(void **state)
{
	size_t len = 8 * MIB, mid = len / 2 + 777;
	uint8_t *orig = malloc(len), *ins = malloc(len + 5), *del = malloc(len);
	struct vs_id *a, *b, *d;
	size_t na, nb, nd, i;
	const struct vs_chunker_params *p;

	assert_non_null(orig);
	assert_non_null(ins);
	assert_non_null(del);
	fill_random(orig, len, 99);
	memcpy(ins, orig, mid);
	memcpy(ins + mid, "HELLO", 5);
	memcpy(ins + mid + 5, orig + mid, len - mid);
	memcpy(del, orig, mid);
	memcpy(del + mid, orig + mid + 3, len - mid - 3);

	for (i = 2; i < sizeof(p_sets) / sizeof(p_sets[0]) - 1; i++) {
		p = &p_sets[i];
		a = chunk_ids(p, orig, len, &na);
		b = chunk_ids(p, ins, len + 5, &nb);
		d = chunk_ids(p, del, len - 3, &nd);
		assert_true(na > 10);
		assert_true(ids_missing(b, nb, a, na) <= 3);
		assert_true(ids_missing(a, na, b, nb) <= 3);
		assert_true(ids_missing(d, nd, a, na) <= 3);
		assert_true(ids_missing(a, na, d, nd) <= 3);
		/* But an edit does change something. */
		assert_true(ids_missing(b, nb, a, na) >= 1);
		free(a);
		free(b);
		free(d);
	}
	free(orig);
	free(ins);
	free(del);
}

/*
 * On random data the mean chunk size is near avg, and normalisation keeps
 * forced cuts at max rare.  Wrong masks (too few or too many bits, or the
 * two masks swapped) move the mean far outside these bounds.
 */
static void test_distribution(void **state)
{
	size_t len = 32 * MIB, i, j, at_max, below_avg;
	uint8_t *data = malloc(len);
	const struct vs_chunker_params *p;
	double mean;
	struct cuts c;

	assert_non_null(data);
	fill_random(data, len, 2024);
	for (i = 2; i < 5; i++) {
		p = &p_sets[i];
		chunk_all(p, data, len, &c);
		mean = (double)len / (double)c.n;
		assert_true(mean > 1.0 * p->avg && mean < 1.3 * p->avg);
		at_max = below_avg = 0;
		for (j = 0; j + 1 < c.n; j++) {
			at_max += c.len[j] == p->max;
			below_avg += c.len[j] <= p->avg;
		}
		assert_true(at_max * 100 < c.n);
		/* The strict mask keeps most chunks past avg (~17% below). */
		assert_true(below_avg * 100 < c.n * 30);
		free(c.len);
	}
	free(data);
}

/*
 * Golden cut points: chunk ids of every existing store depend on them.  If
 * this test fails, the gear table or the cut rule changed, and that is a
 * format break, not a test to update.
 */
static void test_golden(void **state)
{
	static const size_t want_default[] = {
		51021, 92979, 84078, 67523, 88658, 67696, 91372, 97224,
		73959, 70480, 21350, 44237,
	};
	static const size_t want_small[] = {
		79, 289, 140, 319, 428, 351, 190, 333, 277, 286, 292, 269,
		289, 274, 138, 107,
	};
	static const struct vs_chunker_params p_small = { 64, 256, 1024 };
	size_t len = 2 * MIB, i;
	uint8_t *data = malloc(len);
	struct cuts c;

	assert_non_null(data);
	fill_random(data, len, 12345);
	chunk_all(&p_default, data, len, &c);
	assert_true(c.n >= sizeof(want_default) / sizeof(want_default[0]));
	for (i = 0; i < sizeof(want_default) / sizeof(want_default[0]); i++)
		assert_int_equal(c.len[i], want_default[i]);
	free(c.len);
	chunk_all(&p_small, data, len, &c);
	assert_true(c.n >= sizeof(want_small) / sizeof(want_small[0]));
	for (i = 0; i < sizeof(want_small) / sizeof(want_small[0]); i++)
		assert_int_equal(c.len[i], want_small[i]);
	free(c.len);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_valid),
		cmocka_unit_test(test_small_inputs),
		cmocka_unit_test(test_bounds_and_determinism),
		cmocka_unit_test(test_window_of_max),
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
