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
#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>

#include "cache.h"
#include "dircache.h"
#include "fs.h"
#include "refs.h"
#include "rev.h"
#include "staging.h"
#include "store.h"

/* Kernel caching: snapshots never change; everything else may. */
#define FS_TIMEOUT_IMMUTABLE 86400.0
#define FS_TIMEOUT_MUTABLE 1.0

/*
 * Bytes of decoded directories the directory index keeps (dircache.h):
 * about 90 bytes an entry, so the directories of 1.5 million files.
 */
#define FS_DIRCACHE_LIMIT (128u << 20)

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

/* What a snapshot root adds to its inode. */
struct fs_snap_root {
	struct vs_id commit;
	char *rev;			/* the rev as named, owned */
};

/*
 * An entry of a listing kept between readdir calls: the layout's own
 * directories, and the staged children of a head directory (type 0: a
 * whiteout, which hides the base's entry of that name).
 */
struct fs_dirent {
	char *name;
	mode_t type;	/* S_IFDIR, S_IFREG, S_IFLNK, or 0 */
};

/* What a directory inode keeps between requests; made on first use. */
struct fs_dirstate {
	pthread_mutex_t lock;		/* guards the rest */
	/*
	 * The listing of a layout directory, or the staged children of a
	 * head directory (by name), with the base tree they merge with.
	 */
	bool kept;
	struct fs_dirent *dents;
	size_t ndents;
	bool has_base;
	struct vs_id base;
	/*
	 * Snapshot directories: prefetch of the next files for a reader
	 * going through a listed directory (ops.c, prefetch_siblings).
	 */
	bool listed;
	size_t pf_last;			/* the last opened position + 1 */
	size_t pf_next;			/* the first position not queued */
};

/*
 * An inode lives as long as the kernel's lookup count: +1 per entry reply
 * (lookup, create, mkdir, symlink, readdirplus entry), -n per forget; freed
 * at zero.  The root is never freed.  nlookup, the hash chains and the
 * name keys are guarded by fs->lock; the identity fields are written once
 * before the inode is published and then only read.  A dataset of a
 * million files makes a million of these, so what only some kinds need
 * lives in a union or behind a pointer.
 */
struct fs_inode {
	fuse_ino_t ino;
	uint64_t nlookup;		/* fs->lock */
	fuse_ino_t parent;		/* name-table key, fs->lock */
	char *name;			/* name-table key, fs->lock */
	struct fs_inode *next_ino;	/* fs->lock */
	struct fs_inode *next_name;	/* fs->lock */
	struct fs_dirstate *_Atomic dir;	/* fs_inode_dir() */
	enum fs_kind kind;

	union {
		struct {		/* FS_SNAP */
			struct vs_id id;
			uint64_t size;
			uint64_t time;		/* the commit's */
			uint8_t type;		/* enum vs_entry_type */
			atomic_bool opened;	/* a file opened before */
			uint32_t pos;		/* in the parent's listing */
			struct fs_snap_root *root;	/* roots only, owned */
		};
		struct {		/* FS_HEAD */
			const struct vs_head *head;	/* fs_head_intern() */
			/*
			 * "" for the head root.  A rename replaces it
			 * (fs->lock); the old string stays valid until the
			 * inode is freed, since other threads may still be
			 * reading it (stale, under fs->lock).
			 */
			char *_Atomic path;
			char **stale;
			size_t nstale;
		};
		struct {		/* FS_KINDDIR, FS_HIST_* */
			enum vs_repo_kind rkind;	/* KINDDIR, HIST_KIND */
			enum fs_hist_list list;		/* HIST_LIST */
			struct vs_repo *repo;	/* HIST_REPO, HIST_LIST, owned */
		};
		char *target;		/* FS_LINK, owned */
	};
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
	struct fs_dircache *dirs;
	uid_t uid;
	gid_t gid;
	uint64_t mount_time;

	pthread_mutex_t lock;
	struct fs_inode **by_ino;	/* buckets, lock */
	struct fs_inode **by_name;	/* buckets, lock */
	size_t nbuckets;		/* a power of two, lock */
	size_t ninodes;			/* lock */
	fuse_ino_t next_ino;		/* lock */
	struct fs_inode *root;
	struct vs_head **heads;		/* interned, lock */
	size_t nheads;			/* lock */

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
/* How many inodes the kernel knows (the root included). */
size_t fs_inodes_count(struct fs *fs);
/* i's directory state, made on first use. */
struct fs_dirstate *fs_inode_dir(struct fs_inode *i);
/* The one copy of h the mount keeps (inodes point at it). */
const struct vs_head *fs_head_intern(struct fs *fs, const struct vs_head *h);
/*
 * Returns the inode named name in parent with tmpl's identity, making it
 * if needed, with its lookup count raised by one.  What tmpl owns (a
 * snapshot root, a path, a repo, a target) is taken over or freed.
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
/* Drops a directory's kept listing (its lock held). */
void fs_dents_clear(struct fs_dirstate *d);

/*
 * The operations: ops.c holds the table and the thin wrappers that reply;
 * each do_ function below returns 0 or a negative errno and replies to
 * nothing.
 */
extern const struct fuse_lowlevel_ops fs_ops;

/* Maps a store error to an errno for the kernel (positive). */
static inline int fs_errno(int r)
{
	if (r > -4096 && r < 0)
		return -r;
	switch (r) {
	case VS_E_NOTFOUND:
		return ENOENT;
	case VS_E_INVAL:
		return EINVAL;
	case VS_E_EXISTS:
		return EEXIST;
	case VS_E_CONFLICT:
		return EBUSY;
	default:
		return EIO;
	}
}

static inline bool fs_is_head(const struct fs_inode *i)
{
	return i->kind == FS_HEAD;
}

/* --- view.c: the namespace and history views ---------------------------- */

/* Attributes of i; timeout receives how long the kernel may keep them. */
int fs_do_getattr(struct fs *fs, struct fs_inode *i, struct stat *st,
		  double *timeout);
/* Looks name up in parent and publishes it; fills e for the reply. */
int fs_do_lookup(struct fs *fs, fuse_ino_t parent, const char *name,
		 struct fuse_entry_param *e);
/* Looks name up in p; fills the template t of the child and how long
 * the kernel may cache the name. */
int fs_lookup_child(struct fs *fs, struct fs_inode *p, const char *name,
		    struct fs_inode *t, double *entry_timeout);
/* The template of the child of snapshot directory p at position pos. */
void fs_snap_child(const struct fs_inode *p, const struct vs_tree_entry *e,
		   size_t pos, struct fs_inode *t);
/*
 * Publishes template t as parent/name (raising its lookup count) and fills
 * e for an entry reply; etimeout: how long the name may be cached.
 */
int fs_entry_reply(struct fs *fs, fuse_ino_t parent, const char *name,
		   struct fs_inode *t, double etimeout,
		   struct fuse_entry_param *e);
/* A branch or tag name as a file name: '/' spelled %2F. */
void fs_ref_encode(struct vs_buf *out, const char *name);
/* The target of symlink ino, appended to out. */
int fs_do_readlink(struct fs *fs, fuse_ino_t ino, struct vs_buf *out);
/* The store's on_change hook: drops what the mount cached of r. */
void fs_on_change(void *arg, const struct vs_repo *r, const char *branch);

/* --- dir.c: listings ------------------------------------------------------ */

/* A readdir reply being filled. */
struct fs_dirbuf {
	struct fs *fs;
	fuse_req_t req;
	fuse_ino_t ino;
	bool plus;
	char *buf;
	size_t size, used;
};

/* Fills b with the entries of b->ino from offset off. */
int fs_do_readdir(struct fs_dirbuf *b, off_t off);
/* 1 if the head directory at path lists nothing, 0 if it lists
 * something, or a negative errno. */
int fs_head_dir_empty(struct fs *fs, const struct vs_head *h,
		      const char *path);

/* --- head.c: writable heads --------------------------------------------- */

/* What a path of a writable head is now. */
struct fs_hnode {
	enum vs_entry_type type;
	uint64_t size;
	uint64_t mtime;
	bool staged;			/* se holds its entry */
	struct vs_stage_entry se;
	bool in_base;			/* bn is the base's entry at path */
	bool base_visible;		/* base content below shows through */
	struct vs_node bn;
	struct fs_head_base base;
};

void fs_hnode_release(struct fs_hnode *n);
/* What path of head h is now: 0, -ENOENT, or another negative errno. */
int fs_head_resolve(struct fs *fs, const struct vs_head *h, const char *path,
		    struct fs_hnode *n);
/* The commit head h shows now (cached until its branch moves). */
int fs_head_base_get(struct fs *fs, const struct vs_head *h,
		     struct fs_head_base *out);
/* dir + "/" + name, or name for the root ""; malloc'ed. */
char *fs_path_join(const char *dir, const char *name);
/*
 * Makes sure i's content lives in a staged data file (copy-up on the
 * first write) and returns an fd to it.  Called with head_lock held.
 */
int fs_stage_data(struct fs *fs, struct fs_inode *i, struct fs_hnode *n,
		  int *fd_out);
/* A new file parent/name; with fi, opened (for create), else mknod. */
int fs_do_create(struct fs *fs, fuse_ino_t parent, const char *name,
		 mode_t mode, struct fuse_file_info *fi,
		 struct fuse_entry_param *e);
/* A new directory or symlink at parent/name, as tmpl says. */
int fs_do_make(struct fs *fs, fuse_ino_t parent, const char *name,
	       const struct vs_stage_entry *tmpl, struct fuse_entry_param *e);
int fs_do_remove(struct fs *fs, fuse_ino_t parent, const char *name,
		 bool dir);
int fs_do_rename(struct fs *fs, fuse_ino_t parent, const char *name,
		 fuse_ino_t newparent, const char *newname, unsigned int flags);
/* Changes what attrs/to_set say, then fills st and timeout as getattr. */
int fs_do_setattr(struct fs *fs, fuse_ino_t ino, struct stat *attr,
		  int to_set, struct fuse_file_info *fi, struct stat *st,
		  double *timeout);

/* --- file.c: open files --------------------------------------------------- */

/* An open file: a staged data file, or a committed file object. */
struct fs_handle {
	int fd;			/* staged content, or -1 */
	struct vs_file f;	/* committed content when fd < 0 */
	atomic_uint_fast64_t next_off;	/* where a sequential reader reads
					   next (racy by design: a hint) */
	atomic_uint_fast64_t hinted_end; /* chunks starting below it were
					    hinted already (also a hint) */
};

struct fs_handle *fs_handle_new(void);
/* Accepts NULL. */
void fs_handle_free(struct fs_handle *h);
/* Opens ino; fi->fh gets the handle. */
int fs_do_open(struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi);

/*
 * A read's reply: the pieces to send, which point into chunks held in
 * the chunk cache or into copy.  Released after the reply was sent (or
 * not).
 */
struct fs_read_reply {
	struct iovec *iov;
	int n;
	const struct fs_chunk **held;
	size_t nheld;
	struct vs_buf copy;	/* staged content, inline content */
};

int fs_do_read(struct fs *fs, struct fs_handle *h, size_t size, off_t off,
	       struct fs_read_reply *rr);
void fs_read_reply_release(struct fs *fs, struct fs_read_reply *rr,
			   bool sent);
/* Writes to a staged file; *written gets the count. */
int fs_do_write(struct fs_handle *h, const char *buf, size_t size, off_t off,
		size_t *written);
int fs_do_fsync(struct fs_handle *h, int datasync);

/* --- xattr.c: extended attributes, statfs ------------------------------- */

int fs_do_getxattr(struct fs *fs, fuse_ino_t ino, const char *name,
		   struct vs_buf *value);
/* The names, NUL-separated, in *list (static) of *len bytes. */
int fs_do_listxattr(struct fs *fs, fuse_ino_t ino, const char **list,
		    size_t *len);
/* Why an attribute cannot be set or removed. */
int fs_do_setxattr(struct fs *fs, fuse_ino_t ino);
int fs_do_statfs(struct fs *fs, struct statvfs *st);

#endif
