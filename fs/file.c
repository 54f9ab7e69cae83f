/*
 * file.c - open files of the mount: committed files read from the chunk
 * cache with read-ahead and sibling prefetch, staged files read and
 * written in place.
 */
#include "fs_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

#define SEQ_SLACK (2u << 20)
#define PREFETCH_AHEAD (8u << 20)

/* --- files ---------------------------------------------------------------- */

struct fs_handle *fs_handle_new(void)
{
	struct fs_handle *h = calloc(1, sizeof(*h));

	if (!h)
		abort();
	h->fd = -1;
	vs_file_init(&h->f);
	return h;
}

void fs_handle_free(struct fs_handle *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	vs_file_release(&h->f);
	free(h);
}

/*
 * A reader that opens the files of a listed snapshot directory one after
 * another (find | xargs cat; a loader going through a shard directory)
 * finds the next ones already read, verified and decompressed: an open of
 * the file at position pos queues the first chunks of the files up to
 * SIBLINGS_AHEAD positions past it.  Only while the opens follow the
 * listing (each within SIBLINGS_AHEAD of the last): a reader in shuffled
 * order would make every prefetch a wasted read.  Files small enough to be
 * stored inline have no chunk to prefetch.
 */
#define SIBLINGS_AHEAD 16

static void prefetch_siblings(struct fs *fs, const struct fs_inode *i)
{
	struct fs_inode *p = fs_inode_get(fs, i->parent);
	const struct fs_dir *d;
	struct fs_dirstate *ds;
	size_t pos = i->pos, k, until;
	bool seq;

	if (!p || p->kind != FS_SNAP || !(ds = atomic_load(&p->dir)))
		return;
	if (fs_dircache_get(fs->dirs, &p->id, &d, NULL) < 0)
		return;
	pthread_mutex_lock(&ds->lock);
	seq = ds->listed &&
	      (ds->pf_last == 0 || (pos + SIBLINGS_AHEAD >= ds->pf_last &&
				    pos <= ds->pf_last + SIBLINGS_AHEAD));
	ds->pf_last = pos + 1;
	if (seq) {
		until = pos + 1 + SIBLINGS_AHEAD;
		k = ds->pf_next > pos + 1 ? ds->pf_next : pos + 1;
		for (; k < d->count && k < until; k++) {
			const struct vs_tree_entry *e = &d->entries[k];

			if (e->type != VS_ENTRY_DIR &&
			    e->type != VS_ENTRY_SYMLINK &&
			    e->size > VS_FILE_INLINE_MAX &&
			    !fs_cache_prefetch_file(fs->cache, &e->id))
				break;
		}
		ds->pf_next = k;
	}
	pthread_mutex_unlock(&ds->lock);
	fs_dircache_put(fs->dirs, d);
}

static int open_inode(struct fs *fs, struct fs_inode *i,
		      struct fuse_file_info *fi)
{
	bool wr = (fi->flags & O_ACCMODE) != O_RDONLY ||
		  (fi->flags & O_TRUNC);
	struct fs_handle *h;
	struct fs_hnode n;
	int r = 0, fd;

	if (i->kind == FS_SNAP) {
		if (wr)
			return -EROFS;
		if (i->type == VS_ENTRY_DIR)
			return -EISDIR;
		h = fs_handle_new();
		r = vs_store_read_file(fs->s, &i->id, &h->f, NULL);
		if (r < 0) {
			fs_handle_free(h);
			return -fs_errno(r);
		}
		fi->fh = (uintptr_t)h;
		fi->keep_cache = 1;
		/*
		 * The first read follows in a moment: its chunk comes off
		 * the disk meanwhile, while this reply and the reader's next
		 * request travel.  Only on the inode's first open: later
		 * ones are likely served from the kernel's page cache.
		 */
		if (h->f.nchunks > 0 && !atomic_exchange(&i->opened, true))
			fs_cache_prefetch(fs->cache, &h->f.chunks[0].id);
		prefetch_siblings(fs, i);
		return 0;
	}
	if (!fs_is_head(i))
		return -EISDIR;
	if (wr && fs->opts->read_only)
		return -EROFS;
	pthread_mutex_lock(&fs->head_lock);
	r = fs_head_resolve(fs, i->head, i->path, &n);
	if (r < 0)
		goto out;
	h = fs_handle_new();
	if (wr) {
		r = fs_stage_data(fs, i, &n, &h->fd);
		if (r == 0 && (fi->flags & O_TRUNC) && ftruncate(h->fd, 0) < 0)
			r = -errno;
	} else if (n.staged && n.se.type == VS_STAGE_DATA) {
		fd = vs_staging_open_datafile(fs->s, n.se.datafile, O_RDONLY);
		if (fd < 0)
			r = fd;
		h->fd = fd;
	} else if (n.type == VS_ENTRY_DIR) {
		r = -EISDIR;
	} else {
		r = vs_store_read_file(fs->s, n.staged ? &n.se.id : &n.bn.id,
				       &h->f, NULL);
		r = r < 0 ? -fs_errno(r) : 0;
	}
	fs_hnode_release(&n);
	if (r < 0) {
		fs_handle_free(h);
		goto out;
	}
	fi->fh = (uintptr_t)h;
	/* Changes come through this mount, or fs_on_change invalidates. */
	fi->keep_cache = 1;
out:
	pthread_mutex_unlock(&fs->head_lock);
	return r;
}

/* Hints the prefetch threads after a read of [off, end) ending in chunk last. */
static void read_ahead(struct fs *fs, struct fs_handle *h, off_t off,
		       uint64_t end, size_t last)
{
	const struct vs_file *f = &h->f;
	uint64_t prev, from;
	size_t k;

	/*
	 * A sequential reader (the kernel's read-ahead sends several windows
	 * at once, so "near the last end" rather than "at it") gets the
	 * chunks of the next few MiB decompressed by the prefetch threads
	 * before it asks for them.  Each read hints only the chunks that
	 * came into that window since the last one: a chunk is hinted once.
	 */
	prev = atomic_exchange(&h->next_off, end);
	if (off != 0 && ((uint64_t)off + SEQ_SLACK < prev ||
			 (uint64_t)off > prev + SEQ_SLACK)) {
		atomic_store(&h->hinted_end, 0);	/* a seek: start over */
		return;
	}
	from = atomic_exchange(&h->hinted_end, end + PREFETCH_AHEAD);
	if (off == 0)
		from = 0;
	for (k = last + 1; k < f->nchunks &&
			   f->chunks[k].offset < end + PREFETCH_AHEAD; k++) {
		if (f->chunks[k].offset < from)
			continue;
		if (!fs_cache_prefetch(fs->cache, &f->chunks[k].id)) {
			/* The queue is full: the next read offers it again. */
			atomic_store(&h->hinted_end, f->chunks[k].offset);
			break;
		}
	}
}

int fs_do_open(struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_inode *i = fs_inode_get(fs, ino);

	return i ? open_inode(fs, i, fi) : -ENOENT;
}

/* The reply's single piece: the bytes in rr->copy. */
static void reply_copy(struct fs_read_reply *rr)
{
	rr->iov = malloc(sizeof(*rr->iov));
	if (!rr->iov)
		abort();
	rr->iov[0] = (struct iovec){ .iov_base = rr->copy.data,
				     .iov_len = rr->copy.len };
	rr->n = rr->copy.len ? 1 : 0;
}

/*
 * A read of a committed file is answered straight from the cached chunks:
 * the reply's pieces point into them, and the wrapper's fuse_reply_iov
 * hands them to one writev on /dev/fuse, so the kernel copies from the
 * cache itself (fuse_reply_data would first copy a reply of several
 * pieces into a fresh buffer).
 */
static int read_object(struct fs *fs, struct fs_handle *h, size_t size,
		       off_t off, struct fs_read_reply *rr)
{
	const struct vs_file *f = &h->f;
	size_t k, first, npieces;
	uint64_t end;
	int r = 0;

	if ((uint64_t)off >= f->size || size == 0)
		return 0;
	end = f->size - off < size ? f->size : off + size;
	if (f->inline_data) {
		/*
		 * A copy: once the kernel has the reply it may release the
		 * file (and free f) before the reply call even returns.
		 */
		vs_buf_add(&rr->copy, f->inline_data + off, end - off);
		reply_copy(rr);
		return 0;
	}
	first = vs_file_find_chunk(f, off);
	for (k = first; k < f->nchunks && f->chunks[k].offset < end; k++)
		;
	npieces = k - first;
	rr->iov = malloc(npieces * sizeof(*rr->iov));
	rr->held = malloc(npieces * sizeof(*rr->held));
	if (!rr->iov || !rr->held)
		abort();
	for (k = first; k < first + npieces; k++) {
		const struct vs_chunk_ref *c = &f->chunks[k];
		const struct fs_chunk *ch;
		uint64_t from, to;

		r = fs_cache_get(fs->cache, &c->id, &ch, NULL);
		if (r < 0) {
			r = -fs_errno(r);
			break;
		}
		rr->held[rr->nheld++] = ch;
		if (ch->len != c->len) {
			r = -EIO;
			break;
		}
		from = (uint64_t)off > c->offset ? off - c->offset : 0;
		to = end < c->offset + c->len ? end - c->offset : c->len;
		rr->iov[k - first] = (struct iovec){
			.iov_base = (void *)(ch->data + from),
			.iov_len = to - from,
		};
	}
	if (r < 0)
		return r;
	rr->n = (int)npieces;
	/* Before the reply: once it is sent, the kernel may release the file
	 * and h with it. */
	read_ahead(fs, h, off, end, first + npieces - 1);
	return 0;
}

int fs_do_read(struct fs *fs, struct fs_handle *h, size_t size, off_t off,
	       struct fs_read_reply *rr)
{
	ssize_t n;

	memset(rr, 0, sizeof(*rr));
	rr->copy = (struct vs_buf)VS_BUF_INIT;
	if (h->fd < 0)
		return read_object(fs, h, size, off, rr);
	vs_buf_grow(&rr->copy, size);
	n = pread(h->fd, rr->copy.data, size, off);
	if (n < 0)
		return -errno;
	vs_buf_setlen(&rr->copy, (size_t)n);
	reply_copy(rr);
	return 0;
}

void fs_read_reply_release(struct fs *fs, struct fs_read_reply *rr,
			   bool sent)
{
	size_t k;

	/* A chunk whose every byte went to the kernel may leave the cache. */
	for (k = 0; k < rr->nheld; k++)
		fs_cache_put(fs->cache, rr->held[k],
			     sent ? rr->iov[k].iov_len : 0);
	free(rr->held);
	free(rr->iov);
	vs_buf_release(&rr->copy);
}

int fs_do_write(struct fs_handle *h, const char *buf, size_t size, off_t off,
		size_t *written)
{
	ssize_t n;

	if (h->fd < 0)
		return -EBADF;
	n = pwrite(h->fd, buf, size, off);
	if (n < 0)
		return -errno;
	*written = (size_t)n;
	return 0;
}

int fs_do_fsync(struct fs_handle *h, int datasync)
{
	if (h && h->fd >= 0 && (datasync ? fdatasync(h->fd) : fsync(h->fd)))
		return -errno;
	return 0;
}
