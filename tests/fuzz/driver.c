/*
 * driver.c - runs a fuzz target without libFuzzer, so plain ctest exercises
 * every decoder (after zstd's regression_driver.c).
 *
 * usage: fuzz_<decoder> PATH...
 * Each PATH is a corpus directory (every regular file in it, in name order)
 * or a single input file (to replay a crash).  Every input is run through
 * LLVMFuzzerTestOneInput() as is, then VS_FUZZ_MUTATIONS deterministic
 * mutants of it are: bit flips, byte overwrites with boundary values,
 * truncations, insertions, deletions and duplications of ranges, up to four
 * stacked, all drawn from a fixed-seed PRNG so a failure reproduces exactly.
 * A target reports a bug by crashing; the driver prints one summary line and
 * exits 0, or 1 when it found no input at all (a missing corpus must not
 * pass silently), or 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "banned.h"

#define VS_FUZZ_MUTATIONS 20000
/* Mutants may grow a seed by this much at most. */
#define VS_FUZZ_SLACK 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct driver {
	uint64_t rng;
	size_t files;
	size_t runs;
};

static uint64_t rng_next(struct driver *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t rng_below(struct driver *d, size_t n)
{
	return n ? (size_t)(rng_next(d) % n) : 0;
}

/* Move buf[pos..len) up by n bytes (the caller checked the capacity). */
static void open_gap(uint8_t *buf, size_t len, size_t pos, size_t n)
{
	if (pos <= len)
		memmove(buf + pos + n, buf + pos, len - pos);
}

/* Apply one mutation to <buf, *len>, never growing it beyond cap. */
static void mutate_once(struct driver *d, uint8_t *buf, size_t *len,
			size_t cap)
{
	static const uint8_t boundary[] = {
		0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff, '/', '.',
	};
	size_t pos, n, src;

	switch (rng_below(d, 7)) {
	case 0:		/* flip one bit */
		if (*len) {
			pos = rng_below(d, *len);
			buf[pos] ^= (uint8_t)(1u << rng_below(d, 8));
		}
		break;
	case 1:		/* overwrite a byte with a boundary value */
		if (*len)
			buf[rng_below(d, *len)] =
				boundary[rng_below(d, sizeof(boundary))];
		break;
	case 2:		/* overwrite a byte with anything */
		if (*len)
			buf[rng_below(d, *len)] = (uint8_t)rng_next(d);
		break;
	case 3:		/* truncate */
		*len = rng_below(d, *len + 1);
		break;
	case 4:		/* insert random bytes */
		n = 1 + rng_below(d, 8);
		if (*len + n > cap)
			break;
		pos = rng_below(d, *len + 1);
		open_gap(buf, *len, pos, n);
		for (src = 0; src < n; src++)
			buf[pos + src] = (uint8_t)rng_next(d);
		*len += n;
		break;
	case 5:		/* delete a range */
		if (!*len)
			break;
		pos = rng_below(d, *len);
		n = 1 + rng_below(d, *len - pos);
		if (n > 40)
			n = 1 + n % 40;
		memmove(buf + pos, buf + pos + n, *len - pos - n);
		*len -= n;
		break;
	case 6:		/* duplicate a range somewhere else */
		if (!*len)
			break;
		src = rng_below(d, *len);
		n = 1 + rng_below(d, *len - src);
		if (n > 64)
			n = 1 + n % 64;
		if (*len + n > cap)
			break;
		pos = rng_below(d, *len + 1);
		open_gap(buf, *len, pos, n);
		/* The source may have moved if it lay after pos. */
		memmove(buf + pos, buf + (src >= pos ? src + n : src), n);
		*len += n;
		break;
	}
}

static void run_one(struct driver *d, const uint8_t *data, size_t len)
{
	size_t cap = len + VS_FUZZ_SLACK, mlen, i, k, stack;
	uint8_t *buf = malloc(cap);
	uint8_t *exact;

	if (!buf)
		abort();
	/* A private copy sized exactly, so ASan sees any overread. */
	exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, data, len);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	d->runs++;

	for (i = 0; i < VS_FUZZ_MUTATIONS; i++) {
		memcpy(buf, data, len);
		mlen = len;
		stack = 1 + rng_below(d, 4);
		for (k = 0; k < stack; k++)
			mutate_once(d, buf, &mlen, cap);
		exact = malloc(mlen ? mlen : 1);
		if (!exact)
			abort();
		memcpy(exact, buf, mlen);
		LLVMFuzzerTestOneInput(exact, mlen);
		free(exact);
		d->runs++;
	}
	free(buf);
}

/* Read a whole file; NULL (errno set) on failure. */
static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *data = NULL;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) || st.st_size < 0)
		goto out_close;
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data)
		goto out_close;
	*len = fread(data, 1, (size_t)st.st_size, f);
	if (*len != (size_t)st.st_size || ferror(f)) {
		free(data);
		data = NULL;
		errno = EIO;
	}
out_close:
	fclose(f);
	return data;
}

static int run_file(struct driver *d, const char *path)
{
	size_t len = 0;
	uint8_t *data = read_file(path, &len);

	if (!data) {
		fprintf(stderr, "fuzz driver: cannot read '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	run_one(d, data, len);
	d->files++;
	free(data);
	return 0;
}

static int only_files(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int run_path(struct driver *d, const char *path)
{
	struct dirent **names;
	struct stat st;
	char *full;
	size_t size;
	int n, i, r = 0;

	if (stat(path, &st)) {
		fprintf(stderr, "fuzz driver: cannot stat '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(d, path);
	n = scandir(path, &names, only_files, alphasort);
	if (n < 0) {
		fprintf(stderr, "fuzz driver: cannot list '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		size = strlen(path) + strlen(names[i]->d_name) + 2;
		full = malloc(size);
		if (!full)
			abort();
		snprintf(full, size, "%s/%s", path, names[i]->d_name);
		if (!r && !stat(full, &st) && S_ISREG(st.st_mode))
			r = run_file(d, full);
		free(full);
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	struct driver d = { .rng = 0x7661727665667a7aull };
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (run_path(&d, argv[i]))
			return 1;
	if (!d.files) {
		fprintf(stderr, "fuzz driver: no input files in the corpus\n");
		return 1;
	}
	printf("fuzz driver: %zu corpus files, %zu inputs run, no failure\n",
	       d.files, d.runs);
	return 0;
}
