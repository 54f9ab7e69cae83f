/*
 * object.h - the encodings of varve's objects: file, tree, commit, tag.
 *
 * DESIGN NOTES: the object encodings
 *  1. Every encoding starts with a type byte (enum vs_obj_type) and a format
 *     version byte (VS_OBJ_VERSION).  A decoder rejects an unknown type with
 *     VS_E_CORRUPT and a newer version with VS_E_VERSION.
 *  2. Integers are unsigned LEB128 varints; strings and byte strings are a
 *     varint length followed by the bytes; ids are 32 raw bytes.
 *  3. An object's id is the SHA-256 of its encoding; encodings are canonical
 *     (one value, one encoding: minimal varints, sorted entries, no padding),
 *     so equal content gives equal ids.
 *  4. Every decoder consumes its input exactly: trailing bytes, truncation,
 *     overlong varints and counts that cannot fit in the input are
 *     VS_E_CORRUPT.  Decoders are fuzzed (tests/fuzz/).
 *
 *  file   'F' ver  flags(u8)  size(varint)
 *                  flags & VS_FILE_INLINE: the size bytes of content follow
 *                  otherwise: nchunks(varint), then nchunks x (id, len varint)
 *                  where the lengths are >= 1 and sum to size.
 *         Files up to VS_FILE_INLINE_MAX bytes are inline: reading an empty
 *         or tiny file needs no chunk lookup.  A symlink's target is stored
 *         as an inline-or-chunked file object like any other content.
 *  tree   'T' ver  count(varint), then count x
 *                  type(u8) name(bytes) size(varint) id
 *         Names strictly increasing by memcmp (so unique); each is non-empty,
 *         at most 255 bytes, without '/' or NUL, and not "." or "..".
 *         size: a file's or symlink target's length; for a directory the total
 *         of file bytes below it (so a commit's logical size is O(1)).
 *  commit 'C' ver  tree id, nparents(varint) x id, time(varint, seconds since
 *                  the epoch, UTC), author(bytes), message(bytes),
 *                  nmeta(varint) x (key(bytes), value(bytes)), keys strictly
 *                  increasing, non-empty.
 *  tag    'G' ver  commit id, time(varint), author(bytes), message(bytes),
 *                  nmeta(varint) x (key, value) as in commits.
 *         A tag lives in the refs column family, not among the objects.
 */
#ifndef VS_OBJECT_H
#define VS_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

#define VS_OBJ_VERSION 1
#define VS_FILE_INLINE 0x01
#define VS_FILE_INLINE_MAX 4096
#define VS_NAME_MAX 255

enum vs_obj_type {
	VS_OBJ_FILE = 'F',
	VS_OBJ_TREE = 'T',
	VS_OBJ_COMMIT = 'C',
	VS_OBJ_TAG = 'G',
};

enum vs_entry_type {
	VS_ENTRY_FILE = 1,
	VS_ENTRY_EXEC = 2,
	VS_ENTRY_DIR = 3,
	VS_ENTRY_SYMLINK = 4,
};

/* --- file ----------------------------------------------------------- */

struct vs_chunk_ref {
	struct vs_id id;
	uint64_t len;
	uint64_t offset;	/* derived on decode: sum of earlier lengths */
};

struct vs_file {
	uint64_t size;
	/* Inline content: size bytes (owned), or NULL when chunked. */
	uint8_t *inline_data;
	size_t nchunks;
	struct vs_chunk_ref *chunks;	/* owned */
};

void vs_file_init(struct vs_file *f);
void vs_file_release(struct vs_file *f);
/* Append a chunk (fills offset). */
void vs_file_add_chunk(struct vs_file *f, const struct vs_id *id, uint64_t len);
/* Make f an inline file holding a copy of <data, len> (len <= INLINE_MAX). */
void vs_file_set_inline(struct vs_file *f, const void *data, size_t len);
void vs_file_encode(const struct vs_file *f, struct vs_buf *out);
/* 0, VS_E_CORRUPT or VS_E_VERSION.  f is initialised by the call. */
int vs_file_decode(struct vs_file *f, const void *data, size_t len);
/* Index of the chunk holding byte offset off (< size), by binary search. */
size_t vs_file_find_chunk(const struct vs_file *f, uint64_t off);

/* --- tree ----------------------------------------------------------- */

struct vs_tree_entry {
	char *name;		/* owned, NUL-terminated */
	size_t name_len;
	enum vs_entry_type type;
	uint64_t size;
	struct vs_id id;
};

struct vs_tree {
	size_t count;
	size_t alloc;
	struct vs_tree_entry *entries;	/* owned */
};

void vs_tree_init(struct vs_tree *t);
void vs_tree_release(struct vs_tree *t);
/* Append an entry (the name is copied).  Sort with vs_tree_sort(). */
void vs_tree_add(struct vs_tree *t, const char *name, size_t name_len,
		 enum vs_entry_type type, uint64_t size, const struct vs_id *id);
void vs_tree_sort(struct vs_tree *t);
/* Binary search; the entry (borrowed from t) or NULL. */
const struct vs_tree_entry *vs_tree_find(const struct vs_tree *t,
					 const char *name, size_t name_len);
/* The same over any sorted array of entries. */
const struct vs_tree_entry *vs_tree_entries_find(
	const struct vs_tree_entry *entries, size_t count, const char *name,
	size_t name_len);
/* The tree must be sorted and its names valid (asserted). */
void vs_tree_encode(const struct vs_tree *t, struct vs_buf *out);
int vs_tree_decode(struct vs_tree *t, const void *data, size_t len);
/*
 * A decoded tree for readers that keep many of them (the mount's directory
 * index): the entries and their names in one allocation of `bytes` bytes,
 * read-only.  Decoding accepts exactly what vs_tree_decode accepts.
 */
struct vs_tree_view {
	size_t count;
	struct vs_tree_entry *entries;	/* owned; names point into it */
	size_t bytes;			/* memory held */
};

void vs_tree_view_init(struct vs_tree_view *v);
void vs_tree_view_release(struct vs_tree_view *v);
/* 0, VS_E_CORRUPT or VS_E_VERSION.  v is initialised by the call. */
int vs_tree_view_decode(struct vs_tree_view *v, const void *data, size_t len);

/* The order of tree entries: memcmp of the bytes, a proper prefix first.
 * Negative, zero or positive, as memcmp. */
int vs_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* True if name is a valid entry name (see note 4 of the tree format). */
bool vs_name_valid(const char *name, size_t len);

/* --- commit and tag ------------------------------------------------- */

struct vs_meta {
	char *key;	/* owned */
	char *value;	/* owned */
};

struct vs_commit {
	struct vs_id tree;
	size_t nparents;
	struct vs_id *parents;	/* owned */
	uint64_t time;
	char *author;		/* owned, never NULL after init */
	char *message;		/* owned, never NULL after init */
	size_t nmeta;
	struct vs_meta *meta;	/* owned, sorted by key */
};

void vs_commit_init(struct vs_commit *c);
void vs_commit_release(struct vs_commit *c);
void vs_commit_add_parent(struct vs_commit *c, const struct vs_id *id);
void vs_commit_set_author(struct vs_commit *c, const char *s);
void vs_commit_set_message(struct vs_commit *c, const char *s);
/* Insert or replace key; kept sorted. */
void vs_commit_set_meta(struct vs_commit *c, const char *key,
			const char *value);
void vs_commit_encode(const struct vs_commit *c, struct vs_buf *out);
int vs_commit_decode(struct vs_commit *c, const void *data, size_t len);

struct vs_tag {
	struct vs_id commit;
	uint64_t time;
	char *author;
	char *message;
	size_t nmeta;
	struct vs_meta *meta;
};

void vs_tag_init(struct vs_tag *t);
void vs_tag_release(struct vs_tag *t);
void vs_tag_set_author(struct vs_tag *t, const char *s);
void vs_tag_set_message(struct vs_tag *t, const char *s);
void vs_tag_set_meta(struct vs_tag *t, const char *key, const char *value);
void vs_tag_encode(const struct vs_tag *t, struct vs_buf *out);
int vs_tag_decode(struct vs_tag *t, const void *data, size_t len);

/* Type byte of an encoded object, or 0 if empty. */
int vs_obj_type_of(const void *data, size_t len);

#endif
