/*
 * gen_corpus_stage.c - writes the seed corpus of fuzz_stage_entry:
 * tests/fuzz/corpus/stage_entry/, one staged entry of each type (with and
 * without flags, small and large numbers, an empty and a long target).
 *
 * Not built by default; run it by hand when the entry encoding changes
 * (after building the store library into build/release):
 *   cc -std=c11 -D_GNU_SOURCE -Istore tests/fuzz/gen_corpus_stage.c \
 *      build/release/libvarvestore.a -lrocksdb -lzstd -lxxhash -lcrypto \
 *      -lpthread -lm -o /tmp/gen_corpus_stage &&
 *   /tmp/gen_corpus_stage tests/fuzz/corpus/stage_entry
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "staging.h"
#include "banned.h"

static const char *root;

static void put(const char *name, const struct vs_stage_entry *e)
{
	struct vs_buf b = VS_BUF_INIT;
	struct vs_stage_entry back;
	char path[4096];
	FILE *f;

	vs_stage_entry_encode(e, &b);
	if (vs_stage_entry_decode(&back, b.data, b.len)) {
		fprintf(stderr, "%s: does not decode\n", name);
		exit(1);
	}
	vs_stage_entry_release(&back);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f)) {
		perror(path);
		exit(1);
	}
	vs_buf_release(&b);
}

int main(int argc, char **argv)
{
	char long_target[300];
	struct vs_stage_entry e;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];

	memset(&e, 0, sizeof(e));
	e.type = VS_STAGE_WHITEOUT;
	put("whiteout", &e);

	e.type = VS_STAGE_DIR;
	put("dir", &e);
	e.flags = VS_STAGE_OPAQUE;
	put("dir-opaque", &e);

	memset(&e, 0, sizeof(e));
	e.type = VS_STAGE_DATA;
	e.datafile = 1;
	put("data", &e);
	e.flags = VS_STAGE_EXEC;
	e.datafile = UINT64_MAX;
	put("data-exec-max", &e);

	memset(&e, 0, sizeof(e));
	e.type = VS_STAGE_REF;
	vs_hash("seed", 4, &e.id);
	e.size = 123456789;
	put("ref", &e);
	e.flags = VS_STAGE_EXEC;
	e.size = 0;
	put("ref-exec-empty", &e);

	memset(&e, 0, sizeof(e));
	e.type = VS_STAGE_SYMLINK;
	e.target = "../a/b/two.txt";
	put("symlink", &e);
	e.target = "";
	put("symlink-empty", &e);
	memset(long_target, 'x', sizeof(long_target) - 1);
	long_target[sizeof(long_target) - 1] = '\0';
	e.target = long_target;
	put("symlink-long", &e);
	return 0;
}
