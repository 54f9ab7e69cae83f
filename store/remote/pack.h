/*
 * pack.h - the encodings a remote holds besides its refs: packs (many
 * chunks or objects in one immutable file, with an index) and manifests
 * (which packs a push added, and where each entry of them lies).
 *
 * DESIGN NOTES: packs and manifests
 *
 *  pack      header  bodies  index  trailer
 *   header   magic "VARVPACK" (8 bytes), version u8 (VS_PACK_VERSION),
 *            kind u8 ('D' data: chunks only; 'M' metadata: objects and
 *            run records only)
 *   bodies   the entries' bytes back to back, in index order
 *   index    'I' version(u8) count(varint), then count x
 *                type(u8) id(32 bytes) len(varint >= 1)
 *            entry i starts where entry i-1 ends, the first right after
 *            the header, and the last ends where the index starts
 *   trailer  index length (u64 big-endian), SHA-256 of the index (32),
 *            magic "VARVPEND" (8 bytes): 48 bytes in all
 *
 *  entry types and their bytes
 *   'c' chunk    the chunk's value as a store keeps it (codec.h: codec
 *                byte, raw length, optional checksum, payload); id = the
 *                SHA-256 of the raw bytes it decodes to
 *   'o' object   an encoded file, tree or commit (object.h); id = its
 *                SHA-256
 *   'r' run      an encoded run record (runs.h); id = its SHA-256
 *
 *  manifest  'M' version(u8) npacks(varint) x pack, nreplaced(varint) x
 *            manifest id (32 bytes)
 *   pack     id(32 bytes) kind(u8) size(varint) count(varint), then
 *            count x (type(u8) id(32) offset(varint) len(varint >= 1))
 *
 *  1. A pack is named by the SHA-256 of all its bytes, so it is written
 *     once and never changes; a whole-pack download is checked against
 *     its name.  The trailer's hash lets a reader that fetched only the
 *     index (a range of the tail) check it.
 *  2. Encodings are canonical and decoders consume their input exactly,
 *     rejecting anything else with VS_E_CORRUPT (a newer version:
 *     VS_E_VERSION): varints minimal; no entry of a pack twice (same type
 *     and id); a manifest's packs in increasing id order, each pack's
 *     entries in increasing offset order without overlap, inside the
 *     bodies of a pack of that size, of a type its kind allows; replaced
 *     ids strictly increasing.  Counts larger than the rest of the input
 *     could hold are rejected before anything is allocated.  Fuzzed by
 *     tests/fuzz/fuzz_pack.c.
 *  3. Decoding never checks an entry against its id: that is the reader's
 *     work, entry by entry, as it stores them (remote.c).
 *  4. A manifest may list a subset of a pack's entries (remote.h note 3
 *     says why); a pack's own index always lists all of them.
 */
#ifndef VS_REMOTE_PACK_H
#define VS_REMOTE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

#define VS_PACK_VERSION 1
#define VS_PACK_MAGIC "VARVPACK"
#define VS_PACK_END_MAGIC "VARVPEND"
#define VS_PACK_HEADER_LEN 10
#define VS_PACK_TRAILER_LEN 48
#define VS_PACK_INDEX_TYPE 'I'
#define VS_MANIFEST_TYPE 'M'
#define VS_MANIFEST_VERSION 1
/* The smallest index entry: type, id, one-byte length. */
#define VS_PACK_ENTRY_MIN (1 + VS_ID_LEN + 1)

enum vs_pack_kind {
	VS_PACK_DATA = 'D',
	VS_PACK_META = 'M',
};

enum vs_pack_entry_type {
	VS_PACK_CHUNK = 'c',
	VS_PACK_OBJECT = 'o',
	VS_PACK_RUN = 'r',
};

/* True if a pack of kind may hold entries of type. */
bool vs_pack_type_fits(int kind, int type);

struct vs_pack_entry {
	uint8_t type;		/* enum vs_pack_entry_type */
	struct vs_id id;
	uint64_t off;		/* from the start of the pack */
	uint64_t len;
};

/* --- writing ---------------------------------------------------------- */

/* A pack being built in memory. */
struct vs_pack_writer {
	int kind;
	struct vs_buf buf;		/* header and bodies so far */
	size_t count, alloc;
	struct vs_pack_entry *entries;	/* owned */
};

/* Allocates nothing. */
void vs_pack_writer_init(struct vs_pack_writer *w, enum vs_pack_kind kind);
/* Frees what w holds; it is then as after _init with the same kind. */
void vs_pack_writer_release(struct vs_pack_writer *w);
/*
 * Appends an entry (type must fit the kind; len >= 1; asserted).  The
 * caller adds an id once only.
 */
void vs_pack_add(struct vs_pack_writer *w, enum vs_pack_entry_type type,
		 const struct vs_id *id, const void *data, size_t len);
/* The bytes of the pack so far, without index and trailer (0 before the
 * first entry: the header is written with it). */
size_t vs_pack_writer_size(const struct vs_pack_writer *w);
/*
 * Ends the pack: appends index and trailer, hands the bytes to *out
 * (replaced; the caller releases it) and its name to *name.  w is left
 * empty, ready for the next pack of its kind; w->entries still lists the
 * finished pack's entries until the next vs_pack_add.
 */
void vs_pack_finish(struct vs_pack_writer *w, struct vs_buf *out,
		    struct vs_id *name);

/* --- reading ---------------------------------------------------------- */

/* A pack's index, decoded. */
struct vs_pack_index {
	int kind;			/* 0 when not known (an index alone) */
	size_t count;
	struct vs_pack_entry *entries;	/* owned, in pack order */
};

void vs_pack_index_init(struct vs_pack_index *x);
void vs_pack_index_release(struct vs_pack_index *x);

/*
 * Decodes a whole pack's header, index and trailer (note 2), the bodies'
 * place checked against the index but not their bytes (note 3).  x is
 * initialised by the call and left released on failure.  Returns 0,
 * VS_E_CORRUPT or VS_E_VERSION.
 */
int vs_pack_decode(struct vs_pack_index *x, const void *pack, size_t len);

/*
 * Decodes a pack's trailer (its last VS_PACK_TRAILER_LEN bytes):
 * *index_len and *index_hash.  0 or VS_E_CORRUPT.
 */
int vs_pack_trailer_decode(const void *trailer, size_t len,
			   uint64_t *index_len, struct vs_id *index_hash);

/*
 * Decodes an index block alone (entries' offsets counted from the end of
 * the header); *end (may be NULL) gets where the bodies end.  x is
 * initialised by the call, kind 0.  0, VS_E_CORRUPT or VS_E_VERSION.
 */
int vs_pack_index_decode(struct vs_pack_index *x, const void *data,
			 size_t len, uint64_t *end);

/* Appends the index block of entries <e, n> (in pack order) to out. */
void vs_pack_index_encode(const struct vs_pack_entry *e, size_t n,
			  struct vs_buf *out);

/* --- manifests -------------------------------------------------------- */

struct vs_manifest_pack {
	struct vs_id id;
	int kind;
	uint64_t size;
	size_t count;
	struct vs_pack_entry *entries;	/* owned, in offset order */
};

struct vs_manifest {
	size_t npacks, alloc;
	struct vs_manifest_pack *packs;	/* owned */
	size_t nreplaced;
	struct vs_id *replaced;		/* owned */
};

void vs_manifest_init(struct vs_manifest *m);
void vs_manifest_release(struct vs_manifest *m);
/*
 * Adds a pack with a copy of entries <e, n> (each fitting kind, inside a
 * pack of size).  Returns the pack (borrowed from m until its next change).
 */
struct vs_manifest_pack *vs_manifest_add(struct vs_manifest *m,
					 const struct vs_id *id, int kind,
					 uint64_t size,
					 const struct vs_pack_entry *e,
					 size_t n);
/* Adds id to the manifests m replaces. */
void vs_manifest_add_replaced(struct vs_manifest *m, const struct vs_id *id);
/*
 * Puts m in canonical order: packs by id (two packs with one id merged,
 * their entries' union kept), entries by offset, replaced ids sorted and
 * unique.  Encoding requires it.
 */
void vs_manifest_normalize(struct vs_manifest *m);
/* Appends the encoding of m (normalized; asserted) to out. */
void vs_manifest_encode(const struct vs_manifest *m, struct vs_buf *out);
/* m is initialised by the call and left released on failure.  0,
 * VS_E_CORRUPT or VS_E_VERSION. */
int vs_manifest_decode(struct vs_manifest *m, const void *data, size_t len);

#endif
