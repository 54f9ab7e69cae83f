/*
 * gen_corpus_pack.c - writes the seed corpus of fuzz_pack:
 * tests/fuzz/corpus/pack/, a few valid packs, pack indexes and manifests.
 *
 * Not built by default; run it by hand when a pack.h encoding changes:
 *   cc -std=c11 -D_GNU_SOURCE -Istore -Istore/remote store/error.c \
 *      store/buf.c store/hash.c store/xalloc.c store/remote/pack.c \
 *      tests/fuzz/gen_corpus_pack.c -lcrypto -o /tmp/gen_corpus_pack && \
 *      /tmp/gen_corpus_pack tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"
#include "pack.h"
#include "banned.h"

static const char *root;

static void put(const char *name, const struct vs_buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/pack/%s", root, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void add(struct vs_pack_writer *w, enum vs_pack_entry_type type,
		const char *text)
{
	struct vs_id id;

	vs_hash(text, strlen(text), &id);
	vs_pack_add(w, type, &id, text, strlen(text));
}

int main(int argc, char **argv)
{
	struct vs_buf b = VS_BUF_INIT, idx = VS_BUF_INIT;
	struct vs_pack_writer w;
	struct vs_manifest m;
	struct vs_id name, other;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];

	vs_pack_writer_init(&w, VS_PACK_DATA);
	vs_pack_finish(&w, &b, &name);
	put("data-empty", &b);

	/* Entry bytes need not decode for the pack layer (pack.h note 3). */
	add(&w, VS_PACK_CHUNK, "\x01\x05hello");
	add(&w, VS_PACK_CHUNK, "\x01\x03" "abc");
	add(&w, VS_PACK_CHUNK, "another chunk value of some length");
	vs_pack_finish(&w, &b, &name);
	put("data-three", &b);

	vs_manifest_init(&m);
	vs_manifest_add(&m, &name, VS_PACK_DATA, b.len, w.entries, 3);
	vs_pack_index_encode(w.entries, 3, &idx);
	put("index-three", &idx);
	vs_pack_writer_release(&w);

	vs_pack_writer_init(&w, VS_PACK_META);
	add(&w, VS_PACK_OBJECT, "C\x01 a commit, say");
	add(&w, VS_PACK_OBJECT, "T\x01\x01");
	add(&w, VS_PACK_RUN, "R\x01 a run record");
	vs_pack_finish(&w, &b, &name);
	put("meta-three", &b);
	/* A subset of the meta pack's entries (pack.h note 4). */
	vs_manifest_add(&m, &name, VS_PACK_META, b.len, w.entries + 1, 2);
	vs_hash("replaced", 8, &other);
	vs_manifest_add_replaced(&m, &other);
	vs_manifest_normalize(&m);
	vs_buf_reset(&b);
	vs_manifest_encode(&m, &b);
	put("manifest-two", &b);
	vs_manifest_release(&m);

	vs_manifest_init(&m);
	vs_buf_reset(&b);
	vs_manifest_encode(&m, &b);
	put("manifest-empty", &b);

	vs_pack_writer_release(&w);
	vs_buf_release(&b);
	vs_buf_release(&idx);
	return 0;
}
