/*
 * transport.c - the transport API of transport.h: picks the transport a
 * URL's scheme names, checks keys against the contract (note 1), and
 * dispatches every call to the ops of the handle's transport.
 *
 * THE HANDLE CONVENTION.  transport.h keeps struct vs_transport opaque;
 * each transport defines it in its own file, and every definition begins
 * with the member
 *         const struct vs_transport_ops *ops;
 * which its open sets to its own ops table.  That is how vs_transport_get
 * and the others (vs_transport_free too, for a handle a transport's own
 * opener returned) find the functions to call: struct transport_head
 * below reads that first member, and vs_transport_open asserts it.
 */
#include "transport.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

/* The first member of every transport's struct vs_transport. */
struct transport_head {
	const struct vs_transport_ops *ops;
};

/* The transports, by scheme. */
static const struct vs_transport_ops *const transports[] = {
	&vs_transport_file,
	&vs_transport_s3,
};

#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

static const struct vs_transport_ops *ops_of(struct vs_transport *t)
{
	return ((const struct transport_head *)(const void *)t)->ops;
}

/* Note 1 of transport.h. */
static bool key_valid(const char *key)
{
	const char *p = key, *slash;
	size_t n;

	if (!key || !*key || *key == '/')
		return false;
	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static int bad_key(const char *key, struct vs_error *err)
{
	return vs_error_set(err, VS_E_INVAL, "'%s' is not a valid remote key",
			    key ? key : "(null)");
}

int vs_transport_open(const struct vs_remote_config *cfg,
		      struct vs_transport **out, struct vs_error *err)
{
	const char *url = cfg->url ? cfg->url : "";
	const char *sep = strstr(url, "://");
	size_t n = sep ? (size_t)(sep - url) : 0, i;
	int r;

	for (i = 0; sep && i < NTRANSPORTS; i++) {
		const struct vs_transport_ops *ops = transports[i];

		if (strlen(ops->scheme) != n || strncmp(ops->scheme, url, n))
			continue;
		r = ops->open(cfg, out, err);
		assert(r < 0 || ops_of(*out) == ops);
		return r;
	}
	return vs_error_set(err, VS_E_INVAL,
			    "'%s' is not a remote URL varve can use (expected "
			    "s3://BUCKET[/PREFIX] or file:///PATH)", url);
}

void vs_transport_free(struct vs_transport *t)
{
	if (t)
		ops_of(t)->free(t);
}

int vs_transport_get(struct vs_transport *t, const char *key, uint64_t off,
		     uint64_t len, struct vs_buf *out, struct vs_obj_info *info,
		     struct vs_error *err)
{
	if (!key_valid(key))
		return bad_key(key, err);
	return ops_of(t)->get(t, key, off, len, out, info, err);
}

int vs_transport_put(struct vs_transport *t, const char *key,
		     const void *data, size_t len, unsigned flags,
		     const char *if_match, struct vs_obj_info *info,
		     struct vs_error *err)
{
	if (!key_valid(key))
		return bad_key(key, err);
	return ops_of(t)->put(t, key, data, len, flags, if_match, info, err);
}

int vs_transport_head(struct vs_transport *t, const char *key,
		      struct vs_obj_info *info, struct vs_error *err)
{
	if (!key_valid(key))
		return bad_key(key, err);
	return ops_of(t)->head(t, key, info, err);
}

int vs_transport_list(struct vs_transport *t, const char *prefix,
		      int (*fn)(void *arg, const char *key, uint64_t size),
		      void *arg, struct vs_error *err)
{
	return ops_of(t)->list(t, prefix ? prefix : "", fn, arg, err);
}

int vs_transport_delete(struct vs_transport *t, const char *key,
			struct vs_error *err)
{
	if (!key_valid(key))
		return bad_key(key, err);
	return ops_of(t)->del(t, key, err);
}
