/*
 * store_int.h - the store's own view of a store: struct vs_store and the
 * chunk puts and gets that take a compression context of the caller's.
 * Only the files of store/ (and its unit tests) include it; see store.h for
 * the public API.
 */
#ifndef VS_STORE_INT_H
#define VS_STORE_INT_H

#include <pthread.h>

#include "codec.h"
#include "compress.h"
#include "kv.h"
#include "store.h"

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
	 * to drop what it cached.  May be NULL (vs_store_set_on_change).
	 */
	vs_store_change_fn *on_change;
	void *on_change_arg;
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

#endif
