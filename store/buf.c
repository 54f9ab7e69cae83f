/*
 * buf.c - the growable byte buffer (struct vs_buf) and the bounds-checked
 * decoding cursor (struct vs_cursor).
 *
 * Every encoder in store/ appends to a vs_buf; every decoder reads through a
 * vs_cursor, so no parser walks raw pointers.  The invariants of vs_buf are
 * listed in buf.h; vs_buf_invariants() checks them.  cap counts the
 * allocated bytes including the terminating NUL (git's strbuf "alloc"), and
 * is 0 exactly when data points at the shared, never written vs_buf_empty.
 *
 * Varints are unsigned LEB128: seven bits per byte, least significant group
 * first, the high bit set on every byte but the last.  The cursor accepts only
 * the minimal encoding of a value (no trailing 0x00 group, at most 10 bytes,
 * no bits beyond 64), which is what makes object encodings canonical.
 */
#include "buf.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

char vs_buf_empty[1];

#define VS_VARINT_MAX 10

/* Unused when NDEBUG drops the asserts. */
__attribute__((unused))
static bool vs_buf_invariants(const struct vs_buf *b)
{
	if (!b->data)
		return false;
	if (b->cap == 0)
		return b->data == vs_buf_empty && b->len == 0 && !b->data[0];
	return b->len < b->cap && b->data[b->len] == '\0';
}

static void *vs_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		abort();
	return q;
}

void vs_buf_init(struct vs_buf *b, size_t hint)
{
	b->data = vs_buf_empty;
	b->len = 0;
	b->cap = 0;
	if (hint)
		vs_buf_grow(b, hint);
}

void vs_buf_release(struct vs_buf *b)
{
	if (b->cap)
		free(b->data);
	vs_buf_init(b, 0);
}

char *vs_buf_detach(struct vs_buf *b, size_t *len)
{
	char *ret;

	assert(vs_buf_invariants(b));
	if (len)
		*len = b->len;
	if (!b->cap)
		vs_buf_grow(b, 0);
	ret = b->data;
	vs_buf_init(b, 0);
	return ret;
}

void vs_buf_grow(struct vs_buf *b, size_t extra)
{
	bool was_empty = b->cap == 0;
	size_t need, cap;

	if (extra > SIZE_MAX - 1 - b->len)
		abort();
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap + cap / 2;
	b->data = vs_xrealloc(was_empty ? NULL : b->data, cap);
	b->cap = cap;
	if (was_empty)
		b->data[0] = '\0';
}

void vs_buf_setlen(struct vs_buf *b, size_t len)
{
	if (len > (b->cap ? b->cap - 1 : 0))
		abort();
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
	assert(vs_buf_invariants(b));
}

void vs_buf_reset(struct vs_buf *b)
{
	vs_buf_setlen(b, 0);
}

void vs_buf_add(struct vs_buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	vs_buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	vs_buf_setlen(b, b->len + len);
}

void vs_buf_addch(struct vs_buf *b, int c)
{
	vs_buf_grow(b, 1);
	b->data[b->len] = (char)c;
	vs_buf_setlen(b, b->len + 1);
}

void vs_buf_addstr(struct vs_buf *b, const char *s)
{
	vs_buf_add(b, s, strlen(s));
}

void vs_buf_addf(struct vs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	vs_buf_grow(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if ((size_t)n >= b->cap - b->len) {
		vs_buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0 || (size_t)n >= b->cap - b->len)
			abort();
	}
	vs_buf_setlen(b, b->len + (size_t)n);
}

void vs_buf_add_varint(struct vs_buf *b, uint64_t v)
{
	uint8_t tmp[VS_VARINT_MAX];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	vs_buf_add(b, tmp, n);
}

void vs_buf_add_bytes(struct vs_buf *b, const void *data, size_t len)
{
	vs_buf_add_varint(b, len);
	vs_buf_add(b, data, len);
}

void vs_buf_add_u64be(struct vs_buf *b, uint64_t v)
{
	uint8_t tmp[8];
	int i;

	for (i = 7; i >= 0; i--) {
		tmp[i] = (uint8_t)v;
		v >>= 8;
	}
	vs_buf_add(b, tmp, sizeof(tmp));
}

/* --- cursor --------------------------------------------------------- */

static const uint8_t vs_cursor_nothing[1];

void vs_cursor_init(struct vs_cursor *c, const void *data, size_t len)
{
	c->p = data ? data : vs_cursor_nothing;
	c->len = data ? len : 0;
	c->off = 0;
	c->bad = false;
}

bool vs_cursor_ok(const struct vs_cursor *c)
{
	return !c->bad;
}

size_t vs_cursor_left(const struct vs_cursor *c)
{
	return c->bad ? 0 : c->len - c->off;
}

/* Unused when NDEBUG drops the asserts. */
__attribute__((unused))
static bool vs_cursor_invariants(const struct vs_cursor *c)
{
	return c->p && c->off <= c->len;
}

const uint8_t *vs_cursor_take(struct vs_cursor *c, size_t n)
{
	const uint8_t *p;

	assert(vs_cursor_invariants(c));
	if (c->bad || n > c->len - c->off) {
		c->bad = true;
		return NULL;
	}
	p = c->p + c->off;
	c->off += n;
	return p;
}

uint8_t vs_cursor_u8(struct vs_cursor *c)
{
	const uint8_t *p = vs_cursor_take(c, 1);

	return p ? p[0] : 0;
}

uint64_t vs_cursor_u64be(struct vs_cursor *c)
{
	const uint8_t *p = vs_cursor_take(c, 8);
	uint64_t v = 0;
	int i;

	if (!p)
		return 0;
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

uint64_t vs_cursor_varint(struct vs_cursor *c)
{
	uint64_t v = 0;
	size_t i;
	uint8_t byte;

	if (c->bad)
		return 0;
	for (i = 0; i < VS_VARINT_MAX; i++) {
		if (c->off >= c->len)
			goto fail;
		byte = c->p[c->off++];
		/* The tenth byte holds bit 63 only. */
		if (i == VS_VARINT_MAX - 1 && byte > 1)
			goto fail;
		v |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			/* A zero last group means a shorter encoding existed. */
			if (i > 0 && byte == 0)
				goto fail;
			return v;
		}
	}
fail:
	c->bad = true;
	return 0;
}

const uint8_t *vs_cursor_bytes(struct vs_cursor *c, size_t *len)
{
	uint64_t n = vs_cursor_varint(c);
	const uint8_t *p;

	if (c->bad || n > c->len - c->off) {
		c->bad = true;
		*len = 0;
		return NULL;
	}
	p = vs_cursor_take(c, (size_t)n);
	*len = (size_t)n;
	return p;
}
