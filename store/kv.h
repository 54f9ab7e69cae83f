/*
 * kv.h - the key-value engine: RocksDB behind a small interface.
 *
 * store/kv.c is the only file that includes RocksDB.  Data is separated into
 * column families by access pattern:
 *   VS_CF_CHUNKS   chunk bodies: large values kept in blob files (BlobDB)
 *   VS_CF_OBJECTS  encoded file, tree and commit objects
 *   VS_CF_REFS     repositories, branches, tags
 *   VS_CF_META     per-chunk sizes, stat caches, store bookkeeping
 *   VS_CF_RUNS     CI run records
 *   VS_CF_STAGING  metadata of writable heads
 *
 * Durability (the crash model):
 *   1. vs_kv_put() writes without the write-ahead log: fast, and lost if the
 *      process dies before the next vs_kv_flush().  Content-addressed data
 *      only (chunks, objects, chunk sizes), which nothing references yet.
 *      Between vs_kv_logged_begin() and _end() such writes go through the
 *      WAL instead: a small commit then needs no flush at all.
 *   2. vs_kv_flush() makes every earlier write durable: it flushes the
 *      memtables if any unlogged write was made since the last flush, and
 *      does nothing otherwise (logged writes are durable once a later
 *      synced write has synced the WAL, which keeps them in order).
 *   3. vs_kv_write(.., VS_KV_SYNC) applies a batch atomically and durably
 *      (WAL, fsync).  Ref updates always go this way, after a flush, so a
 *      durable ref never names data that could have been lost.
 */
#ifndef VS_KV_H
#define VS_KV_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

enum vs_cf {
	VS_CF_DEFAULT,
	VS_CF_CHUNKS,
	VS_CF_OBJECTS,
	VS_CF_REFS,
	VS_CF_META,
	VS_CF_RUNS,
	VS_CF_STAGING,
	VS_CF_COUNT
};

enum vs_kv_flags {
	VS_KV_CREATE = 1 << 0,	/* create the database if missing */
	VS_KV_SYNC = 1 << 1,	/* vs_kv_write: WAL + fsync */
	VS_KV_NOWAL = 1 << 2,	/* vs_kv_write: unlogged, as vs_kv_put */
	/*
	 * vs_kv_open: read tables and blobs with O_DIRECT where the file
	 * system allows it (silently buffered where it does not).
	 */
	VS_KV_DIRECT_READS = 1 << 3,
	/*
	 * vs_kv_open: open the database for reading only.  Nothing under path
	 * is written, not even on close; the write-ahead logs are replayed
	 * into memory.  Every write fails with -EROFS.
	 */
	VS_KV_READ_ONLY = 1 << 4,
};

struct vs_kv;
struct vs_kv_batch;
struct vs_kv_iter;
struct vs_kv_pin;

/*
 * librocksdb's rocksdb::crc32c::Extend, as varve provides it (kv.c explains
 * why); declared here for test_kv.
 */
uint32_t vs_kv_rocksdb_crc32c_extend(uint32_t crc, const char *buf,
				     size_t size)
	__asm__("_ZN7rocksdb6crc32c6ExtendEjPKcm");

/* Opens (or creates) the database at path.  *out is freed with vs_kv_close. */
int vs_kv_open(const char *path, unsigned flags, struct vs_kv **out,
	       struct vs_error *err);
/* Flushes and closes; accepts NULL. */
void vs_kv_close(struct vs_kv *kv);

/*
 * Replaces val's contents with the value of key.
 * Returns 0, VS_E_NOTFOUND (val emptied) or VS_E_KV.
 */
int vs_kv_get(struct vs_kv *kv, enum vs_cf cf, const void *key, size_t klen,
	      struct vs_buf *val, struct vs_error *err);
/*
 * The same without the copy: *val points into RocksDB's memory, borrowed
 * until vs_kv_unpin(pin).  *pin is NULL (nothing to unpin) unless 0.
 */
int vs_kv_get_pinned(struct vs_kv *kv, enum vs_cf cf, const void *key,
		     size_t klen, const void **val, size_t *vlen,
		     struct vs_kv_pin **pin, struct vs_error *err);
/* Accepts NULL. */
void vs_kv_unpin(struct vs_kv_pin *pin);
/* True if key exists (a read error counts as absent). */
bool vs_kv_has(struct vs_kv *kv, enum vs_cf cf, const void *key, size_t klen);
/* Unlogged put, see note 1.  0 or VS_E_KV. */
int vs_kv_put(struct vs_kv *kv, enum vs_cf cf, const void *key, size_t klen,
	      const void *val, size_t vlen, struct vs_error *err);
/* Note 2.  0 or VS_E_KV. */
int vs_kv_flush(struct vs_kv *kv, struct vs_error *err);
/*
 * Note 1: unlogged writes made by any thread while a logged section is open
 * are logged.  For work too small to be worth a flush of its own.  Nests.
 */
void vs_kv_logged_begin(struct vs_kv *kv);
void vs_kv_logged_end(struct vs_kv *kv);

struct vs_kv_batch *vs_kv_batch_new(void);
void vs_kv_batch_free(struct vs_kv_batch *b);
/* Empties b, which can then be filled again. */
void vs_kv_batch_clear(struct vs_kv_batch *b);
void vs_kv_batch_put(struct vs_kv_batch *b, struct vs_kv *kv, enum vs_cf cf,
		     const void *key, size_t klen, const void *val, size_t vlen);
void vs_kv_batch_delete(struct vs_kv_batch *b, struct vs_kv *kv,
			enum vs_cf cf, const void *key, size_t klen);
/* Deletes every key starting with <prefix, plen>. */
void vs_kv_batch_delete_prefix(struct vs_kv_batch *b, struct vs_kv *kv,
			       enum vs_cf cf, const void *prefix, size_t plen);
/* Atomic apply, note 3 with VS_KV_SYNC.  0 or VS_E_KV. */
int vs_kv_write(struct vs_kv *kv, struct vs_kv_batch *b, unsigned flags,
		struct vs_error *err);

/*
 * Iterates the keys starting with <prefix, plen> in byte order (plen 0: the
 * whole family), from the first key >= <start, slen> when start is given.
 * Key and value pointers are borrowed until the next _next or _free.
 */
struct vs_kv_iter *vs_kv_iter_new(struct vs_kv *kv, enum vs_cf cf,
				  const void *prefix, size_t plen);
void vs_kv_iter_seek(struct vs_kv_iter *it, const void *start, size_t slen);
bool vs_kv_iter_valid(struct vs_kv_iter *it);
void vs_kv_iter_next(struct vs_kv_iter *it);
const void *vs_kv_iter_key(struct vs_kv_iter *it, size_t *klen);
const void *vs_kv_iter_value(struct vs_kv_iter *it, size_t *vlen);
/* 0, or VS_E_KV if the iteration stopped on an error. */
int vs_kv_iter_status(struct vs_kv_iter *it, struct vs_error *err);
void vs_kv_iter_free(struct vs_kv_iter *it);
/*
 * Ends an iteration: frees it and returns r if r is not 0 (the caller's own
 * failure or stop), else vs_kv_iter_status().
 */
int vs_kv_iter_end(struct vs_kv_iter *it, int r, struct vs_error *err);

#endif
