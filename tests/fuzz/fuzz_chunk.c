/*
 * fuzz_chunk.c - fuzz target for vs_codec_decode(), the decoder of stored
 * chunk values (raw, zstd, byte planes).
 *
 * Any input is rejected with VS_E_CORRUPT and an empty output, or decodes to
 * at most VS_CODEC_MAX_RAW bytes; then encoding those bytes (with planes
 * allowed, and a checksum if the input had one) and decoding again must give
 * them back exactly.  Built with
 * libFuzzer, or with tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "codec.h"
#include "compress.h"
#include "error.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vs_zctx *zctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf out = VS_BUF_INIT, val = VS_BUF_INIT, again = VS_BUF_INIT;
	int r;

	if (!zctx)
		zctx = vs_zctx_new(1);
	r = vs_codec_decode(zctx, data, size, &out);
	if (r != 0) {
		if (r != VS_E_CORRUPT || out.len)
			abort();
		goto out;
	}
	if (out.len > VS_CODEC_MAX_RAW)
		abort();
	if (vs_codec_encode(zctx, out.data, out.len,
			    VS_CODEC_ALLOW_PLANES |
			    (vs_codec_has_checksum(data, size) ?
				     VS_CODEC_CHECKSUM : 0), &val))
		abort();
	if (vs_codec_decode(zctx, val.data, val.len, &again) ||
	    again.len != out.len || memcmp(again.data, out.data, out.len))
		abort();
out:
	vs_buf_release(&again);
	vs_buf_release(&val);
	vs_buf_release(&out);
	return 0;
}
