/*
 * ingest.h - commit a directory: walk, chunk, hash, compress, store, and
 * move the branch.
 *
 * DESIGN NOTES: a commit from a directory
 *  1. The walk records every entry; regular files whose stat matches the
 *     branch's stat cache (size, mtime, ctime, inode, exec bit) reuse the
 *     cached file id without being read, so a re-commit of a barely changed
 *     directory reads only what changed (git's index, restic's parent).
 *  2. Files changed within one timestamp tick of the start of the walk
 *     (20 ms where timestamps carry nanoseconds, else 2 s) are not cached:
 *     a later change within the same tick could otherwise go unseen (git's
 *     "racy" entries).
 *  3. Files are read and cut by a few reader threads (FastCDC is cheap);
 *     their chunks are hashed, compressed and stored by a pool of worker
 *     threads, one per core; a bounded queue between them keeps memory
 *     flat.  A file's object is written as soon as its content is stored
 *     (by its reader for a small file, else by the worker of its last
 *     chunk), so that what grows with the file count is the walked tree
 *     alone: about 120 bytes a file, and the loaded stat cache as much.
 *  4. Chunks, file objects and trees are written unlogged; the commit object
 *     and the branch update, together with the new stat cache, land in one
 *     synced batch after a flush (refs.h note 1).  Killed at any moment, the
 *     store shows the old head or the new one, never a part.  A commit that
 *     changes more stat cache entries than a batch of bounded size holds
 *     writes the others before, each part after a flush of the objects
 *     its entries name: an entry only says which file id a file of that
 *     stat has, which holds whether or not the commit completes.
 *  5. A tree equal to the head's makes no new commit (unless allow_empty).
 *  6. Devices, sockets and fifos are skipped with a warning; the store's own
 *     directory, if it lies inside the source, is skipped silently.
 */
#ifndef VS_INGEST_H
#define VS_INGEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "refs.h"
#include "store.h"

struct vs_ingest_progress {
	uint64_t files_total;	/* files and symlinks found by the walk */
	uint64_t files_read;	/* files whose content had to be read */
	uint64_t bytes_total;	/* size of every file found */
	uint64_t bytes_to_read;	/* size of the files to read */
	uint64_t bytes_read;	/* bytes read so far */
	uint64_t new_chunks;	/* chunks not in the store before */
	uint64_t new_bytes;	/* their stored (compressed) size */
};

struct vs_ingest_opts {
	const char *branch;	/* NULL: main */
	const char *message;	/* NULL: "" */
	const char *author;	/* NULL: "" */
	const struct vs_meta *meta;
	size_t nmeta;
	uint64_t time;		/* seconds since the epoch; 0: now */
	int threads;		/* workers; 0: one per online CPU */
	bool allow_empty;	/* commit even if the tree did not change */
	/* Called from the calling thread a few times a second; may be NULL. */
	void (*progress)(void *arg, const struct vs_ingest_progress *p);
	void *progress_arg;
	/* Non-fatal problems (skipped special files); may be NULL.  May be
	 * called from any of the commit's threads. */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
	/* Once *cancel is true the commit stops soon with VS_E_CANCELED and
	 * changes no ref; may be NULL. */
	const atomic_bool *cancel;
};

struct vs_ingest_result {
	struct vs_id commit;	/* the new head (or the unchanged one) */
	bool created;		/* false: nothing changed, no commit made */
	struct vs_ingest_progress stats;
};

/*
 * Commits the directory dir to branch opts->branch of repository r.
 * Returns 0; VS_E_NOTFOUND (unknown repository), -ENOENT/-ENOTDIR/-EACCES
 * and other -errno for an unusable source (named in err), VS_E_CONFLICT if
 * the branch moved meanwhile, VS_E_KV, VS_E_COMPRESS.  On failure the
 * repository is unchanged.
 */
int vs_ingest_dir(struct vs_store *s, const struct vs_repo *r,
		  const char *dir, const struct vs_ingest_opts *opts,
		  struct vs_ingest_result *res, struct vs_error *err);

/*
 * vs_ingest_dir in two steps, so that walking the source overlaps opening
 * the store.  vs_scan_start() starts walking dir in background threads
 * (store_dir, if not NULL, is left out wherever it appears in the tree) and
 * cannot fail: a failure of the walk is what vs_ingest_scanned() returns.
 * opts must stay valid until then; its warn callback may be called from
 * the walk's threads.  vs_ingest_scanned() consumes the scan, success or
 * not; vs_scan_free() abandons one (accepts NULL).
 */
struct vs_scan;
struct vs_scan *vs_scan_start(const char *dir, const char *store_dir,
			      const struct vs_ingest_opts *opts);
int vs_ingest_scanned(struct vs_store *s, const struct vs_repo *r,
		      struct vs_scan *scan, const struct vs_ingest_opts *opts,
		      struct vs_ingest_result *res, struct vs_error *err);
void vs_scan_free(struct vs_scan *scan);

/*
 * Stores the content of the open file fd (read from offset 0 to its end)
 * as a file object, in this thread.  *id and *size receive the result.
 * Returns 0, -errno from read, VS_E_KV or VS_E_COMPRESS.
 * NEEDSWORK: single-threaded; large staged files would gain from the
 * worker pool vs_ingest_dir uses.
 */
int vs_ingest_fd(struct vs_store *s, int fd, struct vs_id *id, uint64_t *size,
		 struct vs_put_stats *st, struct vs_error *err);

/* What vs_cut_fd does with the pieces; a nonzero return stops the cut and
 * is returned. */
struct vs_cut_fns {
	int (*chunk)(void *arg, const uint8_t *data, size_t len);
	/* the whole file, when it is small enough to be stored inline */
	int (*small)(void *arg, const uint8_t *data, size_t len);
};

/*
 * Reads the file of fd from offset 0 to its end and cuts it as a commit
 * does: one call of fns->small, or fns->chunk for each chunk in order (none
 * for an empty file).  *size receives the bytes read.  Returns 0, -errno
 * from read, or what a call returned.
 */
int vs_cut_fd(const struct vs_chunker_params *cp, int fd,
	      const struct vs_cut_fns *fns, void *arg, uint64_t *size,
	      struct vs_error *err);

#endif
