/*
 * gen_corpus_control.c - writes the seed corpus of fuzz_control:
 * tests/fuzz/corpus/control/, a few request payloads as a client sends
 * them (control.h's wire format), each preceded by the header's flags byte
 * as fuzz_control.c reads its input.
 *
 * Not built by default; run it by hand when the wire format changes:
 *   cc -std=c11 -D_GNU_SOURCE -Istore tests/fuzz/gen_corpus_control.c \
 *      -o /tmp/gen_corpus_control &&
 *   /tmp/gen_corpus_control tests/fuzz/corpus/control
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* The header flags (cli/control_int.h). */
#define QUIET 1u
#define STORE_OPT 2u
#define CWD_FD 4u

static const char *root;

struct out {
	uint8_t b[4096];
	size_t len;
};

static void add(struct out *o, const void *p, size_t n)
{
	if (o->len + n > sizeof(o->b))
		abort();
	memcpy(o->b + o->len, p, n);
	o->len += n;
}

static void add_u32(struct out *o, uint32_t v)
{
	uint8_t u[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	add(o, u, sizeof(u));
}

static void add_str(struct out *o, const char *s)
{
	add(o, s, strlen(s) + 1);
}

/* argv and env are NULL-terminated. */
static void put(const char *name, uint8_t flags, uint32_t umask_bits,
		const char *cwd, const char *store_opt,
		const char *const *argv, const char *const *env)
{
	struct out o = { .len = 0 };
	uint32_t argc = 0, envc = 0;
	char path[4096];
	FILE *f;

	while (argv[argc])
		argc++;
	while (env[envc])
		envc++;
	add(&o, &flags, 1);
	add_u32(&o, umask_bits);
	add_u32(&o, argc);
	add_u32(&o, envc);
	add_str(&o, cwd);
	if (store_opt)
		add_str(&o, store_opt);
	for (argc = 0; argv[argc]; argc++)
		add_str(&o, argv[argc]);
	for (envc = 0; env[envc]; envc++)
		add_str(&o, env[envc]);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "wb");
	if (!f || fwrite(o.b, 1, o.len, f) != o.len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const char *const none[] = { NULL };
	static const char *const list[] = { "list", NULL };
	static const char *const commit[] = {
		"commit", "datasets/imagenet", "--from", "src", "-m",
		"first import", "--meta", "k=v", NULL,
	};
	static const char *const commit_env[] = {
		"VARVE_LOCK_WAIT=5", "AWS_REGION=eu-west-1", "HOME=/root",
		"EMPTY=", NULL,
	};
	static const char *const status[] = {
		"status", "datasets/d", "--json", NULL,
	};
	static const char *const odd[] = {
		"cat", "", "datasets/d:\xff\xfe/x y", NULL,
	};
	static const char *const odd_env[] = { "A==b", "\xc3\xa9=1", NULL };

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	put("list", 0, 022, "/tmp", NULL, list, none);
	put("commit-quiet-store", QUIET | STORE_OPT, 077, "/home/u/work",
	    "/srv/varve", commit, commit_env);
	put("status-cwd-fd", CWD_FD, 0, "relative/dir", NULL, status, none);
	put("odd-bytes", CWD_FD | STORE_OPT, 0777, "/", "", odd, odd_env);
	return 0;
}
