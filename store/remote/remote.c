/*
 * remote.c - the remote protocol of remote.h: the remotes in a store's
 * config, push and pull over a transport (transport.h), with packs and
 * manifests (pack.h), the reachability walker (walk.h) deciding what to
 * send or fetch, and the store's internals (store_int.h) reading and
 * writing chunks as they are stored.
 *
 * Layout of this file: the counting connection, the format marker, the
 * local cache (STORE/remote/<name>/), the remote index (what the
 * manifests say), the transfer pool, ref keys, the config, push, pull.
 */
#include "remote.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "compress.h"
#include "fileio.h"
#include "idset.h"
#include "kv.h"
#include "object.h"
#include "pack.h"
#include "runs.h"
#include "store_int.h"
#include "walk.h"
#include "xalloc.h"
#include "banned.h"

#define MARKER_TEXT "varve remote\nformat %d\n"
/* Ranges of a data pack closer than this are fetched as one. */
#define RANGE_GAP (1u << 20)
static const char *hex_of(const struct vs_id *id, char hex[VS_ID_HEXLEN + 1])
{
	return vs_id_to_hex(id, hex);
}

/* --- the connection: a transport that counts its requests ---------------- */

struct conn {
	struct vs_transport *t;
	const struct vs_remote_config *cfg;
	atomic_uint_fast64_t requests;
};

static int c_get(struct conn *c, const char *key, uint64_t off, uint64_t len,
		 struct vs_buf *out, struct vs_obj_info *info,
		 struct vs_error *err)
{
	atomic_fetch_add(&c->requests, 1);
	return vs_transport_get(c->t, key, off, len, out, info, err);
}

static int c_put(struct conn *c, const char *key, const void *data,
		 size_t len, unsigned flags, const char *if_match,
		 struct vs_obj_info *info, struct vs_error *err)
{
	atomic_fetch_add(&c->requests, 1);
	return vs_transport_put(c->t, key, data, len, flags, if_match, info,
				err);
}

static int c_list(struct conn *c, const char *prefix,
		  int (*fn)(void *arg, const char *key, uint64_t size),
		  void *arg, struct vs_error *err)
{
	/* At least one request; S3 pages count one more per 1000 keys. */
	atomic_fetch_add(&c->requests, 1);
	return vs_transport_list(c->t, prefix, fn, arg, err);
}

static int c_delete(struct conn *c, const char *key, struct vs_error *err)
{
	atomic_fetch_add(&c->requests, 1);
	return vs_transport_delete(c->t, key, err);
}

static int conn_open(struct conn *c, const struct vs_remote_config *cfg,
		     struct vs_error *err)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	atomic_init(&c->requests, 0);
	return vs_transport_open(cfg, &c->t, err);
}

static void conn_close(struct conn *c)
{
	vs_transport_free(c->t);
	c->t = NULL;
}

/* --- the format marker --------------------------------------------------- */

/*
 * Reads the marker and checks its format; with create, a remote without
 * one gets it (put if absent: two first pushes agree).  Returns 0,
 * VS_E_NOTFOUND (no marker, !create), VS_E_VERSION, VS_E_REMOTE.
 */
static int check_marker(struct conn *c, bool create, struct vs_error *err)
{
	const struct vs_remote_config *cfg = c->cfg;
	struct vs_buf b = VS_BUF_INIT;
	char text[64];
	int r, fmt = 0, n = 0;

	r = c_get(c, VS_REMOTE_MARKER, 0, 0, &b, NULL, err);
	if (r == VS_E_NOTFOUND && create) {
		vs_error_clear(err);
		snprintf(text, sizeof(text), MARKER_TEXT, VS_REMOTE_FORMAT);
		r = c_put(c, VS_REMOTE_MARKER, text, strlen(text),
			  VS_PUT_IF_ABSENT, NULL, NULL, err);
		if (r == VS_E_CONFLICT) {
			vs_error_clear(err);
			r = c_get(c, VS_REMOTE_MARKER, 0, 0, &b, NULL, err);
		} else if (r == 0) {
			vs_buf_addstr(&b, text);
		}
	} else if (r == VS_E_NOTFOUND) {
		r = vs_error_reset(err, VS_E_NOTFOUND, "remote '%s' (%s) holds "
				   "no varve data yet (no '%s'): push to it "
				   "first", cfg->name, cfg->url,
				   VS_REMOTE_MARKER);
	}
	if (r < 0)
		goto out;
	if (sscanf(b.data, "varve remote\nformat %d\n%n", &fmt, &n) != 1 ||
	    n == 0 || fmt < 1) {
		r = vs_error_set(err, VS_E_REMOTE, "remote '%s' (%s) has a "
				 "malformed '%s' marker: is it a varve "
				 "remote?", cfg->name, cfg->url,
				 VS_REMOTE_MARKER);
		goto out;
	}
	if (fmt > VS_REMOTE_FORMAT)
		r = vs_error_set(err, VS_E_VERSION, "remote '%s' (%s) has "
				 "format %d, newer than this varve supports "
				 "(%d): upgrade varve", cfg->name, cfg->url,
				 fmt, VS_REMOTE_FORMAT);
out:
	vs_buf_release(&b);
	return r;
}

/* --- the local cache: STORE/remote/<name>/ ------------------------------- */

/*
 *   lock          flock'ed while a push or pull runs (remote.h note 7)
 *   url           the remote's URL: another one wipes what follows
 *   manifests/    manifests read from or written to the remote, by name
 *   pending/      one-pack manifests of packs uploaded and not yet named
 *                 by a remote manifest (remote.h note 3), by pack name
 *   runs          ids of the run record entries pulled already, 32 bytes
 *                 each
 */
struct cache {
	char *dir;
	int lock_fd;
};

static char *cpath(const struct cache *k, const char *a, const char *b)
{
	struct vs_buf p = VS_BUF_INIT;

	vs_buf_addf(&p, "%s/%s%s%s", k->dir, a, b ? "/" : "", b ? b : "");
	return vs_buf_detach(&p, NULL);
}

static int read_all(const char *path, struct vs_buf *out)
{
	char tmp[65536];
	ssize_t n;
	int fd, r = 0;

	vs_buf_reset(out);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		vs_buf_add(out, tmp, (size_t)n);
	}
	close(fd);
	return r;
}

/* Removes the files of dir (not below: the cache is flat), then dir if
 * rmdir_too. */
static void remove_files(const char *dir, bool rmdir_too)
{
	struct vs_buf p = VS_BUF_INIT;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			vs_buf_reset(&p);
			vs_buf_addf(&p, "%s/%s", dir, de->d_name);
			if (unlink(p.data) < 0 && errno == EISDIR)
				remove_files(p.data, true);
		}
		closedir(d);
	}
	if (rmdir_too)
		rmdir(dir);
	vs_buf_release(&p);
}

/* Calls fn for each file of dir named by 64 hex digits, as an id. */
static int each_hex_file(const char *dir,
			 int (*fn)(void *arg, const struct vs_id *id),
			 void *arg)
{
	struct dirent *de;
	struct vs_id id;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != VS_ID_HEXLEN ||
		    vs_id_from_hex(&id, de->d_name) < 0)
			continue;
		r = fn(arg, &id);
	}
	closedir(d);
	return r;
}

static void cache_close(struct cache *k)
{
	if (k->lock_fd >= 0)
		close(k->lock_fd);
	free(k->dir);
	k->dir = NULL;
	k->lock_fd = -1;
}

static int cache_open(struct vs_store *s, const struct vs_remote_config *cfg,
		      struct cache *k, struct vs_error *err)
{
	struct vs_buf p = VS_BUF_INIT, url = VS_BUF_INIT;
	static const char *const subdirs[] = { "manifests", "pending" };
	char *path = NULL;
	size_t i;
	int r;

	k->lock_fd = -1;
	vs_buf_addf(&p, "%s/remote", vs_store_path(s));
	if (mkdir(p.data, 0755) < 0 && errno != EEXIST)
		goto fail_errno;
	vs_buf_addf(&p, "/%s", cfg->name);
	if (mkdir(p.data, 0755) < 0 && errno != EEXIST)
		goto fail_errno;
	k->dir = vs_buf_detach(&p, NULL);
	for (i = 0; i < 2; i++) {
		path = cpath(k, subdirs[i], NULL);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			goto fail_errno;
		free(path);
	}
	path = cpath(k, "lock", NULL);
	k->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (k->lock_fd < 0)
		goto fail_errno;
	while (flock(k->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			goto fail_errno;
	free(path);
	/* What is cached belongs to one URL. */
	path = cpath(k, "url", NULL);
	r = read_all(path, &url);
	if (r < 0 || strcmp(url.data, cfg->url)) {
		char *sub;

		for (i = 0; i < 2; i++) {
			sub = cpath(k, subdirs[i], NULL);
			remove_files(sub, false);
			free(sub);
		}
		sub = cpath(k, "runs", NULL);
		unlink(sub);
		free(sub);
		r = vs_write_file_atomic(path, cfg->url, strlen(cfg->url),
					 0644);
		if (r < 0) {
			errno = -r;
			goto fail_errno;
		}
	}
	free(path);
	vs_buf_release(&url);
	return 0;
fail_errno:
	r = vs_error_set(err, -errno, "cannot use '%s' (%s)",
			 path ? path : p.data, strerror(errno));
	free(path);
	vs_buf_release(&p);
	vs_buf_release(&url);
	cache_close(k);
	return r;
}

/* --- the remote index: what the manifests say ----------------------------- */

struct rpack {
	struct vs_id id;
	int kind;
	uint64_t size;
};

struct rentry {
	struct vs_id id;
	uint64_t off, len;
	uint32_t pack;		/* into rindex.packs */
	uint8_t type;
};

/*
 * Entries by (type, id), each once; packs by id, each once (after
 * rindex_finish).
 */
struct rindex {
	struct rpack *packs;
	size_t npacks, apacks;
	struct rentry *e;
	size_t n, alloc;
};

static void rindex_release(struct rindex *x)
{
	free(x->packs);
	free(x->e);
	memset(x, 0, sizeof(*x));
}

static void rindex_add_manifest(struct rindex *x, const struct vs_manifest *m)
{
	size_t i, j;

	for (i = 0; i < m->npacks; i++) {
		const struct vs_manifest_pack *p = &m->packs[i];

		if (x->npacks == x->apacks) {
			x->apacks = x->apacks ? 2 * x->apacks : 64;
			x->packs = vs_xreallocarray(x->packs, x->apacks,
						    sizeof(*x->packs));
		}
		x->packs[x->npacks] = (struct rpack){ p->id, p->kind,
						      p->size };
		for (j = 0; j < p->count; j++) {
			struct rentry *e;

			if (x->n == x->alloc) {
				x->alloc = x->alloc ? 2 * x->alloc : 1024;
				x->e = vs_xreallocarray(x->e, x->alloc,
							sizeof(*x->e));
			}
			e = &x->e[x->n++];
			e->id = p->entries[j].id;
			e->off = p->entries[j].off;
			e->len = p->entries[j].len;
			e->type = p->entries[j].type;
			e->pack = (uint32_t)x->npacks;
		}
		x->npacks++;
	}
}

static int rentry_cmp(const void *a, const void *b)
{
	const struct rentry *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return vs_id_cmp(&x->id, &y->id);
}

struct pack_order {
	struct vs_id id;
	size_t i;
};

static int pack_order_cmp(const void *a, const void *b)
{
	const struct pack_order *x = a, *y = b;
	int c = vs_id_cmp(&x->id, &y->id);

	return c ? c : (x->i < y->i ? -1 : x->i > y->i);
}

/* Sorts and deduplicates packs and entries. */
static void rindex_finish(struct rindex *x)
{
	struct pack_order *o;
	struct rpack *packs;
	uint32_t *remap;
	size_t i, n = 0;

	if (x->npacks) {
		o = vs_xreallocarray(NULL, x->npacks, sizeof(*o));
		remap = vs_xreallocarray(NULL, x->npacks, sizeof(*remap));
		packs = vs_xreallocarray(NULL, x->npacks, sizeof(*packs));
		for (i = 0; i < x->npacks; i++)
			o[i] = (struct pack_order){ x->packs[i].id, i };
		qsort(o, x->npacks, sizeof(*o), pack_order_cmp);
		for (i = 0; i < x->npacks; i++) {
			if (!n || !vs_id_equal(&packs[n - 1].id, &o[i].id))
				packs[n++] = x->packs[o[i].i];
			remap[o[i].i] = (uint32_t)(n - 1);
		}
		for (i = 0; i < x->n; i++)
			x->e[i].pack = remap[x->e[i].pack];
		free(x->packs);
		x->packs = packs;
		x->npacks = x->apacks = n;
		free(o);
		free(remap);
	}
	if (x->n > 1)
		qsort(x->e, x->n, sizeof(*x->e), rentry_cmp);
	for (i = 0, n = 0; i < x->n; i++)
		if (!n || rentry_cmp(&x->e[n - 1], &x->e[i]))
			x->e[n++] = x->e[i];
	x->n = n;
}

static const struct rentry *rindex_find(const struct rindex *x, int type,
					const struct vs_id *id)
{
	struct rentry key;

	if (!x->n)
		return NULL;
	key.type = (uint8_t)type;
	key.id = *id;
	return bsearch(&key, x->e, x->n, sizeof(*x->e), rentry_cmp);
}

/* --- the transfer pool ----------------------------------------------------- */

/* What each transfer thread owns. */
struct worker {
	struct vs_zctx *z;
	struct vs_buf a, b;
	struct vs_error err;
};

struct pool {
	size_t njobs;
	atomic_size_t next;
	atomic_bool stop;
	int (*fn)(void *arg, size_t job, struct worker *w);
	void *arg;
	int level;
	const atomic_bool *cancel;
	pthread_mutex_t lock;
	int code;		/* the first failure */
	struct vs_error err;
};

static void *pool_thread(void *arg)
{
	struct pool *p = arg;
	struct worker w;
	size_t j;
	int r;

	memset(&w, 0, sizeof(w));
	w.z = vs_zctx_new(p->level);
	if (!w.z)
		abort();
	vs_buf_init(&w.a, 0);
	vs_buf_init(&w.b, 0);
	for (;;) {
		if (atomic_load(&p->stop))
			break;
		if (p->cancel && atomic_load(p->cancel)) {
			r = vs_error_set(&w.err, VS_E_CANCELED, "interrupted");
			goto failed;
		}
		j = atomic_fetch_add(&p->next, 1);
		if (j >= p->njobs)
			break;
		vs_error_clear(&w.err);
		r = p->fn(p->arg, j, &w);
		if (r >= 0)
			continue;
failed:
		pthread_mutex_lock(&p->lock);
		if (!p->code) {
			p->code = r;
			p->err = w.err;
		}
		pthread_mutex_unlock(&p->lock);
		atomic_store(&p->stop, true);
		break;
	}
	vs_buf_release(&w.a);
	vs_buf_release(&w.b);
	vs_zctx_free(w.z);
	return NULL;
}

/*
 * Runs fn(arg, j, worker) for j in [0, njobs) on up to nthreads threads.
 * Returns 0 or the first failure (its message in err); VS_E_CANCELED once
 * *cancel is set.
 */
static int pool_run(size_t njobs, int nthreads, int level,
		    int (*fn)(void *arg, size_t job, struct worker *w),
		    void *arg, const atomic_bool *cancel, struct vs_error *err)
{
	struct pool p = { .njobs = njobs, .fn = fn, .arg = arg,
			  .level = level, .cancel = cancel };
	pthread_t th[64];
	int i, n;

	if (!njobs)
		return vs_check_cancel(cancel, err);
	atomic_init(&p.next, 0);
	atomic_init(&p.stop, false);
	pthread_mutex_init(&p.lock, NULL);
	n = nthreads < 1 ? 1 : nthreads > 64 ? 64 : nthreads;
	if ((size_t)n > njobs)
		n = (int)njobs;
	if (n == 1) {
		pool_thread(&p);
	} else {
		for (i = 0; i < n; i++)
			if (pthread_create(&th[i], NULL, pool_thread, &p) != 0)
				abort();
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
	}
	pthread_mutex_destroy(&p.lock);
	if (p.code) {
		if (err) {
			vs_error_clear(err);
			vs_error_set(err, p.code, "%s", p.err.msg[0] ?
				     p.err.msg : vs_strerror(p.code));
		}
		return p.code;
	}
	return 0;
}

/* --- progress -------------------------------------------------------------- */

struct progress {
	const struct vs_remote_opts *opts;
	pthread_mutex_t lock;
	struct vs_remote_progress p;
};

static void progress_init(struct progress *pr, const struct vs_remote_opts *o)
{
	memset(pr, 0, sizeof(*pr));
	pr->opts = o;
	pthread_mutex_init(&pr->lock, NULL);
}

static void progress_release(struct progress *pr)
{
	pthread_mutex_destroy(&pr->lock);
}

static void progress_phase(struct progress *pr, enum vs_remote_phase ph,
			   uint64_t packs_total, uint64_t bytes_total)
{
	pthread_mutex_lock(&pr->lock);
	pr->p = (struct vs_remote_progress){ .phase = ph,
					     .packs_total = packs_total,
					     .bytes_total = bytes_total };
	if (pr->opts->progress)
		pr->opts->progress(pr->opts->progress_arg, &pr->p);
	pthread_mutex_unlock(&pr->lock);
}

/* A pack done (they are large: a few a second at most). */
static void progress_add(struct progress *pr, uint64_t packs, uint64_t bytes)
{
	pthread_mutex_lock(&pr->lock);
	pr->p.packs_done += packs;
	pr->p.bytes_done += bytes;
	if (pr->opts->progress)
		pr->opts->progress(pr->opts->progress_arg, &pr->p);
	pthread_mutex_unlock(&pr->lock);
}

/* --- ref keys --------------------------------------------------------------- */

/* "refs/<repo>/<branches|tags>/" plus name with '/' as "%2F". */
static void ref_key(struct vs_buf *k, const struct vs_repo *r, bool is_tag,
		    const char *name)
{
	const char *p;

	vs_buf_reset(k);
	vs_buf_addf(k, "refs/%s/%s/", r->full, is_tag ? "tags" : "branches");
	for (p = name; *p; p++) {
		if (*p == '/')
			vs_buf_addstr(k, "%2F");
		else
			vs_buf_addch(k, *p);
	}
}

/* The reverse of ref_key; false for a key that is not one. */
static bool ref_key_parse(const char *key, struct vs_repo *r, bool *is_tag,
			  char name[VS_REF_NAME_MAX + 1])
{
	const char *p, *q, *rest;
	size_t n = 0;

	if (strncmp(key, "refs/", 5))
		return false;
	p = strchr(key + 5, '/');
	if (!p || !(q = strchr(p + 1, '/')))
		return false;
	if (vs_repo_parse(r, key + 5, (size_t)(q - key - 5), NULL) < 0)
		return false;
	rest = q + 1;
	if (!strncmp(rest, "branches/", 9)) {
		*is_tag = false;
		rest += 9;
	} else if (!strncmp(rest, "tags/", 5)) {
		*is_tag = true;
		rest += 5;
	} else {
		return false;
	}
	for (p = rest; *p; p++) {
		if (n == VS_REF_NAME_MAX)
			return false;
		if (!strncmp(p, "%2F", 3)) {
			name[n++] = '/';
			p += 2;
		} else if (*p == '/' || *p == '%') {
			return false;
		} else {
			name[n++] = *p;
		}
	}
	name[n] = '\0';
	return vs_ref_name_valid(name);
}

static void pack_key(struct vs_buf *k, const struct vs_id *id)
{
	char hex[VS_ID_HEXLEN + 1];

	hex_of(id, hex);
	vs_buf_reset(k);
	vs_buf_addf(k, "packs/%.2s/%s.pack", hex, hex);
}

/* --- the config ------------------------------------------------------------- */

void vs_remote_config_release(struct vs_remote_config *c)
{
	free(c->name);
	free(c->url);
	free(c->endpoint);
	free(c->region);
	memset(c, 0, sizeof(*c));
}

static bool url_usable(const char *url)
{
	if (!strncmp(url, "file:///", 8))
		return true;
	return !strncmp(url, "s3://", 5) && url[5] && url[5] != '/';
}

int vs_remote_add(struct vs_store *s, const struct vs_remote_config *c,
		  struct vs_error *err)
{
	struct vs_remote_config *rs, *all;
	size_t n, i;
	int r;

	if (!vs_remote_name_valid(c->name))
		return vs_error_set(err, VS_E_INVAL, "invalid remote name "
				    "'%s' (1-64 of A-Z a-z 0-9 . _ -, starting "
				    "with a letter or digit)",
				    c->name ? c->name : "");
	if (!c->url || !url_usable(c->url))
		return vs_error_set(err, VS_E_INVAL, "'%s' is not a remote URL "
				    "varve can use (expected "
				    "s3://BUCKET[/PREFIX] or file:///PATH)",
				    c->url ? c->url : "");
	if (c->endpoint && strncmp(c->endpoint, "http://", 7) &&
	    strncmp(c->endpoint, "https://", 8))
		return vs_error_set(err, VS_E_INVAL, "endpoint '%s' is not an "
				    "http:// or https:// URL", c->endpoint);
	r = vs_store_remotes(s, &rs, &n, err);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (!strcmp(rs[i].name, c->name)) {
			r = vs_error_set(err, VS_E_EXISTS, "remote '%s' "
					 "already exists (%s)", c->name,
					 rs[i].url);
			goto out;
		}
	all = vs_xreallocarray(NULL, n + 1, sizeof(*all));
	if (n)
		memcpy(all, rs, n * sizeof(*all));
	all[n] = *c;
	r = vs_store_set_remotes(s, all, n + 1, err);
	free(all);
out:
	vs_remote_configs_free(rs, n);
	return r;
}

int vs_remote_remove(struct vs_store *s, const char *name,
		     struct vs_error *err)
{
	struct vs_remote_config *rs;
	struct vs_buf dir = VS_BUF_INIT;
	size_t n, i;
	int r;

	r = vs_store_remotes(s, &rs, &n, err);
	if (r < 0)
		return r;
	for (i = 0; i < n && strcmp(rs[i].name, name); i++)
		;
	if (i == n) {
		r = vs_error_set(err, VS_E_NOTFOUND, "no remote '%s'", name);
		goto out;
	}
	/* The others keep their order in the file. */
	vs_remote_config_release(&rs[i]);
	memmove(&rs[i], &rs[i + 1], (n - i - 1) * sizeof(*rs));
	n--;
	r = vs_store_set_remotes(s, rs, n, err);
	if (r == 0) {
		vs_buf_addf(&dir, "%s/remote/%s", vs_store_path(s), name);
		remove_files(dir.data, true);
	}
out:
	vs_remote_configs_free(rs, n);
	vs_buf_release(&dir);
	return r;
}

int vs_remote_find(struct vs_store *s, const char *name,
		   struct vs_remote_config *out, struct vs_error *err)
{
	struct vs_remote_config *rs;
	struct vs_buf names = VS_BUF_INIT;
	size_t n, i, pick = SIZE_MAX;
	int r;

	memset(out, 0, sizeof(*out));
	r = vs_store_remotes(s, &rs, &n, err);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		vs_buf_addf(&names, "%s%s", i ? ", " : "", rs[i].name);
		if (name ? !strcmp(rs[i].name, name)
			 : !strcmp(rs[i].name, VS_REMOTE_DEFAULT))
			pick = i;
	}
	if (!name && n == 1)
		pick = 0;
	if (pick == SIZE_MAX) {
		if (n == 0)
			r = vs_error_set(err, VS_E_NOTFOUND, "no remote is "
					 "configured (add one with 'varve "
					 "remote add NAME URL')");
		else if (name)
			r = vs_error_set(err, VS_E_NOTFOUND, "no remote '%s' "
					 "(remotes: %s)", name, names.data);
		else
			r = vs_error_set(err, VS_E_NOTFOUND, "which remote? "
					 "There are several and none is "
					 "called '%s' (remotes: %s)",
					 VS_REMOTE_DEFAULT, names.data);
		goto out;
	}
	*out = rs[pick];
	memset(&rs[pick], 0, sizeof(rs[pick]));
out:
	vs_remote_configs_free(rs, n);
	vs_buf_release(&names);
	return r;
}

/* --- what the remote has: syncing the manifests ---------------------------- */

/* One push or pull's view of its remote. */
struct session {
	struct vs_store *s;
	const struct vs_remote_opts *o;
	struct vs_remote_opts dflt;	/* when the caller gave none */
	struct conn c;
	struct cache k;
	struct rindex have;		/* what the manifests name */
	struct vs_id *listed;		/* manifests the remote listed, and
					   this store holds */
	size_t nlisted;
	size_t nlisted_all;		/* manifests the remote listed */
	struct progress pr;
	int transfers;
	uint64_t pack_target;
	int level;
};

static int idcmp_q(const void *a, const void *b)
{
	return vs_id_cmp(a, b);
}

static bool ids_has(const struct vs_id *v, size_t n, const struct vs_id *id)
{
	return n && bsearch(id, v, n, sizeof(*v), idcmp_q) != NULL;
}

struct id_list {
	struct vs_id *v;
	size_t n, alloc;
};

static void id_list_add(struct id_list *l, const struct vs_id *id)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 64;
		l->v = vs_xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	l->v[l->n++] = *id;
}

static int list_manifest(void *arg, const char *key, uint64_t size)
{
	struct id_list *l = arg;
	struct vs_id id;

	(void)size;
	if (strncmp(key, "manifests/", 10) || strlen(key + 10) != VS_ID_HEXLEN ||
	    vs_id_from_hex(&id, key + 10) < 0)
		return 0;
	id_list_add(l, &id);
	return 0;
}

static int add_id(void *arg, const struct vs_id *id)
{
	id_list_add(arg, id);
	return 0;
}

/* The manifests of one sync: those cached, and those to fetch. */
struct msync {
	struct session *ss;
	struct vs_id *fetch;
	size_t nfetch;
	atomic_bool gone;	/* a listed manifest vanished: list again */
};

/* Reads, checks and decodes a manifest's bytes named id. */
static int manifest_check(struct session *ss, const struct vs_id *id,
			  const struct vs_buf *b, struct vs_manifest *m,
			  bool cached, struct vs_error *err)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_id check;
	int r;

	vs_hash(b->data, b->len, &check);
	if (!vs_id_equal(&check, id))
		return vs_error_set(err, cached ? VS_E_CORRUPT : VS_E_REMOTE,
				    "manifest %s of remote '%s' is corrupt "
				    "(its bytes do not match its name)",
				    hex_of(id, hex), ss->c.cfg->name);
	r = vs_manifest_decode(m, b->data, b->len);
	if (r == VS_E_VERSION)
		return vs_error_set(err, r, "manifest %s of remote '%s' has a "
				    "newer format: upgrade varve",
				    hex_of(id, hex), ss->c.cfg->name);
	if (r < 0)
		return vs_error_set(err, cached ? VS_E_CORRUPT : VS_E_REMOTE,
				    "manifest %s of remote '%s' is malformed",
				    hex_of(id, hex), ss->c.cfg->name);
	return 0;
}

static int fetch_manifest(void *arg, size_t j, struct worker *w)
{
	struct msync *ms = arg;
	struct session *ss = ms->ss;
	char hex[VS_ID_HEXLEN + 1], key[80];
	struct vs_manifest m;
	char *path;
	int r;

	hex_of(&ms->fetch[j], hex);
	snprintf(key, sizeof(key), "manifests/%s", hex);
	vs_buf_reset(&w->a);
	r = c_get(&ss->c, key, 0, 0, &w->a, NULL, &w->err);
	if (r == VS_E_NOTFOUND) {
		/* Merged into another one since the listing. */
		atomic_store(&ms->gone, true);
		return 0;
	}
	if (r < 0)
		return r;
	r = manifest_check(ss, &ms->fetch[j], &w->a, &m, false, &w->err);
	if (r < 0)
		return r;
	vs_manifest_release(&m);
	path = cpath(&ss->k, "manifests", hex);
	r = vs_write_file_atomic(path, w->a.data, w->a.len, 0644);
	if (r < 0)
		r = vs_error_set(&w->err, r, "cannot write '%s' (%s)", path,
				 vs_strerror(r));
	free(path);
	return r;
}

/*
 * Lists the remote's manifests, fetches those not cached, and fills
 * ss->have from every cached one (remote.h note 2).  A cached manifest the
 * remote no longer lists and another one replaced is dropped.
 */
static int sync_index(struct session *ss, struct vs_error *err)
{
	struct id_list listed = { 0 }, cached = { 0 };
	struct vs_buf b = VS_BUF_INIT;
	struct vs_manifest *ms = NULL;
	struct id_list replaced = { 0 };
	struct msync sy = { .ss = ss };
	char hex[VS_ID_HEXLEN + 1], *dir, *path;
	size_t i, j, nms = 0;
	int r, attempt;

	dir = cpath(&ss->k, "manifests", NULL);
	attempt = 0;
again:
	for (;; attempt++) {
		listed.n = 0;
		r = c_list(&ss->c, "manifests/", list_manifest, &listed, err);
		if (r < 0)
			goto out;
		if (listed.n > 1)
			qsort(listed.v, listed.n, sizeof(*listed.v), idcmp_q);
		cached.n = 0;
		r = each_hex_file(dir, add_id, &cached);
		if (r < 0) {
			r = vs_error_set(err, r, "cannot read '%s' (%s)", dir,
					 vs_strerror(r));
			goto out;
		}
		if (cached.n > 1)
			qsort(cached.v, cached.n, sizeof(*cached.v), idcmp_q);
		free(sy.fetch);
		sy.fetch = vs_xreallocarray(NULL, listed.n + 1,
					    sizeof(*sy.fetch));
		sy.nfetch = 0;
		for (i = 0; i < listed.n; i++)
			if (!ids_has(cached.v, cached.n, &listed.v[i]))
				sy.fetch[sy.nfetch++] = listed.v[i];
		atomic_init(&sy.gone, false);
		r = pool_run(sy.nfetch, ss->transfers, ss->level,
			     fetch_manifest, &sy, ss->o->cancel, err);
		if (r < 0)
			goto out;
		if (!atomic_load(&sy.gone) || attempt >= 2)
			break;
	}
	/* Every cached manifest, checked. */
	cached.n = 0;
	each_hex_file(dir, add_id, &cached);
	if (cached.n > 1)
		qsort(cached.v, cached.n, sizeof(*cached.v), idcmp_q);
	ms = vs_xcalloc(cached.n ? cached.n : 1, sizeof(*ms));
	for (i = 0; i < cached.n; i++) {
		path = cpath(&ss->k, "manifests", hex_of(&cached.v[i], hex));
		r = read_all(path, &b);
		if (r == 0)
			r = manifest_check(ss, &cached.v[i], &b, &ms[nms],
					   true, NULL);
		if (r < 0) {
			/* A damaged cache file: dropped, and fetched again
			 * if the remote has it. */
			unlink(path);
			free(path);
			if (attempt++ < 2 &&
			    ids_has(listed.v, listed.n, &cached.v[i])) {
				for (j = 0; j < nms; j++)
					vs_manifest_release(&ms[j]);
				free(ms);
				ms = NULL;
				nms = 0;
				replaced.n = 0;
				goto again;
			}
			continue;
		}
		free(path);
		for (j = 0; j < ms[nms].nreplaced; j++)
			id_list_add(&replaced, &ms[nms].replaced[j]);
		cached.v[nms++] = cached.v[i];
	}
	if (replaced.n > 1)
		qsort(replaced.v, replaced.n, sizeof(*replaced.v), idcmp_q);
	for (i = 0; i < nms; i++) {
		if (!ids_has(listed.v, listed.n, &cached.v[i]) &&
		    ids_has(replaced.v, replaced.n, &cached.v[i])) {
			path = cpath(&ss->k, "manifests",
				     hex_of(&cached.v[i], hex));
			unlink(path);
			free(path);
			continue;
		}
		rindex_add_manifest(&ss->have, &ms[i]);
	}
	rindex_finish(&ss->have);
	/* A merge may replace only what it holds: the listed ones loaded. */
	ss->nlisted_all = listed.n;
	for (i = 0, j = 0; i < listed.n; i++)
		if (ids_has(cached.v, nms, &listed.v[i]))
			listed.v[j++] = listed.v[i];
	ss->listed = listed.v;
	ss->nlisted = j;
	listed.v = NULL;
	r = 0;
out:
	for (i = 0; i < nms; i++)
		vs_manifest_release(&ms[i]);
	free(ms);
	free(listed.v);
	free(cached.v);
	free(replaced.v);
	free(sy.fetch);
	free(dir);
	vs_buf_release(&b);
	return r;
}

/* Opens the session: transport, marker, cache, index. */
static int session_open(struct session *ss, struct vs_store *s,
			const struct vs_remote_config *cfg,
			const struct vs_remote_opts *o, bool create,
			struct vs_error *err)
{
	int r;

	memset(ss, 0, sizeof(*ss));
	ss->s = s;
	ss->o = o ? o : &ss->dflt;
	ss->k.lock_fd = -1;
	ss->transfers = ss->o->transfers > 0 ? ss->o->transfers
					     : VS_REMOTE_TRANSFERS;
	ss->pack_target = ss->o->pack_target ? ss->o->pack_target
					     : VS_REMOTE_PACK_TARGET;
	ss->level = vs_store_config(s)->zstd_level;
	progress_init(&ss->pr, ss->o);
	r = conn_open(&ss->c, cfg, err);
	if (r < 0)
		return r;
	progress_phase(&ss->pr, VS_REMOTE_SYNC, 0, 0);
	r = check_marker(&ss->c, create, err);
	if (r == 0)
		r = cache_open(s, cfg, &ss->k, err);
	if (r == 0)
		r = sync_index(ss, err);
	return r;
}

static void session_close(struct session *ss, struct vs_remote_result *res)
{
	if (res)
		res->requests = atomic_load(&ss->c.requests);
	conn_close(&ss->c);
	cache_close(&ss->k);
	rindex_release(&ss->have);
	free(ss->listed);
	progress_release(&ss->pr);
}

/* --- refs on both sides ---------------------------------------------------- */

/* A ref being pushed or pulled. */
struct xref {
	struct vs_repo repo;
	char *name;
	bool is_tag;
	bool local_has;
	struct vs_id local;		/* the branch's commit, the tag's */
	struct vs_buf local_tag;	/* a tag's encoding */
	bool remote_has;
	struct vs_id remote;
	struct vs_buf remote_tag;
	char etag[130];
	enum vs_remote_ref_status status;
	char *why;			/* owned */
	bool done;			/* status final */
};

struct xrefs {
	struct xref *v;
	size_t n, alloc;
};

static struct xref *xref_add(struct xrefs *x, const struct vs_repo *repo,
			     const char *name, bool is_tag)
{
	struct xref *f;
	size_t i;

	for (i = 0; i < x->n; i++)
		if (x->v[i].is_tag == is_tag &&
		    !strcmp(x->v[i].repo.full, repo->full) &&
		    !strcmp(x->v[i].name, name))
			return &x->v[i];
	if (x->n == x->alloc) {
		x->alloc = x->alloc ? 2 * x->alloc : 16;
		x->v = vs_xreallocarray(x->v, x->alloc, sizeof(*x->v));
	}
	f = &x->v[x->n++];
	memset(f, 0, sizeof(*f));
	f->repo = *repo;
	f->name = vs_xstrdup(name);
	f->is_tag = is_tag;
	vs_buf_init(&f->local_tag, 0);
	vs_buf_init(&f->remote_tag, 0);
	return f;
}

static void xrefs_release(struct xrefs *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->v[i].name);
		free(x->v[i].why);
		vs_buf_release(&x->v[i].local_tag);
		vs_buf_release(&x->v[i].remote_tag);
	}
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static void xref_reject(struct xref *f, const char *why)
{
	free(f->why);
	f->why = vs_xstrdup(why);
	f->status = VS_REMOTE_REF_REJECTED;
	f->done = true;
}

/* Reads the remote value of f (absent: remote_has false). */
static int remote_ref_get(struct session *ss, struct xref *f,
			  struct vs_buf *key, struct vs_buf *val,
			  struct vs_error *err)
{
	struct vs_obj_info info;
	struct vs_tag tag;
	int r;

	ref_key(key, &f->repo, f->is_tag, f->name);
	vs_buf_reset(val);
	r = c_get(&ss->c, key->data, 0, 0, val, &info, err);
	if (r == VS_E_NOTFOUND) {
		vs_error_clear(err);
		f->remote_has = false;
		return 0;
	}
	if (r < 0)
		return r;
	f->remote_has = true;
	snprintf(f->etag, sizeof(f->etag), "%s", info.etag);
	if (!f->is_tag) {
		if (val->len != VS_ID_HEXLEN + 1 ||
		    val->data[VS_ID_HEXLEN] != '\n')
			goto bad;
		val->data[VS_ID_HEXLEN] = '\0';
		if (vs_id_from_hex(&f->remote, val->data) < 0)
			goto bad;
		return 0;
	}
	if (vs_tag_decode(&tag, val->data, val->len) < 0)
		goto bad;
	f->remote = tag.commit;
	vs_tag_release(&tag);
	vs_buf_reset(&f->remote_tag);
	vs_buf_add(&f->remote_tag, val->data, val->len);
	return 0;
bad:
	return vs_error_set(err, VS_E_REMOTE, "ref '%s' of remote '%s' is "
			    "malformed", key->data, ss->c.cfg->name);
}

struct ref_reads {
	struct session *ss;
	struct xrefs *x;
};

static int read_ref_job(void *arg, size_t j, struct worker *w)
{
	struct ref_reads *rr = arg;

	return remote_ref_get(rr->ss, &rr->x->v[j], &w->a, &w->b, &w->err);
}

static int read_remote_refs(struct session *ss, struct xrefs *x,
			    struct vs_error *err)
{
	struct ref_reads rr = { ss, x };

	return pool_run(x->n, ss->transfers, ss->level, read_ref_job, &rr,
			ss->o->cancel, err);
}

/*
 * True if commit a is b or one of its ancestors, as the store knows them
 * (a commit it does not have is nobody's ancestor).  0/1, or an error.
 */
static int is_ancestor(struct vs_store *s, const struct vs_id *a,
		       const struct vs_id *b, const atomic_bool *cancel,
		       struct vs_error *err)
{
	struct vs_idset *seen;
	struct id_list q = { 0 };
	size_t head = 0, i;
	int r = 0;

	if (vs_id_equal(a, b))
		return 1;
	if (!vs_object_has(s, a))
		return 0;
	seen = vs_idset_new();
	id_list_add(&q, b);
	vs_idset_add(seen, b);
	while (head < q.n && r == 0) {
		struct vs_commit c;
		struct vs_id id = q.v[head++];

		r = vs_check_cancel(cancel, err);
		if (r < 0)
			break;
		r = vs_store_read_commit(s, &id, &c, err);
		if (r == VS_E_NOTFOUND) {
			/* History this store lacks: not searched. */
			vs_error_clear(err);
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		for (i = 0; i < c.nparents; i++) {
			if (vs_id_equal(&c.parents[i], a)) {
				r = 1;
				break;
			}
			if (vs_idset_add(seen, &c.parents[i]))
				id_list_add(&q, &c.parents[i]);
		}
		vs_commit_release(&c);
	}
	vs_idset_free(seen);
	free(q.v);
	return r;
}

/* Splits "REPO@NAME" (at = NULL for "REPO"); VS_E_INVAL. */
static int parse_spec(const char *spec, struct vs_repo *repo,
		      const char **at, struct vs_error *err)
{
	const char *p = strchr(spec, '@');
	size_t n = p ? (size_t)(p - spec) : strlen(spec);
	int r;

	r = vs_repo_parse(repo, spec, n, err);
	if (r < 0)
		return r;
	*at = p ? p + 1 : NULL;
	if (p && !vs_ref_name_valid(p + 1))
		return vs_error_set(err, VS_E_INVAL, "'%s' does not name a "
				    "branch or a tag (REPO@BRANCH or REPO@TAG)",
				    spec);
	return 0;
}

/* Hands x's outcome to res: old and new are the remote's value before
 * and the local one (push), or the reverse (pull). */
static void result_refs(struct vs_remote_result *res, struct xrefs *x,
			bool pull)
{
	size_t i;

	res->refs = vs_xcalloc(x->n ? x->n : 1, sizeof(*res->refs));
	res->nrefs = x->n;
	for (i = 0; i < x->n; i++) {
		struct xref *f = &x->v[i];
		struct vs_remote_ref_result *o = &res->refs[i];

		o->repo = f->repo;
		o->name = f->name;
		f->name = NULL;
		o->is_tag = f->is_tag;
		o->has_old = pull ? f->local_has : f->remote_has;
		o->old = pull ? f->local : f->remote;
		o->new = pull ? f->remote : f->local;
		o->status = f->status;
		o->why = f->why;
		f->why = NULL;
		if (o->status == VS_REMOTE_REF_REJECTED)
			res->rejected++;
	}
}

/* VS_E_CONFLICT naming the rejected refs, or 0. */
static int rejected_error(struct vs_remote_result *res, const char *verb,
			  struct vs_error *err)
{
	struct vs_buf m = VS_BUF_INIT;
	size_t i, k = 0;
	int r;

	if (!res->rejected)
		return 0;
	vs_buf_addf(&m, "cannot %s ", verb);
	for (i = 0; i < res->nrefs; i++) {
		const struct vs_remote_ref_result *o = &res->refs[i];

		if (o->status != VS_REMOTE_REF_REJECTED)
			continue;
		vs_buf_addf(&m, "%s%s@%s: %s", k++ ? "; " : "", o->repo.full,
			    o->name, o->why);
	}
	r = vs_error_set(err, VS_E_CONFLICT, "%s", m.data);
	vs_buf_release(&m);
	return r;
}

const char *vs_remote_ref_status_name(enum vs_remote_ref_status st)
{
	switch (st) {
	case VS_REMOTE_REF_NEW:
		return "new";
	case VS_REMOTE_REF_UPDATED:
		return "updated";
	case VS_REMOTE_REF_FORCED:
		return "forced";
	case VS_REMOTE_REF_UNCHANGED:
		return "unchanged";
	case VS_REMOTE_REF_AHEAD:
		return "ahead";
	case VS_REMOTE_REF_REJECTED:
		return "rejected";
	}
	return "?";
}

void vs_remote_result_init(struct vs_remote_result *res)
{
	memset(res, 0, sizeof(*res));
}

void vs_remote_result_release(struct vs_remote_result *res)
{
	size_t i;

	for (i = 0; i < res->nrefs; i++) {
		free(res->refs[i].name);
		free(res->refs[i].why);
	}
	free(res->refs);
	vs_remote_result_init(res);
}

/* --- push ------------------------------------------------------------------- */

/* An entry to send. */
struct send_entry {
	struct vs_id id;
	uint64_t size;		/* stored bytes: what the pack holds */
	uint64_t raw;		/* a chunk's raw length */
	uint32_t run;		/* a run record: its index in push.runs */
	uint8_t type;
};

struct send_list {
	struct send_entry *v;
	size_t n, alloc;
};

static struct send_entry *send_add(struct send_list *l, int type,
				   const struct vs_id *id)
{
	struct send_entry *e;

	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 1024;
		l->v = vs_xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->type = (uint8_t)type;
	e->id = *id;
	return e;
}

/* A pack to build and upload: entries [first, first + count) of a list. */
struct pack_job {
	int kind;
	const struct send_entry *first;
	size_t count;
	uint64_t bytes;
	/* Filled by the upload: */
	struct vs_id name;
	uint64_t size;
	struct vs_pack_entry *entries;	/* owned */
};

struct push {
	struct session *ss;
	struct rindex pending;		/* journaled packs (note 3) */
	bool *used;			/* pending entries the walk reached */
	struct send_list data, meta;
	struct vs_buf *runs;		/* encoded run records to send */
	size_t nruns;
	struct pack_job *jobs;
	size_t njobs;
	atomic_uint_fast64_t chunks, objects, nrun, bytes;
};

static int load_pending_one(void *arg, const struct vs_id *id)
{
	struct push *p = arg;
	struct vs_buf b = VS_BUF_INIT;
	struct vs_manifest m;
	char hex[VS_ID_HEXLEN + 1], *path;

	path = cpath(&p->ss->k, "pending", hex_of(id, hex));
	if (read_all(path, &b) < 0 || vs_manifest_decode(&m, b.data, b.len) ||
	    m.npacks != 1 || !vs_id_equal(&m.packs[0].id, id)) {
		unlink(path);
	} else {
		rindex_add_manifest(&p->pending, &m);
		vs_manifest_release(&m);
	}
	free(path);
	vs_buf_release(&b);
	return 0;
}

/* The pending entry of type and id, marked as reached; false if none. */
static bool pending_use(struct push *p, int type, const struct vs_id *id)
{
	const struct rentry *e = rindex_find(&p->pending, type, id);

	if (!e)
		return false;
	p->used[e - p->pending.e] = true;
	return true;
}

/* The walk's visitor: what the remote lacks goes to the send lists. */
static int push_visit(void *arg, const struct vs_walk_visit *v,
		      struct vs_error *err)
{
	struct push *p = arg;
	char hex[VS_ID_HEXLEN + 1];

	if (v->error)
		return vs_error_set(err, v->error, "%s %s cannot be read: not "
				    "pushed", v->kind == VS_WALK_CHUNK ? "chunk"
				    : "object", hex_of(v->id, hex));
	switch (v->kind) {
	case VS_WALK_COMMIT:
	case VS_WALK_TREE:
	case VS_WALK_FILE:
		if (rindex_find(&p->ss->have, VS_PACK_OBJECT, v->id))
			return VS_WALK_PRUNE;	/* note 2 */
		if (!pending_use(p, VS_PACK_OBJECT, v->id))
			send_add(&p->meta, VS_PACK_OBJECT, v->id);
		return 0;
	case VS_WALK_CHUNK:
		if (rindex_find(&p->ss->have, VS_PACK_CHUNK, v->id) ||
		    pending_use(p, VS_PACK_CHUNK, v->id))
			return 0;
		send_add(&p->data, VS_PACK_CHUNK, v->id)->raw = v->chunk->len;
		return 0;
	default:
		return 0;
	}
}

struct run_pick {
	struct push *p;
	const struct xrefs *x;
	bool all;
};

static bool run_names(const struct vs_run *run, const struct xrefs *x)
{
	size_t i, j;

	for (i = 0; i < x->n; i++) {
		for (j = 0; j < run->ninputs; j++)
			if (!strcmp(run->inputs[j].repo.full, x->v[i].repo.full))
				return true;
		for (j = 0; j < run->noutputs; j++)
			if (!strcmp(run->outputs[j].repo.full,
				    x->v[i].repo.full))
				return true;
	}
	return false;
}

static int pick_run(const char *key, const struct vs_run *run, void *arg)
{
	struct run_pick *rp = arg;
	struct push *p = rp->p;
	struct vs_buf enc = VS_BUF_INIT;
	struct send_entry *e;
	struct vs_id id;

	(void)key;
	if (!rp->all && !run_names(run, rp->x))
		return 0;
	vs_run_encode(run, &enc);
	vs_hash(enc.data, enc.len, &id);
	if (rindex_find(&p->ss->have, VS_PACK_RUN, &id) ||
	    pending_use(p, VS_PACK_RUN, &id)) {
		vs_buf_release(&enc);
		return 0;
	}
	p->runs = vs_xreallocarray(p->runs, p->nruns + 1, sizeof(*p->runs));
	e = send_add(&p->meta, VS_PACK_RUN, &id);
	e->run = (uint32_t)p->nruns;
	e->size = enc.len;
	p->runs[p->nruns++] = enc;
	return 0;
}

/* The stored sizes of what is to be sent, for cutting packs. */
static int measure(struct push *p, struct vs_error *err)
{
	struct vs_store *s = p->ss->s;
	struct vs_buf val = VS_BUF_INIT;
	char hex[VS_ID_HEXLEN + 1];
	uint8_t key[1 + VS_ID_LEN];
	size_t i;
	int r = 0;

	for (i = 0; i < p->data.n && r == 0; i++) {
		struct send_entry *e = &p->data.v[i];
		struct vs_cursor c;

		/* store.h: 'c' + id -> raw_len, stored_len. */
		key[0] = 'c';
		memcpy(key + 1, e->id.b, VS_ID_LEN);
		r = vs_kv_get(s->kv, VS_CF_META, key, sizeof(key), &val, err);
		if (r == VS_E_NOTFOUND)
			r = vs_error_set(err, r, "chunk %s is missing from the "
					 "store", hex_of(&e->id, hex));
		if (r < 0)
			break;
		vs_cursor_init(&c, val.data, val.len);
		vs_cursor_varint(&c);
		e->size = vs_cursor_varint(&c);
		if (!vs_cursor_ok(&c) || e->size == 0)
			r = vs_error_set(err, VS_E_CORRUPT, "the size record of "
					 "chunk %s is corrupt",
					 hex_of(&e->id, hex));
	}
	for (i = 0; i < p->meta.n && r == 0; i++) {
		struct send_entry *e = &p->meta.v[i];
		struct vs_kv_pin *pin;
		const void *v;
		size_t len;

		if (e->type != VS_PACK_OBJECT)
			continue;
		r = vs_kv_get_pinned(s->kv, VS_CF_OBJECTS, e->id.b, VS_ID_LEN,
				     &v, &len, &pin, err);
		if (r == VS_E_NOTFOUND)
			r = vs_error_set(err, r, "object %s is missing from "
					 "the store", hex_of(&e->id, hex));
		vs_kv_unpin(pin);
		e->size = len ? len : 1;
	}
	vs_buf_release(&val);
	return r;
}

/* Cuts list into packs of about target bytes. */
static void plan(struct push *p, const struct send_list *l, int kind,
		 uint64_t target)
{
	size_t i, start = 0;
	uint64_t bytes = 0;

	for (i = 0; i < l->n; i++) {
		bytes += l->v[i].size;
		if (bytes >= target || i + 1 == l->n) {
			struct pack_job *j;

			p->jobs = vs_xreallocarray(p->jobs, p->njobs + 1,
						   sizeof(*p->jobs));
			j = &p->jobs[p->njobs++];
			memset(j, 0, sizeof(*j));
			j->kind = kind;
			j->first = &l->v[start];
			j->count = i + 1 - start;
			j->bytes = bytes;
			start = i + 1;
			bytes = 0;
		}
	}
}

/*
 * The stored value of a chunk, checked before it leaves: decoded, of its
 * length, and matching its checksum or, without one, its id.
 */
static int chunk_value_check(struct worker *w, const struct vs_id *id,
			     uint64_t raw, bool rehash)
{
	char hex[VS_ID_HEXLEN + 1];
	struct vs_id check;

	if (vs_codec_decode(w->z, w->a.data, w->a.len, &w->b) < 0 ||
	    w->b.len != raw)
		goto corrupt;
	if (rehash || !vs_codec_has_checksum(w->a.data, w->a.len)) {
		vs_hash(w->b.data, w->b.len, &check);
		if (!vs_id_equal(&check, id))
			goto corrupt;
	}
	return 0;
corrupt:
	return vs_error_set(&w->err, VS_E_CORRUPT, "chunk %s is corrupt",
			    hex_of(id, hex));
}

/* Journals an uploaded pack (note 3). */
static int journal(struct push *p, const struct pack_job *j,
		   struct vs_error *err)
{
	struct vs_buf b = VS_BUF_INIT;
	struct vs_manifest m;
	char hex[VS_ID_HEXLEN + 1], *path;
	int r;

	vs_manifest_init(&m);
	vs_manifest_add(&m, &j->name, j->kind, j->size, j->entries, j->count);
	vs_manifest_normalize(&m);
	vs_manifest_encode(&m, &b);
	path = cpath(&p->ss->k, "pending", hex_of(&j->name, hex));
	r = vs_write_file_atomic(path, b.data, b.len, 0644);
	if (r < 0)
		r = vs_error_set(err, r, "cannot write '%s' (%s)", path,
				 vs_strerror(r));
	free(path);
	vs_manifest_release(&m);
	vs_buf_release(&b);
	return r;
}

static int upload_job(void *arg, size_t jn, struct worker *w)
{
	struct push *p = arg;
	struct pack_job *j = &p->jobs[jn];
	struct vs_store *s = p->ss->s;
	struct vs_pack_writer pw;
	struct vs_buf out = VS_BUF_INIT, key = VS_BUF_INIT;
	uint64_t nchunks = 0, nobjects = 0, nruns = 0;
	size_t i;
	int r = 0;

	vs_pack_writer_init(&pw, j->kind);
	for (i = 0; i < j->count && r == 0; i++) {
		const struct send_entry *e = &j->first[i];

		switch (e->type) {
		case VS_PACK_CHUNK:
			r = vs_kv_get(s->kv, VS_CF_CHUNKS, e->id.b, VS_ID_LEN,
				      &w->a, &w->err);
			if (r == 0)
				r = chunk_value_check(w, &e->id, e->raw, false);
			if (r == 0)
				vs_pack_add(&pw, VS_PACK_CHUNK, &e->id,
					    w->a.data, w->a.len);
			nchunks++;
			break;
		case VS_PACK_OBJECT:
			vs_buf_reset(&w->a);
			r = vs_object_get(s, &e->id, &w->a, &w->err);
			if (r == 0)
				vs_pack_add(&pw, VS_PACK_OBJECT, &e->id,
					    w->a.data, w->a.len);
			nobjects++;
			break;
		default:
			vs_pack_add(&pw, VS_PACK_RUN, &e->id,
				    p->runs[e->run].data, p->runs[e->run].len);
			nruns++;
			break;
		}
	}
	if (r < 0)
		goto out;
	vs_pack_finish(&pw, &out, &j->name);
	j->size = out.len;
	j->entries = vs_xreallocarray(NULL, j->count ? j->count : 1,
				      sizeof(*j->entries));
	memcpy(j->entries, pw.entries, j->count * sizeof(*j->entries));
	pack_key(&key, &j->name);
	/* Unconditional: a pack's name is its content (file.c note 2). */
	r = c_put(&p->ss->c, key.data, out.data, out.len, 0, NULL, NULL,
		  &w->err);
	if (r < 0)
		goto out;
	r = journal(p, j, &w->err);
	if (r < 0)
		goto out;
	atomic_fetch_add(&p->chunks, nchunks);
	atomic_fetch_add(&p->objects, nobjects);
	atomic_fetch_add(&p->nrun, nruns);
	atomic_fetch_add(&p->bytes, out.len);
	progress_add(&p->ss->pr, 1, out.len);
out:
	vs_pack_writer_release(&pw);
	vs_buf_release(&out);
	vs_buf_release(&key);
	return r;
}

/* Writes manifest m (normalized) to the remote and the cache; *name. */
static int put_manifest(struct session *ss, const struct vs_manifest *m,
			struct vs_id *name, struct vs_error *err)
{
	struct vs_buf b = VS_BUF_INIT;
	char hex[VS_ID_HEXLEN + 1], key[80], *path;
	int r;

	vs_manifest_encode(m, &b);
	vs_hash(b.data, b.len, name);
	snprintf(key, sizeof(key), "manifests/%s", hex_of(name, hex));
	r = c_put(&ss->c, key, b.data, b.len, 0, NULL, NULL, err);
	if (r == 0) {
		path = cpath(&ss->k, "manifests", hex);
		r = vs_write_file_atomic(path, b.data, b.len, 0644);
		if (r < 0)
			r = vs_error_set(err, r, "cannot write '%s' (%s)",
					 path, vs_strerror(r));
		free(path);
	}
	vs_buf_release(&b);
	return r;
}

static int drop_pending(void *arg, const struct vs_id *id)
{
	struct push *p = arg;
	char hex[VS_ID_HEXLEN + 1], *path;

	path = cpath(&p->ss->k, "pending", hex_of(id, hex));
	unlink(path);
	free(path);
	return 0;
}

/*
 * The manifest of this push: every entry it uploaded, and the pending
 * entries its walk reached (note 3).  Written if not empty; then the
 * journal is cleared and the index knows it.  *wrote tells.
 */
static int announce(struct push *p, bool *wrote, struct vs_id *name,
		    struct vs_error *err)
{
	struct vs_manifest m;
	char *dir;
	size_t i;
	int r = 0;

	*wrote = false;
	vs_manifest_init(&m);
	for (i = 0; i < p->njobs; i++)
		vs_manifest_add(&m, &p->jobs[i].name, p->jobs[i].kind,
				p->jobs[i].size, p->jobs[i].entries,
				p->jobs[i].count);
	for (i = 0; i < p->pending.n; i++) {
		const struct rentry *e = &p->pending.e[i];
		const struct rpack *pk = &p->pending.packs[e->pack];
		struct vs_pack_entry pe = { e->type, e->id, e->off, e->len };

		if (p->used[i])
			vs_manifest_add(&m, &pk->id, pk->kind, pk->size, &pe,
					1);
	}
	if (!m.npacks)
		goto out;
	vs_manifest_normalize(&m);
	r = put_manifest(p->ss, &m, name, err);
	if (r < 0)
		goto out;
	*wrote = true;
	dir = cpath(&p->ss->k, "pending", NULL);
	each_hex_file(dir, drop_pending, p);
	free(dir);
	rindex_add_manifest(&p->ss->have, &m);
	rindex_finish(&p->ss->have);
out:
	vs_manifest_release(&m);
	return r;
}

static int rentry_qsort_pack(const void *a, const void *b)
{
	const struct rentry *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Merges every manifest the remote listed (and this push's, mine) into
 * one that replaces them, then deletes them: a reader then fetches one
 * manifest where it fetched many.  Failure is only a warning.
 */
static void consolidate(struct session *ss, const struct vs_id *mine,
			bool have_mine)
{
	struct vs_manifest m;
	struct rentry *e;
	struct vs_id name;
	struct vs_error err = { 0 };
	char hex[VS_ID_HEXLEN + 1], key[80], *path;
	size_t i, j, n = ss->have.n;

	if (ss->nlisted_all + have_mine <= VS_REMOTE_MANIFESTS_MAX)
		return;
	e = vs_xreallocarray(NULL, n ? n : 1, sizeof(*e));
	if (n)
		memcpy(e, ss->have.e, n * sizeof(*e));
	qsort(e, n, sizeof(*e), rentry_qsort_pack);
	vs_manifest_init(&m);
	for (i = 0; i < n; i = j) {
		const struct rpack *pk = &ss->have.packs[e[i].pack];
		struct vs_manifest_pack *mp;

		for (j = i; j < n && e[j].pack == e[i].pack; j++)
			;
		mp = vs_manifest_add(&m, &pk->id, pk->kind, pk->size, NULL, 0);
		mp->entries = vs_xreallocarray(NULL, j - i,
					       sizeof(*mp->entries));
		for (mp->count = 0; mp->count < j - i; mp->count++) {
			const struct rentry *x = &e[i + mp->count];

			mp->entries[mp->count] = (struct vs_pack_entry){
				x->type, x->id, x->off, x->len };
		}
	}
	free(e);
	for (i = 0; i < ss->nlisted; i++)
		vs_manifest_add_replaced(&m, &ss->listed[i]);
	if (have_mine)
		vs_manifest_add_replaced(&m, mine);
	vs_manifest_normalize(&m);
	if (put_manifest(ss, &m, &name, &err) < 0) {
		if (ss->o->warn)
			ss->o->warn(ss->o->warn_arg, err.msg);
		goto out;
	}
	for (i = 0; i < m.nreplaced; i++) {
		if (vs_id_equal(&m.replaced[i], &name))
			continue;
		hex_of(&m.replaced[i], hex);
		snprintf(key, sizeof(key), "manifests/%s", hex);
		c_delete(&ss->c, key, NULL);
		path = cpath(&ss->k, "manifests", hex);
		unlink(path);
		free(path);
	}
out:
	vs_manifest_release(&m);
}

static int add_local(struct vs_store *s, struct xrefs *x,
		     const struct vs_repo *repo, const char *name, bool is_tag,
		     struct vs_error *err)
{
	struct xref *f = xref_add(x, repo, name, is_tag);
	struct vs_tag tag;
	int r;

	if (f->local_has)
		return 0;
	if (!is_tag) {
		r = vs_branch_get(s, repo, name, &f->local, err);
	} else {
		r = vs_tag_get(s, repo, name, &tag, err);
		if (r == 0) {
			f->local = tag.commit;
			vs_buf_reset(&f->local_tag);
			vs_tag_encode(&tag, &f->local_tag);
			vs_tag_release(&tag);
		}
	}
	f->local_has = r == 0;
	return r;
}

struct each_local {
	struct vs_store *s;
	struct xrefs *x;
	const struct vs_repo *repo;
	struct vs_error *err;
};

static int add_each(const struct vs_repo *r, const char *name, bool is_tag,
		    const struct vs_id *commit, void *arg)
{
	struct each_local *el = arg;

	(void)commit;
	return add_local(el->s, el->x, r, name, is_tag, el->err);
}

static int add_branch(const char *name, const struct vs_id *id, void *arg)
{
	struct each_local *el = arg;

	(void)id;
	return add_local(el->s, el->x, el->repo, name, false, el->err);
}

static int add_tag(const char *name, const struct vs_tag *t, void *arg)
{
	struct each_local *el = arg;

	(void)t;
	return add_local(el->s, el->x, el->repo, name, true, el->err);
}

/* The local refs sel names. */
static int push_collect(struct vs_store *s, const struct vs_remote_sel *sel,
			struct xrefs *x, struct vs_error *err)
{
	struct each_local el = { s, x, NULL, err };
	struct vs_repo repo;
	const char *at;
	size_t i;
	int r = 0;

	if (sel->all)
		r = vs_refs_each(s, add_each, &el, err);
	for (i = 0; r == 0 && i < sel->nspecs; i++) {
		r = parse_spec(sel->specs[i], &repo, &at, err);
		if (r == 0)
			r = vs_repo_check(s, &repo, err);
		if (r < 0)
			break;
		el.repo = &repo;
		if (!at) {
			r = vs_branch_list(s, &repo, add_branch, &el, err);
			if (r == 0)
				r = vs_tag_list(s, &repo, add_tag, &el, err);
			continue;
		}
		r = add_local(s, x, &repo, at, false, err);
		if (r == VS_E_NOTFOUND) {
			vs_error_clear(err);
			x->n--;	/* the entry just added */
			free(x->v[x->n].name);
			vs_buf_release(&x->v[x->n].local_tag);
			vs_buf_release(&x->v[x->n].remote_tag);
			r = add_local(s, x, &repo, at, true, err);
		}
		if (r == VS_E_NOTFOUND) {
			vs_error_clear(err);
			r = vs_error_set(err, VS_E_NOTFOUND, "no branch or tag "
					 "'%s' in %s", at, repo.full);
		}
	}
	return r;
}

/* What each ref's push would do (remote.h note 4). */
static int push_decide(struct session *ss, struct xrefs *x, bool force,
		       struct vs_error *err)
{
	size_t i;
	int r;

	for (i = 0; i < x->n; i++) {
		struct xref *f = &x->v[i];

		if (!f->remote_has) {
			f->status = VS_REMOTE_REF_NEW;
		} else if (f->is_tag) {
			if (f->remote_tag.len == f->local_tag.len &&
			    !memcmp(f->remote_tag.data, f->local_tag.data,
				    f->local_tag.len))
				f->status = VS_REMOTE_REF_UNCHANGED;
			else
				xref_reject(f, "the remote has this tag with "
					    "another value (tags are "
					    "immutable)");
		} else if (vs_id_equal(&f->remote, &f->local)) {
			f->status = VS_REMOTE_REF_UNCHANGED;
		} else {
			r = is_ancestor(ss->s, &f->remote, &f->local,
					ss->o->cancel, err);
			if (r < 0)
				return r;
			if (r)
				f->status = VS_REMOTE_REF_UPDATED;
			else if (force)
				f->status = VS_REMOTE_REF_FORCED;
			else
				xref_reject(f, "the remote branch moved; pull "
					    "first (the pushed commit does "
					    "not descend from the remote's "
					    "head; --force overrides)");
		}
		if (f->status == VS_REMOTE_REF_UNCHANGED)
			f->done = true;
	}
	return 0;
}

/* Moves the remote refs (note 4); a lost race rejects the ref. */
static int push_refs(struct session *ss, struct xrefs *x,
		     struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT, val = VS_BUF_INIT, back = VS_BUF_INIT;
	char hex[VS_ID_HEXLEN + 1];
	size_t i;
	int r = 0;

	for (i = 0; i < x->n && r == 0; i++) {
		struct xref *f = &x->v[i];
		struct vs_obj_info info;

		if (f->done)
			continue;
		r = vs_check_cancel(ss->o->cancel, err);
		if (r < 0)
			break;
		ref_key(&key, &f->repo, f->is_tag, f->name);
		vs_buf_reset(&val);
		if (f->is_tag)
			vs_buf_add(&val, f->local_tag.data, f->local_tag.len);
		else
			vs_buf_addf(&val, "%s\n", hex_of(&f->local, hex));
		r = c_put(&ss->c, key.data, val.data, val.len,
			  f->remote_has ? 0 : VS_PUT_IF_ABSENT,
			  f->remote_has ? f->etag : NULL, &info, err);
		if (r == VS_E_CONFLICT) {
			vs_error_clear(err);
			r = 0;
			if (!f->is_tag) {
				xref_reject(f, "the remote branch moved; pull "
					    "first");
				continue;
			}
			/* A tag: the same value there is no conflict. */
			vs_buf_reset(&back);
			r = c_get(&ss->c, key.data, 0, 0, &back, NULL, err);
			if (r < 0)
				break;
			if (back.len == val.len &&
			    !memcmp(back.data, val.data, val.len))
				f->status = VS_REMOTE_REF_UNCHANGED;
			else
				xref_reject(f, "the remote has this tag with "
					    "another value (tags are "
					    "immutable)");
			f->done = true;
			continue;
		}
		if (r < 0)
			break;
		/* A server may ignore the condition (transport.h note 3):
		 * read the branch back. */
		if (!f->is_tag) {
			vs_buf_reset(&back);
			r = c_get(&ss->c, key.data, 0, 0, &back, NULL, err);
			if (r == VS_E_NOTFOUND) {
				vs_error_clear(err);
				r = 0;
			}
			if (r < 0)
				break;
			if (back.len != val.len ||
			    memcmp(back.data, val.data, val.len)) {
				xref_reject(f, "the remote branch moved; pull "
					    "first");
				continue;
			}
		}
		f->done = true;
	}
	vs_buf_release(&key);
	vs_buf_release(&val);
	vs_buf_release(&back);
	return r;
}

int vs_push(struct vs_store *s, const struct vs_remote_config *remote,
	    const struct vs_remote_sel *sel, const struct vs_remote_opts *opts,
	    struct vs_remote_result *res, struct vs_error *err)
{
	struct session ss;
	struct push p;
	struct xrefs x = { 0 };
	struct vs_walk *w = NULL;
	struct run_pick rp;
	struct vs_id mine;
	uint64_t total = 0;
	bool wrote = false;
	char *dir;
	size_t i;
	int r;

	vs_remote_result_init(res);
	memset(&p, 0, sizeof(p));
	p.ss = &ss;
	r = session_open(&ss, s, remote, opts, true, err);
	if (r < 0)
		goto out;
	r = push_collect(s, sel, &x, err);
	if (r == 0)
		r = read_remote_refs(&ss, &x, err);
	if (r == 0)
		r = push_decide(&ss, &x, ss.o->force, err);
	if (r < 0)
		goto out;

	/* What the remote lacks (notes 2 and 3). */
	progress_phase(&ss.pr, VS_REMOTE_SCAN, 0, 0);
	dir = cpath(&ss.k, "pending", NULL);
	each_hex_file(dir, load_pending_one, &p);
	free(dir);
	rindex_finish(&p.pending);
	p.used = vs_xcalloc(p.pending.n ? p.pending.n : 1, sizeof(*p.used));
	w = vs_walk_new(s, VS_WALK_HISTORY | VS_WALK_CHUNKS, push_visit, &p);
	vs_walk_set_cancel(w, ss.o->cancel);
	for (i = 0; i < x.n && r == 0; i++) {
		struct xref *f = &x.v[i];

		if (!f->done)
			r = vs_walk_ref(w, &f->repo, f->name, f->is_tag,
					&f->local, err);
	}
	if (r < 0)
		goto out;
	rp = (struct run_pick){ &p, &x, sel->all };
	r = vs_run_list(s, NULL, pick_run, &rp, err);
	if (r == 0)
		r = measure(&p, err);
	if (r < 0)
		goto out;

	/* Packs (note 1). */
	plan(&p, &p.data, VS_PACK_DATA, ss.pack_target);
	plan(&p, &p.meta, VS_PACK_META, ss.pack_target);
	for (i = 0; i < p.njobs; i++)
		total += p.jobs[i].bytes;
	atomic_init(&p.chunks, 0);
	atomic_init(&p.objects, 0);
	atomic_init(&p.nrun, 0);
	atomic_init(&p.bytes, 0);
	progress_phase(&ss.pr, VS_REMOTE_SEND, p.njobs, total);
	r = pool_run(p.njobs, ss.transfers, ss.level, upload_job, &p,
		     ss.o->cancel, err);
	res->packs = p.njobs;
	res->chunks = atomic_load(&p.chunks);
	res->objects = atomic_load(&p.objects);
	res->runs = atomic_load(&p.nrun);
	res->bytes = atomic_load(&p.bytes);
	if (r < 0)
		goto out;
	r = announce(&p, &wrote, &mine, err);
	if (r < 0)
		goto out;

	/* Refs, last. */
	progress_phase(&ss.pr, VS_REMOTE_REFS, 0, 0);
	r = push_refs(&ss, &x, err);
	if (r < 0)
		goto out;
	consolidate(&ss, &mine, wrote);
	result_refs(res, &x, false);
	r = rejected_error(res, "push", err);
out:
	vs_walk_free(w);
	for (i = 0; i < p.njobs; i++)
		free(p.jobs[i].entries);
	free(p.jobs);
	for (i = 0; i < p.nruns; i++)
		vs_buf_release(&p.runs[i]);
	free(p.runs);
	free(p.data.v);
	free(p.meta.v);
	free(p.used);
	rindex_release(&p.pending);
	xrefs_release(&x);
	session_close(&ss, res);
	return r;
}

/* --- pull ------------------------------------------------------------------- */

/* An entry to fetch from a pack. */
struct fetch_item {
	const struct rentry *e;
	uint64_t raw;		/* a chunk's raw length */
};

/* The entries to fetch from one pack, or (meta) all of a pack's. */
struct fetch_job {
	uint32_t pack;
	bool meta;		/* a whole metadata pack, every entry stored */
	bool whole;		/* one request for the pack */
	const struct fetch_item *items;
	size_t count;
	uint64_t bytes;		/* what the requests will bring */
};

struct pull {
	struct session *ss;
	struct fetch_item *items;
	size_t nitems, aitems;
	struct fetch_job *jobs;
	size_t njobs;
	struct vs_idset *fetched;	/* metadata packs fetched */
	struct id_list missing;		/* objects a round lacks */
	pthread_mutex_t lock;		/* guards runs, run_ids */
	struct vs_buf *runs;		/* run record encodings fetched */
	size_t nruns;
	struct id_list run_ids;		/* their ids */
	struct id_list imported;	/* ids pulled before (cache "runs") */
	atomic_uint_fast64_t chunks, objects, bytes, packs;
};

static int pack_error(struct session *ss, uint32_t pack, int code,
		      const char *what, struct vs_error *err)
{
	char hex[VS_ID_HEXLEN + 1];

	return vs_error_set(err, code, "pack %s of remote '%s' %s",
			    hex_of(&ss->have.packs[pack].id, hex),
			    ss->c.cfg->name, what);
}

static int entry_mismatch(struct session *ss, uint32_t pack, int type,
			  const struct vs_id *id, struct vs_error *err)
{
	char hex[VS_ID_HEXLEN + 1], msg[200];

	snprintf(msg, sizeof(msg), "does not hold what its index says: %s %s "
		 "does not match its id (the pack is corrupt or its index "
		 "lies)", type == VS_PACK_CHUNK ? "chunk" : type == VS_PACK_RUN
		 ? "run record" : "object", hex_of(id, hex));
	return pack_error(ss, pack, VS_E_REMOTE, msg, err);
}

/* Checks one fetched entry against its id and stores it. */
static int take_entry(struct pull *p, struct worker *w, uint32_t pack,
		      int type, const struct vs_id *id, const uint8_t *data,
		      uint64_t len, uint64_t raw)
{
	struct vs_store *s = p->ss->s;
	struct vs_id check;
	struct vs_buf copy;
	int r;

	if (type == VS_PACK_CHUNK) {
		if (vs_codec_decode(w->z, data, (size_t)len, &w->b) < 0 ||
		    w->b.len != raw)
			return entry_mismatch(p->ss, pack, type, id, &w->err);
		vs_hash(w->b.data, w->b.len, &check);
		if (!vs_id_equal(&check, id))
			return entry_mismatch(p->ss, pack, type, id, &w->err);
		/* NEEDSWORK: stores the chunk compressed anew; a value of a
		 * codec this store's format allows could be kept as is. */
		r = vs_chunk_put(s, w->z, id, w->b.data, w->b.len, NULL,
				 &w->err);
		if (r == 0)
			atomic_fetch_add(&p->chunks, 1);
		return r;
	}
	vs_hash(data, (size_t)len, &check);
	if (!vs_id_equal(&check, id))
		return entry_mismatch(p->ss, pack, type, id, &w->err);
	if (type == VS_PACK_OBJECT) {
		if (vs_object_has(s, id))
			return 0;
		r = vs_object_put(s, data, (size_t)len, &check, &w->err);
		if (r == 0)
			atomic_fetch_add(&p->objects, 1);
		return r;
	}
	pthread_mutex_lock(&p->lock);
	if (!ids_has(p->imported.v, p->imported.n, id)) {
		vs_buf_init(&copy, (size_t)len);
		vs_buf_add(&copy, data, (size_t)len);
		p->runs = vs_xreallocarray(p->runs, p->nruns + 1,
					   sizeof(*p->runs));
		p->runs[p->nruns++] = copy;
		id_list_add(&p->run_ids, id);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/*
 * Fetches pack j->pack whole into w->a, checked against its name, and
 * decodes its index into x, checked against what the manifests say.
 */
static int fetch_whole(struct pull *p, const struct fetch_job *j,
		       struct worker *w, struct vs_pack_index *x)
{
	struct session *ss = p->ss;
	const struct rpack *pk = &ss->have.packs[j->pack];
	struct vs_buf key = VS_BUF_INIT;
	struct vs_id check;
	size_t i;
	int r;

	vs_pack_index_init(x);
	pack_key(&key, &pk->id);
	vs_buf_reset(&w->a);
	r = c_get(&ss->c, key.data, 0, 0, &w->a, NULL, &w->err);
	vs_buf_release(&key);
	if (r == VS_E_NOTFOUND) {
		vs_error_clear(&w->err);
		return pack_error(ss, j->pack, VS_E_REMOTE, "is missing",
				  &w->err);
	}
	if (r < 0)
		return r;
	vs_hash(w->a.data, w->a.len, &check);
	if (!vs_id_equal(&check, &pk->id))
		return pack_error(ss, j->pack, VS_E_REMOTE, "is corrupt or "
				  "truncated (its bytes do not match its name)",
				  &w->err);
	r = vs_pack_decode(x, w->a.data, w->a.len);
	if (r == VS_E_VERSION)
		return pack_error(ss, j->pack, r, "has a newer format: upgrade "
				  "varve", &w->err);
	if (r < 0 || x->kind != pk->kind)
		return pack_error(ss, j->pack, VS_E_REMOTE, "is malformed",
				  &w->err);
	/* Where the pack and the manifests both place an entry, they
	 * agree. */
	for (i = 0; i < x->count; i++) {
		const struct vs_pack_entry *e = &x->entries[i];
		const struct rentry *h = rindex_find(&ss->have, e->type,
						     &e->id);

		if (h && h->pack == j->pack &&
		    (h->off != e->off || h->len != e->len)) {
			r = entry_mismatch(ss, j->pack, e->type, &e->id,
					   &w->err);
			vs_pack_index_release(x);
			return r;
		}
	}
	atomic_fetch_add(&p->bytes, w->a.len);
	return 0;
}

static int fetch_job(void *arg, size_t jn, struct worker *w)
{
	struct pull *p = arg;
	const struct fetch_job *j = &p->jobs[jn];
	struct session *ss = p->ss;
	struct vs_pack_index x;
	struct vs_buf key = VS_BUF_INIT;
	size_t i, k;
	int r = 0;

	if (j->whole) {
		r = fetch_whole(p, j, w, &x);
		if (r < 0)
			return r;
		if (j->meta) {
			for (i = 0; i < x.count && r == 0; i++)
				r = take_entry(p, w, j->pack,
					       x.entries[i].type,
					       &x.entries[i].id,
					       (const uint8_t *)w->a.data +
						       x.entries[i].off,
					       x.entries[i].len, 0);
		} else {
			for (i = 0; i < j->count && r == 0; i++) {
				const struct rentry *e = j->items[i].e;

				r = take_entry(p, w, j->pack, e->type, &e->id,
					       (const uint8_t *)w->a.data +
						       e->off,
					       e->len, j->items[i].raw);
			}
		}
		vs_pack_index_release(&x);
		goto out;
	}
	pack_key(&key, &ss->have.packs[j->pack].id);
	for (i = 0; i < j->count && r == 0; i = k) {
		uint64_t start = j->items[i].e->off;
		uint64_t end = start + j->items[i].e->len;

		for (k = i + 1; k < j->count &&
				j->items[k].e->off <= end + RANGE_GAP; k++)
			if (j->items[k].e->off + j->items[k].e->len > end)
				end = j->items[k].e->off + j->items[k].e->len;
		vs_buf_reset(&w->a);
		r = c_get(&ss->c, key.data, start, end - start, &w->a, NULL,
			  &w->err);
		if (r == VS_E_INVAL || r == VS_E_NOTFOUND || (r == 0 &&
		    w->a.len != end - start)) {
			vs_error_clear(&w->err);
			r = pack_error(ss, j->pack, VS_E_REMOTE, "is missing "
				       "or truncated (it ends before the "
				       "entries its manifest places in it)",
				       &w->err);
		}
		if (r < 0)
			break;
		atomic_fetch_add(&p->bytes, w->a.len);
		for (; i < k && r == 0; i++) {
			const struct rentry *e = j->items[i].e;

			r = take_entry(p, w, j->pack, e->type, &e->id,
				       (const uint8_t *)w->a.data +
					       (e->off - start),
				       e->len, j->items[i].raw);
		}
	}
out:
	vs_buf_release(&key);
	if (r == 0) {
		atomic_fetch_add(&p->packs, 1);
		progress_add(&ss->pr, 1, j->bytes);
	}
	return r;
}

static int run_jobs(struct pull *p, struct vs_error *err)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < p->njobs; i++)
		total += p->jobs[i].bytes;
	progress_phase(&p->ss->pr, VS_REMOTE_FETCH, p->njobs, total);
	return pool_run(p->njobs, p->ss->transfers, p->ss->level, fetch_job,
			p, p->ss->o->cancel, err);
}

/* A metadata round's visitor: objects the store lacks. */
static int missing_visit(void *arg, const struct vs_walk_visit *v,
			 struct vs_error *err)
{
	struct pull *p = arg;

	if (!v->error)
		return 0;
	if (v->error != VS_E_NOTFOUND || v->kind == VS_WALK_CHUNK)
		return v->error;
	(void)err;
	id_list_add(&p->missing, v->id);
	return 0;
}

static int lacks(struct session *ss, const char *what, const struct vs_id *id,
		 struct vs_error *err)
{
	char hex[VS_ID_HEXLEN + 1];

	return vs_error_reset(err, VS_E_REMOTE, "remote '%s' lacks %s %s, "
			      "which its refs need", ss->c.cfg->name, what,
			      hex_of(id, hex));
}

/*
 * Fetches the metadata the refs need, round by round: a walk finds the
 * objects the store lacks, and the metadata packs that hold them are
 * fetched whole and stored (remote.h note 5).
 */
static int pull_metadata(struct pull *p, struct xrefs *x,
			 struct vs_error *err)
{
	struct session *ss = p->ss;
	size_t i;
	int r = 0;

	for (;;) {
		struct vs_walk *w = vs_walk_new(ss->s, VS_WALK_HISTORY |
						VS_WALK_FILES, missing_visit,
						p);

		vs_walk_set_cancel(w, ss->o->cancel);
		p->missing.n = 0;
		for (i = 0; i < x->n && r == 0; i++)
			r = vs_walk_commit(w, &x->v[i].remote, err);
		vs_walk_free(w);
		if (r < 0 || !p->missing.n)
			return r;
		p->njobs = 0;
		for (i = 0; i < p->missing.n; i++) {
			const struct rentry *e = rindex_find(
				&ss->have, VS_PACK_OBJECT, &p->missing.v[i]);
			const struct rpack *pk;
			size_t k;

			if (!e)
				return lacks(ss, "object", &p->missing.v[i],
					     err);
			pk = &ss->have.packs[e->pack];
			if (!vs_idset_add(p->fetched, &pk->id)) {
				for (k = 0; k < p->njobs; k++)
					if (p->jobs[k].pack == e->pack)
						break;
				if (k < p->njobs)
					continue;
				return pack_error(ss, e->pack, VS_E_REMOTE,
						  "does not hold an object "
						  "its manifest places in it",
						  err);
			}
			p->jobs = vs_xreallocarray(p->jobs, p->njobs + 1,
						   sizeof(*p->jobs));
			p->jobs[p->njobs++] = (struct fetch_job){
				.pack = e->pack, .meta = true, .whole = true,
				.bytes = pk->size };
		}
		r = run_jobs(p, err);
		if (r < 0)
			return r;
	}
}

/* The data walk's visitor: chunks the store lacks. */
static int chunk_visit(void *arg, const struct vs_walk_visit *v,
		       struct vs_error *err)
{
	struct pull *p = arg;
	const struct rentry *e;

	if (!v->error)
		return 0;
	if (v->kind != VS_WALK_CHUNK || v->error != VS_E_NOTFOUND)
		return v->error;
	e = rindex_find(&p->ss->have, VS_PACK_CHUNK, v->id);
	if (!e)
		return lacks(p->ss, "chunk", v->id, err);
	if (p->nitems == p->aitems) {
		p->aitems = p->aitems ? 2 * p->aitems : 1024;
		p->items = vs_xreallocarray(p->items, p->aitems,
					    sizeof(*p->items));
	}
	p->items[p->nitems++] = (struct fetch_item){ e, v->chunk->len };
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const struct fetch_item *x = a, *y = b;

	if (x->e->pack != y->e->pack)
		return x->e->pack < y->e->pack ? -1 : 1;
	return x->e->off < y->e->off ? -1 : x->e->off > y->e->off;
}

/* Jobs for p->items: one per pack, whole when it needs half of it. */
static void plan_items(struct pull *p)
{
	size_t i, k;

	p->njobs = 0;
	if (p->nitems > 1)
		qsort(p->items, p->nitems, sizeof(*p->items), item_cmp);
	for (i = 0; i < p->nitems; i = k) {
		const struct rpack *pk = &p->ss->have.packs[p->items[i].e->pack];
		struct fetch_job j = { .pack = p->items[i].e->pack,
				       .items = &p->items[i] };
		uint64_t need = 0;

		for (k = i; k < p->nitems && p->items[k].e->pack == j.pack; k++)
			need += p->items[k].e->len;
		j.count = k - i;
		j.whole = need * 2 >= pk->size;
		j.bytes = j.whole ? pk->size : need;
		p->jobs = vs_xreallocarray(p->jobs, p->njobs + 1,
					   sizeof(*p->jobs));
		p->jobs[p->njobs++] = j;
	}
}

/* Adds the run records the store has not pulled yet to the items. */
static void plan_runs(struct pull *p)
{
	const struct rindex *h = &p->ss->have;
	size_t i;

	if (p->run_ids.n > 1)
		qsort(p->run_ids.v, p->run_ids.n, sizeof(*p->run_ids.v),
		      idcmp_q);
	for (i = 0; i < h->n; i++) {
		const struct rentry *e = &h->e[i];

		if (e->type != VS_PACK_RUN ||
		    ids_has(p->imported.v, p->imported.n, &e->id) ||
		    ids_has(p->run_ids.v, p->run_ids.n, &e->id))
			continue;
		if (p->nitems == p->aitems) {
			p->aitems = p->aitems ? 2 * p->aitems : 1024;
			p->items = vs_xreallocarray(p->items, p->aitems,
						    sizeof(*p->items));
		}
		p->items[p->nitems++] = (struct fetch_item){ e, 0 };
	}
}

static int load_imported(struct pull *p)
{
	struct vs_buf b = VS_BUF_INIT;
	char *path = cpath(&p->ss->k, "runs", NULL);
	size_t i;

	if (read_all(path, &b) == 0)
		for (i = 0; i + VS_ID_LEN <= b.len; i += VS_ID_LEN) {
			struct vs_id id;

			memcpy(id.b, b.data + i, VS_ID_LEN);
			id_list_add(&p->imported, &id);
		}
	if (p->imported.n > 1)
		qsort(p->imported.v, p->imported.n, sizeof(*p->imported.v),
		      idcmp_q);
	free(path);
	vs_buf_release(&b);
	return 0;
}

static void warnf(struct session *ss, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warnf(struct session *ss, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!ss->o->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ss->o->warn(ss->o->warn_arg, msg);
}

/* Merges the fetched run records into the store's (remote.h note 6). */
static int import_runs(struct pull *p, uint64_t *count, struct vs_error *err)
{
	struct session *ss = p->ss;
	struct vs_buf all = VS_BUF_INIT;
	char key[VS_RUN_KEY_MAX], *path;
	size_t i, j;
	int r = 0;

	for (i = 0; i < p->nruns && r == 0; i++) {
		struct vs_run run;
		bool any = false;

		if (vs_run_decode(&run, p->runs[i].data, p->runs[i].len) < 0) {
			warnf(ss, "a run record of remote '%s' is malformed "
			      "(or newer than this varve): skipped",
			      ss->c.cfg->name);
			continue;
		}
		for (j = 0; j < run.ninputs + run.noutputs && r == 0; j++) {
			bool in = j < run.ninputs;
			struct vs_run_snap *sn = in ? &run.inputs[j]
						    : &run.outputs[j -
								   run.ninputs];
			char *job = run.job, *job_id = run.job_id;
			bool added;

			/* The snapshot keeps the job that recorded it. */
			run.job = sn->job;
			run.job_id = sn->job_id;
			r = vs_run_record(ss->s, &run, in ? VS_RUN_USED
							  : VS_RUN_PRODUCED,
					  &sn->repo, &sn->commit, sn->tag,
					  &added, err);
			run.job = job;
			run.job_id = job_id;
			if (r == VS_E_CONFLICT) {
				warnf(ss, "run %s of remote '%s' disagrees "
				      "with the local record: skipped (%s)",
				      vs_run_key(&run, key), ss->c.cfg->name,
				      err ? err->msg : "");
				vs_error_clear(err);
				r = 0;
				break;
			}
			any |= added;
		}
		*count += any;
		vs_run_release(&run);
	}
	if (r < 0 || !p->run_ids.n)
		goto out;
	/* Remembered, so they are not fetched again. */
	for (i = 0; i < p->imported.n; i++)
		vs_buf_add(&all, p->imported.v[i].b, VS_ID_LEN);
	for (i = 0; i < p->run_ids.n; i++)
		vs_buf_add(&all, p->run_ids.v[i].b, VS_ID_LEN);
	path = cpath(&ss->k, "runs", NULL);
	vs_write_file_atomic(path, all.data, all.len, 0644);
	free(path);
out:
	vs_buf_release(&all);
	return r;
}

struct list_refs {
	struct xrefs *x;
	size_t found;
};

static int list_ref(void *arg, const char *key, uint64_t size)
{
	struct list_refs *lr = arg;
	char name[VS_REF_NAME_MAX + 1];
	struct vs_repo repo;
	bool is_tag;

	(void)size;
	if (ref_key_parse(key, &repo, &is_tag, name)) {
		xref_add(lr->x, &repo, name, is_tag);
		lr->found++;
	}
	return 0;
}

/* The remote refs sel names, with their values. */
static int pull_collect(struct session *ss, const struct vs_remote_sel *sel,
			struct xrefs *x, struct vs_error *err)
{
	struct list_refs lr = { x, 0 };
	struct vs_buf prefix = VS_BUF_INIT;
	struct vs_repo repo;
	const char *at;
	size_t i, n;
	int r = 0;

	if (sel->all)
		r = c_list(&ss->c, "refs/", list_ref, &lr, err);
	for (i = 0; r == 0 && i < sel->nspecs; i++) {
		r = parse_spec(sel->specs[i], &repo, &at, err);
		if (r < 0)
			break;
		if (at) {
			xref_add(x, &repo, at, false);
			xref_add(x, &repo, at, true);
			continue;
		}
		vs_buf_reset(&prefix);
		vs_buf_addf(&prefix, "refs/%s/", repo.full);
		lr.found = 0;
		r = c_list(&ss->c, prefix.data, list_ref, &lr, err);
		if (r == 0 && !lr.found)
			r = vs_error_set(err, VS_E_NOTFOUND, "remote '%s' has "
					 "no %s", ss->c.cfg->name, repo.full);
	}
	vs_buf_release(&prefix);
	if (r == 0)
		r = read_remote_refs(ss, x, err);
	if (r < 0)
		return r;
	/* REPO@NAME: the branch, else the tag; refs gone since the
	 * listing are dropped. */
	for (i = 0; r == 0 && i < sel->nspecs; i++) {
		struct xref *b = NULL, *t = NULL;
		size_t k;

		if (parse_spec(sel->specs[i], &repo, &at, NULL) < 0 || !at)
			continue;
		for (k = 0; k < x->n; k++)
			if (!strcmp(x->v[k].repo.full, repo.full) &&
			    !strcmp(x->v[k].name, at)) {
				if (x->v[k].is_tag)
					t = &x->v[k];
				else
					b = &x->v[k];
			}
		if (b && t && b->remote_has)
			t->remote_has = false;
		if (!(b && b->remote_has) && !(t && t->remote_has))
			r = vs_error_set(err, VS_E_NOTFOUND, "remote '%s' has "
					 "no branch or tag '%s' in %s",
					 ss->c.cfg->name, at, repo.full);
	}
	for (i = 0, n = 0; i < x->n; i++) {
		if (x->v[i].remote_has) {
			x->v[n++] = x->v[i];
			continue;
		}
		free(x->v[i].name);
		vs_buf_release(&x->v[i].local_tag);
		vs_buf_release(&x->v[i].remote_tag);
	}
	x->n = n;
	return r;
}

/* Moves the local refs (remote.h note 5). */
static int pull_refs(struct session *ss, struct xrefs *x,
		     struct vs_error *err)
{
	struct vs_store *s = ss->s;
	size_t i;
	int r = 0;

	for (i = 0; i < x->n && r == 0; i++) {
		struct xref *f = &x->v[i];
		struct vs_tag tag;

		r = vs_repo_create(s, &f->repo, err);
		if (r == VS_E_EXISTS) {
			vs_error_clear(err);
			r = 0;
		}
		if (r < 0)
			break;
		if (f->is_tag) {
			r = vs_tag_get(s, &f->repo, f->name, &tag, err);
			if (r == VS_E_NOTFOUND) {
				vs_error_clear(err);
				vs_tag_release(&tag);
				r = vs_tag_decode(&tag, f->remote_tag.data,
						  f->remote_tag.len);
				if (r == 0)
					r = vs_tag_create(s, &f->repo, f->name,
							  &tag, err);
				vs_tag_release(&tag);
				f->status = VS_REMOTE_REF_NEW;
				continue;
			}
			if (r < 0)
				break;
			f->local_has = true;
			f->local = tag.commit;
			vs_tag_encode(&tag, &f->local_tag);
			vs_tag_release(&tag);
			if (f->local_tag.len == f->remote_tag.len &&
			    !memcmp(f->local_tag.data, f->remote_tag.data,
				    f->remote_tag.len))
				f->status = VS_REMOTE_REF_UNCHANGED;
			else
				xref_reject(f, "a local tag of this name has "
					    "another value (tags are "
					    "immutable)");
			continue;
		}
		r = vs_branch_get(s, &f->repo, f->name, &f->local, err);
		if (r == VS_E_NOTFOUND) {
			vs_error_clear(err);
			r = vs_branch_update(s, &f->repo, f->name, NULL,
					     &f->remote, NULL, 0, err);
			f->status = VS_REMOTE_REF_NEW;
			continue;
		}
		if (r < 0)
			break;
		f->local_has = true;
		if (vs_id_equal(&f->local, &f->remote)) {
			f->status = VS_REMOTE_REF_UNCHANGED;
			continue;
		}
		r = is_ancestor(s, &f->local, &f->remote, ss->o->cancel, err);
		if (r == 1) {
			r = vs_branch_update(s, &f->repo, f->name, &f->local,
					     &f->remote, NULL, 0, err);
			f->status = VS_REMOTE_REF_UPDATED;
			continue;
		}
		if (r == 0)
			r = is_ancestor(s, &f->remote, &f->local,
					ss->o->cancel, err);
		if (r == 1)
			f->status = VS_REMOTE_REF_AHEAD;
		else if (r == 0)
			xref_reject(f, "the local branch has commits the "
				    "remote's lacks (they diverged); not moved");
		r = r < 0 ? r : 0;
	}
	return r;
}

int vs_pull(struct vs_store *s, const struct vs_remote_config *remote,
	    const struct vs_remote_sel *sel, const struct vs_remote_opts *opts,
	    struct vs_remote_result *res, struct vs_error *err)
{
	struct session ss;
	struct pull p;
	struct xrefs x = { 0 };
	struct vs_walk *w = NULL;
	size_t i;
	int r;

	vs_remote_result_init(res);
	memset(&p, 0, sizeof(p));
	p.ss = &ss;
	p.fetched = vs_idset_new();
	pthread_mutex_init(&p.lock, NULL);
	atomic_init(&p.chunks, 0);
	atomic_init(&p.objects, 0);
	atomic_init(&p.bytes, 0);
	atomic_init(&p.packs, 0);
	r = session_open(&ss, s, remote, opts, false, err);
	if (r < 0)
		goto out;
	r = pull_collect(&ss, sel, &x, err);
	if (r < 0)
		goto out;
	load_imported(&p);

	/* Metadata, then chunks and run records, all checked (note 5). */
	progress_phase(&ss.pr, VS_REMOTE_SCAN, 0, 0);
	r = pull_metadata(&p, &x, err);
	if (r < 0)
		goto out;
	w = vs_walk_new(s, VS_WALK_HISTORY | VS_WALK_HAS_CHUNKS, chunk_visit,
			&p);
	vs_walk_set_cancel(w, ss.o->cancel);
	for (i = 0; i < x.n && r == 0; i++)
		r = vs_walk_commit(w, &x.v[i].remote, err);
	if (r < 0)
		goto out;
	plan_runs(&p);
	plan_items(&p);
	r = run_jobs(&p, err);
	if (r < 0)
		goto out;
	r = vs_kv_flush(s->kv, err);
	if (r < 0)
		goto out;

	/* Refs, then run records. */
	progress_phase(&ss.pr, VS_REMOTE_REFS, 0, 0);
	r = pull_refs(&ss, &x, err);
	if (r == 0)
		r = import_runs(&p, &res->runs, err);
	if (r < 0)
		goto out;
	result_refs(res, &x, true);
	r = rejected_error(res, "pull", err);
out:
	res->packs = atomic_load(&p.packs);
	res->bytes = atomic_load(&p.bytes);
	res->chunks = atomic_load(&p.chunks);
	res->objects = atomic_load(&p.objects);
	vs_walk_free(w);
	for (i = 0; i < p.nruns; i++)
		vs_buf_release(&p.runs[i]);
	free(p.runs);
	free(p.run_ids.v);
	free(p.imported.v);
	free(p.missing.v);
	free(p.items);
	free(p.jobs);
	vs_idset_free(p.fetched);
	pthread_mutex_destroy(&p.lock);
	xrefs_release(&x);
	session_close(&ss, res);
	return r;
}
