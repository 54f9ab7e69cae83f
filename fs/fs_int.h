/*
 * fs_int.h - the FUSE daemon's internals, shared by the files of fs/.
 */
#ifndef VARVE_FS_INT_H
#define VARVE_FS_INT_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cache.h"
#include "fs.h"
#include "refs.h"
#include "rev.h"
#include "staging.h"
#include "store.h"

/* Kernel caching: snapshots never change; everything else may. */
#define FS_TIMEOUT_IMMUTABLE 86400.0
#define FS_TIMEOUT_MUTABLE 1.0

enum fs_kind {
	FS_ROOT,	/* <mnt> */
	FS_KINDDIR,	/* <mnt>/datasets, <mnt>/models */
	FS_HISTORY,	/* <mnt>/history */
	FS_HIST_KIND,	/* <mnt>/history/datasets */
	FS_HIST_REPO,	/* <mnt>/history/datasets/NAME */
	FS_HIST_LIST,	/* .../NAME/{branches,tags,commits} */
	FS_LINK,	/* a symlink of a history list */
	FS_SNAP,	/* a node of a snapshot */
	FS_HEAD,	/* a path of a writable head */
};

enum fs_hist_list {
	FS_LIST_BRANCHES,
	FS_LIST_TAGS,
	FS_LIST_COMMITS,
};

/*
 * An inode lives as long as the kernel's lookup count: +1 per entry reply
 * (lookup, create, mkdir, symlink, readdirplus entry), -n per forget; freed
 * at zero.  The root is never freed.  All of nlookup, the hash chains and
 * the name keys are guarded by fs->lock; the identity fields are written
 * once before the inode is published and then only read.
 */
struct fs_inode {
	fuse_ino_t ino;
	uint64_t nlookup;		/* fs->lock */
	fuse_ino_t parent;		/* name-table key, fs->lock */
	char *name;
	struct fs_inode *next_ino;	/* fs->lock */
	struct fs_inode *next_name;	/* fs->lock */

	enum fs_kind kind;
	enum vs_repo_kind rkind;	/* KINDDIR, HIST_KIND */
	struct vs_repo repo;		/* HIST_REPO, HIST_LIST */
	enum fs_hist_list list;		/* HIST_LIST */
	char *target;			/* LINK */

	/* SNAP */
	struct vs_id commit;
	uint64_t time;
	enum vs_entry_type type;
	struct vs_id id;
	uint64_t size;
	bool snap_root;
	char *rev;			/* snapshot roots: the rev as named */

	/* HEAD */
	struct vs_head head;
	/*
	 * "" for the head root.  A rename replaces it (fs->lock); the old
	 * string stays valid until the inode is freed, since other threads
	 * may still be reading it (stale, under fs->lock).
	 */
	char *_Atomic path;
	char **stale;
	size_t nstale;

	/* Readdir listing kept between calls (no opendir handles). */
	pthread_mutex_t dlock;
	struct fs_dirent *dents;	/* dlock */
	size_t ndents;			/* dlock */
	/* Snapshot directories: opens of files in it, and the first entry
	 * whose file is not yet prefetched (ops.c, prefetch_siblings). */
	size_t pf_opens, pf_next;	/* dlock */
};

struct fs_dirent {
	char *name;
	mode_t type;	/* S_IFDIR, S_IFREG, S_IFLNK */
	bool has_id;	/* a snapshot's file: id is its file object */
	struct vs_id id;
};

struct fs_head_base {
	struct vs_head head;
	bool valid;
	bool exists;		/* the branch has a commit */
	struct vs_id commit;
	struct vs_node root;
	uint64_t time;
};

struct fs {
	struct vs_store *s;
	const struct fs_opts *opts;
	struct fuse_session *se;
	struct fs_cache *cache;
	uid_t uid;
	gid_t gid;
	uint64_t mount_time;

	pthread_mutex_t lock;
	struct fs_inode **by_ino;	/* buckets, lock */
	struct fs_inode **by_name;	/* buckets, lock */
	size_t nbuckets;
	fuse_ino_t next_ino;		/* lock */
	struct fs_inode *root;

	/* Serialises every change to staged state (creates, renames, ...). */
	pthread_mutex_t head_lock;
	struct fs_head_base *bases;	/* lock */
	size_t nbases;

	atomic_uint_fast64_t requests;
};

/* inode.c */
int fs_inodes_init(struct fs *fs);
void fs_inodes_destroy(struct fs *fs);
struct fs_inode *fs_inode_get(struct fs *fs, fuse_ino_t ino);
/*
 * Returns the inode named name in parent with tmpl's identity, making it
 * if needed, with its lookup count raised by one.  tmpl's owned strings
 * (target, rev, path) are taken over or freed.
 */
struct fs_inode *fs_inode_publish(struct fs *fs, fuse_ino_t parent,
				  const char *name, struct fs_inode *tmpl);
void fs_inode_forget(struct fs *fs, fuse_ino_t ino, uint64_t n);
/* A rename in a head: the inode known as parent/name becomes
 * newparent/newname with path newpath (copied). */
void fs_inode_move(struct fs *fs, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   const char *newpath);
/* Collects the inode numbers for which match(inode, arg) is true. */
size_t fs_inodes_match(struct fs *fs,
		       bool (*match)(const struct fs_inode *i, void *arg),
		       void *arg, fuse_ino_t **out);
void fs_dents_clear(struct fs_inode *i);

/* ops.c */
extern const struct fuse_lowlevel_ops fs_ops;
void fs_on_change(void *arg, const struct vs_repo *r, const char *branch);

#endif
