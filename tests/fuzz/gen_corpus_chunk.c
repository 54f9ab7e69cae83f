/*
 * gen_corpus_chunk.c - writes the seed corpus of fuzz_chunk:
 * tests/fuzz/corpus/chunk/, one stored value per codec (byte planes of
 * float32-like data, zstd of text, raw of noise) and a planes value of an
 * odd length, each without and (name-sum) with the checksum of format 3.
 *
 * Not built by default; run it by hand when the chunk encoding changes:
 *   cc -std=c11 -D_GNU_SOURCE -Istore store/error.c store/buf.c \
 *      store/compress.c store/planes.c store/codec.c \
 *      tests/fuzz/gen_corpus_chunk.c -lzstd -lxxhash -lm \
 *      -o /tmp/gen_corpus_chunk &&
 *   /tmp/gen_corpus_chunk tests/fuzz/corpus/chunk
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "compress.h"
#include "banned.h"

static const char *root;

static void put_one(const char *name, const uint8_t *data, size_t len,
		    unsigned flags, struct vs_zctx *z)
{
	struct vs_buf val = VS_BUF_INIT;
	char path[4096];
	FILE *f;

	if (vs_codec_encode(z, data, len, flags, &val))
		exit(1);
	snprintf(path, sizeof(path), "%s/%s%s", root, name,
		 flags & VS_CODEC_CHECKSUM ? "-sum" : "");
	f = fopen(path, "wb");
	if (!f || fwrite(val.data, 1, val.len, f) != val.len || fclose(f)) {
		perror(path);
		exit(1);
	}
	vs_buf_release(&val);
}

static void put(const char *name, const uint8_t *data, size_t len,
		struct vs_zctx *z)
{
	put_one(name, data, len, VS_CODEC_ALLOW_PLANES, z);
	put_one(name, data, len, VS_CODEC_ALLOW_PLANES | VS_CODEC_CHECKSUM, z);
}

int main(int argc, char **argv)
{
	static uint8_t data[20003];
	struct vs_zctx *z = vs_zctx_new(1);
	uint32_t x = 1;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus_chunk DIR\n");
		return 2;
	}
	root = argv[1];
	/* float32-like: a small exponent range, noisy mantissas. */
	for (i = 0; i + 4 <= sizeof(data); i += 4) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 24);
		data[i + 1] = (uint8_t)(x >> 16);
		data[i + 2] = (uint8_t)(x >> 8);
		data[i + 3] = (uint8_t)(0x3c + (x >> 30));
	}
	put("planes", data, 20000, z);
	put("planes-odd", data, 20003 - 3 + 1, z);
	for (i = 0; i < 3000; i++)
		data[i] = (uint8_t)"tensor epoch loss\n"[i % 18];
	put("zstd", data, 3000, z);
	for (i = 0; i < 512; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 24);
	}
	put("raw", data, 512, z);
	put("empty", data, 0, z);
	vs_zctx_free(z);
	return 0;
}
