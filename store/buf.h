/*
 * buf.h - the growable byte buffer and the bounds-checked decoding cursor.
 *
 * struct vs_buf follows git's strbuf invariants:
 *   1. data is never NULL: an empty buffer points at a shared "" slot;
 *   2. data[len] == '\0' always, so text can be used as a C string;
 *   3. vs_buf_detach() hands the memory to the caller (free with free());
 *   4. vs_buf_release() frees and leaves the buffer as after vs_buf_init().
 * Allocation failure aborts (as git's xmalloc does): a storage tool that runs
 * out of memory mid-write has no better recovery than the crash-safe restart.
 *
 * struct vs_cursor reads encoded objects.  Every getter checks the remaining
 * length; the first failure sets cur->bad and all later gets fail too, so a
 * decoder can read a whole record and test vs_cursor_ok() once.
 */
#ifndef VS_BUF_H
#define VS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vs_buf {
	char *data;
	size_t len;
	size_t cap;
};

extern char vs_buf_empty[];
#define VS_BUF_INIT { vs_buf_empty, 0, 0 }

void vs_buf_init(struct vs_buf *b, size_t hint);
void vs_buf_release(struct vs_buf *b);
/* Returns the data (caller frees with free()); b is reset to empty. */
char *vs_buf_detach(struct vs_buf *b, size_t *len);
/* Make room for at least extra more bytes. */
void vs_buf_grow(struct vs_buf *b, size_t extra);
void vs_buf_setlen(struct vs_buf *b, size_t len);
void vs_buf_reset(struct vs_buf *b);
void vs_buf_add(struct vs_buf *b, const void *data, size_t len);
void vs_buf_addch(struct vs_buf *b, int c);
void vs_buf_addstr(struct vs_buf *b, const char *s);
void vs_buf_addf(struct vs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Unsigned LEB128. */
void vs_buf_add_varint(struct vs_buf *b, uint64_t v);
/* varint length followed by the bytes. */
void vs_buf_add_bytes(struct vs_buf *b, const void *data, size_t len);
void vs_buf_add_u64be(struct vs_buf *b, uint64_t v);

struct vs_cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool bad;
};

void vs_cursor_init(struct vs_cursor *c, const void *data, size_t len);
bool vs_cursor_ok(const struct vs_cursor *c);
size_t vs_cursor_left(const struct vs_cursor *c);
uint8_t vs_cursor_u8(struct vs_cursor *c);
uint64_t vs_cursor_u64be(struct vs_cursor *c);
/* Rejects encodings longer than 10 bytes or overflowing 64 bits. */
uint64_t vs_cursor_varint(struct vs_cursor *c);
/* Pointer to the next n bytes (borrowed from the cursor's data), or NULL. */
const uint8_t *vs_cursor_take(struct vs_cursor *c, size_t n);
/* A varint length then that many bytes; *len receives it. NULL on error. */
const uint8_t *vs_cursor_bytes(struct vs_cursor *c, size_t *len);

#endif
