/*
 * ingest.c - commit a directory into a repository (see ingest.h's notes).
 *
 * Phases: walk (build the node tree), plan (consult the stat cache), read
 * (reader threads cut chunks, workers hash/compress/store them, and each
 * file object is written once its content is), assemble (trees bottom-up),
 * commit (the stat cache's changes, in parts if many, and one synced batch
 * with the ref).
 */
#include "ingest.h"
#include "store_int.h"

#include <dirent.h>
#include <linux/magic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "xalloc.h"
#include "banned.h"

/* Read files in blocks of this size. */
#define READ_BLOCK (1u << 20)
/*
 * Files of DIRECT_MIN to DIRECT_MAX bytes on a local disk file system are
 * read with O_DIRECT: the disk writes straight into the window, which saves
 * the kernel's copy out of the page cache and the page cache's upkeep (on
 * the bench dataset, reading every file of 4 MiB or more this way cut the
 * commit's kernel time by about 40%).  Commits are CPU-bound: a local disk
 * delivers more than they consume, cached or not.
 * Larger files keep the kernel's read-ahead, which overlaps the disk with
 * the chunking of their single reader.  Buffers, offsets and lengths of
 * O_DIRECT reads are multiples of DIRECT_ALIGN.
 */
#define DIRECT_MIN (4u << 20)
#define DIRECT_MAX (64u << 20)
#define DIRECT_ALIGN 4096u
/*
 * Chunks in flight between the readers and the workers, per worker: enough
 * for the readers to run ahead through an O_DIRECT read.
 */
#define QUEUE_PER_WORKER 32
/*
 * Files are read by this many threads: most of their time is spent
 * waiting for the disk, and several outstanding reads (and opens of small
 * files) keep a cold SSD busier than one.  BIG_READERS of them take the
 * largest files first, the others the smallest: thousands of small files
 * cost disk round trips rather than CPU, and are best read while the
 * workers are busy with the chunks of the large ones.
 */
#define READERS 8
#define BIG_READERS 3
/*
 * A commit that reads at most this much writes its chunks and objects
 * through the write-ahead log and needs no flush (kv.h, note 1): the usual
 * next version of a dataset, a few files edited.
 */
#define LOGGED_COMMIT_MAX (16u << 20)
/*
 * A file changed this close to the start of the walk may change again
 * within the same timestamp tick without its stat changing (note 2).
 * Timestamps with nanoseconds come from a fine clock (a tick of at most
 * 10 ms); whole seconds may mean a coarse file system (FAT: 2 s).
 */
#define RACY_FINE_NS 20000000LL
#define RACY_COARSE_NS 2000000000LL

/*
 * A walked entry.  A million of them stay well under 100 MiB: a file keeps
 * the stat fields the stat cache compares (note 1), nothing more; a
 * directory keeps its kids' names in one block and its own path, which the
 * readers and error messages of its files share.
 */
struct node {
	const char *name;	/* in the parent's names block */
	struct vs_id id;
	uint64_t size;		/* a file's: as walked, then as read */
	union {
		struct {		/* files and symlinks */
			int64_t mtime_ns, ctime_ns;
			uint64_t ino;
		} f;
		struct {		/* directories */
			struct node *kids;	/* sorted by name */
			char *names;		/* the kids' names */
			char *path;	/* from the root; "" for it */
			uint32_t nkids;
		} d;
	} u;
	uint16_t name_len;
	uint8_t type;		/* enum vs_entry_type */
	uint8_t flags;		/* enum node_flags */
};

enum node_flags {
	/* Read by this commit, and unchanged while it was read: the new
	 * stat cache records it (note 2). */
	NODE_CACHEABLE = 1 << 0,
};

/* A chunk on its way from a reader to a worker. */
struct job {
	struct vs_id id;	/* set by the worker */
	uint8_t *data;		/* owned until the worker stores it */
	size_t len;
	struct pending *file;
};

/*
 * A file cut into chunks: its file object is written by whichever thread
 * drops the last reference, the reader when it is done with the file or
 * the worker that hashed its last chunk, and then it is freed.  Only the
 * files in flight exist at any moment.
 */
struct pending {
	struct node *node;
	struct job **jobs;	/* its chunks in order, added by the reader */
	size_t njobs, jalloc;
	atomic_int refs;	/* the reader's, and one per job in the queue */
	bool complete;		/* the reader cut it all, then let go */
};

/* A file to read. */
struct fileread {
	struct node *node;
	const struct node *dir;	/* its directory, for its path */
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	struct job **ring;
	size_t cap, head, count;
	bool closed;
};

struct ingest {
	struct vs_store *s;
	const struct vs_repo *repo;
	const struct vs_ingest_opts *opts;
	const char *branch;
	struct vs_error *err;
	int rootfd;
	int64_t start_ns;

	struct node root;
	struct fileread *files;
	size_t nfiles, falloc;

	struct queue q;
	pthread_t *workers;
	int nworkers;
	/*
	 * The chunk each worker is storing (under q.lock): a worker that
	 * meets a chunk another one is storing leaves it to that one, so
	 * that identical chunks read at the same moment (duplicate files)
	 * are not written twice.  A chunk stored before is found by
	 * vs_chunk_put itself.
	 */
	struct vs_id *putting;
	bool *putting_used;
	/*
	 * Held around the writes of file objects by the readers and
	 * workers: thousands of small puts from ten threads at once cost
	 * RocksDB more (waits in its write group, retried concurrent
	 * memtable inserts) than one at a time, and gain nothing.
	 */
	pthread_mutex_t object_lock;
	/* The first worker failure: guarded by q.lock. */
	int werr;
	struct vs_error werr_msg;
	atomic_bool failed;

	struct vs_ingest_progress prog;	/* the calling thread's counters */
	atomic_uint_fast64_t new_chunks, new_bytes;
	/*
	 * Reader threads take files from both ends of files (sorted by size,
	 * smallest first), under take_lock; they count what they read.
	 */
	size_t take_lo, take_hi;
	pthread_mutex_t take_lock;
	atomic_uint_fast64_t bytes_read, files_read;
	/* Readers still running; the last one signals readers_done. */
	int readers_left;
	pthread_mutex_t readers_lock;
	pthread_cond_t readers_done;
	struct timespec last_progress;

	/* The new stat cache's changes not written yet, and their count. */
	struct vs_kv_batch *cache_batch;
	size_t cache_pending;
	/* The loaded stat cache: entries packed in one block, and a table of
	 * 1 + their offsets (0: an empty slot). */
	char *cache_entries;
	size_t *cache;
	size_t ncache;			/* slots, a power of two (0: none) */
	struct vs_buf cache_key, cache_val;	/* scratch */
};

/* Passes a non-fatal problem to the caller's warn callback, if any. */
static void warn(const struct vs_ingest_opts *opts, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(const struct vs_ingest_opts *opts, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!opts->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	opts->warn(opts->warn_arg, msg);
}

static void node_release(struct node *n)
{
	size_t i;

	if (n->type != VS_ENTRY_DIR)
		return;
	for (i = 0; i < n->u.d.nkids; i++)
		node_release(&n->u.d.kids[i]);
	free(n->u.d.kids);
	free(n->u.d.names);
	free(n->u.d.path);
}

static int node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* --- walk --------------------------------------------------------------- */

static const char *kind_of(mode_t m)
{
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISCHR(m))
		return "character device";
	if (S_ISBLK(m))
		return "block device";
	return "special file";
}

static void path_add(struct vs_buf *p, const char *name)
{
	if (p->len)
		vs_buf_addch(p, '/');
	vs_buf_addstr(p, name);
}

/*
 * The walk: WALKERS threads take directories from a stack, read and lstat
 * their entries and push their subdirectories.  A cold walk is a disk round
 * trip per inode block, which several threads overlap; and it runs in the
 * background from vs_scan_start() on, so that it also overlaps whatever the
 * caller does meanwhile (opening the store).  A directory's kids array is
 * complete and sorted before any of its subdirectories is pushed, so node
 * pointers in the stack stay valid.
 */
#define WALKERS 8

struct walk_task {
	int fd;			/* the directory, open */
	struct node *n;		/* its path set */
};

struct vs_scan {
	struct node root;
	int rootfd;			/* -1 if dir could not be opened */
	struct stat store_st;		/* skipped where it appears */
	int64_t start_ns;		/* the clock before any lstat */
	const struct vs_ingest_opts *opts;
	pthread_t threads[WALKERS];
	int nthreads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct walk_task *stack;	/* guarded by lock */
	size_t depth, cap, busy;	/* guarded by lock */
	int err;			/* the first error, guarded by lock */
	struct vs_error emsg;		/* its message, guarded by lock */
};

/* Records the first failure of the walk; returns r. */
static int scan_fail(struct vs_scan *sc, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int scan_fail(struct vs_scan *sc, int r, const char *fmt, ...)
{
	char msg[sizeof(sc->emsg.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&sc->lock);
	if (!sc->err) {
		sc->err = r;
		vs_error_set(&sc->emsg, r, "%s", msg);
	}
	pthread_mutex_unlock(&sc->lock);
	return r;
}

/*
 * Reads the directory d into n's kids, sorted by name, their names in one
 * block.  The kids array is trimmed to its size: it never grows again.
 */
static int read_dir(struct vs_scan *sc, DIR *d, struct node *n)
{
	const char *path = n->u.d.path;
	struct vs_buf names = VS_BUF_INIT, full = VS_BUF_INIT;
	struct node *kids = NULL;
	size_t *offs = NULL, nkids = 0, kalloc = 0, i;
	struct dirent *de;
	int r = 0;

	for (;;) {
		struct node *k;
		struct stat st;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = scan_fail(sc, -errno, "cannot read "
					      "directory '%s' (%s)",
					      *path ? path : ".",
					      strerror(errno));
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0) {
			r = scan_fail(sc, -errno, "cannot stat '%s/%s' (%s)",
				      path, de->d_name, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode) && st.st_dev == sc->store_st.st_dev &&
		    st.st_ino == sc->store_st.st_ino)
			continue;
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) &&
		    !S_ISLNK(st.st_mode)) {
			vs_buf_reset(&full);
			vs_buf_addstr(&full, path);
			path_add(&full, de->d_name);
			warn(sc->opts, "skipping %s '%s'", kind_of(st.st_mode),
			     full.data);
			continue;
		}
		if (nkids == kalloc) {
			kalloc = kalloc ? kalloc * 2 : 8;
			kids = vs_xreallocarray(kids, kalloc, sizeof(*kids));
			offs = vs_xreallocarray(offs, kalloc, sizeof(*offs));
		}
		k = &kids[nkids];
		memset(k, 0, sizeof(*k));
		offs[nkids++] = names.len;
		k->name_len = strlen(de->d_name);	/* <= NAME_MAX */
		vs_buf_add(&names, de->d_name, k->name_len + 1);
		if (S_ISDIR(st.st_mode)) {
			k->type = VS_ENTRY_DIR;
			continue;
		}
		if (S_ISLNK(st.st_mode))
			k->type = VS_ENTRY_SYMLINK;
		else if (st.st_mode & S_IXUSR)
			k->type = VS_ENTRY_EXEC;
		else
			k->type = VS_ENTRY_FILE;
		k->size = st.st_size;
		k->u.f.mtime_ns = ts_ns(&st.st_mtim);
		k->u.f.ctime_ns = ts_ns(&st.st_ctim);
		k->u.f.ino = st.st_ino;
	}
	if (nkids) {
		size_t nlen;

		n->u.d.names = vs_buf_detach(&names, &nlen);
		n->u.d.names = vs_xreallocarray(n->u.d.names, nlen, 1);
		for (i = 0; i < nkids; i++)
			kids[i].name = n->u.d.names + offs[i];
		n->u.d.kids = vs_xreallocarray(kids, nkids, sizeof(*kids));
		n->u.d.nkids = nkids;
	}
	if (r == 0 && nkids > 1)
		qsort(n->u.d.kids, nkids, sizeof(*kids), node_cmp);
	free(offs);
	vs_buf_release(&names);
	vs_buf_release(&full);
	return r;
}

static void scan_push(struct vs_scan *sc, int fd, struct node *n)
{
	pthread_mutex_lock(&sc->lock);
	if (sc->depth == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 64;
		sc->stack = vs_xreallocarray(sc->stack, sc->cap,
					     sizeof(*sc->stack));
	}
	sc->stack[sc->depth++] = (struct walk_task){ fd, n };
	pthread_cond_signal(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
}

/* Reads one directory and pushes its subdirectories; consumes t. */
static void walk_one(struct vs_scan *sc, struct walk_task *t)
{
	struct vs_buf sub = VS_BUF_INIT;
	const char *path = t->n->u.d.path;
	DIR *d;
	size_t i;
	int r, fd;

	d = fdopendir(t->fd);
	if (!d) {
		scan_fail(sc, -errno, "cannot read directory '%s' (%s)",
			  *path ? path : ".", strerror(errno));
		close(t->fd);
		return;
	}
	r = read_dir(sc, d, t->n);
	for (i = 0; i < t->n->u.d.nkids && r == 0; i++) {
		struct node *k = &t->n->u.d.kids[i];

		if (k->type != VS_ENTRY_DIR)
			continue;
		vs_buf_reset(&sub);
		vs_buf_addstr(&sub, path);
		path_add(&sub, k->name);
		fd = openat(dirfd(d), k->name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = scan_fail(sc, -errno, "cannot open directory '%s' "
				      "(%s)", sub.data, strerror(errno));
			break;
		}
		k->u.d.path = vs_buf_detach(&sub, NULL);
		scan_push(sc, fd, k);
	}
	closedir(d);
	vs_buf_release(&sub);
}

static void *walker_main(void *arg)
{
	struct vs_scan *sc = arg;
	struct walk_task t;

	pthread_mutex_lock(&sc->lock);
	for (;;) {
		while (!sc->depth && sc->busy)
			pthread_cond_wait(&sc->cond, &sc->lock);
		if (!sc->depth)
			break;	/* nothing queued, nobody to queue more */
		t = sc->stack[--sc->depth];
		if (sc->err) {
			/* Drain after a failure. */
			close(t.fd);
			continue;
		}
		sc->busy++;
		pthread_mutex_unlock(&sc->lock);
		walk_one(sc, &t);
		pthread_mutex_lock(&sc->lock);
		sc->busy--;
		pthread_cond_broadcast(&sc->cond);
	}
	pthread_mutex_unlock(&sc->lock);
	return NULL;
}

struct vs_scan *vs_scan_start(const char *dir, const char *store_dir,
			      const struct vs_ingest_opts *opts)
{
	struct vs_scan *sc = vs_xcalloc(1, sizeof(*sc));
	struct timespec now;
	int fd;

	/* The racy window (note 2) counts from before the first lstat. */
	clock_gettime(CLOCK_REALTIME, &now);
	sc->start_ns = ts_ns(&now);
	sc->opts = opts;
	sc->rootfd = -1;
	sc->root.type = VS_ENTRY_DIR;
	sc->root.u.d.path = vs_xstrdup("");
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->cond, NULL);
	if (!store_dir || stat(store_dir, &sc->store_st) < 0)
		memset(&sc->store_st, 0, sizeof(sc->store_st));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		scan_fail(sc, -errno, "cannot open directory '%s' (%s)", dir,
			  strerror(errno));
		return sc;
	}
	sc->rootfd = dup(fd);
	if (sc->rootfd < 0) {
		scan_fail(sc, -errno, "cannot open '%s' (%s)", dir,
			  strerror(errno));
		close(fd);
		return sc;
	}
	scan_push(sc, fd, &sc->root);
	for (sc->nthreads = 0; sc->nthreads < WALKERS; sc->nthreads++)
		if (pthread_create(&sc->threads[sc->nthreads], NULL,
				   walker_main, sc))
			break;
	if (!sc->nthreads)
		walker_main(sc);
	return sc;
}

/* Waits for the walk; 0 or its first error (message in err). */
static int scan_finish(struct vs_scan *sc, struct vs_error *err)
{
	int t;

	for (t = 0; t < sc->nthreads; t++)
		pthread_join(sc->threads[t], NULL);
	sc->nthreads = 0;
	if (sc->err && err)
		*err = sc->emsg;
	return sc->err;
}

void vs_scan_free(struct vs_scan *sc)
{
	if (!sc)
		return;
	pthread_mutex_lock(&sc->lock);
	if (!sc->err)
		sc->err = -ECANCELED;	/* the walkers drain the stack */
	pthread_mutex_unlock(&sc->lock);
	scan_finish(sc, NULL);
	node_release(&sc->root);
	if (sc->rootfd >= 0)
		close(sc->rootfd);
	pthread_cond_destroy(&sc->cond);
	pthread_mutex_destroy(&sc->lock);
	free(sc->stack);
	free(sc);
}

/* --- stat cache ----------------------------------------------------------- */

/*
 * A commit that changes more entries of the stat cache than this writes
 * them in parts, the last one with the ref update (ingest.h note 4), so
 * that the batch of a first commit of millions of files stays small.
 */
#define CACHE_PART 16384

/* 'S' <repo> '\0' <branch> '\0' */
static void cache_prefix(struct ingest *in, struct vs_buf *k)
{
	vs_buf_reset(k);
	vs_buf_addch(k, 'S');
	vs_buf_addstr(k, in->repo->full);
	vs_buf_addch(k, '\0');
	vs_buf_addstr(k, in->branch);
	vs_buf_addch(k, '\0');
}

/* The walked file k's entry: its stat as lstat gave it, and id. */
static void cache_value(const struct node *k, const struct vs_id *id,
			struct vs_buf *v)
{
	vs_buf_reset(v);
	vs_buf_add_varint(v, k->size);
	vs_buf_add_varint(v, k->u.f.mtime_ns);
	vs_buf_add_varint(v, k->u.f.ctime_ns);
	vs_buf_add_varint(v, k->u.f.ino);
	vs_buf_add_varint(v, k->type == VS_ENTRY_EXEC ? S_IXUSR : 0);
	vs_buf_add(v, id->b, VS_ID_LEN);
}

/*
 * The branch's stat cache, read with one scan before the walk: one
 * sequential pass instead of a random read per file.  Its entries are
 * packed one after the other in one block (a million cost about 100 MB
 * with the table), and found by open addressing on the path.
 */
struct cache_entry {
	bool kept;		/* this commit records the path again */
	uint8_t vlen;		/* values: 5 varints and an id */
	char val_path[];	/* vlen bytes of value, then the path, NUL */
};

static struct cache_entry *cache_entry_at(struct ingest *in, size_t slot)
{
	return (struct cache_entry *)(in->cache_entries + in->cache[slot] - 1);
}

static const char *cache_entry_path(const struct cache_entry *e)
{
	return e->val_path + e->vlen;
}

static uint64_t hash_path(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static void cache_load(struct ingest *in)
{
	struct vs_buf prefix = VS_BUF_INIT;
	struct vs_kv_iter *it;
	size_t n = 0, bytes = 0, used = 0, k;

	cache_prefix(in, &prefix);
	it = vs_kv_iter_new(in->s->kv, VS_CF_META, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		size_t klen, vlen;

		vs_kv_iter_key(it, &klen);
		vs_kv_iter_value(it, &vlen);
		if (vlen > UINT8_MAX)
			continue;	/* not ours: never a hit */
		n++;
		bytes += sizeof(struct cache_entry) + vlen + klen -
			 prefix.len + 1;
	}
	vs_kv_iter_free(it);
	in->ncache = 16;
	while (in->ncache < 2 * n)
		in->ncache *= 2;
	in->cache = vs_xcalloc(in->ncache, sizeof(*in->cache));
	in->cache_entries = vs_xmalloc(bytes ? bytes : 1);
	it = vs_kv_iter_new(in->s->kv, VS_CF_META, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it) && n; vs_kv_iter_next(it)) {
		size_t klen, vlen, plen, need;
		const char *key = vs_kv_iter_key(it, &klen);
		const char *v = vs_kv_iter_value(it, &vlen);
		struct cache_entry *e;

		plen = klen - prefix.len;
		need = sizeof(*e) + vlen + plen + 1;
		/* Entries written since the count are left out: not hits. */
		if (vlen > UINT8_MAX || need > bytes - used)
			continue;
		e = (struct cache_entry *)(in->cache_entries + used);
		e->kept = false;
		e->vlen = vlen;
		memcpy(e->val_path, v, vlen);
		memcpy(e->val_path + vlen, key + prefix.len, plen);
		e->val_path[vlen + plen] = '\0';
		for (k = hash_path(cache_entry_path(e)) & (in->ncache - 1);
		     in->cache[k]; k = (k + 1) & (in->ncache - 1))
			;
		in->cache[k] = used + 1;
		used += need;
		n--;
	}
	vs_kv_iter_free(it);
	vs_buf_release(&prefix);
}

/* The loaded entry for path, or NULL. */
static struct cache_entry *cache_find(struct ingest *in, const char *path)
{
	size_t k;

	if (!in->ncache)
		return NULL;
	for (k = hash_path(path) & (in->ncache - 1); in->cache[k];
	     k = (k + 1) & (in->ncache - 1)) {
		struct cache_entry *e = cache_entry_at(in, k);

		if (!strcmp(cache_entry_path(e), path))
			return e;
	}
	return NULL;
}

static void cache_free(struct ingest *in)
{
	free(in->cache);
	free(in->cache_entries);
	vs_buf_release(&in->cache_key);
	vs_buf_release(&in->cache_val);
}

/*
 * A hit reuses the cached file id without reading the file.  The id is not
 * checked against the objects: nothing removes objects a stat cache names
 * (NEEDSWORK: a future gc must count them as live or drop stat caches).
 */
static bool cache_lookup(struct ingest *in, const char *path,
			 const struct node *k, struct vs_id *id)
{
	struct cache_entry *e = cache_find(in, path);
	struct vs_buf *want = &in->cache_val;
	struct vs_id zero = { { 0 } };

	if (!e)
		return false;
	cache_value(k, &zero, want);
	if (e->vlen != want->len ||
	    memcmp(e->val_path, want->data, want->len - VS_ID_LEN))
		return false;
	memcpy(id->b, e->val_path + e->vlen - VS_ID_LEN, VS_ID_LEN);
	return true;
}

/*
 * Writes the changes of the stat cache gathered so far, after the objects
 * they name (kv.h note 2): an entry says which file id a file of that stat
 * has, true whether or not this commit completes.
 */
static int cache_write_part(struct ingest *in)
{
	int r;

	r = vs_kv_flush(in->s->kv, in->err);
	if (r == 0)
		r = vs_kv_write(in->s->kv, in->cache_batch, 0, in->err);
	vs_kv_batch_clear(in->cache_batch);
	in->cache_pending = 0;
	return r;
}

/* Counts a change added to cache_batch; writes a part when it is full. */
static int cache_changed(struct ingest *in)
{
	if (++in->cache_pending < CACHE_PART)
		return 0;
	return cache_write_part(in);
}

/*
 * Records the file k at path, whose id is known, in the new stat cache.
 * Only differences from the loaded cache go into the batch (cache_finish
 * deletes what was not recorded), so a commit of a small change writes a
 * small batch.  Returns 0 or what writing a part returned.
 */
static int cache_record(struct ingest *in, const char *path,
			const struct node *k)
{
	struct vs_buf *v = &in->cache_val;
	struct cache_entry *e;
	/* Timestamps without nanoseconds may come from a coarse clock. */
	int64_t window = k->u.f.mtime_ns % 1000000000LL ||
				 k->u.f.ctime_ns % 1000000000LL
				 ? RACY_FINE_NS
				 : RACY_COARSE_NS;

	if (k->u.f.mtime_ns >= in->start_ns - window ||
	    k->u.f.ctime_ns >= in->start_ns - window)
		return 0;
	cache_value(k, &k->id, v);
	e = cache_find(in, path);
	if (e)
		e->kept = true;
	if (e && e->vlen == v->len && !memcmp(e->val_path, v->data, v->len))
		return 0;
	cache_prefix(in, &in->cache_key);
	vs_buf_addstr(&in->cache_key, path);
	vs_kv_batch_put(in->cache_batch, in->s->kv, VS_CF_META,
			in->cache_key.data, in->cache_key.len, v->data, v->len);
	return cache_changed(in);
}

/* Records the files this commit read (plan() recorded the others). */
static int cache_record_read(struct ingest *in, const struct node *n,
			     struct vs_buf *path)
{
	size_t i, base = path->len;
	int r = 0;

	for (i = 0; i < n->u.d.nkids && r == 0; i++) {
		const struct node *k = &n->u.d.kids[i];

		if (k->type != VS_ENTRY_DIR && !(k->flags & NODE_CACHEABLE))
			continue;
		path_add(path, k->name);
		if (k->type == VS_ENTRY_DIR)
			r = cache_record_read(in, k, path);
		else
			r = cache_record(in, path->data, k);
		vs_buf_setlen(path, base);
	}
	return r;
}

/* Deletes the loaded entries that this commit did not record again. */
static int cache_finish(struct ingest *in)
{
	size_t i;
	int r = 0;

	for (i = 0; i < in->ncache && r == 0; i++) {
		struct cache_entry *e;

		if (!in->cache[i])
			continue;
		e = cache_entry_at(in, i);
		if (e->kept)
			continue;
		cache_prefix(in, &in->cache_key);
		vs_buf_addstr(&in->cache_key, cache_entry_path(e));
		vs_kv_batch_delete(in->cache_batch, in->s->kv, VS_CF_META,
				   in->cache_key.data, in->cache_key.len);
		r = cache_changed(in);
	}
	return r;
}

/*
 * Second pass over the walked tree: symlinks are stored now, cached files
 * take their ids, the rest are queued for reading.
 */
static int plan(struct ingest *in, struct node *n, struct vs_buf *path)
{
	size_t i, base = path->len;
	int r = 0;

	for (i = 0; i < n->u.d.nkids && r == 0; i++) {
		struct node *k = &n->u.d.kids[i];

		path_add(path, k->name);
		if (k->type == VS_ENTRY_DIR) {
			r = plan(in, k, path);
		} else if (k->type == VS_ENTRY_SYMLINK) {
			char target[4096 + 1];
			struct vs_file f;
			ssize_t len;

			len = readlinkat(in->rootfd, path->data, target,
					 sizeof(target) - 1);
			if (len < 0) {
				r = vs_error_set(in->err, -errno, "cannot read "
						 "symlink '%s' (%s)",
						 path->data, strerror(errno));
				break;
			}
			vs_file_init(&f);
			vs_file_set_inline(&f, target, len);
			r = vs_store_write_file(in->s, &f, &k->id, in->err);
			vs_file_release(&f);
			k->size = len;
			in->prog.files_total++;
		} else {
			in->prog.files_total++;
			in->prog.bytes_total += k->size;
			if (cache_lookup(in, path->data, k, &k->id)) {
				r = cache_record(in, path->data, k);
			} else {
				if (in->nfiles == in->falloc) {
					in->falloc = in->falloc ?
						in->falloc * 2 : 64;
					in->files = vs_xreallocarray(
						in->files, in->falloc,
						sizeof(*in->files));
				}
				in->files[in->nfiles++] =
					(struct fileread){ k, n };
				in->prog.bytes_to_read += k->size;
			}
		}
		vs_buf_setlen(path, base);
	}
	return r;
}

/* --- workers ---------------------------------------------------------- */

static void queue_init(struct queue *q, size_t cap)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->ring = vs_xcalloc(cap, sizeof(*q->ring));
	q->cap = cap;
}

static void queue_destroy(struct queue *q)
{
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->ring);
}

static void queue_push(struct queue *q, struct job *j)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->cap)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->ring[(q->head + q->count) % q->cap] = j;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/* NULL once the queue is closed and drained. */
static struct job *queue_pop(struct queue *q)
{
	struct job *j = NULL;

	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed)
		pthread_cond_wait(&q->not_empty, &q->lock);
	if (q->count) {
		j = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
	return j;
}

static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static void record_failure(struct ingest *in, int r,
			   const struct vs_error *e)
{
	pthread_mutex_lock(&in->q.lock);
	if (!in->werr) {
		in->werr = r;
		in->werr_msg = *e;
	}
	pthread_mutex_unlock(&in->q.lock);
	atomic_store(&in->failed, true);
}

/* Claims id for the calling worker: a slot, or -1 if another has it. */
static int put_claim(struct ingest *in, const struct vs_id *id)
{
	int t, free_slot = -1;

	pthread_mutex_lock(&in->q.lock);
	for (t = 0; t < in->nworkers; t++) {
		if (!in->putting_used[t])
			free_slot = free_slot < 0 ? t : free_slot;
		else if (vs_id_equal(&in->putting[t], id))
			break;
	}
	if (t < in->nworkers) {
		free_slot = -1;
	} else {
		/* Each worker holds at most one slot: one is free. */
		in->putting[free_slot] = *id;
		in->putting_used[free_slot] = true;
	}
	pthread_mutex_unlock(&in->q.lock);
	return free_slot;
}

static void put_release(struct ingest *in, int slot)
{
	pthread_mutex_lock(&in->q.lock);
	in->putting_used[slot] = false;
	pthread_mutex_unlock(&in->q.lock);
}

/* Writes the file object f of a file read by this commit. */
static int write_file_object(struct ingest *in, const struct vs_file *f,
			     struct vs_id *id, struct vs_error *err)
{
	int r;

	pthread_mutex_lock(&in->object_lock);
	r = vs_store_write_file(in->s, f, id, err);
	pthread_mutex_unlock(&in->object_lock);
	return r;
}

/*
 * Drops a reference to the chunked file p; the last one writes its file
 * object, unless the commit failed or the reader did not finish it, and
 * frees p with its jobs.
 */
static void pending_unref(struct ingest *in, struct pending *p)
{
	struct vs_error e = { 0 };
	struct vs_file f;
	size_t c;
	int r;

	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	if (p->complete && !atomic_load(&in->failed)) {
		vs_file_init(&f);
		for (c = 0; c < p->njobs; c++)
			vs_file_add_chunk(&f, &p->jobs[c]->id,
					  p->jobs[c]->len);
		r = write_file_object(in, &f, &p->node->id, &e);
		vs_file_release(&f);
		if (r < 0)
			record_failure(in, r, &e);
	}
	for (c = 0; c < p->njobs; c++) {
		free(p->jobs[c]->data);
		free(p->jobs[c]);
	}
	free(p->jobs);
	free(p);
}

static void *worker_main(void *arg)
{
	struct ingest *in = arg;
	struct vs_zctx *z = vs_zctx_new(in->s->config.zstd_level);
	struct job *j;

	if (!z) {
		pthread_mutex_lock(&in->q.lock);
		if (!in->werr)
			in->werr = -ENOMEM;
		pthread_mutex_unlock(&in->q.lock);
		atomic_store(&in->failed, true);
	}
	/* After pending_unref(), j may be gone. */
	while ((j = queue_pop(&in->q)) != NULL) {
		struct vs_put_stats st = { 0 };
		struct vs_error e = { 0 };
		int r, slot;

		if (atomic_load(&in->failed)) {
			free(j->data);
			j->data = NULL;
			pending_unref(in, j->file);
			continue;
		}
		vs_hash(j->data, j->len, &j->id);
		slot = put_claim(in, &j->id);
		r = slot < 0 ? 0 : vs_chunk_put(in->s, z, &j->id, j->data,
						 j->len, &st, &e);
		if (slot >= 0)
			put_release(in, slot);
		free(j->data);
		j->data = NULL;
		if (r < 0) {
			record_failure(in, r, &e);
		} else {
			atomic_fetch_add(&in->new_chunks, st.new_chunks);
			atomic_fetch_add(&in->new_bytes, st.new_stored_bytes);
		}
		pending_unref(in, j->file);
	}
	vs_zctx_free(z);
	return NULL;
}

static void report(struct ingest *in, bool force)
{
	struct timespec now;

	if (!in->opts->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && ts_ns(&now) - ts_ns(&in->last_progress) < 100000000LL)
		return;
	in->last_progress = now;
	in->prog.new_chunks = atomic_load(&in->new_chunks);
	in->prog.new_bytes = atomic_load(&in->new_bytes);
	in->prog.bytes_read = atomic_load(&in->bytes_read);
	in->prog.files_read = atomic_load(&in->files_read);
	in->opts->progress(in->opts->progress_arg, &in->prog);
}

/* --- read ------------------------------------------------------------- */

/* Queues the next chunk of the file of node, which *p (created by the
 * first call, with the reader's reference) gathers. */
static void add_job(struct ingest *in, struct pending **pp, struct node *node,
		    const uint8_t *data, size_t len)
{
	struct job *j = vs_xcalloc(1, sizeof(*j));
	struct pending *p = *pp;

	if (!p) {
		p = *pp = vs_xcalloc(1, sizeof(*p));
		p->node = node;
		atomic_init(&p->refs, 1);
	}
	j->data = vs_xmalloc(len);
	memcpy(j->data, data, len);
	j->len = len;
	j->file = p;
	if (p->njobs == p->jalloc) {
		p->jalloc = p->jalloc ? p->jalloc * 2 : 4;
		p->jobs = vs_xreallocarray(p->jobs, p->jalloc,
					   sizeof(*p->jobs));
	}
	p->jobs[p->njobs++] = j;
	atomic_fetch_add(&p->refs, 1);
	queue_push(&in->q, j);
}

/* Writes the file object of the small file node (inline content). */
static int write_inline(struct ingest *in, struct node *node,
			const uint8_t *data, size_t len, struct vs_error *err)
{
	struct vs_file f;
	int r;

	vs_file_init(&f);
	if (len)
		vs_file_set_inline(&f, data, len);
	r = write_file_object(in, &f, &node->id, err);
	vs_file_release(&f);
	return r;
}

/*
 * Switches fd to O_DIRECT if it lives on a local disk file system, where
 * O_DIRECT does well; true if it did.
 */
static bool try_direct(int fd)
{
	struct statfs sf;
	int fl;

	if (fstatfs(fd, &sf) < 0)
		return false;
	switch (sf.f_type) {
	case EXT4_SUPER_MAGIC:	/* ext2, ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
		break;
	default:
		return false;	/* NFS, FUSE, tmpfs, overlayfs...: buffered */
	}
	fl = fcntl(fd, F_GETFL);
	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
}

/*
 * One cutting loop for every reader of files (a commit's readers,
 * vs_cut_fd): the window holds at least max bytes or the rest of the file;
 * chunks are cut from it in order, and a file that ends within
 * VS_FILE_INLINE_MAX bytes goes whole to fns->small instead.  With direct,
 * the fd is O_DIRECT: the bytes left over are moved so that they end on an
 * aligned offset, where the next read goes (win and wcap are aligned);
 * should the file system refuse the alignment after all, the cut goes on
 * through the page cache.
 */
struct cut {
	const struct vs_chunker_params *cp;
	int fd;
	bool direct;
	uint8_t *win;
	size_t wcap;
	const struct vs_cut_fns *fns;
	void *arg;
	const char *what;		/* "'PATH'": for "cannot read what" */
	atomic_uint_fast64_t *read;	/* bytes read are added here; or NULL */
};

/* Returns 0, -errno (a failed read) or what a call returned; *total gets
 * the bytes read. */
static int cut_file(struct cut *c, uint64_t *total, struct vs_error *err)
{
	const struct vs_chunker_params *cp = c->cp;
	size_t have = 0, pos = 0;
	bool eof = false;
	int r = 0;

	*total = 0;
	while (r == 0) {
		if (!eof && have - pos < cp->max) {
			size_t left = have - pos;
			size_t start = c->direct ? (left + DIRECT_ALIGN - 1) /
							   DIRECT_ALIGN *
							   DIRECT_ALIGN -
						   left
						 : 0;

			memmove(c->win + start, c->win + pos, left);
			pos = start;
			have = start + left;
			while (!eof && have < c->wcap) {
				size_t want = c->wcap - have < READ_BLOCK
						      ? c->wcap - have
						      : READ_BLOCK;
				ssize_t n = pread(c->fd, c->win + have, want,
						  (off_t)*total);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && errno == EINVAL && c->direct) {
					c->direct = false;
					fcntl(c->fd, F_SETFL,
					      fcntl(c->fd, F_GETFL) & ~O_DIRECT);
					continue;
				}
				if (n < 0)
					return vs_error_set(err, -errno,
							    "cannot read %s "
							    "(%s)", c->what,
							    strerror(errno));
				if (n == 0)
					eof = true;
				have += (size_t)n;
				*total += (uint64_t)n;
				if (c->read)
					atomic_fetch_add(c->read, n);
			}
		}
		if (pos == have)
			break;
		if (eof && *total <= VS_FILE_INLINE_MAX)
			return c->fns->small(c->arg, c->win + pos, have - pos);
		while (r == 0 && pos < have && (eof || have - pos >= cp->max)) {
			size_t n = vs_chunker_next(cp, c->win + pos, have - pos);

			r = c->fns->chunk(c->arg, c->win + pos, n);
			pos += n;
		}
	}
	return r;
}

/*
 * Reads and cuts the file of fr (path: its path, for messages), writing its
 * file object, or having the worker of its last chunk write it.
 */
/* What a commit's reader does with the pieces of a file. */
struct read_ctx {
	struct ingest *in;
	struct node *node;
	struct pending *p;
	struct vs_error *err;
};

static int read_chunk(void *arg, const uint8_t *data, size_t len)
{
	struct read_ctx *rc = arg;

	add_job(rc->in, &rc->p, rc->node, data, len);
	/* A worker failed: the commit stops (the worker says why). */
	return atomic_load(&rc->in->failed) ? VS_E_CANCELED : 0;
}

static int read_small(void *arg, const uint8_t *data, size_t len)
{
	struct read_ctx *rc = arg;

	return write_inline(rc->in, rc->node, data, len, rc->err);
}

static int read_file(struct ingest *in, const struct fileread *fr,
		     const char *path, uint8_t *win, size_t wcap,
		     struct vs_error *err)
{
	static const struct vs_cut_fns fns = { read_chunk, read_small };
	struct node *node = fr->node;
	const uint64_t walked = node->size;	/* as lstat saw it */
	struct read_ctx rc = { .in = in, .node = node, .err = err };
	struct vs_buf what = VS_BUF_INIT;
	struct cut c = { .cp = &in->s->config.chunking, .win = win,
			 .wcap = wcap, .fns = &fns, .arg = &rc,
			 .read = &in->bytes_read };
	struct stat after;
	uint64_t total;
	int r;

	c.fd = openat(in->rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (c.fd < 0)
		return vs_error_set(err, -errno, "cannot open '%s' (%s)",
				    path, strerror(errno));
	c.direct = walked >= DIRECT_MIN && walked < DIRECT_MAX &&
		   try_direct(c.fd);
	if (!c.direct && walked > wcap)
		posix_fadvise(c.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	vs_buf_addf(&what, "'%s'", path);
	c.what = what.data;
	r = cut_file(&c, &total, err);
	if (r == VS_E_CANCELED && atomic_load(&in->failed))
		r = 0;	/* the worker's failure is the one reported */
	if (r < 0 || atomic_load(&in->failed))
		goto out;
	if (total == 0) {
		r = write_inline(in, node, NULL, 0, err);
		if (r < 0)
			goto out;
	}
	if (rc.p)
		rc.p->complete = true;
	node->size = total;
	/* A file that changed while being read is committed as read, but
	 * not cached, so the next commit reads it again. */
	if (fstat(c.fd, &after) == 0 && after.st_size == (off_t)total &&
	    total == walked && ts_ns(&after.st_mtim) == node->u.f.mtime_ns &&
	    ts_ns(&after.st_ctim) == node->u.f.ctime_ns)
		node->flags |= NODE_CACHEABLE;
	else
		warn(in->opts, "'%s' changed while it was read", path);
	atomic_fetch_add(&in->files_read, 1);
out:
	if (rc.p)
		pending_unref(in, rc.p);
	close(c.fd);
	vs_buf_release(&what);
	return r;
}

/* The next file for a reader to read, or SIZE_MAX when none is left. */
static size_t take_file(struct ingest *in, bool big)
{
	size_t i = SIZE_MAX;

	pthread_mutex_lock(&in->take_lock);
	if (in->take_lo < in->take_hi)
		i = big ? --in->take_hi : in->take_lo++;
	pthread_mutex_unlock(&in->take_lock);
	return i;
}

struct reader_arg {
	struct ingest *in;
	bool big;
};

static void readers_gone(struct ingest *in, int n)
{
	pthread_mutex_lock(&in->readers_lock);
	in->readers_left -= n;
	if (in->readers_left == 0)
		pthread_cond_signal(&in->readers_done);
	pthread_mutex_unlock(&in->readers_lock);
}

static void *reader_main(void *arg)
{
	const struct reader_arg *ra = arg;
	struct ingest *in = ra->in;
	const struct vs_chunker_params *cp = &in->s->config.chunking;
	/* Room for max bytes, four blocks and an alignment shift; aligned. */
	size_t wcap = ((size_t)cp->max + 4 * READ_BLOCK + 2 * DIRECT_ALIGN - 1) /
		      DIRECT_ALIGN * DIRECT_ALIGN, i;
	struct vs_buf path = VS_BUF_INIT;
	uint8_t *win;

	if (posix_memalign((void **)&win, DIRECT_ALIGN, wcap))
		abort();
	while (!atomic_load(&in->failed)) {
		struct vs_error e = { 0 };
		int r;

		i = take_file(in, ra->big);
		if (i == SIZE_MAX)
			break;
		vs_buf_reset(&path);
		vs_buf_addstr(&path, in->files[i].dir->u.d.path);
		path_add(&path, in->files[i].node->name);
		r = read_file(in, &in->files[i], path.data, win, wcap, &e);
		if (r < 0)
			record_failure(in, r, &e);
	}
	vs_buf_release(&path);
	free(win);
	readers_gone(in, 1);
	return NULL;
}

static int by_size_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct fileread *)a)->node->size;
	uint64_t y = ((const struct fileread *)b)->node->size;

	return (x > y) - (x < y);
}

static int read_all(struct ingest *in)
{
	pthread_t readers[READERS];
	struct reader_arg ra[READERS];
	int r = 0, t, nworkers = 0, nreaders = 0;

	if (in->nfiles > 1)
		qsort(in->files, in->nfiles, sizeof(*in->files), by_size_cmp);
	in->take_lo = 0;
	in->take_hi = in->nfiles;
	pthread_mutex_init(&in->take_lock, NULL);
	pthread_mutex_init(&in->object_lock, NULL);

	queue_init(&in->q, QUEUE_PER_WORKER * in->nworkers);
	in->workers = vs_xcalloc(in->nworkers, sizeof(*in->workers));
	in->putting = vs_xcalloc(in->nworkers, sizeof(*in->putting));
	in->putting_used = vs_xcalloc(in->nworkers,
				      sizeof(*in->putting_used));
	for (t = 0; t < in->nworkers; t++) {
		if (pthread_create(&in->workers[t], NULL, worker_main, in))
			break;
		nworkers++;
	}
	pthread_mutex_init(&in->readers_lock, NULL);
	pthread_cond_init(&in->readers_done, NULL);
	in->readers_left = READERS;
	for (t = 0; t < READERS && nworkers; t++) {
		ra[t] = (struct reader_arg){ .in = in, .big = t < BIG_READERS };
		if (pthread_create(&readers[t], NULL, reader_main, &ra[t]))
			break;
		nreaders++;
	}
	readers_gone(in, READERS - nreaders);
	if (!nworkers || !nreaders)
		r = vs_error_set(in->err, -EAGAIN, "cannot start threads");
	/*
	 * This thread reports progress every 20 ms while the readers work,
	 * and goes on the moment the last one is done.
	 */
	pthread_mutex_lock(&in->readers_lock);
	while (in->readers_left > 0) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 20 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&in->readers_done, &in->readers_lock,
				       &until);
		pthread_mutex_unlock(&in->readers_lock);
		report(in, false);
		if (!atomic_load(&in->failed)) {
			struct vs_error e = { 0 };
			int c = vs_check_cancel(in->opts->cancel, &e);

			if (c < 0)
				record_failure(in, c, &e);	/* stops all */
		}
		pthread_mutex_lock(&in->readers_lock);
	}
	pthread_mutex_unlock(&in->readers_lock);
	for (t = 0; t < nreaders; t++)
		pthread_join(readers[t], NULL);
	queue_close(&in->q);
	for (t = 0; t < nworkers; t++)
		pthread_join(in->workers[t], NULL);
	if (r == 0 && in->werr) {
		r = in->werr;
		if (in->err && !in->err->msg[0])
			*in->err = in->werr_msg;
		if (r != VS_E_CANCELED)
			vs_error_set(in->err, r, "cannot store a chunk (%s)",
				     vs_strerror(r));
	}
	queue_destroy(&in->q);
	pthread_cond_destroy(&in->readers_done);
	pthread_mutex_destroy(&in->readers_lock);
	pthread_mutex_destroy(&in->take_lock);
	pthread_mutex_destroy(&in->object_lock);
	report(in, true);
	return r;
}

/* --- assemble ----------------------------------------------------------- */

static int assemble_tree(struct ingest *in, struct node *n)
{
	struct vs_tree t;
	uint64_t total = 0;
	size_t i;
	int r = 0;

	vs_tree_init(&t);
	for (i = 0; i < n->u.d.nkids && r == 0; i++) {
		struct node *k = &n->u.d.kids[i];

		if (k->type == VS_ENTRY_DIR)
			r = assemble_tree(in, k);
		if (r < 0)
			break;
		vs_tree_add(&t, k->name, k->name_len, k->type, k->size,
			    &k->id);
		if (k->type != VS_ENTRY_SYMLINK)
			total += k->size;
	}
	if (r == 0)
		r = vs_store_write_tree(in->s, &t, &n->id, in->err);
	n->size = total;
	vs_tree_release(&t);
	return r;
}

static void files_release(struct ingest *in)
{
	free(in->files);
	free(in->workers);
	free(in->putting);
	free(in->putting_used);
}

/* --- commit --------------------------------------------------------------- */

int vs_ingest_dir(struct vs_store *s, const struct vs_repo *r,
		  const char *dir, const struct vs_ingest_opts *opts,
		  struct vs_ingest_result *res, struct vs_error *err)
{
	return vs_ingest_scanned(s, r, vs_scan_start(dir, s->path, opts), opts,
				 res, err);
}

/*
 * The stat cache, after every object (its parts, if it is large, need them
 * flushed first: a single flush, with the commit's): vs_commit_make's hook.
 */
static int record_cache(void *arg, bool changed, struct vs_error *err)
{
	struct ingest *in = arg;
	struct vs_buf path = VS_BUF_INIT;
	int r;

	(void)changed;
	(void)err;	/* the ingest's own err, which in->err is */
	r = cache_record_read(in, &in->root, &path);
	if (r == 0)
		r = cache_finish(in);
	vs_buf_release(&path);
	return r;
}

int vs_ingest_scanned(struct vs_store *s, const struct vs_repo *r,
		      struct vs_scan *scan, const struct vs_ingest_opts *opts,
		      struct vs_ingest_result *res, struct vs_error *err)
{
	struct ingest in = { 0 };
	struct vs_commit_make mk = { 0 };
	struct vs_buf path = VS_BUF_INIT;
	struct vs_id head;
	struct timespec now;
	bool has_head, logged = false;
	int rc;

	memset(res, 0, sizeof(*res));
	in.s = s;
	in.repo = r;
	in.opts = opts;
	in.err = err;
	in.branch = opts->branch ? opts->branch : VS_DEFAULT_BRANCH;
	in.rootfd = -1;
	vs_buf_init(&in.cache_key, 0);
	vs_buf_init(&in.cache_val, 0);
	in.nworkers = opts->threads > 0 ? opts->threads
					: (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (in.nworkers < 1)
		in.nworkers = 1;

	rc = vs_repo_check(s, r, err);
	if (rc < 0)
		goto out;
	if (!vs_ref_name_valid(in.branch)) {
		rc = vs_error_set(err, VS_E_INVAL, "invalid branch name '%s'",
				  in.branch);
		goto out;
	}
	rc = vs_branch_get(s, r, in.branch, &head, err);
	if (rc < 0 && rc != VS_E_NOTFOUND)
		goto out;
	has_head = rc == 0;
	rc = scan_finish(scan, err);
	if (rc < 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	in.start_ns = scan->start_ns;
	in.root = scan->root;
	memset(&scan->root, 0, sizeof(scan->root));
	in.rootfd = scan->rootfd;
	scan->rootfd = -1;
	in.cache_batch = vs_kv_batch_new();
	/*
	 * A commit that reads little writes little: through the WAL, which
	 * its synced ref update then makes durable, instead of a flush of
	 * every memtable (fsyncs, a MANIFEST update) before it.  Decided once
	 * plan() knows what must be read; symlinks are written during it.
	 */
	vs_kv_logged_begin(s->kv);
	logged = true;
	cache_load(&in);
	vs_buf_reset(&path);
	rc = plan(&in, &in.root, &path);
	if (rc < 0)
		goto out;
	if (in.prog.bytes_to_read > LOGGED_COMMIT_MAX) {
		vs_kv_logged_end(s->kv);
		logged = false;
	}
	report(&in, true);
	rc = read_all(&in);
	if (rc < 0)
		goto out;
	/* Every file object is written, and the ids are in the nodes. */
	free(in.files);
	in.files = NULL;
	rc = assemble_tree(&in, &in.root);
	if (rc < 0)
		goto out;
	/* The last moment a stop request can still leave no trace. */
	rc = vs_check_cancel(opts->cancel, err);
	if (rc < 0)
		goto out;

	/* The threads' counters reach in.prog only through report(). */
	in.prog.new_chunks = atomic_load(&in.new_chunks);
	in.prog.new_bytes = atomic_load(&in.new_bytes);
	in.prog.bytes_read = atomic_load(&in.bytes_read);
	in.prog.files_read = atomic_load(&in.files_read);
	res->stats = in.prog;
	mk.repo = r;
	mk.branch = in.branch;
	mk.base = has_head ? &head : NULL;
	mk.tree = in.root.id;
	mk.opts = opts;
	mk.now = (uint64_t)now.tv_sec;
	mk.batch = in.cache_batch;
	mk.before_ref = record_cache;
	mk.before_ref_arg = &in;
	rc = vs_commit_make(s, &mk, res, err);
out:
	if (logged)
		vs_kv_logged_end(s->kv);
	vs_kv_batch_free(in.cache_batch);
	cache_free(&in);
	files_release(&in);
	node_release(&in.root);
	if (in.rootfd >= 0)
		close(in.rootfd);
	vs_buf_release(&path);
	vs_scan_free(scan);
	return rc;
}

int vs_cut_fd(const struct vs_chunker_params *cp, int fd,
	      const struct vs_cut_fns *fns, void *arg, uint64_t *size,
	      struct vs_error *err)
{
	struct cut c = { .cp = cp, .fd = fd, .fns = fns, .arg = arg,
			 .what = "a staged file" };
	int r;

	c.wcap = (size_t)cp->max + 4 * READ_BLOCK;
	c.win = vs_xmalloc(c.wcap);
	r = cut_file(&c, size, err);
	free(c.win);
	return r;
}

struct ingest_fd {
	struct vs_store *s;
	struct vs_zctx *z;
	struct vs_file f;
	struct vs_put_stats *st;
	struct vs_error *err;
};

static int ingest_fd_chunk(void *arg, const uint8_t *data, size_t len)
{
	struct ingest_fd *in = arg;
	struct vs_id id;
	int r;

	vs_hash(data, len, &id);
	r = vs_chunk_put(in->s, in->z, &id, data, len, in->st, in->err);
	vs_file_add_chunk(&in->f, &id, len);
	return r;
}

static int ingest_fd_small(void *arg, const uint8_t *data, size_t len)
{
	struct ingest_fd *in = arg;

	vs_file_set_inline(&in->f, data, len);
	return 0;
}

int vs_ingest_fd(struct vs_store *s, int fd, struct vs_id *id, uint64_t *size,
		 struct vs_put_stats *st, struct vs_error *err)
{
	static const struct vs_cut_fns fns = { ingest_fd_chunk,
					       ingest_fd_small };
	struct ingest_fd in = { s, vs_zctx_new(s->config.zstd_level),
				.st = st, .err = err };
	int r;

	if (!in.z)
		abort();
	vs_file_init(&in.f);
	r = vs_cut_fd(&s->config.chunking, fd, &fns, &in, size, err);
	if (r == 0)
		r = vs_store_write_file(s, &in.f, id, err);
	vs_file_release(&in.f);
	vs_zctx_free(in.z);
	return r;
}
