/*
 * store.h - a varve store: its directory, config, and content-addressed
 * chunks and objects.
 *
 * A store is a directory holding:
 *   config    text: format version, chunking parameters, compression level,
 *             remotes ([remote.NAME] sections; never credentials)
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
 *
 * THE PUBLIC API.  fs/ and cli/ (and any other program over the store)
 * include only these headers: store.h, buf.h, chunker.h (the chunking
 * parameters of a config), error.h, fileio.h, hash.h, idset.h, object.h,
 * xalloc.h, refs.h, rev.h, ingest.h, staging.h, checkout.h, diff.h,
 * verify.h, walk.h, runs.h, lockfile.h, pins.h.  The rest is the store's
 * own: store_int.h (struct vs_store, chunk puts and gets with a
 * compression context of the caller's), kv.h (RocksDB), codec.h (chunk
 * values), compress.h (zstd), planes.h, commit.h, crc32c.h.
 */
#ifndef VS_STORE_H
#define VS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chunker.h"
#include "error.h"
#include "hash.h"
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
/* Opaque: see the functions below. */
struct vs_store;
/*
 * The store's own types, which a few calls take for its internal callers
 * (a compression context, a write batch); outside the store pass NULL.
 */
struct vs_zctx;
struct vs_kv_batch;


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

/* The store's directory (absolute; borrowed while s is open). */
const char *vs_store_path(const struct vs_store *s);
/* Its config (borrowed while s is open). */
const struct vs_config *vs_store_config(const struct vs_store *s);

/* What vs_store_set_on_change registers. */
typedef void vs_store_change_fn(void *arg, const struct vs_repo *r,
				const char *branch);
/*
 * fn(arg, repo, branch) is called after a ref changed: a branch moved or
 * was deleted, a tag or repository was created (branch NULL then).  The
 * mount uses it to drop what it cached.  fn NULL: nothing is called.  Set
 * before other threads use s.
 */
void vs_store_set_on_change(struct vs_store *s, vs_store_change_fn *fn,
			    void *arg);
/* Calls the on_change function, if any, as a ref change would. */
void vs_store_notify_change(struct vs_store *s, const struct vs_repo *r,
			    const char *branch);

/* --- remotes in the config ------------------------------------------- */

/*
 * A remote is a section of the config:
 *     [remote.NAME]
 *     url = s3://bucket/prefix
 *     endpoint = http://127.0.0.1:4568      (optional)
 *     region = eu-west-1                    (optional)
 *     path_style = 1                        (optional; 0 or 1)
 * NAME is vs_remote_name_valid(); values are one line of printable bytes.
 * Nothing else about a remote is kept, credentials least of all.  The
 * section is text like the others, but a varve that predates remotes
 * refuses a config that holds one ("line N is malformed").
 * struct vs_remote_config is transport.h's.
 */
struct vs_remote_config;

/* NAME: 1-64 of [A-Za-z0-9._-], starting with a letter or digit. */
bool vs_remote_name_valid(const char *name);

/*
 * The remotes of s's config as the file holds them now (it is read again:
 * another command may have changed it), in the order of the file.  *out
 * (n entries) is owned by the caller: vs_remote_configs_free().  Returns
 * 0, VS_E_CORRUPT (a remote section without a url, a bad name) or -errno.
 */
int vs_store_remotes(struct vs_store *s, struct vs_remote_config **out,
		     size_t *n, struct vs_error *err);
/*
 * Replaces the remote sections of s's config with <r, n> (every other
 * line is kept as it is), atomically.  The caller holds the store for
 * writing.  Returns 0, VS_E_INVAL (a bad name or value; nothing written)
 * or -errno.
 */
int vs_store_set_remotes(struct vs_store *s, const struct vs_remote_config *r,
			 size_t n, struct vs_error *err);
/* Frees <r, n> and every string in it; accepts NULL. */
void vs_remote_configs_free(struct vs_remote_config *r, size_t n);

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
 * Reads chunk id into out (replacing its contents), decompressed and
 * checked: against the checksum stored with it (store format 3), else by
 * re-hashing it with SHA-256 against id.  Either way a changed stored byte
 * gives VS_E_CORRUPT, never wrong bytes.  Thread safe: each calling thread
 * gets a decompression context of its own, kept until the thread ends.
 * Returns 0, VS_E_NOTFOUND, VS_E_CORRUPT or VS_E_KV.
 */
int vs_chunk_read(struct vs_store *s, const struct vs_id *id,
		  struct vs_buf *out, struct vs_error *err);

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
