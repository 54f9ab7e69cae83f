/*
 * staging.h - the staged state of a writable head: what the mount's writes
 * changed on top of the branch's head commit, kept in the store so that it
 * survives a crash of the daemon, until `varve commit` makes it a commit.
 *
 * DESIGN NOTES: staging of writable heads
 * Keys in VS_CF_STAGING (H = <repo> '\0' <branch>):
 *   'B' H                 the base commit the changes apply to (32 bytes)
 *   'E' H '\0' <path>     an entry: what <path> is now (path relative to the
 *                         head root, components joined by '/')
 *   'N'                   the next data file number (varint)
 * Entry encoding: type(u8) flags(u8) then
 *   VS_STAGE_DATA     number(varint): content in STORE/staging/<number>
 *   VS_STAGE_REF      id(32) size(varint): content of a committed file object
 *   VS_STAGE_SYMLINK  target(bytes)
 *   VS_STAGE_DIR, VS_STAGE_WHITEOUT: nothing more
 * flags: VS_STAGE_EXEC (files), VS_STAGE_OPAQUE (a directory that replaces
 * whatever the base had at its path: nothing below it shows through).
 *
 * Invariants:
 *  1. A path with an entry shows that entry; a whiteout hides the base's
 *     entry; a path without an entry shows the base's, unless an ancestor is
 *     staged as a file, symlink, whiteout or opaque directory.
 *  2. Data files are written in place by the mount (pwrite); an entry that
 *     names a data file is written before the first byte goes to it, so a
 *     crash leaves at worst an unreferenced data file, removed by
 *     vs_staging_gc().
 *  3. vs_staging_commit() applies the entries to the base tree, stores the
 *     result as a commit and, in the same synced batch as the branch update,
 *     deletes every entry and the base key; only then are data files
 *     unlinked.  Killed at any point, either the staged state or the new
 *     commit is there.
 *  4. Changes are only staged on a head whose base is the branch's current
 *     commit; a commit of staged changes fails with VS_E_CONFLICT if the
 *     branch moved meanwhile (nothing is lost: the staging stays).
 *
 *   transition                         function
 *   clean -> staged (first change)     vs_staging_put (records the base)
 *   staged -> staged                   vs_staging_put, vs_staging_remove
 *   staged -> clean, new commit        vs_staging_commit
 *   staged -> clean, changes dropped   vs_staging_reset
 */
#ifndef VS_STAGING_H
#define VS_STAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "ingest.h"
#include "refs.h"
#include "store.h"

enum vs_stage_type {
	VS_STAGE_WHITEOUT = 0,
	VS_STAGE_DATA = 1,
	VS_STAGE_REF = 2,
	VS_STAGE_DIR = 3,
	VS_STAGE_SYMLINK = 4,
};

enum vs_stage_flags {
	VS_STAGE_EXEC = 1 << 0,
	VS_STAGE_OPAQUE = 1 << 1,
};

struct vs_stage_entry {
	enum vs_stage_type type;
	unsigned flags;
	uint64_t datafile;	/* VS_STAGE_DATA */
	struct vs_id id;	/* VS_STAGE_REF */
	uint64_t size;		/* VS_STAGE_REF */
	char *target;		/* VS_STAGE_SYMLINK, owned */
};

void vs_stage_entry_release(struct vs_stage_entry *e);

/*
 * The value of an 'E' key (the entry encoding above).  _encode replaces
 * out's contents; e->target must be set for VS_STAGE_SYMLINK.  _decode
 * returns 0 or VS_E_CORRUPT (unknown type, truncated, trailing bytes) and
 * then owns nothing; on success e->target (VS_STAGE_SYMLINK) is owned by
 * e: free it with vs_stage_entry_release().  Decoding what _encode wrote
 * gives the same entry.
 */
void vs_stage_entry_encode(const struct vs_stage_entry *e,
			   struct vs_buf *out);
int vs_stage_entry_decode(struct vs_stage_entry *e, const void *data,
			  size_t len);

/* A head: the branch of a repository that the mount shows writable. */
struct vs_head {
	struct vs_repo repo;
	char branch[VS_REF_NAME_MAX + 1];
};

/* Reads path's entry.  0, VS_E_NOTFOUND, VS_E_CORRUPT. *e owned by caller. */
int vs_staging_get(struct vs_store *s, const struct vs_head *h,
		   const char *path, struct vs_stage_entry *e,
		   struct vs_error *err);
/*
 * Sets path's entry.  base: the head commit the caller is showing (NULL if
 * the branch has no commit yet); recorded with the first entry, and checked
 * against the recorded one afterwards (VS_E_CONFLICT if they differ).
 */
int vs_staging_put(struct vs_store *s, const struct vs_head *h,
		   const struct vs_id *base, const char *path,
		   const struct vs_stage_entry *e, struct vs_error *err);
/* Removes path's entry and those of every path below it. */
int vs_staging_remove(struct vs_store *s, const struct vs_head *h,
		      const char *path, struct vs_error *err);
/*
 * Calls fn for each staged path directly inside dir ("" = the root),
 * in name order.  name and e are borrowed for the call.
 */
int vs_staging_children(struct vs_store *s, const struct vs_head *h,
			const char *dir,
			int (*fn)(const char *name,
				  const struct vs_stage_entry *e, void *arg),
			void *arg, struct vs_error *err);
/* True if the head has staged changes; *base gets their base commit (zero
 * id if the branch had none). */
bool vs_staging_base(struct vs_store *s, const struct vs_head *h,
		     struct vs_id *base);

/* Creates a new empty data file; *num and *fd (O_RDWR, caller closes). */
int vs_staging_new_datafile(struct vs_store *s, uint64_t *num, int *fd,
			    struct vs_error *err);
/* Opens data file num with flags (O_RDONLY, O_RDWR). fd or -errno. */
int vs_staging_open_datafile(struct vs_store *s, uint64_t num, int flags);

/*
 * Commits the staged changes of h as a new commit of h's branch (opts as
 * for vs_ingest_dir; progress and threads are ignored).  res->created is
 * false if nothing was staged.  Returns 0, VS_E_CONFLICT (note 4), or a
 * read/write error; on failure the staging is intact.
 */
int vs_staging_commit(struct vs_store *s, const struct vs_head *h,
		      const struct vs_ingest_opts *opts,
		      struct vs_ingest_result *res, struct vs_error *err);

/* Drops every staged change of h and its data files. */
int vs_staging_reset(struct vs_store *s, const struct vs_head *h,
		     struct vs_error *err);

/*
 * Calls fn for each staged change of h as it would appear in a diff
 * against the base: 'A' added, 'D' deleted, 'M' modified, in path order.
 */
int vs_staging_status(struct vs_store *s, const struct vs_head *h,
		      int (*fn)(char status, const char *path, void *arg),
		      void *arg, struct vs_error *err);

/* Removes data files that no entry references (after a crash). */
int vs_staging_gc(struct vs_store *s, struct vs_error *err);

#endif
