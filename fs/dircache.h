/*
 * dircache.h - the mount's index of directories.
 *
 * A directory's tree is fetched, verified and decoded once, then served
 * from here: a name is found by binary search, a listing is read by
 * position.  Trees are named by their content, so one decoded directory
 * serves every snapshot and head that shows it.  The index is bounded in
 * bytes; a directory nobody holds may be evicted and is decoded again on
 * its next use.
 */
#ifndef VARVE_FS_DIRCACHE_H
#define VARVE_FS_DIRCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct fs_dircache;

struct fs_dir {
	size_t count;
	const struct vs_tree_entry *entries;	/* sorted by name */
};

/* limit: bytes of decoded directories to keep. */
struct fs_dircache *fs_dircache_new(struct vs_store *s, size_t limit);
/* Accepts NULL.  No directory may be held. */
void fs_dircache_free(struct fs_dircache *c);

/*
 * The directory of tree object id in *out, valid until fs_dircache_put.
 * 0, VS_E_NOTFOUND, VS_E_CORRUPT (the object is damaged or not a tree).
 */
int fs_dircache_get(struct fs_dircache *c, const struct vs_id *id,
		    const struct fs_dir **out, struct vs_error *err);
void fs_dircache_put(struct fs_dircache *c, const struct fs_dir *d);

/* The entry named <name, len> in d, or NULL; *pos (may be NULL) gets
 * its position in the listing. */
const struct vs_tree_entry *fs_dir_find(const struct fs_dir *d,
					const char *name, size_t len,
					size_t *pos);

struct fs_dircache_stats {
	uint64_t decodes;	/* trees fetched, verified and decoded */
	uint64_t hits;		/* uses served without a decode */
	uint64_t bytes;		/* memory held by decoded directories */
};
void fs_dircache_stats(struct fs_dircache *c, struct fs_dircache_stats *st);

#endif
