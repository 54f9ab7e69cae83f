/*
 * ingest.c - commit a directory into a repository (see ingest.h's notes).
 *
 * Phases: walk (build the node tree, consult the stat cache), read (this
 * thread cuts chunks, workers hash/compress/store them), assemble (file
 * objects, then trees bottom-up), commit (one synced batch with the ref).
 */
#include "ingest.h"

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

struct node {
	char *name;
	size_t name_len;
	enum vs_entry_type type;
	uint64_t size;
	struct vs_id id;
	struct stat st;
	bool resolved;		/* id known (cached or symlink or dir done) */
	struct node *kids;	/* directories: sorted by name */
	size_t nkids, kalloc;
};

struct job {
	struct vs_id id;
	uint8_t *data;
	size_t len;
};

/* A file to read. */
struct fileread {
	struct node *node;
	char *path;		/* relative to the source directory */
	struct job **jobs;	/* its chunks in order */
	size_t njobs, jalloc;
	struct vs_file inline_file;
	bool is_inline;
	bool cacheable;
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
	/* The first worker failure: guarded by q.lock. */
	int werr;
	struct vs_error werr_msg;
	atomic_bool failed;

	struct vs_ingest_progress prog;	/* the calling thread's counters */
	atomic_uint_fast64_t new_chunks, new_bytes;
	/*
	 * Reader threads take files from both ends of by_size (indexes into
	 * files, smallest first), under take_lock; they count what they read.
	 */
	size_t *by_size, take_lo, take_hi;
	pthread_mutex_t take_lock;
	atomic_uint_fast64_t bytes_read, files_read;
	/* Readers still running; the last one signals readers_done. */
	int readers_left;
	pthread_mutex_t readers_lock;
	pthread_cond_t readers_done;
	struct timespec last_progress;

	struct vs_kv_batch *cache_batch;
	struct cache_slot *cache;	/* the loaded stat cache */
	size_t ncache;			/* slots, a power of two (0: none) */
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

	for (i = 0; i < n->nkids; i++)
		node_release(&n->kids[i]);
	free(n->kids);
	free(n->name);
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
	char *path;		/* relative to the root, "" for the root */
	struct node *n;
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

/* Reads the directory d at relative path into n's kids, sorted by name. */
static int read_dir(struct vs_scan *sc, DIR *d, const char *path,
		    struct node *n)
{
	struct dirent *de;
	struct vs_buf full = VS_BUF_INIT;
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
		if (n->nkids == n->kalloc) {
			n->kalloc = n->kalloc ? n->kalloc * 2 : 8;
			n->kids = vs_xreallocarray(n->kids, n->kalloc,
						   sizeof(*n->kids));
		}
		k = &n->kids[n->nkids++];
		memset(k, 0, sizeof(*k));
		k->name_len = strlen(de->d_name);
		k->name = vs_xmemdupz(de->d_name, k->name_len);
		k->st = st;
		if (S_ISDIR(st.st_mode))
			k->type = VS_ENTRY_DIR;
		else if (S_ISLNK(st.st_mode))
			k->type = VS_ENTRY_SYMLINK;
		else if (st.st_mode & S_IXUSR)
			k->type = VS_ENTRY_EXEC;
		else
			k->type = VS_ENTRY_FILE;
	}
	if (r == 0 && n->nkids > 1)
		qsort(n->kids, n->nkids, sizeof(*n->kids), node_cmp);
	vs_buf_release(&full);
	return r;
}

static void scan_push(struct vs_scan *sc, int fd, char *path, struct node *n)
{
	pthread_mutex_lock(&sc->lock);
	if (sc->depth == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 64;
		sc->stack = vs_xreallocarray(sc->stack, sc->cap,
					     sizeof(*sc->stack));
	}
	sc->stack[sc->depth++] = (struct walk_task){ fd, path, n };
	pthread_cond_signal(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
}

/* Reads one directory and pushes its subdirectories; consumes t. */
static void walk_one(struct vs_scan *sc, struct walk_task *t)
{
	struct vs_buf sub = VS_BUF_INIT;
	DIR *d;
	size_t i;
	int r, fd;

	d = fdopendir(t->fd);
	if (!d) {
		scan_fail(sc, -errno, "cannot read directory '%s' (%s)",
			  *t->path ? t->path : ".", strerror(errno));
		close(t->fd);
		goto out;
	}
	r = read_dir(sc, d, t->path, t->n);
	for (i = 0; i < t->n->nkids && r == 0; i++) {
		struct node *k = &t->n->kids[i];

		if (k->type != VS_ENTRY_DIR)
			continue;
		vs_buf_reset(&sub);
		vs_buf_addstr(&sub, t->path);
		path_add(&sub, k->name);
		fd = openat(dirfd(d), k->name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			r = scan_fail(sc, -errno, "cannot open directory '%s' "
				      "(%s)", sub.data, strerror(errno));
			break;
		}
		scan_push(sc, fd, vs_buf_detach(&sub, NULL), k);
	}
	closedir(d);
out:
	vs_buf_release(&sub);
	free(t->path);
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
			free(t.path);
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
	char *top;
	int fd;

	/* The racy window (note 2) counts from before the first lstat. */
	clock_gettime(CLOCK_REALTIME, &now);
	sc->start_ns = ts_ns(&now);
	sc->opts = opts;
	sc->rootfd = -1;
	sc->root.type = VS_ENTRY_DIR;
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
	top = vs_xstrdup("");
	scan_push(sc, fd, top, &sc->root);
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

static void cache_value(const struct stat *st, const struct vs_id *id,
			struct vs_buf *v)
{
	vs_buf_reset(v);
	vs_buf_add_varint(v, st->st_size);
	vs_buf_add_varint(v, ts_ns(&st->st_mtim));
	vs_buf_add_varint(v, ts_ns(&st->st_ctim));
	vs_buf_add_varint(v, st->st_ino);
	vs_buf_add_varint(v, st->st_mode & S_IXUSR);
	vs_buf_add(v, id->b, VS_ID_LEN);
}

/*
 * The branch's stat cache, read with one scan before the walk: one
 * sequential pass instead of a random read per file.  Open addressing on
 * the path; values are the encoded entries.
 */
struct cache_slot {
	char *path;		/* NULL: empty slot */
	struct vs_buf val;
	bool kept;		/* this commit records path again */
};

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
	size_t n = 0, k;

	cache_prefix(in, &prefix);
	it = vs_kv_iter_new(in->s->kv, VS_CF_META, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it))
		n++;
	vs_kv_iter_free(it);
	in->ncache = 16;
	while (in->ncache < 2 * n)
		in->ncache *= 2;
	in->cache = vs_xcalloc(in->ncache, sizeof(*in->cache));
	it = vs_kv_iter_new(in->s->kv, VS_CF_META, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		size_t klen, vlen;
		const char *key = vs_kv_iter_key(it, &klen);
		const char *v = vs_kv_iter_value(it, &vlen);
		char *path = malloc(klen - prefix.len + 1);

		if (!path)
			abort();
		memcpy(path, key + prefix.len, klen - prefix.len);
		path[klen - prefix.len] = '\0';
		for (k = hash_path(path) & (in->ncache - 1); in->cache[k].path;
		     k = (k + 1) & (in->ncache - 1))
			;
		in->cache[k].path = path;
		vs_buf_init(&in->cache[k].val, vlen);
		vs_buf_add(&in->cache[k].val, v, vlen);
	}
	vs_kv_iter_free(it);
	vs_buf_release(&prefix);
}

/* The loaded entry for path, or NULL. */
static struct cache_slot *cache_find(struct ingest *in, const char *path)
{
	size_t k;

	if (!in->ncache)
		return NULL;
	for (k = hash_path(path) & (in->ncache - 1); in->cache[k].path;
	     k = (k + 1) & (in->ncache - 1))
		if (!strcmp(in->cache[k].path, path))
			return &in->cache[k];
	return NULL;
}

static void cache_free(struct ingest *in)
{
	size_t k;

	for (k = 0; k < in->ncache; k++) {
		free(in->cache[k].path);
		vs_buf_release(&in->cache[k].val);
	}
	free(in->cache);
}

/*
 * A hit reuses the cached file id without reading the file.  The id is not
 * checked against the objects: nothing removes objects a stat cache names
 * (NEEDSWORK: a future gc must count them as live or drop stat caches).
 */
static bool cache_lookup(struct ingest *in, const char *path,
			 const struct stat *st, struct vs_id *id)
{
	struct cache_slot *slot = cache_find(in, path);
	struct vs_buf want = VS_BUF_INIT;
	struct vs_id zero = { { 0 } };
	bool hit = false;

	if (!slot)
		return false;
	cache_value(st, &zero, &want);
	if (slot->val.len == want.len &&
	    !memcmp(slot->val.data, want.data, want.len - VS_ID_LEN)) {
		memcpy(id->b, slot->val.data + slot->val.len - VS_ID_LEN,
		       VS_ID_LEN);
		hit = true;
	}
	vs_buf_release(&want);
	return hit;
}

/*
 * Records path in the new stat cache.  Only differences from the loaded
 * cache go into the batch (cache_finish deletes what was not recorded), so
 * a commit of a small change writes a small batch.
 */
static void cache_record(struct ingest *in, const char *path,
			 const struct stat *st, const struct vs_id *id)
{
	struct vs_buf k = VS_BUF_INIT, v = VS_BUF_INIT;
	struct cache_slot *slot;
	int64_t window = st->st_mtim.tv_nsec || st->st_ctim.tv_nsec
				 ? RACY_FINE_NS
				 : RACY_COARSE_NS;

	if (ts_ns(&st->st_mtim) >= in->start_ns - window ||
	    ts_ns(&st->st_ctim) >= in->start_ns - window)
		return;
	cache_value(st, id, &v);
	slot = cache_find(in, path);
	if (slot)
		slot->kept = true;
	if (!slot || slot->val.len != v.len ||
	    memcmp(slot->val.data, v.data, v.len)) {
		cache_prefix(in, &k);
		vs_buf_addstr(&k, path);
		vs_kv_batch_put(in->cache_batch, in->s->kv, VS_CF_META, k.data,
				k.len, v.data, v.len);
	}
	vs_buf_release(&k);
	vs_buf_release(&v);
}

/* Deletes the loaded entries that this commit did not record again. */
static void cache_finish(struct ingest *in)
{
	struct vs_buf k = VS_BUF_INIT;
	size_t i;

	for (i = 0; i < in->ncache; i++) {
		if (!in->cache[i].path || in->cache[i].kept)
			continue;
		cache_prefix(in, &k);
		vs_buf_addstr(&k, in->cache[i].path);
		vs_kv_batch_delete(in->cache_batch, in->s->kv, VS_CF_META,
				   k.data, k.len);
	}
	vs_buf_release(&k);
}

/*
 * Second pass over the walked tree: symlinks are stored now, cached files
 * take their ids, the rest are queued for reading.
 */
static int plan(struct ingest *in, struct node *n, struct vs_buf *path,
		int dfd)
{
	size_t i, base = path->len;
	int r = 0;

	for (i = 0; i < n->nkids && r == 0; i++) {
		struct node *k = &n->kids[i];

		path_add(path, k->name);
		if (k->type == VS_ENTRY_DIR) {
			r = plan(in, k, path, -1);
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
			k->resolved = true;
			in->prog.files_total++;
		} else {
			struct fileread *fr;

			in->prog.files_total++;
			in->prog.bytes_total += k->st.st_size;
			k->size = k->st.st_size;
			if (cache_lookup(in, path->data, &k->st, &k->id)) {
				k->resolved = true;
				cache_record(in, path->data, &k->st, &k->id);
			} else {
				if (in->nfiles == in->falloc) {
					in->falloc = in->falloc ?
						in->falloc * 2 : 64;
					in->files = vs_xreallocarray(
						in->files, in->falloc,
						sizeof(*in->files));
				}
				fr = &in->files[in->nfiles++];
				memset(fr, 0, sizeof(*fr));
				fr->node = k;
				fr->path = vs_xstrdup(path->data);
				in->prog.bytes_to_read += k->st.st_size;
			}
		}
		vs_buf_setlen(path, base);
	}
	(void)dfd;
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

static void *worker_main(void *arg)
{
	struct ingest *in = arg;
	struct vs_zctx *z = vs_zctx_new(in->s->config.zstd_level);
	struct job *j;

	while ((j = queue_pop(&in->q)) != NULL) {
		struct vs_put_stats st = { 0 };
		struct vs_error e = { 0 };
		int r, slot;

		if (atomic_load(&in->failed) || !z) {
			free(j->data);
			j->data = NULL;
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
			continue;
		}
		atomic_fetch_add(&in->new_chunks, st.new_chunks);
		atomic_fetch_add(&in->new_bytes, st.new_stored_bytes);
	}
	if (!z) {
		pthread_mutex_lock(&in->q.lock);
		if (!in->werr)
			in->werr = -ENOMEM;
		pthread_mutex_unlock(&in->q.lock);
		atomic_store(&in->failed, true);
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

static void add_job(struct ingest *in, struct fileread *fr,
		    const uint8_t *data, size_t len)
{
	struct job *j = vs_xcalloc(1, sizeof(*j));

	j->data = vs_xmalloc(len);
	memcpy(j->data, data, len);
	j->len = len;
	if (fr->njobs == fr->jalloc) {
		fr->jalloc = fr->jalloc ? fr->jalloc * 2 : 4;
		fr->jobs = vs_xreallocarray(fr->jobs, fr->jalloc,
					    sizeof(*fr->jobs));
	}
	fr->jobs[fr->njobs++] = j;
	queue_push(&in->q, j);
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

static int read_file(struct ingest *in, struct fileread *fr, uint8_t *win,
		     size_t wcap, struct vs_error *err)
{
	const struct vs_chunker_params *cp = &in->s->config.chunking;
	size_t have = 0, pos = 0;
	uint64_t total = 0;
	struct stat after;
	bool eof = false, direct;
	int fd, r = 0;

	fd = openat(in->rootfd, fr->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_error_set(err, -errno, "cannot open '%s' (%s)",
				    fr->path, strerror(errno));
	direct = fr->node->st.st_size >= (off_t)DIRECT_MIN &&
		 fr->node->st.st_size < (off_t)DIRECT_MAX && try_direct(fd);
	if (!direct && fr->node->st.st_size > (off_t)wcap)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (!eof || pos < have) {
		/*
		 * Refill so that the window holds max bytes or the rest.  For
		 * O_DIRECT the bytes left over are moved so that they end on
		 * an aligned offset, where the next read goes.
		 */
		if (!eof && have - pos < cp->max) {
			size_t left = have - pos;
			size_t start = direct ? (left + DIRECT_ALIGN - 1) /
						DIRECT_ALIGN * DIRECT_ALIGN -
						left
					      : 0;

			memmove(win + start, win + pos, left);
			pos = start;
			have = start + left;
			while (!eof && have < wcap) {
				ssize_t n = read(fd, win + have,
						 wcap - have < READ_BLOCK ?
						 wcap - have : READ_BLOCK);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && errno == EINVAL && direct) {
					/* Not aligned enough for this
					 * file system after all. */
					direct = false;
					fcntl(fd, F_SETFL,
					      fcntl(fd, F_GETFL) & ~O_DIRECT);
					continue;
				}
				if (n < 0) {
					r = vs_error_set(err, -errno,
							 "cannot read '%s' (%s)",
							 fr->path,
							 strerror(errno));
					goto out;
				}
				if (n == 0)
					eof = true;
				have += n;
				atomic_fetch_add(&in->bytes_read, n);
				total += n;
			}
		}
		if (pos == have)
			break;
		if (eof && total <= VS_FILE_INLINE_MAX) {
			fr->is_inline = true;
			vs_file_init(&fr->inline_file);
			vs_file_set_inline(&fr->inline_file, win + pos,
					   have - pos);
			pos = have;
			break;
		}
		while (pos < have && (eof || have - pos >= cp->max)) {
			size_t cut = vs_chunker_next(cp, win + pos, have - pos);

			add_job(in, fr, win + pos, cut);
			pos += cut;
			if (atomic_load(&in->failed))
				goto out;
		}
	}
	if (total == 0) {
		fr->is_inline = true;
		vs_file_init(&fr->inline_file);
	}
	fr->node->size = total;
	/* A file that changed while being read is committed as read, but
	 * not cached, so the next commit reads it again. */
	fr->cacheable = fstat(fd, &after) == 0 &&
			after.st_size == (off_t)total &&
			ts_ns(&after.st_mtim) == ts_ns(&fr->node->st.st_mtim) &&
			ts_ns(&after.st_ctim) == ts_ns(&fr->node->st.st_ctim);
	if (!fr->cacheable)
		warn(in->opts, "'%s' changed while it was read", fr->path);
	atomic_fetch_add(&in->files_read, 1);
out:
	close(fd);
	return r;
}

/* The next file for a reader to read, or SIZE_MAX when none is left. */
static size_t take_file(struct ingest *in, bool big)
{
	size_t i = SIZE_MAX;

	pthread_mutex_lock(&in->take_lock);
	if (in->take_lo < in->take_hi)
		i = big ? in->by_size[--in->take_hi]
			: in->by_size[in->take_lo++];
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
	uint8_t *win;

	if (posix_memalign((void **)&win, DIRECT_ALIGN, wcap))
		abort();
	while (!atomic_load(&in->failed)) {
		struct vs_error e = { 0 };
		int r;

		i = take_file(in, ra->big);
		if (i == SIZE_MAX)
			break;
		r = read_file(in, &in->files[i], win, wcap, &e);
		if (r < 0)
			record_failure(in, r, &e);
	}
	free(win);
	readers_gone(in, 1);
	return NULL;
}

static int by_size_cmp(const void *a, const void *b, void *arg)
{
	const struct ingest *in = arg;
	off_t x = in->files[*(const size_t *)a].node->st.st_size;
	off_t y = in->files[*(const size_t *)b].node->st.st_size;

	return (x > y) - (x < y);
}

static int read_all(struct ingest *in)
{
	pthread_t readers[READERS];
	struct reader_arg ra[READERS];
	int r = 0, t, nworkers = 0, nreaders = 0;
	size_t i;

	in->by_size = vs_xcalloc(in->nfiles, sizeof(size_t));
	for (i = 0; i < in->nfiles; i++)
		in->by_size[i] = i;
	qsort_r(in->by_size, in->nfiles, sizeof(size_t), by_size_cmp, in);
	in->take_lo = 0;
	in->take_hi = in->nfiles;
	pthread_mutex_init(&in->take_lock, NULL);

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
	free(in->by_size);
	in->by_size = NULL;
	report(in, true);
	return r;
}

/* --- assemble ----------------------------------------------------------- */

static int assemble_files(struct ingest *in)
{
	size_t i, c;
	int r = 0;

	for (i = 0; i < in->nfiles && r == 0; i++) {
		struct fileread *fr = &in->files[i];
		struct vs_file f;

		if (fr->is_inline) {
			r = vs_store_write_file(in->s, &fr->inline_file,
						&fr->node->id, in->err);
		} else {
			vs_file_init(&f);
			for (c = 0; c < fr->njobs; c++)
				vs_file_add_chunk(&f, &fr->jobs[c]->id,
						  fr->jobs[c]->len);
			r = vs_store_write_file(in->s, &f, &fr->node->id,
						in->err);
			vs_file_release(&f);
		}
		fr->node->resolved = true;
		if (r == 0 && fr->cacheable)
			cache_record(in, fr->path, &fr->node->st,
				     &fr->node->id);
	}
	return r;
}

static int assemble_tree(struct ingest *in, struct node *n)
{
	struct vs_tree t;
	uint64_t total = 0;
	size_t i;
	int r = 0;

	vs_tree_init(&t);
	for (i = 0; i < n->nkids && r == 0; i++) {
		struct node *k = &n->kids[i];

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
	size_t i, c;

	for (i = 0; i < in->nfiles; i++) {
		struct fileread *fr = &in->files[i];

		for (c = 0; c < fr->njobs; c++) {
			free(fr->jobs[c]->data);
			free(fr->jobs[c]);
		}
		free(fr->jobs);
		free(fr->path);
		if (fr->is_inline)
			vs_file_release(&fr->inline_file);
	}
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

int vs_ingest_scanned(struct vs_store *s, const struct vs_repo *r,
		      struct vs_scan *scan, const struct vs_ingest_opts *opts,
		      struct vs_ingest_result *res, struct vs_error *err)
{
	struct ingest in = { 0 };
	struct vs_buf path = VS_BUF_INIT;
	struct vs_commit c;
	struct vs_id head, tree_of_head;
	struct timespec now;
	bool has_head, logged = false;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	in.s = s;
	in.repo = r;
	in.opts = opts;
	in.err = err;
	in.branch = opts->branch ? opts->branch : VS_DEFAULT_BRANCH;
	in.rootfd = -1;
	in.nworkers = opts->threads > 0 ? opts->threads
					: (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (in.nworkers < 1)
		in.nworkers = 1;
	vs_commit_init(&c);

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
	rc = plan(&in, &in.root, &path, -1);
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
	rc = assemble_files(&in);
	if (rc < 0)
		goto out;
	rc = assemble_tree(&in, &in.root);
	if (rc < 0)
		goto out;
	/* The last moment a stop request can still leave no trace. */
	rc = vs_check_cancel(opts->cancel, err);
	if (rc < 0)
		goto out;
	cache_finish(&in);

	/* The threads' counters reach in.prog only through report(). */
	in.prog.new_chunks = atomic_load(&in.new_chunks);
	in.prog.new_bytes = atomic_load(&in.new_bytes);
	in.prog.bytes_read = atomic_load(&in.bytes_read);
	in.prog.files_read = atomic_load(&in.files_read);
	res->stats = in.prog;
	if (has_head && !opts->allow_empty) {
		struct vs_commit hc;

		rc = vs_store_read_commit(s, &head, &hc, err);
		if (rc < 0)
			goto out;
		tree_of_head = hc.tree;
		vs_commit_release(&hc);
		if (vs_id_equal(&tree_of_head, &in.root.id)) {
			/* Nothing changed: keep the head, refresh the cache. */
			rc = vs_kv_write(s->kv, in.cache_batch, 0, err);
			res->commit = head;
			res->created = false;
			goto out;
		}
	}

	c.tree = in.root.id;
	if (has_head)
		vs_commit_add_parent(&c, &head);
	c.time = opts->time ? opts->time : (uint64_t)now.tv_sec;
	vs_commit_set_author(&c, opts->author ? opts->author : "");
	vs_commit_set_message(&c, opts->message ? opts->message : "");
	for (i = 0; i < opts->nmeta; i++)
		vs_commit_set_meta(&c, opts->meta[i].key, opts->meta[i].value);
	rc = vs_store_write_commit(s, &c, &res->commit, err);
	if (rc < 0)
		goto out;
	rc = vs_branch_update(s, r, in.branch, has_head ? &head : NULL,
			      &res->commit, in.cache_batch, 0, err);
	if (rc < 0)
		goto out;
	res->created = true;
out:
	if (logged)
		vs_kv_logged_end(s->kv);
	vs_commit_release(&c);
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
	size_t wcap = (size_t)cp->max + 4 * READ_BLOCK, have = 0, pos = 0;
	uint64_t total = 0;
	bool eof = false;
	uint8_t *win;
	int r = 0;

	win = malloc(wcap);
	if (!win)
		abort();
	while (r == 0) {
		if (!eof && have - pos < cp->max) {
			memmove(win, win + pos, have - pos);
			have -= pos;
			pos = 0;
			while (!eof && have < wcap) {
				ssize_t n = pread(fd, win + have, wcap - have,
						  total);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					r = vs_error_set(err, -errno, "cannot "
							 "read a staged file "
							 "(%s)",
							 strerror(errno));
					break;
				}
				if (n == 0)
					eof = true;
				have += n;
				total += n;
			}
		}
		if (r < 0 || pos == have)
			break;
		if (eof && total <= VS_FILE_INLINE_MAX) {
			r = fns->small(arg, win, have);
			break;
		}
		while (r == 0 && pos < have && (eof || have - pos >= cp->max)) {
			size_t cut = vs_chunker_next(cp, win + pos, have - pos);

			r = fns->chunk(arg, win + pos, cut);
			pos += cut;
		}
	}
	*size = total;
	free(win);
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
