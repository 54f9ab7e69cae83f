/*
 * pack.c - packs and manifests: the encodings of pack.h, written by push
 * and read by pull (remote.c).
 *
 * Encoders write the canonical form and assert it; decoders accept exactly
 * that form (pack.h note 2), so for every input a decoder accepts,
 * encoding the result gives the input back byte for byte
 * (tests/fuzz/fuzz_pack.c checks this).  A failed decode leaves its output
 * released: nothing to free.
 */
#include "pack.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "xalloc.h"
#include "banned.h"

bool vs_pack_type_fits(int kind, int type)
{
	if (kind == VS_PACK_DATA)
		return type == VS_PACK_CHUNK;
	if (kind == VS_PACK_META)
		return type == VS_PACK_OBJECT || type == VS_PACK_RUN;
	return false;
}

static bool type_known(int type)
{
	return type == VS_PACK_CHUNK || type == VS_PACK_OBJECT ||
	       type == VS_PACK_RUN;
}

static int entry_cmp_key(const struct vs_pack_entry *a,
			 const struct vs_pack_entry *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return vs_id_cmp(&a->id, &b->id);
}

static int entry_qsort_key(const void *a, const void *b)
{
	return entry_cmp_key(a, b);
}

static int entry_qsort_off(const void *a, const void *b)
{
	const struct vs_pack_entry *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* True if <e, n> names some (type, id) twice. */
static bool has_duplicates(const struct vs_pack_entry *e, size_t n)
{
	struct vs_pack_entry *copy;
	bool dup = false;
	size_t i;

	if (n < 2)
		return false;
	copy = vs_xreallocarray(NULL, n, sizeof(*copy));
	memcpy(copy, e, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), entry_qsort_key);
	for (i = 1; i < n && !dup; i++)
		dup = entry_cmp_key(&copy[i - 1], &copy[i]) == 0;
	free(copy);
	return dup;
}

/* --- writing ------------------------------------------------------------- */

static void add_header(struct vs_pack_writer *w)
{
	vs_buf_add(&w->buf, VS_PACK_MAGIC, 8);
	vs_buf_addch(&w->buf, VS_PACK_VERSION);
	vs_buf_addch(&w->buf, w->kind);
}

void vs_pack_writer_init(struct vs_pack_writer *w, enum vs_pack_kind kind)
{
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	vs_buf_init(&w->buf, 0);
}

void vs_pack_writer_release(struct vs_pack_writer *w)
{
	int kind = w->kind;

	vs_buf_release(&w->buf);
	free(w->entries);
	vs_pack_writer_init(w, kind);
}

void vs_pack_add(struct vs_pack_writer *w, enum vs_pack_entry_type type,
		 const struct vs_id *id, const void *data, size_t len)
{
	struct vs_pack_entry *e;

	assert(vs_pack_type_fits(w->kind, type) && len >= 1);
	if (w->buf.len == 0)
		add_header(w);
	if (w->count == w->alloc) {
		w->alloc = w->alloc ? w->alloc * 2 : 64;
		w->entries = vs_xreallocarray(w->entries, w->alloc,
					      sizeof(*w->entries));
	}
	e = &w->entries[w->count++];
	e->type = type;
	e->id = *id;
	e->off = w->buf.len;
	e->len = len;
	vs_buf_add(&w->buf, data, len);
}

size_t vs_pack_writer_size(const struct vs_pack_writer *w)
{
	return w->buf.len;
}

void vs_pack_index_encode(const struct vs_pack_entry *e, size_t n,
			  struct vs_buf *out)
{
	size_t i;

	vs_buf_addch(out, VS_PACK_INDEX_TYPE);
	vs_buf_addch(out, VS_PACK_VERSION);
	vs_buf_add_varint(out, n);
	for (i = 0; i < n; i++) {
		assert(type_known(e[i].type) && e[i].len >= 1);
		vs_buf_addch(out, e[i].type);
		vs_buf_add(out, e[i].id.b, VS_ID_LEN);
		vs_buf_add_varint(out, e[i].len);
	}
}

void vs_pack_finish(struct vs_pack_writer *w, struct vs_buf *out,
		    struct vs_id *name)
{
	struct vs_id ihash;
	size_t start;

	if (w->buf.len == 0)
		add_header(w);
	start = w->buf.len;
	vs_pack_index_encode(w->entries, w->count, &w->buf);
	vs_hash(w->buf.data + start, w->buf.len - start, &ihash);
	vs_buf_add_u64be(&w->buf, w->buf.len - start);
	vs_buf_add(&w->buf, ihash.b, VS_ID_LEN);
	vs_buf_add(&w->buf, VS_PACK_END_MAGIC, 8);
	vs_hash(w->buf.data, w->buf.len, name);
	vs_buf_release(out);
	*out = w->buf;
	vs_buf_init(&w->buf, 0);
	/* The entries stay readable until the next add (pack.h). */
	w->count = 0;
}

/* --- reading ------------------------------------------------------------- */

void vs_pack_index_init(struct vs_pack_index *x)
{
	memset(x, 0, sizeof(*x));
}

void vs_pack_index_release(struct vs_pack_index *x)
{
	free(x->entries);
	vs_pack_index_init(x);
}

int vs_pack_index_decode(struct vs_pack_index *x, const void *data,
			 size_t len, uint64_t *end)
{
	struct vs_cursor c;
	uint64_t count, off = VS_PACK_HEADER_LEN;
	size_t i;
	int ver;

	vs_pack_index_init(x);
	vs_cursor_init(&c, data, len);
	if (vs_cursor_u8(&c) != VS_PACK_INDEX_TYPE)
		return VS_E_CORRUPT;
	ver = vs_cursor_u8(&c);
	if (!vs_cursor_ok(&c) || ver == 0)
		return VS_E_CORRUPT;
	if (ver > VS_PACK_VERSION)
		return VS_E_VERSION;
	count = vs_cursor_varint(&c);
	if (!vs_cursor_ok(&c) || count > vs_cursor_left(&c) / VS_PACK_ENTRY_MIN)
		return VS_E_CORRUPT;
	if (count)
		x->entries = vs_xreallocarray(NULL, count, sizeof(*x->entries));
	x->count = count;
	for (i = 0; i < count; i++) {
		struct vs_pack_entry *e = &x->entries[i];
		const uint8_t *id;

		e->type = vs_cursor_u8(&c);
		id = vs_cursor_take(&c, VS_ID_LEN);
		e->len = vs_cursor_varint(&c);
		if (!vs_cursor_ok(&c) || !type_known(e->type) || e->len == 0 ||
		    e->len > UINT64_MAX / 2 - off)
			goto corrupt;
		memcpy(e->id.b, id, VS_ID_LEN);
		e->off = off;
		off += e->len;
	}
	if (vs_cursor_left(&c) != 0 || has_duplicates(x->entries, x->count))
		goto corrupt;
	if (end)
		*end = off;
	return 0;
corrupt:
	vs_pack_index_release(x);
	return VS_E_CORRUPT;
}

int vs_pack_trailer_decode(const void *trailer, size_t len,
			   uint64_t *index_len, struct vs_id *index_hash)
{
	struct vs_cursor c;
	const uint8_t *h, *magic;

	if (len != VS_PACK_TRAILER_LEN)
		return VS_E_CORRUPT;
	vs_cursor_init(&c, trailer, len);
	*index_len = vs_cursor_u64be(&c);
	h = vs_cursor_take(&c, VS_ID_LEN);
	magic = vs_cursor_take(&c, 8);
	if (!vs_cursor_ok(&c) || memcmp(magic, VS_PACK_END_MAGIC, 8))
		return VS_E_CORRUPT;
	memcpy(index_hash->b, h, VS_ID_LEN);
	return 0;
}

int vs_pack_decode(struct vs_pack_index *x, const void *pack, size_t len)
{
	const uint8_t *p = pack;
	struct vs_id ihash, check;
	uint64_t ilen, end;
	size_t istart;
	size_t i;
	int r;

	vs_pack_index_init(x);
	if (len < VS_PACK_HEADER_LEN + VS_PACK_TRAILER_LEN ||
	    memcmp(p, VS_PACK_MAGIC, 8))
		return VS_E_CORRUPT;
	if (p[8] == 0)
		return VS_E_CORRUPT;
	if (p[8] > VS_PACK_VERSION)
		return VS_E_VERSION;
	if (p[9] != VS_PACK_DATA && p[9] != VS_PACK_META)
		return VS_E_CORRUPT;
	r = vs_pack_trailer_decode(p + len - VS_PACK_TRAILER_LEN,
				   VS_PACK_TRAILER_LEN, &ilen, &ihash);
	if (r < 0)
		return r;
	if (ilen > len - VS_PACK_HEADER_LEN - VS_PACK_TRAILER_LEN)
		return VS_E_CORRUPT;
	istart = len - VS_PACK_TRAILER_LEN - (size_t)ilen;
	vs_hash(p + istart, (size_t)ilen, &check);
	if (!vs_id_equal(&check, &ihash))
		return VS_E_CORRUPT;
	r = vs_pack_index_decode(x, p + istart, (size_t)ilen, &end);
	if (r < 0)
		return r;
	x->kind = p[9];
	if (end != istart)
		goto corrupt;
	for (i = 0; i < x->count; i++)
		if (!vs_pack_type_fits(x->kind, x->entries[i].type))
			goto corrupt;
	return 0;
corrupt:
	vs_pack_index_release(x);
	return VS_E_CORRUPT;
}

/* --- manifests ----------------------------------------------------------- */

/* The smallest encoding of a manifest pack with no entries. */
#define VS_MANIFEST_PACK_MIN (VS_ID_LEN + 1 + 1 + 1)
/* Where a pack's bodies may end: before the trailer and the smallest
 * index ('I', version, count). */
#define VS_PACK_OVERHEAD (VS_PACK_HEADER_LEN + VS_PACK_TRAILER_LEN + 3)

void vs_manifest_init(struct vs_manifest *m)
{
	memset(m, 0, sizeof(*m));
}

void vs_manifest_release(struct vs_manifest *m)
{
	size_t i;

	for (i = 0; i < m->npacks; i++)
		free(m->packs[i].entries);
	free(m->packs);
	free(m->replaced);
	vs_manifest_init(m);
}

/* True if e fits a pack of kind and size (pack.h note 2). */
static bool entry_fits(const struct vs_pack_entry *e, int kind, uint64_t size)
{
	return vs_pack_type_fits(kind, e->type) && e->len >= 1 &&
	       size >= VS_PACK_OVERHEAD && e->off >= VS_PACK_HEADER_LEN &&
	       e->off <= size - VS_PACK_OVERHEAD + VS_PACK_HEADER_LEN &&
	       e->len <= size - VS_PACK_OVERHEAD + VS_PACK_HEADER_LEN - e->off;
}

struct vs_manifest_pack *vs_manifest_add(struct vs_manifest *m,
					 const struct vs_id *id, int kind,
					 uint64_t size,
					 const struct vs_pack_entry *e,
					 size_t n)
{
	struct vs_manifest_pack *p;
	size_t i;

	for (i = 0; i < n; i++)
		assert(entry_fits(&e[i], kind, size));
	if (m->npacks == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 16;
		m->packs = vs_xreallocarray(m->packs, m->alloc,
					    sizeof(*m->packs));
	}
	p = &m->packs[m->npacks++];
	p->id = *id;
	p->kind = kind;
	p->size = size;
	p->count = n;
	p->entries = n ? vs_xreallocarray(NULL, n, sizeof(*e)) : NULL;
	if (n)
		memcpy(p->entries, e, n * sizeof(*e));
	return p;
}

void vs_manifest_add_replaced(struct vs_manifest *m, const struct vs_id *id)
{
	m->replaced = vs_xreallocarray(m->replaced, m->nreplaced + 1,
				       sizeof(*m->replaced));
	m->replaced[m->nreplaced++] = *id;
}

static int pack_qsort_id(const void *a, const void *b)
{
	const struct vs_manifest_pack *x = a, *y = b;

	return vs_id_cmp(&x->id, &y->id);
}

static int id_qsort(const void *a, const void *b)
{
	return vs_id_cmp(a, b);
}

/* Sorts p's entries by offset and drops repeats and overlaps. */
static void pack_normalize(struct vs_manifest_pack *p)
{
	size_t i, n = 0;

	if (p->count > 1)
		qsort(p->entries, p->count, sizeof(*p->entries),
		      entry_qsort_off);
	for (i = 0; i < p->count; i++) {
		if (n && p->entries[i].off <
				 p->entries[n - 1].off + p->entries[n - 1].len)
			continue;
		p->entries[n++] = p->entries[i];
	}
	p->count = n;
}

void vs_manifest_normalize(struct vs_manifest *m)
{
	size_t i, n = 0;

	if (m->npacks > 1)
		qsort(m->packs, m->npacks, sizeof(*m->packs), pack_qsort_id);
	for (i = 0; i < m->npacks; i++) {
		struct vs_manifest_pack *p = &m->packs[i], *q;

		if (n && vs_id_equal(&m->packs[n - 1].id, &p->id)) {
			q = &m->packs[n - 1];
			q->entries = vs_xreallocarray(q->entries,
						      q->count + p->count,
						      sizeof(*q->entries));
			if (p->count)
				memcpy(q->entries + q->count, p->entries,
				       p->count * sizeof(*p->entries));
			q->count += p->count;
			free(p->entries);
			continue;
		}
		m->packs[n++] = *p;
	}
	m->npacks = n;
	for (i = 0; i < m->npacks; i++)
		pack_normalize(&m->packs[i]);
	if (m->nreplaced > 1)
		qsort(m->replaced, m->nreplaced, sizeof(*m->replaced),
		      id_qsort);
	for (i = 0, n = 0; i < m->nreplaced; i++)
		if (!n || !vs_id_equal(&m->replaced[n - 1], &m->replaced[i]))
			m->replaced[n++] = m->replaced[i];
	m->nreplaced = n;
}

void vs_manifest_encode(const struct vs_manifest *m, struct vs_buf *out)
{
	size_t i, j;

	vs_buf_addch(out, VS_MANIFEST_TYPE);
	vs_buf_addch(out, VS_MANIFEST_VERSION);
	vs_buf_add_varint(out, m->npacks);
	for (i = 0; i < m->npacks; i++) {
		const struct vs_manifest_pack *p = &m->packs[i];

		assert(!i || vs_id_cmp(&m->packs[i - 1].id, &p->id) < 0);
		vs_buf_add(out, p->id.b, VS_ID_LEN);
		vs_buf_addch(out, p->kind);
		vs_buf_add_varint(out, p->size);
		vs_buf_add_varint(out, p->count);
		for (j = 0; j < p->count; j++) {
			const struct vs_pack_entry *e = &p->entries[j];

			assert(entry_fits(e, p->kind, p->size));
			assert(!j || e->off >= p->entries[j - 1].off +
						       p->entries[j - 1].len);
			vs_buf_addch(out, e->type);
			vs_buf_add(out, e->id.b, VS_ID_LEN);
			vs_buf_add_varint(out, e->off);
			vs_buf_add_varint(out, e->len);
		}
	}
	vs_buf_add_varint(out, m->nreplaced);
	for (i = 0; i < m->nreplaced; i++) {
		assert(!i || vs_id_cmp(&m->replaced[i - 1], &m->replaced[i]) < 0);
		vs_buf_add(out, m->replaced[i].b, VS_ID_LEN);
	}
}

static int decode_pack(struct vs_cursor *c, struct vs_manifest_pack *p)
{
	const uint8_t *id;
	uint64_t count;
	size_t j;

	id = vs_cursor_take(c, VS_ID_LEN);
	p->kind = vs_cursor_u8(c);
	p->size = vs_cursor_varint(c);
	count = vs_cursor_varint(c);
	if (!vs_cursor_ok(c) ||
	    (p->kind != VS_PACK_DATA && p->kind != VS_PACK_META) ||
	    count > vs_cursor_left(c) / (VS_PACK_ENTRY_MIN + 1))
		return VS_E_CORRUPT;
	memcpy(p->id.b, id, VS_ID_LEN);
	p->entries = count ? vs_xreallocarray(NULL, count, sizeof(*p->entries))
			   : NULL;
	p->count = count;
	for (j = 0; j < count; j++) {
		struct vs_pack_entry *e = &p->entries[j];

		e->type = vs_cursor_u8(c);
		id = vs_cursor_take(c, VS_ID_LEN);
		e->off = vs_cursor_varint(c);
		e->len = vs_cursor_varint(c);
		if (!vs_cursor_ok(c) || !entry_fits(e, p->kind, p->size))
			return VS_E_CORRUPT;
		if (j && e->off < p->entries[j - 1].off + p->entries[j - 1].len)
			return VS_E_CORRUPT;
		memcpy(e->id.b, id, VS_ID_LEN);
	}
	return 0;
}

int vs_manifest_decode(struct vs_manifest *m, const void *data, size_t len)
{
	struct vs_cursor c;
	uint64_t n;
	size_t i;
	int ver, r = VS_E_CORRUPT;

	vs_manifest_init(m);
	vs_cursor_init(&c, data, len);
	if (vs_cursor_u8(&c) != VS_MANIFEST_TYPE)
		return VS_E_CORRUPT;
	ver = vs_cursor_u8(&c);
	if (!vs_cursor_ok(&c) || ver == 0)
		return VS_E_CORRUPT;
	if (ver > VS_MANIFEST_VERSION)
		return VS_E_VERSION;
	n = vs_cursor_varint(&c);
	if (!vs_cursor_ok(&c) || n > vs_cursor_left(&c) / VS_MANIFEST_PACK_MIN)
		return VS_E_CORRUPT;
	if (n)
		m->packs = vs_xcalloc(n, sizeof(*m->packs));
	m->alloc = n;
	for (i = 0; i < n; i++) {
		m->npacks = i + 1;
		r = decode_pack(&c, &m->packs[i]);
		if (r < 0)
			goto fail;
		r = VS_E_CORRUPT;
		if (i && vs_id_cmp(&m->packs[i - 1].id, &m->packs[i].id) >= 0)
			goto fail;
	}
	n = vs_cursor_varint(&c);
	if (!vs_cursor_ok(&c) || n > vs_cursor_left(&c) / VS_ID_LEN)
		goto fail;
	if (n)
		m->replaced = vs_xreallocarray(NULL, n, sizeof(*m->replaced));
	for (i = 0; i < n; i++) {
		const uint8_t *id = vs_cursor_take(&c, VS_ID_LEN);

		if (!id)
			goto fail;
		memcpy(m->replaced[i].b, id, VS_ID_LEN);
		m->nreplaced = i + 1;
		if (i && vs_id_cmp(&m->replaced[i - 1], &m->replaced[i]) >= 0)
			goto fail;
	}
	if (!vs_cursor_ok(&c) || vs_cursor_left(&c) != 0)
		goto fail;
	return 0;
fail:
	vs_manifest_release(m);
	return r;
}
