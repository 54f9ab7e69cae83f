/*
 * fuzz_pack.c - fuzz target for the remote's byte parsers
 * (store/remote/pack.h): vs_pack_decode(), vs_pack_index_decode(),
 * vs_pack_trailer_decode() and vs_manifest_decode(), each given every
 * input.
 *
 * Any input a decoder accepts must be canonical: a pack rebuilt from its
 * decoded entries with the pack writer is the input byte for byte, an
 * index or a manifest encodes back to the input, and decoding that again
 * succeeds.  Every decoded entry lies inside the input (a pack) or inside
 * a pack of the size the manifest states.  Built with libFuzzer, or with
 * tests/fuzz/driver.c under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pack.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_pack(const uint8_t *data, size_t size)
{
	struct vs_pack_writer w;
	struct vs_pack_index x;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_id name;
	size_t i;

	if (vs_pack_decode(&x, data, size))
		return;
	vs_pack_writer_init(&w, x.kind);
	for (i = 0; i < x.count; i++) {
		const struct vs_pack_entry *e = &x.entries[i];

		if (e->off > size || e->len > size - e->off)
			abort();
		if (!vs_pack_type_fits(x.kind, e->type))
			abort();
		vs_pack_add(&w, e->type, &e->id, data + e->off, e->len);
	}
	vs_pack_finish(&w, &out, &name);
	if (out.len != size || memcmp(out.data, data, size))
		abort();
	vs_pack_writer_release(&w);
	vs_pack_index_release(&x);
	vs_buf_release(&out);
}

static void check_index(const uint8_t *data, size_t size)
{
	struct vs_buf out = VS_BUF_INIT;
	struct vs_pack_index x, y;
	uint64_t end;

	if (vs_pack_index_decode(&x, data, size, &end))
		return;
	if (x.count && x.entries[x.count - 1].off +
			       x.entries[x.count - 1].len != end)
		abort();
	vs_pack_index_encode(x.entries, x.count, &out);
	if (out.len != size || memcmp(out.data, data, size))
		abort();
	if (vs_pack_index_decode(&y, out.data, out.len, NULL))
		abort();
	vs_pack_index_release(&y);
	vs_pack_index_release(&x);
	vs_buf_release(&out);
}

static void check_manifest(const uint8_t *data, size_t size)
{
	struct vs_buf out = VS_BUF_INIT;
	struct vs_manifest m, n;
	size_t i, j;

	if (vs_manifest_decode(&m, data, size))
		return;
	for (i = 0; i < m.npacks; i++) {
		const struct vs_manifest_pack *p = &m.packs[i];

		for (j = 0; j < p->count; j++) {
			const struct vs_pack_entry *e = &p->entries[j];

			if (e->off < VS_PACK_HEADER_LEN || e->len == 0 ||
			    e->off > p->size || e->len > p->size - e->off ||
			    !vs_pack_type_fits(p->kind, e->type))
				abort();
		}
	}
	vs_manifest_encode(&m, &out);
	if (out.len != size || memcmp(out.data, data, size))
		abort();
	if (vs_manifest_decode(&n, out.data, out.len))
		abort();
	vs_manifest_release(&n);
	vs_manifest_release(&m);
	vs_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ilen;
	struct vs_id h;

	check_pack(data, size);
	check_index(data, size);
	check_manifest(data, size);
	if (size >= VS_PACK_TRAILER_LEN)
		(void)vs_pack_trailer_decode(data + size - VS_PACK_TRAILER_LEN,
					     VS_PACK_TRAILER_LEN, &ilen, &h);
	return 0;
}
