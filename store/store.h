/*
 * store.h - a varve store: its directory, config, and content-addressed
 * chunks and objects.
 *
 * A store is a directory holding:
 *   config    text: format version, chunking parameters, compression level
 *             (never credentials)
 *   db/       the RocksDB database (see kv.h for the column families)
 *   staging/  the staged state of writable heads
 * It is found by --store DIR, then $VARVE_STORE, then the nearest ".varve"
 * directory upward from the working directory (vs_store_locate).
 *
 * Content-addressed writes are idempotent and reads are verified:
 *  1. putting an id that exists is a no-op success;
 *  2. every read checks what it returns (objects and older chunks by
 *     re-hashing, format 3 chunks by their checksum) and answers
 *     VS_E_CORRUPT on a mismatch: a reader never receives wrong bytes;
 *  3. chunk and object puts are unlogged (kv.h note 1); only a later ref
 *     update, preceded by vs_kv_flush(), makes them reachable.
 *
 * Chunk value encoding (VS_CF_CHUNKS, key = raw id): codec.h.
 * Chunk sizes (VS_CF_META, key = 'c' + raw id): raw_len, stored_len (varints),
 * so statistics need not read chunk bodies.
 */
#ifndef VS_STORE_H
#define VS_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chunker.h"
#include "codec.h"
#include "compress.h"
#include "error.h"
#include "hash.h"
#include "kv.h"
#include "object.h"

/*
 * Format 1: the first.  Format 2: chunk values may use VS_CODEC_PLANES.
 * Format 3: chunk values carry a checksum of their raw bytes
 * (VS_CODEC_CHECKSUM), which reads check instead of re-hashing.  A store
 * keeps the format it was made with (its chunks never use what a later
 * format added), so older varve binaries keep reading it.
 */
#define VS_STORE_FORMAT 3
#define VS_STORE_DIRNAME ".varve"

struct vs_config {
	int format;
	struct vs_chunker_params chunking;
	int zstd_level;
};

/* The defaults used by `varve init` (chosen by scripts/bench-ingest.sh). */
void vs_config_defaults(struct vs_config *c);

struct vs_repo;

struct vs_store {
	char *path;			/* absolute, owned */
	struct vs_config config;
	struct vs_kv *kv;
	pthread_mutex_t ref_lock;	/* serialises ref compare-and-swap */
	struct vs_zctx *zctx;		/* for single-threaded callers;
					   guarded by zctx_lock */
	pthread_mutex_t zctx_lock;
	int lock_fd;			/* flock'ed STORE/lock */
	/*
	 * Called after a ref changed: a branch moved or was deleted, a tag
	 * or repository was created (branch NULL then).  The mount uses it
	 * to drop what it cached.  May be NULL; set before any use.
	 */
	void (*on_change)(void *arg, const struct vs_repo *r,
			  const char *branch);
	void *on_change_arg;
};

/*
 * Creates a store in dir (made if missing; must be empty or absent).
 * Returns 0, VS_E_EXISTS (already a store or not empty) or a -errno.
 */
int vs_store_create(const char *dir, const struct vs_config *cfg,
		    struct vs_error *err);

/*
 * Opens the store at dir.  *out is freed with vs_store_close().
 * Returns 0, VS_E_NOSTORE, VS_E_VERSION (newer format), VS_E_CORRUPT (bad
 * config) or VS_E_KV.
 */
int vs_store_open(const char *dir, struct vs_store **out,
		  struct vs_error *err);

enum vs_store_flags {
	/*
	 * Read chunk bodies around the page cache (O_DIRECT where the file
	 * system has it).  For the mount daemon: the kernel already caches
	 * what it serves, decompressed, so a second, compressed copy in the
	 * page cache costs memory and CPU for nothing.
	 */
	VS_STORE_DIRECT_READS = 1 << 0,
	/*
	 * For commands that only read: other readers may hold the store at the
	 * same time (a writer waits for them, and they for it), and nothing in
	 * it is written, so a store on read-only media opens too.  Every write
	 * fails with -EROFS.
	 */
	VS_STORE_READ_ONLY = 1 << 1,
};

/* vs_store_open with enum vs_store_flags. */
int vs_store_open_flags(const char *dir, unsigned flags,
			struct vs_store **out, struct vs_error *err);

/*
 * How long opening waits for other processes (a writer for readers, a
 * reader for a writer), and whom it tells that it waits.
 */
struct vs_store_wait {
	int timeout_ms;			/* 0: fail at once */
	/*
	 * Called once after a second of waiting, unless timeout_ms ends the
	 * wait first; who names the holders: "pid 123 (varve verify)".  May
	 * be NULL.
	 */
	void (*waiting)(void *arg, const char *dir, const char *who,
			int timeout_ms);
	void *arg;
};
#define VS_STORE_WAIT_MS 30000	/* what vs_store_open_flags waits */

/*
 * vs_store_open_flags, waiting as w says.  When the wait ends, -EBUSY
 * with a message that names the holders.
 */
int vs_store_open_wait(const char *dir, unsigned flags,
		       const struct vs_store_wait *w, struct vs_store **out,
		       struct vs_error *err);
void vs_store_close(struct vs_store *s);

/*
 * Finds the store directory: opt if not NULL, else $VARVE_STORE (from
 * getenv_fn(name) so a forwarded command can supply its own environment),
 * else the nearest VS_STORE_DIRNAME upward from cwd.  *out is malloc'ed
 * (caller frees).  Returns 0 or VS_E_NOSTORE.
 */
int vs_store_locate(const char *opt, const char *env_store, const char *cwd,
		    char **out, struct vs_error *err);

/* --- chunks ----------------------------------------------------------- */

/* Sizes of a chunk put, for statistics. */
struct vs_put_stats {
	uint64_t new_chunks;
	uint64_t new_raw_bytes;
	uint64_t new_stored_bytes;
};

/*
 * Stores the chunk <data, len> whose SHA-256 is *id (computed by the caller)
 * unless present.  z is the calling thread's compression context.  Thread
 * safe.  Returns 0, VS_E_COMPRESS or VS_E_KV.
 */
int vs_chunk_put(struct vs_store *s, struct vs_zctx *z, const struct vs_id *id,
		 const void *data, size_t len, struct vs_put_stats *st,
		 struct vs_error *err);

/*
 * Reads chunk id into out (replacing its contents), decompressed and
 * checked: against the checksum stored with it (store format 3), else by
 * re-hashing it with SHA-256 against id.  Either way a changed stored byte
 * gives VS_E_CORRUPT, never wrong bytes.  z may be NULL to use the store's
 * shared context.  Returns 0, VS_E_NOTFOUND, VS_E_CORRUPT or VS_E_KV.
 */
int vs_chunk_get(struct vs_store *s, struct vs_zctx *z, const struct vs_id *id,
		 struct vs_buf *out, struct vs_error *err);
/*
 * The same, and always re-hashed with SHA-256 against id (`verify --full`):
 * this also catches a value that is intact but stored under the wrong id.
 */
int vs_chunk_get_rehashed(struct vs_store *s, struct vs_zctx *z,
			  const struct vs_id *id, struct vs_buf *out,
			  struct vs_error *err);

bool vs_chunk_has(struct vs_store *s, const struct vs_id *id);

/* --- objects ---------------------------------------------------------- */

/* Stores an encoded object, returning its id.  0 or VS_E_KV. */
int vs_object_put(struct vs_store *s, const void *data, size_t len,
		  struct vs_id *id, struct vs_error *err);
/* Reads and verifies an encoded object.  0, VS_E_NOTFOUND, VS_E_CORRUPT. */
int vs_object_get(struct vs_store *s, const struct vs_id *id,
		  struct vs_buf *out, struct vs_error *err);
bool vs_object_has(struct vs_store *s, const struct vs_id *id);

/* Typed reads: also VS_E_CORRUPT when the object has another type. */
int vs_store_read_file(struct vs_store *s, const struct vs_id *id,
		       struct vs_file *f, struct vs_error *err);
int vs_store_read_tree(struct vs_store *s, const struct vs_id *id,
		       struct vs_tree *t, struct vs_error *err);
/* A tree as one block (object.h, struct vs_tree_view). */
int vs_store_read_tree_view(struct vs_store *s, const struct vs_id *id,
			    struct vs_tree_view *v, struct vs_error *err);
int vs_store_read_commit(struct vs_store *s, const struct vs_id *id,
			 struct vs_commit *c, struct vs_error *err);
/* Typed writes: encode, put, return the id. */
int vs_store_write_file(struct vs_store *s, const struct vs_file *f,
			struct vs_id *id, struct vs_error *err);
int vs_store_write_tree(struct vs_store *s, const struct vs_tree *t,
			struct vs_id *id, struct vs_error *err);
int vs_store_write_commit(struct vs_store *s, const struct vs_commit *c,
			  struct vs_id *id, struct vs_error *err);

/*
 * Reads the bytes [off, off + len) of file f into out (appended), verified.
 * z may be NULL.  Returns 0 or the chunk read's error.
 */
int vs_file_read(struct vs_store *s, struct vs_zctx *z, const struct vs_file *f,
		 uint64_t off, size_t len, struct vs_buf *out,
		 struct vs_error *err);
/*
 * Every byte of the file object id (a symlink's target, say) appended to
 * out.  Returns 0, VS_E_NOTFOUND, VS_E_CORRUPT or a chunk read's error.
 */
int vs_file_read_all(struct vs_store *s, const struct vs_id *id,
		     struct vs_buf *out, struct vs_error *err);

/*
 * Finds the ids in the objects family starting with the hex prefix (7..64
 * digits).  Calls fn for each (stop early by returning non-zero, which is
 * then returned).  Returns 0 when done.
 */
int vs_object_scan_prefix(struct vs_store *s, const char *hex,
			  int (*fn)(const struct vs_id *id, void *arg),
			  void *arg, struct vs_error *err);

#endif
