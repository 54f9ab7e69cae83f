/*
 * staging.c - staged changes of writable heads (see staging.h's notes).
 */
#include "staging.h"
#include "store_int.h"

#include "commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "idset.h"
#include "rev.h"

#include "xalloc.h"
#include "banned.h"

void vs_stage_entry_release(struct vs_stage_entry *e)
{
	free(e->target);
	e->target = NULL;
}

/* <type> <repo> '\0' <branch> */
static void head_key(struct vs_buf *k, char type, const struct vs_head *h)
{
	vs_buf_reset(k);
	vs_buf_addch(k, type);
	vs_buf_addstr(k, h->repo.full);
	vs_buf_addch(k, '\0');
	vs_buf_addstr(k, h->branch);
}

/* 'E' H '\0' <path> */
static void entry_key(struct vs_buf *k, const struct vs_head *h,
		      const char *path)
{
	head_key(k, 'E', h);
	vs_buf_addch(k, '\0');
	vs_buf_addstr(k, path);
}

void vs_stage_entry_encode(const struct vs_stage_entry *e,
			   struct vs_buf *out)
{
	vs_buf_reset(out);
	vs_buf_addch(out, e->type);
	vs_buf_addch(out, e->flags);
	switch (e->type) {
	case VS_STAGE_DATA:
		vs_buf_add_varint(out, e->datafile);
		break;
	case VS_STAGE_REF:
		vs_buf_add(out, e->id.b, VS_ID_LEN);
		vs_buf_add_varint(out, e->size);
		break;
	case VS_STAGE_SYMLINK:
		vs_buf_add_bytes(out, e->target, strlen(e->target));
		break;
	default:
		break;
	}
}

int vs_stage_entry_decode(struct vs_stage_entry *e, const void *data,
			  size_t len)
{
	struct vs_cursor c;
	const uint8_t *p;
	size_t n;

	memset(e, 0, sizeof(*e));
	vs_cursor_init(&c, data, len);
	e->type = vs_cursor_u8(&c);
	e->flags = vs_cursor_u8(&c);
	switch (e->type) {
	case VS_STAGE_DATA:
		e->datafile = vs_cursor_varint(&c);
		break;
	case VS_STAGE_REF:
		p = vs_cursor_take(&c, VS_ID_LEN);
		if (p)
			memcpy(e->id.b, p, VS_ID_LEN);
		e->size = vs_cursor_varint(&c);
		break;
	case VS_STAGE_SYMLINK:
		p = vs_cursor_bytes(&c, &n);
		c.bad |= p && memchr(p, '\0', n);	/* no NUL in a target */
		if (p) {
			/* Not NUL-terminated in the encoding. */
			e->target = vs_xmemdupz(p, n);
		}
		break;
	case VS_STAGE_DIR:
	case VS_STAGE_WHITEOUT:
		break;
	default:
		return VS_E_CORRUPT;
	}
	if (!vs_cursor_ok(&c) || vs_cursor_left(&c)) {
		vs_stage_entry_release(e);
		return VS_E_CORRUPT;
	}
	return 0;
}

int vs_staging_get(struct vs_store *s, const struct vs_head *h,
		   const char *path, struct vs_stage_entry *e,
		   struct vs_error *err)
{
	struct vs_buf k = VS_BUF_INIT, v = VS_BUF_INIT;
	int r;

	memset(e, 0, sizeof(*e));
	entry_key(&k, h, path);
	r = vs_kv_get(s->kv, VS_CF_STAGING, k.data, k.len, &v, err);
	if (r == 0 && vs_stage_entry_decode(e, v.data, v.len) < 0)
		r = vs_error_set(err, VS_E_CORRUPT, "staged entry '%s' of %s@%s "
				 "is corrupt", path, h->repo.full, h->branch);
	vs_buf_release(&k);
	vs_buf_release(&v);
	return r;
}

bool vs_staging_base(struct vs_store *s, const struct vs_head *h,
		     struct vs_id *base)
{
	struct vs_buf k = VS_BUF_INIT, v = VS_BUF_INIT;
	bool staged = false;

	head_key(&k, 'B', h);
	if (vs_kv_get(s->kv, VS_CF_STAGING, k.data, k.len, &v, NULL) == 0 &&
	    v.len == VS_ID_LEN) {
		memcpy(base->b, v.data, VS_ID_LEN);
		staged = true;
	}
	vs_buf_release(&k);
	vs_buf_release(&v);
	return staged;
}

int vs_staging_put(struct vs_store *s, const struct vs_head *h,
		   const struct vs_id *base, const char *path,
		   const struct vs_stage_entry *e, struct vs_error *err)
{
	struct vs_buf k = VS_BUF_INIT, v = VS_BUF_INIT;
	struct vs_id zero = { { 0 } }, cur;
	const struct vs_id *want = base ? base : &zero;
	struct vs_kv_batch *b = vs_kv_batch_new();
	int r;

	if (vs_staging_base(s, h, &cur)) {
		if (!vs_id_equal(&cur, want)) {
			r = vs_error_set(err, VS_E_CONFLICT, "%s@%s moved since "
					 "its changes were staged",
					 h->repo.full, h->branch);
			goto out;
		}
	} else {
		head_key(&k, 'B', h);
		vs_kv_batch_put(b, s->kv, VS_CF_STAGING, k.data, k.len,
				want->b, VS_ID_LEN);
	}
	entry_key(&k, h, path);
	vs_stage_entry_encode(e, &v);
	vs_kv_batch_put(b, s->kv, VS_CF_STAGING, k.data, k.len, v.data, v.len);
	/* Logged but not synced: survives a crash of the process. */
	r = vs_kv_write(s->kv, b, 0, err);
out:
	vs_kv_batch_free(b);
	vs_buf_release(&k);
	vs_buf_release(&v);
	return r;
}

int vs_staging_remove(struct vs_store *s, const struct vs_head *h,
		      const char *path, struct vs_error *err)
{
	struct vs_buf k = VS_BUF_INIT;
	struct vs_kv_batch *b = vs_kv_batch_new();
	int r;

	entry_key(&k, h, path);
	vs_kv_batch_delete(b, s->kv, VS_CF_STAGING, k.data, k.len);
	vs_buf_addch(&k, '/');
	vs_kv_batch_delete_prefix(b, s->kv, VS_CF_STAGING, k.data, k.len);
	r = vs_kv_write(s->kv, b, 0, err);
	vs_kv_batch_free(b);
	vs_buf_release(&k);
	return r;
}

int vs_staging_children(struct vs_store *s, const struct vs_head *h,
			const char *dir,
			int (*fn)(const char *name,
				  const struct vs_stage_entry *e, void *arg),
			void *arg, struct vs_error *err)
{
	struct vs_buf prefix = VS_BUF_INIT, name = VS_BUF_INIT;
	struct vs_kv_iter *it;
	int r = 0;

	entry_key(&prefix, h, dir);
	if (*dir)
		vs_buf_addch(&prefix, '/');
	it = vs_kv_iter_new(s->kv, VS_CF_STAGING, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		struct vs_stage_entry e;
		size_t klen, vlen;
		const char *k = vs_kv_iter_key(it, &klen);
		const void *v = vs_kv_iter_value(it, &vlen);

		if (klen == prefix.len ||
		    memchr(k + prefix.len, '/', klen - prefix.len))
			continue;
		if (vs_stage_entry_decode(&e, v, vlen) < 0)
			continue;
		vs_buf_reset(&name);
		vs_buf_add(&name, k + prefix.len, klen - prefix.len);
		r = fn(name.data, &e, arg);
		vs_stage_entry_release(&e);
		if (r)
			break;
	}
	r = vs_kv_iter_end(it, r, err);
	vs_buf_release(&prefix);
	vs_buf_release(&name);
	return r;
}

/* --- data files ---------------------------------------------------------- */

static void datafile_path(struct vs_store *s, uint64_t num, struct vs_buf *p)
{
	vs_buf_reset(p);
	vs_buf_addf(p, "%s/staging/%llu", s->path, (unsigned long long)num);
}

int vs_staging_new_datafile(struct vs_store *s, uint64_t *num, int *fd,
			    struct vs_error *err)
{
	struct vs_buf path = VS_BUF_INIT, v = VS_BUF_INIT;
	struct vs_kv_batch *b;
	struct vs_cursor c;
	uint64_t n = 1;
	int r;

	pthread_mutex_lock(&s->ref_lock);
	if (vs_kv_get(s->kv, VS_CF_STAGING, "N", 1, &v, NULL) == 0) {
		vs_cursor_init(&c, v.data, v.len);
		n = vs_cursor_varint(&c);
		if (!vs_cursor_ok(&c) || n == 0)
			n = 1;
	}
	/* Skip numbers whose files exist (a counter update lost in a crash). */
	for (;; n++) {
		datafile_path(s, n, &path);
		*fd = open(path.data, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			   0600);
		if (*fd >= 0 || errno != EEXIST)
			break;
	}
	if (*fd < 0) {
		r = vs_error_set(err, -errno, "cannot create '%s' (%s)",
				 path.data, strerror(errno));
		goto out;
	}
	vs_buf_reset(&v);
	vs_buf_add_varint(&v, n + 1);
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, s->kv, VS_CF_STAGING, "N", 1, v.data, v.len);
	r = vs_kv_write(s->kv, b, 0, err);
	vs_kv_batch_free(b);
	if (r < 0) {
		close(*fd);
		unlink(path.data);
		goto out;
	}
	*num = n;
out:
	pthread_mutex_unlock(&s->ref_lock);
	vs_buf_release(&path);
	vs_buf_release(&v);
	return r;
}

int vs_staging_open_datafile(struct vs_store *s, uint64_t num, int flags)
{
	struct vs_buf path = VS_BUF_INIT;
	int fd;

	datafile_path(s, num, &path);
	fd = open(path.data, flags | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	vs_buf_release(&path);
	return fd;
}

/* --- commit ------------------------------------------------------------------ */

struct build {
	struct vs_store *s;
	const struct vs_head *h;
	struct vs_error *err;
	struct vs_put_stats st;
	struct vs_ingest_progress *prog;
	uint64_t *datafiles;	/* to unlink after the commit */
	size_t ndata, adata;
};

/* True if some entry lies strictly below path. */
static bool has_staged_below(struct build *b, const char *path)
{
	struct vs_buf prefix = VS_BUF_INIT;
	struct vs_kv_iter *it;
	bool found;

	entry_key(&prefix, b->h, path);
	if (*path)
		vs_buf_addch(&prefix, '/');
	it = vs_kv_iter_new(b->s->kv, VS_CF_STAGING, prefix.data, prefix.len);
	found = vs_kv_iter_valid(it);
	vs_kv_iter_free(it);
	vs_buf_release(&prefix);
	return found;
}

/*
 * A directory is built by one merge of two sorted sequences: the base
 * tree's entries and the staged children (which vs_staging_children gives
 * in name order).  Each step costs O(1) but for the recursion into a
 * changed subdirectory, so a directory of N entries with S staged
 * changes costs O(N + S), not O(N * S).
 */
struct merge {
	struct build *b;
	const struct vs_tree *base;	/* sorted; may be empty */
	size_t bi;			/* its next entry to merge */
	struct vs_tree *out;		/* entries being assembled, in order */
	const char *dir;
	int r;
};

static int build_dir(struct build *b, const struct vs_id *base_tree,
		     const char *path, struct vs_id *id, uint64_t *size);

static void child_path(struct vs_buf *p, const char *dir, const char *name,
		       size_t len)
{
	vs_buf_reset(p);
	if (*dir)
		vs_buf_addf(p, "%s/", dir);
	vs_buf_add(p, name, len);
}

/*
 * Moves the base entries that sort before <name, len> (all that are left
 * for NULL) to the output, rebuilding the directories that have staged
 * changes below them.
 */
static int copy_base_until(struct merge *m, const char *name, size_t len)
{
	struct vs_buf sub = VS_BUF_INIT;
	int r = 0;

	while (r == 0 && m->bi < m->base->count) {
		const struct vs_tree_entry *e = &m->base->entries[m->bi];
		struct vs_id id = e->id;
		uint64_t size = e->size;

		if (name && vs_name_cmp(e->name, e->name_len, name, len) >= 0)
			break;
		m->bi++;
		if (e->type == VS_ENTRY_DIR) {
			child_path(&sub, m->dir, e->name, e->name_len);
			if (has_staged_below(m->b, sub.data))
				r = build_dir(m->b, &e->id, sub.data, &id,
					      &size);
		}
		if (r == 0)
			vs_tree_add(m->out, e->name, e->name_len, e->type, size,
				    &id);
	}
	vs_buf_release(&sub);
	return r;
}

static int merge_child(const char *name, const struct vs_stage_entry *e,
		       void *arg)
{
	struct merge *m = arg;
	struct build *b = m->b;
	struct vs_buf path = VS_BUF_INIT;
	struct vs_id id, base_id, *base = NULL;
	enum vs_entry_type type = e->flags & VS_STAGE_EXEC ? VS_ENTRY_EXEC
							   : VS_ENTRY_FILE;
	size_t len = strlen(name);
	uint64_t size = 0;
	struct vs_file f;
	int r, fd;

	r = copy_base_until(m, name, len);
	if (r < 0)
		goto out;
	child_path(&path, m->dir, name, len);
	/* The base's entry of that name gives way to the staged one. */
	if (m->bi < m->base->count &&
	    !vs_name_cmp(m->base->entries[m->bi].name,
			 m->base->entries[m->bi].name_len, name, len)) {
		if (m->base->entries[m->bi].type == VS_ENTRY_DIR &&
		    !(e->flags & VS_STAGE_OPAQUE)) {
			base_id = m->base->entries[m->bi].id;
			base = &base_id;
		}
		m->bi++;
	}
	switch (e->type) {
	case VS_STAGE_WHITEOUT:
		goto out;
	case VS_STAGE_DATA:
		fd = vs_staging_open_datafile(b->s, e->datafile, O_RDONLY);
		if (fd < 0) {
			r = vs_error_set(b->err, fd, "cannot open the staged "
					 "content of '%s' (%s)", path.data,
					 strerror(-fd));
			goto out;
		}
		r = vs_ingest_fd(b->s, fd, &id, &size, &b->st, b->err);
		close(fd);
		b->prog->files_read++;
		b->prog->bytes_read += size;
		if (b->ndata == b->adata) {
			b->adata = b->adata ? 2 * b->adata : 16;
			b->datafiles = realloc(b->datafiles,
					       b->adata * sizeof(uint64_t));
			if (!b->datafiles)
				abort();
		}
		b->datafiles[b->ndata++] = e->datafile;
		break;
	case VS_STAGE_REF:
		id = e->id;
		size = e->size;
		break;
	case VS_STAGE_SYMLINK:
		type = VS_ENTRY_SYMLINK;
		size = strlen(e->target);
		vs_file_init(&f);
		vs_file_set_inline(&f, e->target, size);
		r = vs_store_write_file(b->s, &f, &id, b->err);
		vs_file_release(&f);
		break;
	case VS_STAGE_DIR:
		type = VS_ENTRY_DIR;
		r = build_dir(b, base, path.data, &id, &size);
		break;
	}
	if (r == 0) {
		vs_tree_add(m->out, name, len, type, size, &id);
		b->prog->files_total += type != VS_ENTRY_DIR;
	}
out:
	vs_buf_release(&path);
	m->r = r;
	return r;
}

/* Builds the merged tree of the directory at path. */
static int build_dir(struct build *b, const struct vs_id *base_tree,
		     const char *path, struct vs_id *id, uint64_t *size)
{
	struct vs_tree base, out;
	struct merge m = { .b = b, .base = &base, .out = &out, .dir = path };
	size_t i;
	int r = 0;

	vs_tree_init(&base);
	vs_tree_init(&out);
	if (base_tree) {
		r = vs_store_read_tree(b->s, base_tree, &base, b->err);
		if (r < 0)
			return r;
	}
	r = vs_staging_children(b->s, b->h, path, merge_child, &m, b->err);
	if (r == 0 && m.r)
		r = m.r;
	if (r == 0)
		r = copy_base_until(&m, NULL, 0);
	if (r == 0) {
		*size = 0;
		for (i = 0; i < out.count; i++)
			if (out.entries[i].type != VS_ENTRY_SYMLINK)
				*size += out.entries[i].size;
		r = vs_store_write_tree(b->s, &out, id, b->err);
	}
	vs_tree_release(&base);
	vs_tree_release(&out);
	return r;
}

static void unlink_datafiles(struct vs_store *s, const uint64_t *nums,
			     size_t n)
{
	struct vs_buf p = VS_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		datafile_path(s, nums[i], &p);
		unlink(p.data);
	}
	vs_buf_release(&p);
}

int vs_staging_commit(struct vs_store *s, const struct vs_head *h,
		      const struct vs_ingest_opts *opts,
		      struct vs_ingest_result *res, struct vs_error *err)
{
	struct build b = { .s = s, .h = h, .err = err };
	struct vs_buf k = VS_BUF_INIT;
	struct vs_id base, zero = { { 0 } }, head, tree;
	struct vs_commit_make mk = { 0 };
	struct vs_kv_batch *batch = NULL;
	struct vs_node root;
	uint64_t size;
	bool has_base, has_head;
	int r;

	memset(res, 0, sizeof(*res));
	b.prog = &res->stats;
	if (!vs_staging_base(s, h, &base)) {
		r = vs_branch_get(s, &h->repo, h->branch, &res->commit, NULL);
		if (r == VS_E_NOTFOUND)
			return vs_error_set(err, VS_E_NOTFOUND, "nothing to "
					    "commit: %s@%s has no commits and "
					    "no staged changes", h->repo.full,
					    h->branch);
		return r;
	}
	has_base = !vs_id_equal(&base, &zero);
	r = vs_branch_get(s, &h->repo, h->branch, &head, err);
	has_head = r == 0;
	if (r < 0 && r != VS_E_NOTFOUND)
		goto out;
	if (has_head != has_base || (has_head && !vs_id_equal(&head, &base))) {
		r = vs_error_set(err, VS_E_CONFLICT, "%s@%s moved since its "
				 "changes were staged (staged changes kept; "
				 "use 'varve reset' to drop them)",
				 h->repo.full, h->branch);
		goto out;
	}
	if (has_base) {
		r = vs_commit_root(s, &base, &root, err);
		if (r < 0)
			goto out;
	}
	r = build_dir(&b, has_base ? &root.id : NULL, "", &tree, &size);
	if (r < 0)
		goto out;
	res->stats.new_chunks = b.st.new_chunks;
	res->stats.new_bytes = b.st.new_stored_bytes;
	res->stats.bytes_total = size;

	batch = vs_kv_batch_new();
	head_key(&k, 'B', h);
	vs_kv_batch_delete(batch, s->kv, VS_CF_STAGING, k.data, k.len);
	head_key(&k, 'E', h);
	vs_buf_addch(&k, '\0');
	vs_kv_batch_delete_prefix(batch, s->kv, VS_CF_STAGING, k.data, k.len);

	mk.repo = &h->repo;
	mk.branch = h->branch;
	mk.base = has_base ? &base : NULL;
	mk.tree = tree;
	mk.opts = opts;
	mk.now = (uint64_t)time(NULL);
	mk.batch = batch;
	mk.sync_unchanged = true;
	r = vs_commit_make(s, &mk, res, err);
	/* Only once no entry names them any more. */
	if (r == 0)
		unlink_datafiles(s, b.datafiles, b.ndata);
out:
	vs_kv_batch_free(batch);
	vs_buf_release(&k);
	free(b.datafiles);
	return r;
}

/* --- reset, status, gc ---------------------------------------------------- */

static int collect_datafiles(struct vs_store *s, const void *prefix,
			     size_t plen, struct vs_idset *unused,
			     uint64_t **nums, size_t *n)
{
	struct vs_kv_iter *it;
	size_t alloc = 0;

	it = vs_kv_iter_new(s->kv, VS_CF_STAGING, prefix, plen);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		struct vs_stage_entry e;
		size_t vlen;
		const void *v = vs_kv_iter_value(it, &vlen);

		if (vs_stage_entry_decode(&e, v, vlen) < 0)
			continue;
		if (e.type == VS_STAGE_DATA) {
			if (*n == alloc) {
				alloc = alloc ? 2 * alloc : 16;
				*nums = realloc(*nums, alloc * sizeof(**nums));
				if (!*nums)
					abort();
			}
			(*nums)[(*n)++] = e.datafile;
		}
		vs_stage_entry_release(&e);
	}
	vs_kv_iter_free(it);
	(void)unused;
	return 0;
}

int vs_staging_reset(struct vs_store *s, const struct vs_head *h,
		     struct vs_error *err)
{
	struct vs_buf k = VS_BUF_INIT;
	struct vs_kv_batch *b = vs_kv_batch_new();
	uint64_t *nums = NULL;
	size_t n = 0;
	int r;

	head_key(&k, 'E', h);
	vs_buf_addch(&k, '\0');
	collect_datafiles(s, k.data, k.len, NULL, &nums, &n);
	vs_kv_batch_delete_prefix(b, s->kv, VS_CF_STAGING, k.data, k.len);
	head_key(&k, 'B', h);
	vs_kv_batch_delete(b, s->kv, VS_CF_STAGING, k.data, k.len);
	r = vs_kv_write(s->kv, b, VS_KV_SYNC, err);
	if (r == 0)
		unlink_datafiles(s, nums, n);
	vs_kv_batch_free(b);
	vs_buf_release(&k);
	free(nums);
	return r;
}

struct cmp_base {
	const struct vs_file *f;
	size_t k;			/* chunks of f matched so far */
};

static int cmp_chunk(void *arg, const uint8_t *data, size_t len)
{
	struct cmp_base *c = arg;
	struct vs_id id;

	if (c->k == c->f->nchunks || c->f->chunks[c->k].len != len)
		return 1;
	vs_hash(data, len, &id);
	return vs_id_equal(&id, &c->f->chunks[c->k++].id) ? 0 : 1;
}

static int cmp_small(void *arg, const uint8_t *data, size_t len)
{
	const struct vs_file *f = ((struct cmp_base *)arg)->f;

	return f->inline_data && f->size == len &&
	       memcmp(f->inline_data, data, len) == 0 ? 0 : 1;
}

/*
 * Whether the file of fd holds the bytes of the file object id: cut as a
 * commit would cut it, chunk by chunk, stopping at the first chunk that
 * differs from the object's.
 */
static bool same_bytes(struct vs_store *s, int fd, const struct vs_id *id)
{
	static const struct vs_cut_fns fns = { cmp_chunk, cmp_small };
	struct vs_file f;
	struct cmp_base c = { &f, 0 };
	uint64_t size;
	bool same;

	if (vs_store_read_file(s, id, &f, NULL) < 0)
		return false;
	same = vs_cut_fd(&s->config.chunking, fd, &fns, &c, &size, NULL) == 0 &&
	       size == f.size && c.k == f.nchunks;
	vs_file_release(&f);
	return same;
}

/*
 * Whether a staged file or symlink is what the base holds at its path: a
 * file renamed away and back, or chmod'ed back (the same object, the same
 * exec bit), a symlink re-created with its target, a file written with the
 * bytes it had (read back and compared when the size is the base's).
 */
static bool same_as_base(struct vs_store *s, const struct vs_stage_entry *e,
			 const struct vs_node *n)
{
	bool exec = e->flags & VS_STAGE_EXEC;
	struct vs_buf b = VS_BUF_INIT;
	struct stat st;
	bool same = false;
	int fd;

	switch (e->type) {
	case VS_STAGE_REF:
		return (n->type == (exec ? VS_ENTRY_EXEC : VS_ENTRY_FILE)) &&
		       vs_id_equal(&e->id, &n->id) && e->size == n->size;
	case VS_STAGE_DATA:
		if (n->type != (exec ? VS_ENTRY_EXEC : VS_ENTRY_FILE))
			return false;
		fd = vs_staging_open_datafile(s, e->datafile, O_RDONLY);
		if (fd < 0)
			return false;
		same = fstat(fd, &st) == 0 && (uint64_t)st.st_size == n->size &&
		       (n->size == 0 || same_bytes(s, fd, &n->id));
		close(fd);
		return same;
	case VS_STAGE_SYMLINK:
		if (n->type != VS_ENTRY_SYMLINK ||
		    n->size != strlen(e->target))
			return false;
		same = vs_file_read_all(s, &n->id, &b, NULL) == 0 &&
		       b.len == n->size &&
		       memcmp(b.data, e->target, b.len) == 0;
		vs_buf_release(&b);
		return same;
	default:
		return false;
	}
}

int vs_staging_status(struct vs_store *s, const struct vs_head *h,
		      int (*fn)(char status, const char *path, void *arg),
		      void *arg, struct vs_error *err)
{
	struct vs_buf prefix = VS_BUF_INIT, path = VS_BUF_INIT;
	struct vs_id base, zero = { { 0 } };
	struct vs_node root = { 0 };
	struct vs_kv_iter *it;
	bool has_base;
	int r = 0;

	if (!vs_staging_base(s, h, &base))
		return 0;
	has_base = !vs_id_equal(&base, &zero);
	if (has_base) {
		r = vs_commit_root(s, &base, &root, err);
		if (r < 0)
			return r;
	}
	head_key(&prefix, 'E', h);
	vs_buf_addch(&prefix, '\0');
	it = vs_kv_iter_new(s->kv, VS_CF_STAGING, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it) && r == 0; vs_kv_iter_next(it)) {
		struct vs_stage_entry e;
		struct vs_node n;
		size_t klen, vlen;
		const char *k = vs_kv_iter_key(it, &klen);
		const void *v = vs_kv_iter_value(it, &vlen);
		bool in_base;

		if (vs_stage_entry_decode(&e, v, vlen) < 0)
			continue;
		vs_buf_reset(&path);
		vs_buf_add(&path, k + prefix.len, klen - prefix.len);
		in_base = has_base && vs_path_lookup(s, &root.id, root.size,
						     path.data, &n, NULL) == 0;
		switch (e.type) {
		case VS_STAGE_WHITEOUT:
			if (in_base) {
				if (n.type == VS_ENTRY_DIR)
					vs_buf_addch(&path, '/');
				r = fn('D', path.data, arg);
			}
			break;
		case VS_STAGE_DIR:
			if (!in_base || n.type != VS_ENTRY_DIR) {
				vs_buf_addch(&path, '/');
				r = fn('A', path.data, arg);
			}
			break;
		default:
			if (!in_base || !same_as_base(s, &e, &n))
				r = fn(in_base ? 'M' : 'A', path.data, arg);
			break;
		}
		vs_stage_entry_release(&e);
	}
	r = vs_kv_iter_end(it, r, err);
	vs_buf_release(&prefix);
	vs_buf_release(&path);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int vs_staging_gc(struct vs_store *s, struct vs_error *err)
{
	struct vs_buf dir = VS_BUF_INIT, p = VS_BUF_INIT;
	uint64_t *nums = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	collect_datafiles(s, "E", 1, NULL, &nums, &n);
	if (n)
		qsort(nums, n, sizeof(*nums), cmp_u64);
	vs_buf_addf(&dir, "%s/staging", s->path);
	d = opendir(dir.data);
	if (!d) {
		free(nums);
		vs_buf_release(&dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		uint64_t num = strtoull(de->d_name, &end, 10);

		if (*end || end == de->d_name)
			continue;
		if (n && bsearch(&num, nums, n, sizeof(*nums), cmp_u64))
			continue;
		vs_buf_reset(&p);
		vs_buf_addf(&p, "%s/%s", dir.data, de->d_name);
		unlink(p.data);
	}
	closedir(d);
	free(nums);
	vs_buf_release(&dir);
	vs_buf_release(&p);
	(void)err;
	return 0;
}
