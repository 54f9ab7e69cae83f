/*
 * cache.h - decompressed chunks shared by the mount's reader threads.
 *
 * An LRU of verified, decompressed chunks bounded in bytes.  A chunk that
 * several threads want at once is decompressed once: latecomers wait for
 * the first loader.  Entries are reference counted while a reader copies
 * out of them, so eviction never frees memory in use.  A small pool of
 * prefetch threads loads chunks ahead of sequential readers.
 */
#ifndef VARVE_FS_CACHE_H
#define VARVE_FS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct fs_cache;

struct fs_chunk {
	const uint8_t *data;	/* valid while the reference is held */
	size_t len;
};

/* limit: bytes of decompressed chunks to keep. */
struct fs_cache *fs_cache_new(struct vs_store *s, size_t limit);
/* Waits for the prefetch threads; accepts NULL. */
void fs_cache_free(struct fs_cache *c);

/*
 * Returns a reference to chunk id in *out (release with fs_cache_put).
 * 0, VS_E_NOTFOUND or VS_E_CORRUPT (never wrong bytes).
 */
int fs_cache_get(struct fs_cache *c, const struct vs_id *id,
		 const struct fs_chunk **out, struct vs_error *err);
/*
 * Releases a reference after served bytes of the chunk were replied.  Once
 * replies have covered the whole chunk the kernel has it in its page cache,
 * so the entry is dropped as soon as nobody holds it.
 */
void fs_cache_put(struct fs_cache *c, const struct fs_chunk *chunk,
		  size_t served);

/*
 * Asks a prefetch thread to load id if it is not cached; never blocks.
 * False if the queue was full and the hint dropped.
 */
bool fs_cache_prefetch(struct fs_cache *c, const struct vs_id *id);
/* The same for the first chunk of file object `file`, which the prefetch
 * thread reads first. */
bool fs_cache_prefetch_file(struct fs_cache *c, const struct vs_id *file);

struct fs_cache_stats {
	uint64_t hits, misses, prefetched, bytes;
};
void fs_cache_stats(struct fs_cache *c, struct fs_cache_stats *st);

#endif
