/*
 * fuzz_tag.c - fuzz target for vs_tag_decode().
 *
 * Any input the decoder accepts must be canonical (encode(decode(x)) == x,
 * and decoding that again gives the same bytes), with metadata keys
 * non-empty and strictly increasing.  Built with libFuzzer, or with
 * tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "object.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_buf enc = VS_BUF_INIT, again = VS_BUF_INIT;
	struct vs_tag t, u;
	size_t i;

	if (vs_tag_decode(&t, data, size))
		return 0;
	if (!t.author || !t.message)
		abort();
	for (i = 0; i < t.nmeta; i++)
		if (!t.meta[i].key[0] ||
		    (i && strcmp(t.meta[i - 1].key, t.meta[i].key) >= 0))
			abort();
	vs_tag_encode(&t, &enc);
	if (enc.len != size || memcmp(enc.data, data, size))
		abort();
	if (vs_tag_decode(&u, enc.data, enc.len))
		abort();
	vs_tag_encode(&u, &again);
	if (again.len != enc.len || memcmp(again.data, enc.data, enc.len))
		abort();
	vs_tag_release(&u);
	vs_tag_release(&t);
	vs_buf_release(&again);
	vs_buf_release(&enc);
	return 0;
}
