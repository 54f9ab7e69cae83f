/*
 * s3.h - the s3:// transport (vs_transport_s3, declared in transport.h)
 * and what its tests reach: where a remote's requests go, opening with
 * an environment and knobs of one's own, and the retry schedule.
 *
 * DESIGN NOTES
 *  1. Addressing.  s3://BUCKET[/PREFIX]: a key K is the object PREFIX/K.
 *     Without an endpoint (config, else AWS_ENDPOINT_URL_S3, else
 *     AWS_ENDPOINT_URL), requests go to AWS: https://BUCKET.s3.REGION.
 *     amazonaws.com (amazonaws.com.cn in cn- regions).  With one, to that
 *     scheme://host[:port], the bucket prepended to the host.  The bucket
 *     goes in the path instead ("path-style": https://s3.REGION.amazonaws.
 *     com/BUCKET) when the config asks, when the endpoint's host is an IP
 *     address or "localhost", when the bucket is no DNS name, or when it
 *     holds a '.' over https (no wildcard certificate covers it).
 *  2. Region: the config's, else AWS_REGION, AWS_DEFAULT_REGION, the
 *     profile's (creds.h), else us-east-1.
 *  3. Credentials (creds.h) are read once, at open, from the environment
 *     the caller gives (vs_s3_open) or the thread's (the ops' open).
 *     None at all: requests go unsigned (public buckets), and the first
 *     one refused says which variables or profile to set.
 *  4. Open checks the bucket with one listing request: a bucket that does
 *     not exist, a key the server does not know, a secret that does not
 *     match or a wrong region fail there, with a message that says which.
 *     AccessDenied does not (a key may be allowed to read objects and not
 *     to list), unless no credentials were found.
 *  5. Every request is signed anew (SigV4, sigv4.h) with the real payload
 *     hash, and retried on 5xx, 429, SlowDown, RequestTimeout, timeouts
 *     and dropped connections: attempts in all, between them
 *     vs_s3_backoff_ms() (exponential, with jitter).  After the last, one
 *     error names the URL, the attempts and the last answer.
 *  6. Answers: 404 NoSuchKey (or a HEAD's bare 404) is VS_E_NOTFOUND;
 *     NoSuchBucket, AccessDenied, InvalidAccessKeyId,
 *     SignatureDoesNotMatch, a wrong region or clock get a sentence of
 *     their own (VS_E_REMOTE); 412 and 409 ConditionalRequestConflict are
 *     VS_E_CONFLICT; 416 is VS_E_INVAL.  A conditional put that was
 *     retried after its connection dropped may meet its own earlier write
 *     (412): it then reads the object back, and equal bytes are success.
 *  7. Servers may ignore conditional headers (s3rver does, transport.h
 *     note 3).  A message never holds a credential: each is checked
 *     against the known values before it leaves, server text included.
 */
#ifndef VS_REMOTE_S3_H
#define VS_REMOTE_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "creds.h"
#include "error.h"
#include "http.h"
#include "transport.h"

/* Where an s3:// remote's requests go (note 1). */
struct vs_s3_target {
	char *bucket;
	char *prefix;		/* "" or "a/b/": ends with '/' */
	char *region;
	char *scheme;		/* "https" */
	char *host;		/* the Host header: "b.s3.eu-west-1.amazonaws.com",
				   "127.0.0.1:4568" */
	char *path_base;	/* "" or, path-style, "/BUCKET" */
	char *endpoint;		/* for messages: "http://127.0.0.1:4568" */
	char *url;		/* for messages: "s3://b/a/b" */
	bool path_style;
};

/*
 * Fills t from cfg and the environment (notes 1 and 2; getenv_fn NULL:
 * the thread's, creds.h).  Returns 0, VS_E_INVAL (not an s3:// URL, a bad
 * bucket or prefix, an endpoint that is not http(s)://host[:port]; the
 * message says what is accepted) or a -errno (an unreadable profile file).
 */
int vs_s3_target_resolve(struct vs_s3_target *t,
			 const struct vs_remote_config *cfg,
			 vs_creds_getenv_fn getenv_fn, void *arg,
			 struct vs_error *err);
void vs_s3_target_release(struct vs_s3_target *t);

/* Sends one request: vs_http_send()'s contract.  Tests answer in place of
 * the network through it. */
typedef int (*vs_s3_send_fn)(void *arg, const struct vs_http_request *req,
			     struct vs_http_response *resp, bool *transient,
			     struct vs_error *err);

struct vs_s3_options {
	vs_creds_getenv_fn getenv_fn;	/* NULL: the thread's (creds.h) */
	void *getenv_arg;
	unsigned max_keys;		/* a listing page; 0: 1000 */
	unsigned attempts;		/* 0: 5 */
	unsigned base_delay_ms;		/* 0: 100 */
	unsigned max_delay_ms;		/* 0: 5000 */
	long connect_timeout_ms;	/* 0: http.h's */
	bool no_probe;			/* open does not check the bucket */
	vs_s3_send_fn send;		/* NULL: libcurl (http.h) */
	void *send_arg;
	void (*sleep_fn)(void *arg, unsigned ms);	/* NULL: nanosleep */
	void *sleep_arg;
};

/*
 * Opens an s3:// transport (free with vs_transport_s3.free or
 * vs_transport_free); opts may be NULL (what the ops' open does).
 * Returns 0, VS_E_INVAL (as vs_s3_target_resolve, or credentials only
 * half set), VS_E_REMOTE (the bucket check failed: note 4) or a -errno.
 */
int vs_s3_open(const struct vs_remote_config *cfg,
	       const struct vs_s3_options *opts, struct vs_transport **out,
	       struct vs_error *err);

/*
 * The wait before retry number retry (1: after the first failure):
 * d = min(max_ms, base_ms * 2^(retry-1)), then d/2 plus rnd modulo
 * (d/2 + 1): never more than max_ms, never less than half of d.
 */
unsigned vs_s3_backoff_ms(unsigned retry, unsigned base_ms, unsigned max_ms,
			  uint64_t rnd);

#endif
