/*
 * http.h - HTTP/1.1 requests through libcurl, for s3.c: one client per
 * transport, used by any number of threads at once, its connections kept
 * alive from one request to the next.
 *
 * DESIGN NOTES
 *  1. A client is a pool of curl easy handles.  A request takes an idle
 *     one (or makes one), and gives it back after; each handle keeps its
 *     connections open, so a thread doing request after request reuses
 *     its connection, and 8 threads use about 8.  The handles share one
 *     DNS cache and one TLS session cache (a curl share, locked per kind
 *     of data); not the connections themselves, which curl does not
 *     support across concurrent threads.
 *  2. The multi interface is not used: every request is one transfer that
 *     its calling thread waits for, and the protocol gets its parallelism
 *     from its own threads.
 *  3. Timeouts: connecting may take connect_timeout_ms; a transfer that
 *     moves less than 1 KiB/s for low_speed_s seconds is abandoned; none
 *     caps a whole transfer (a pack of tens of MiB on a slow link is fine).
 *  4. Redirects are not followed (S3's mean another region, which s3.c
 *     reports), only http:// and https:// are spoken, and no request
 *     carries "Expect: 100-continue".
 *  5. Nothing here knows a credential: they are in the headers the caller
 *     passes, which are never part of a message.
 */
#ifndef VS_REMOTE_HTTP_H
#define VS_REMOTE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

struct vs_http;

struct vs_http_opts {
	long connect_timeout_ms;	/* 0: 10 s */
	long low_speed_s;		/* 0: 30 s (note 3) */
};

struct vs_http_request {
	const char *method;		/* GET, HEAD, PUT or DELETE */
	const char *url;		/* http:// or https://, encoded */
	const char *const *headers;	/* "Name: value" each */
	size_t nheaders;
	const void *body;		/* PUT: sent as is */
	size_t body_len;
	size_t max_body;		/* a longer answer fails; 0: any */
};

/* What came back.  vs_http_response_init before, _release after. */
struct vs_http_response {
	long status;			/* 200, 404, ... */
	struct vs_buf body;
	bool has_length;		/* a Content-Length header came */
	uint64_t length;		/* its value */
	char etag[130];			/* ETag, as sent (quotes kept) */
	char content_range[128];	/* "bytes 0-9/100" */
	char bucket_region[64];		/* x-amz-bucket-region */
};

void vs_http_response_init(struct vs_http_response *r);
/* Empties r for the next attempt (the body's memory is kept). */
void vs_http_response_reset(struct vs_http_response *r);
void vs_http_response_release(struct vs_http_response *r);

/*
 * A new client (free with vs_http_free).  opts may be NULL.  Returns 0 or
 * VS_E_REMOTE when libcurl cannot be set up.
 */
int vs_http_new(const struct vs_http_opts *opts, struct vs_http **out,
		struct vs_error *err);
/* Closes every connection.  Accepts NULL.  No request may be running. */
void vs_http_free(struct vs_http *h);

/*
 * Sends req and reads the answer into resp (reset first).  Returns 0 when
 * an answer came, whatever its status; else VS_E_REMOTE, with err naming
 * the URL and what failed, and *transient true when the same request may
 * succeed later (a timeout, a refused, reset or dropped connection, a
 * name that did not resolve), false when it cannot (a malformed URL, a
 * TLS certificate refused, an answer over max_body).
 */
int vs_http_send(struct vs_http *h, const struct vs_http_request *req,
		 struct vs_http_response *resp, bool *transient,
		 struct vs_error *err);

#endif
