/*
 * refs.c - repositories, branches and tags in the refs column family.
 * See refs.h for the keys and the update rules.
 */
#include "refs.h"
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

int (*vs_refs_fault_hook)(const char *where);

static void notify(struct vs_store *s, const struct vs_repo *r,
		   const char *branch)
{
	vs_store_notify_change(s, r, branch);
}

const char *vs_repo_kind_name(enum vs_repo_kind k)
{
	return k == VS_REPO_MODEL ? "model" : "dataset";
}

int vs_repo_kind_parse(const char *s, enum vs_repo_kind *out)
{
	if (!strcmp(s, "dataset") || !strcmp(s, "datasets"))
		*out = VS_REPO_DATASET;
	else if (!strcmp(s, "model") || !strcmp(s, "models"))
		*out = VS_REPO_MODEL;
	else
		return VS_E_INVAL;
	return 0;
}

static bool repo_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-');
}

bool vs_repo_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > VS_REPO_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!repo_char(name[i], i == 0))
			return false;
	return true;
}

/* Prints name for an error message, replacing control bytes. */
static void quote_name(char *dst, size_t size, const char *name, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = name[i];

		if (c < 0x20 || c == 0x7f)
			o += snprintf(dst + o, size - o, "\\x%02x", c);
		else
			dst[o++] = c;
	}
	if (i < len && o + 4 < size) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

int vs_repo_set(struct vs_repo *r, enum vs_repo_kind kind, const char *name,
		struct vs_error *err)
{
	size_t len = strlen(name);
	char q[128];

	if (!vs_repo_name_valid(name, len)) {
		quote_name(q, sizeof(q), name, len);
		return vs_error_set(err, VS_E_INVAL,
				    "invalid repository name '%s' (use 1-64 "
				    "of a-z 0-9 . _ -, starting with a letter "
				    "or digit)", q);
	}
	r->kind = kind;
	memcpy(r->name, name, len + 1);
	snprintf(r->full, sizeof(r->full), "%ss/%s", vs_repo_kind_name(kind),
		 name);
	return 0;
}

int vs_repo_parse(struct vs_repo *r, const char *s, size_t len,
		  struct vs_error *err)
{
	const char *slash = memchr(s, '/', len);
	char kind[16], name[VS_REPO_NAME_MAX + 2], q[128];
	enum vs_repo_kind k;
	size_t klen, nlen;

	if (!slash)
		goto bad;
	klen = slash - s;
	nlen = len - klen - 1;
	if (klen >= sizeof(kind) || nlen >= sizeof(name))
		goto bad;
	memcpy(kind, s, klen);
	kind[klen] = '\0';
	memcpy(name, slash + 1, nlen);
	name[nlen] = '\0';
	if ((strcmp(kind, "datasets") && strcmp(kind, "models")) ||
	    vs_repo_kind_parse(kind, &k) < 0)
		goto bad;
	return vs_repo_set(r, k, name, err);
bad:
	quote_name(q, sizeof(q), s, len);
	return vs_error_set(err, VS_E_INVAL,
			    "invalid repository '%s' (expected datasets/NAME "
			    "or models/NAME)", q);
}

static void repo_key(struct vs_buf *k, const struct vs_repo *r)
{
	vs_buf_reset(k);
	vs_buf_addch(k, 'R');
	vs_buf_addstr(k, r->full);
}

/* 'B' or 'T' <repo> '\0' [name] */
static void named_key(struct vs_buf *k, char type, const struct vs_repo *r,
		      const char *name)
{
	vs_buf_reset(k);
	vs_buf_addch(k, type);
	vs_buf_addstr(k, r->full);
	vs_buf_addch(k, '\0');
	if (name)
		vs_buf_addstr(k, name);
}

int vs_repo_create(struct vs_store *s, const struct vs_repo *r,
		   struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT, val = VS_BUF_INIT;
	struct vs_kv_batch *b;
	int r2;

	repo_key(&key, r);
	pthread_mutex_lock(&s->ref_lock);
	if (vs_kv_has(s->kv, VS_CF_REFS, key.data, key.len)) {
		r2 = vs_error_set(err, VS_E_EXISTS,
				  "repository '%s' already exists", r->full);
		goto out;
	}
	vs_buf_add_varint(&val, (uint64_t)time(NULL));
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, s->kv, VS_CF_REFS, key.data, key.len, val.data,
			val.len);
	r2 = vs_kv_write(s->kv, b, VS_KV_SYNC, err);
	vs_kv_batch_free(b);
out:
	pthread_mutex_unlock(&s->ref_lock);
	vs_buf_release(&key);
	vs_buf_release(&val);
	if (r2 == 0)
		notify(s, r, NULL);
	return r2;
}

int vs_repo_check(struct vs_store *s, const struct vs_repo *r,
		  struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT;
	bool ok;

	repo_key(&key, r);
	ok = vs_kv_has(s->kv, VS_CF_REFS, key.data, key.len);
	vs_buf_release(&key);
	if (!ok)
		return vs_error_set(err, VS_E_NOTFOUND,
				    "unknown repository '%s' (create it with "
				    "'varve create %s %s')", r->full,
				    vs_repo_kind_name(r->kind), r->name);
	return 0;
}

int vs_repo_list(struct vs_store *s,
		 int (*fn)(const struct vs_repo *r, void *arg), void *arg,
		 struct vs_error *err)
{
	struct vs_kv_iter *it;
	int r = 0;

	it = vs_kv_iter_new(s->kv, VS_CF_REFS, "R", 1);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		struct vs_repo repo;
		size_t klen;
		const char *k = vs_kv_iter_key(it, &klen);

		if (vs_repo_parse(&repo, k + 1, klen - 1, NULL) < 0)
			continue;
		r = fn(&repo, arg);
		if (r)
			break;
	}
	r = vs_kv_iter_end(it, r, err);
	return r;
}

bool vs_ref_name_valid(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > VS_REF_NAME_MAX)
		return false;
	if (name[0] == '-' || name[0] == '.' || name[0] == '/' ||
	    name[len - 1] == '/' || name[len - 1] == '.')
		return false;
	if (strstr(name, "..") || strstr(name, "//") || strstr(name, "/."))
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '/'))
			return false;
	}
	return true;
}

static int ref_name_check(const char *what, const char *name,
			  struct vs_error *err)
{
	char q[128];

	if (vs_ref_name_valid(name))
		return 0;
	quote_name(q, sizeof(q), name, strlen(name));
	return vs_error_set(err, VS_E_INVAL,
			    "invalid %s name '%s' (use letters, digits, "
			    ". _ - /)", what, q);
}

int vs_branch_get(struct vs_store *s, const struct vs_repo *r,
		  const char *branch, struct vs_id *out, struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT, val = VS_BUF_INIT;
	int rc;

	named_key(&key, 'B', r, branch);
	rc = vs_kv_get(s->kv, VS_CF_REFS, key.data, key.len, &val, err);
	if (rc == 0 && val.len != VS_ID_LEN)
		rc = vs_error_set(err, VS_E_CORRUPT,
				  "branch '%s' of '%s' is corrupt", branch,
				  r->full);
	else if (rc == 0)
		memcpy(out->b, val.data, VS_ID_LEN);
	vs_buf_release(&key);
	vs_buf_release(&val);
	return rc;
}

/*
 * Calls each(name, value) for every key of type ('B' or 'T') of repository
 * r, in name order; non-zero from each stops the scan and is returned.
 */
static int scan_named(struct vs_store *s, char type, const struct vs_repo *r,
		      int (*each)(const char *name, const void *v,
				  size_t vlen, void *arg),
		      void *arg, struct vs_error *err)
{
	struct vs_buf prefix = VS_BUF_INIT, name = VS_BUF_INIT;
	struct vs_kv_iter *it;
	int rc = 0;

	named_key(&prefix, type, r, NULL);
	it = vs_kv_iter_new(s->kv, VS_CF_REFS, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		size_t klen, vlen;
		const char *k = vs_kv_iter_key(it, &klen);
		const void *v = vs_kv_iter_value(it, &vlen);

		vs_buf_reset(&name);
		vs_buf_add(&name, k + prefix.len, klen - prefix.len);
		rc = each(name.data, v, vlen, arg);
		if (rc)
			break;
	}
	rc = vs_kv_iter_end(it, rc, err);
	vs_buf_release(&prefix);
	vs_buf_release(&name);
	return rc;
}

struct branch_scan {
	int (*fn)(const char *name, const struct vs_id *id, void *arg);
	void *arg;
};

static int each_branch_value(const char *name, const void *v, size_t vlen,
			     void *arg)
{
	struct branch_scan *bs = arg;
	struct vs_id id;

	if (vlen != VS_ID_LEN)
		return 0;
	memcpy(id.b, v, VS_ID_LEN);
	return bs->fn(name, &id, bs->arg);
}

int vs_branch_list(struct vs_store *s, const struct vs_repo *r,
		   int (*fn)(const char *name, const struct vs_id *id,
			     void *arg),
		   void *arg, struct vs_error *err)
{
	struct branch_scan bs = { fn, arg };

	return scan_named(s, 'B', r, each_branch_value, &bs, err);
}

int vs_branch_update(struct vs_store *s, const struct vs_repo *r,
		     const char *branch, const struct vs_id *expect,
		     const struct vs_id *to, struct vs_kv_batch *extra,
		     unsigned flags, struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT;
	struct vs_kv_batch *own = NULL, *b = extra;
	struct vs_id cur;
	int rc;

	rc = ref_name_check("branch", branch, err);
	if (rc < 0)
		return rc;
	named_key(&key, 'B', r, branch);
	pthread_mutex_lock(&s->ref_lock);
	rc = vs_branch_get(s, r, branch, &cur, NULL);
	if (rc < 0 && rc != VS_E_NOTFOUND) {
		vs_error_set(err, rc, "cannot read branch '%s' of '%s'",
			     branch, r->full);
		goto out;
	}
	if (!(flags & VS_REF_FORCE) &&
	    ((expect && (rc == VS_E_NOTFOUND || !vs_id_equal(&cur, expect))) ||
	     (!expect && rc == 0))) {
		rc = vs_error_set(err, VS_E_CONFLICT,
				  "branch '%s' of '%s' moved while this "
				  "command ran; try again", branch, r->full);
		goto out;
	}
	/* Everything the new value references must be durable first. */
	rc = vs_kv_flush(s->kv, err);
	if (rc < 0)
		goto out;
	if (vs_refs_fault_hook) {
		rc = vs_refs_fault_hook("branch_update");
		if (rc) {
			vs_error_set(err, rc, "injected failure before the "
				     "update of '%s'", branch);
			goto out;
		}
	}
	if (!b)
		b = own = vs_kv_batch_new();
	vs_kv_batch_put(b, s->kv, VS_CF_REFS, key.data, key.len, to->b,
			VS_ID_LEN);
	rc = vs_kv_write(s->kv, b, VS_KV_SYNC, err);
out:
	pthread_mutex_unlock(&s->ref_lock);
	vs_kv_batch_free(own);
	vs_buf_release(&key);
	if (rc == 0)
		notify(s, r, branch);
	return rc;
}

int vs_branch_delete(struct vs_store *s, const struct vs_repo *r,
		     const char *branch, struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT;
	struct vs_kv_batch *b;
	int rc;

	named_key(&key, 'B', r, branch);
	pthread_mutex_lock(&s->ref_lock);
	if (!vs_kv_has(s->kv, VS_CF_REFS, key.data, key.len)) {
		rc = vs_error_set(err, VS_E_NOTFOUND,
				  "no branch '%s' in '%s'", branch, r->full);
		goto out;
	}
	b = vs_kv_batch_new();
	vs_kv_batch_delete(b, s->kv, VS_CF_REFS, key.data, key.len);
	rc = vs_kv_write(s->kv, b, VS_KV_SYNC, err);
	vs_kv_batch_free(b);
out:
	pthread_mutex_unlock(&s->ref_lock);
	vs_buf_release(&key);
	if (rc == 0)
		notify(s, r, branch);
	return rc;
}

int vs_tag_create(struct vs_store *s, const struct vs_repo *r,
		  const char *name, const struct vs_tag *tag,
		  struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT, val = VS_BUF_INIT;
	struct vs_kv_batch *b;
	int rc;

	rc = ref_name_check("tag", name, err);
	if (rc < 0)
		return rc;
	named_key(&key, 'T', r, name);
	vs_tag_encode(tag, &val);
	pthread_mutex_lock(&s->ref_lock);
	if (vs_kv_has(s->kv, VS_CF_REFS, key.data, key.len)) {
		rc = vs_error_set(err, VS_E_EXISTS,
				  "tag '%s' already exists in '%s' (tags are "
				  "immutable)", name, r->full);
		goto out;
	}
	rc = vs_kv_flush(s->kv, err);
	if (rc < 0)
		goto out;
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, s->kv, VS_CF_REFS, key.data, key.len, val.data,
			val.len);
	rc = vs_kv_write(s->kv, b, VS_KV_SYNC, err);
	vs_kv_batch_free(b);
out:
	pthread_mutex_unlock(&s->ref_lock);
	vs_buf_release(&key);
	vs_buf_release(&val);
	if (rc == 0)
		notify(s, r, NULL);
	return rc;
}

int vs_tag_get(struct vs_store *s, const struct vs_repo *r, const char *name,
	       struct vs_tag *out, struct vs_error *err)
{
	struct vs_buf key = VS_BUF_INIT, val = VS_BUF_INIT;
	int rc;

	vs_tag_init(out);
	named_key(&key, 'T', r, name);
	rc = vs_kv_get(s->kv, VS_CF_REFS, key.data, key.len, &val, err);
	if (rc == 0) {
		rc = vs_tag_decode(out, val.data, val.len);
		if (rc < 0)
			vs_error_set(err, rc, "tag '%s' of '%s' is corrupt",
				     name, r->full);
	}
	vs_buf_release(&key);
	vs_buf_release(&val);
	return rc;
}

struct tag_scan {
	int (*fn)(const char *name, const struct vs_tag *tag, void *arg);
	void *arg;
};

static int each_tag_value(const char *name, const void *v, size_t vlen,
			  void *arg)
{
	struct tag_scan *ts = arg;
	struct vs_tag tag;
	int rc;

	if (vs_tag_decode(&tag, v, vlen) < 0)
		return 0;
	rc = ts->fn(name, &tag, ts->arg);
	vs_tag_release(&tag);
	return rc;
}

int vs_tag_list(struct vs_store *s, const struct vs_repo *r,
		int (*fn)(const char *name, const struct vs_tag *tag,
			  void *arg),
		void *arg, struct vs_error *err)
{
	struct tag_scan ts = { fn, arg };

	return scan_named(s, 'T', r, each_tag_value, &ts, err);
}

struct each {
	struct vs_store *s;
	const struct vs_repo *repo;
	int (*fn)(const struct vs_repo *r, const char *name, bool is_tag,
		  const struct vs_id *commit, void *arg);
	void *arg;
	struct vs_error *err;
};

static int each_branch(const char *name, const struct vs_id *id, void *arg)
{
	struct each *e = arg;

	return e->fn(e->repo, name, false, id, e->arg);
}

static int each_tag(const char *name, const struct vs_tag *tag, void *arg)
{
	struct each *e = arg;

	return e->fn(e->repo, name, true, &tag->commit, e->arg);
}

static int each_repo(const struct vs_repo *r, void *arg)
{
	struct each *e = arg;
	int rc;

	e->repo = r;
	rc = vs_branch_list(e->s, r, each_branch, e, e->err);
	if (rc == 0)
		rc = vs_tag_list(e->s, r, each_tag, e, e->err);
	return rc;
}

int vs_refs_each(struct vs_store *s,
		 int (*fn)(const struct vs_repo *r, const char *name,
			   bool is_tag, const struct vs_id *commit, void *arg),
		 void *arg, struct vs_error *err)
{
	struct each e = { .s = s, .fn = fn, .arg = arg, .err = err };

	return vs_repo_list(s, each_repo, &e, err);
}
