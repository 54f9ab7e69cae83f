/*
 * transport.h - where a remote's objects live: a flat key space of
 * immutable-or-compare-and-swapped objects, reached through file:// (a
 * directory: shared file systems, tests) or s3:// (AWS S3 and every
 * S3-compatible store).  The remote protocol (remote.h) is written against
 * this interface only; each transport is one file (file.c, s3.c).
 *
 * DESIGN NOTES: the transport contract
 *  1. Keys are '/'-separated relative names ("packs/ab/<hex>.pack"); a key
 *     never starts or ends with '/', never holds "//", "." or "..".
 *  2. A get returns exactly the bytes a successful put stored, or
 *     VS_E_NOTFOUND; a put is all or nothing (file://: write to a
 *     temporary name, fsync, rename; S3: one PUT).  A reader never sees a
 *     half-written object.
 *  3. Conditional puts are how refs are compare-and-swapped: with
 *     VS_PUT_IF_ABSENT the put fails with VS_E_CONFLICT if the key exists;
 *     with if_match it fails with VS_E_CONFLICT unless the key's current
 *     etag is if_match.  file:// makes both atomic with a lock; S3 sends
 *     If-None-Match: * and If-Match: <etag>, which a server may ignore
 *     (s3rver does): the caller re-reads after such a put when it must
 *     know.
 *  4. Every function is thread-safe: push and pull run several transfers
 *     at once (8 by default) from as many threads.
 *  5. Errors name the remote URL and key, never a credential.
 */
#ifndef VS_REMOTE_TRANSPORT_H
#define VS_REMOTE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* Where a remote is and how to reach it (the store's config keeps these;
 * credentials are never part of it). */
struct vs_remote_config {
	char *name;		/* "origin" */
	char *url;		/* "s3://bucket/prefix" or "file:///path" */
	char *endpoint;		/* s3: "http://127.0.0.1:4568"; NULL: AWS */
	char *region;		/* s3: NULL: from the environment or profile,
				   else us-east-1 */
	bool path_style;	/* s3: bucket in the path, not the host */
};

/* What a head or a put learns of an object. */
struct vs_obj_info {
	uint64_t size;
	char etag[130];		/* opaque, compared as a string; may be "" */
};

enum vs_put_flags {
	VS_PUT_IF_ABSENT = 1 << 0,	/* note 3 */
};

struct vs_transport;

struct vs_transport_ops {
	const char *scheme;	/* "file", "s3" */
	int (*open)(const struct vs_remote_config *cfg,
		    struct vs_transport **out, struct vs_error *err);
	void (*free)(struct vs_transport *t);
	int (*get)(struct vs_transport *t, const char *key, uint64_t off,
		   uint64_t len, struct vs_buf *out, struct vs_obj_info *info,
		   struct vs_error *err);
	int (*put)(struct vs_transport *t, const char *key, const void *data,
		   size_t len, unsigned flags, const char *if_match,
		   struct vs_obj_info *info, struct vs_error *err);
	int (*head)(struct vs_transport *t, const char *key,
		    struct vs_obj_info *info, struct vs_error *err);
	int (*list)(struct vs_transport *t, const char *prefix,
		    int (*fn)(void *arg, const char *key, uint64_t size),
		    void *arg, struct vs_error *err);
	int (*del)(struct vs_transport *t, const char *key,
		   struct vs_error *err);
};

/*
 * Opens the transport cfg->url names.  *out is freed with
 * vs_transport_free.  Returns 0, VS_E_INVAL (a URL varve cannot use, with
 * a message saying what it accepts) or the transport's error (no
 * credentials, unknown bucket: a message that says which).
 */
int vs_transport_open(const struct vs_remote_config *cfg,
		      struct vs_transport **out, struct vs_error *err);
/* Accepts NULL. */
void vs_transport_free(struct vs_transport *t);

/*
 * Appends the bytes [off, off + len) of key to out (len 0: to the end);
 * info (may be NULL) gets the object's size and etag.  Returns 0,
 * VS_E_NOTFOUND, VS_E_REMOTE (the server failed after retries, or
 * answered what the protocol does not allow) or VS_E_INVAL (a range past
 * the end).
 */
int vs_transport_get(struct vs_transport *t, const char *key, uint64_t off,
		     uint64_t len, struct vs_buf *out, struct vs_obj_info *info,
		     struct vs_error *err);
/*
 * Stores <data, len> at key, as note 3 says for flags and if_match (NULL:
 * unconditional).  info (may be NULL) gets the new etag.  Returns 0,
 * VS_E_CONFLICT, VS_E_REMOTE.
 */
int vs_transport_put(struct vs_transport *t, const char *key,
		     const void *data, size_t len, unsigned flags,
		     const char *if_match, struct vs_obj_info *info,
		     struct vs_error *err);
/* The size and etag of key: 0, VS_E_NOTFOUND, VS_E_REMOTE. */
int vs_transport_head(struct vs_transport *t, const char *key,
		      struct vs_obj_info *info, struct vs_error *err);
/*
 * Calls fn for each key that starts with prefix, in byte order; a nonzero
 * return stops the listing and is returned.  0 when done, VS_E_REMOTE.
 */
int vs_transport_list(struct vs_transport *t, const char *prefix,
		      int (*fn)(void *arg, const char *key, uint64_t size),
		      void *arg, struct vs_error *err);
/* Removes key (absent is fine): 0, VS_E_REMOTE. */
int vs_transport_delete(struct vs_transport *t, const char *key,
			struct vs_error *err);

/* The transports (file.c, s3.c). */
extern const struct vs_transport_ops vs_transport_file;
extern const struct vs_transport_ops vs_transport_s3;

#endif
