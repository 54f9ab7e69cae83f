/*
 * http.c - HTTP requests through libcurl (the rules are http.h's design
 * notes), the only file that includes it.  s3.c sends every request of an
 * s3:// transport through vs_http_send().
 */
#include "http.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "xalloc.h"
#include "banned.h"

/* Idle handles kept per client; more (after a burst) are closed. */
#define HTTP_POOL_MAX 32

struct vs_http {
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;	/* guards idle, nidle */
	CURL *idle[HTTP_POOL_MAX];
	size_t nidle;
	long connect_timeout_ms;
	long low_speed_s;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *handle, curl_lock_data data,
		       curl_lock_access access, void *arg)
{
	struct vs_http *h = arg;

	(void)handle;
	(void)access;
	pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *arg)
{
	struct vs_http *h = arg;

	(void)handle;
	pthread_mutex_unlock(&h->share_locks[data]);
}

void vs_http_response_init(struct vs_http_response *r)
{
	memset(r, 0, sizeof(*r));
	vs_buf_init(&r->body, 0);
}

void vs_http_response_reset(struct vs_http_response *r)
{
	r->status = 0;
	vs_buf_reset(&r->body);
	r->has_length = false;
	r->length = 0;
	r->etag[0] = r->content_range[0] = r->bucket_region[0] = '\0';
}

void vs_http_response_release(struct vs_http_response *r)
{
	vs_buf_release(&r->body);
	vs_http_response_init(r);
}

int vs_http_new(const struct vs_http_opts *opts, struct vs_http **out,
		struct vs_error *err)
{
	struct vs_http *h;
	int i;

	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return vs_error_set(err, VS_E_REMOTE,
				    "cannot set up libcurl: %s",
				    curl_easy_strerror(global_rc));
	h = vs_xcalloc(1, sizeof(*h));
	h->connect_timeout_ms = opts && opts->connect_timeout_ms > 0
					? opts->connect_timeout_ms : 10000;
	h->low_speed_s = opts && opts->low_speed_s > 0 ? opts->low_speed_s
						       : 30;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	h->share = curl_share_init();
	if (!h->share ||
	    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) ||
	    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
	    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(h->share, CURLSHOPT_SHARE,
			      CURL_LOCK_DATA_SSL_SESSION)) {
		vs_http_free(h);
		return vs_error_set(err, VS_E_REMOTE,
				    "cannot set up libcurl's shared caches");
	}
	*out = h;
	return 0;
}

void vs_http_free(struct vs_http *h)
{
	size_t i;
	int k;

	if (!h)
		return;
	for (i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	if (h->share)
		curl_share_cleanup(h->share);
	pthread_mutex_destroy(&h->pool_lock);
	for (k = 0; k < CURL_LOCK_DATA_LAST; k++)
		pthread_mutex_destroy(&h->share_locks[k]);
	free(h);
}

/* An idle handle of the pool, or a new one; NULL if curl cannot make one. */
static CURL *handle_take(struct vs_http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->pool_lock);
	if (h->nidle)
		c = h->idle[--h->nidle];
	pthread_mutex_unlock(&h->pool_lock);
	return c ? c : curl_easy_init();
}

static void handle_give_back(struct vs_http *h, CURL *c)
{
	pthread_mutex_lock(&h->pool_lock);
	if (h->nidle < HTTP_POOL_MAX) {
		h->idle[h->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

/* --- one transfer --------------------------------------------------------- */

struct transfer {
	const struct vs_http_request *req;
	struct vs_http_response *resp;
	size_t sent;		/* of req->body */
	bool too_large;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n;

	if (t->req->max_body && t->resp->body.len + len > t->req->max_body) {
		t->too_large = true;
		return 0;
	}
	vs_buf_add(&t->resp->body, p, len);
	return len;
}

static size_t on_upload(char *p, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t left = t->req->body_len - t->sent, len = size * n;

	if (len > left)
		len = left;
	if (len)
		memcpy(p, (const char *)t->req->body + t->sent, len);
	t->sent += len;
	return len;
}

/* A seek back to the start (curl rewinds a body it must send again). */
static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct transfer *t = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > t->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	t->sent = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/* Copies the value of header line <p, len> into dst if its name is name. */
static bool header_value(const char *p, size_t len, const char *name,
			 char *dst, size_t size)
{
	size_t nl = strlen(name), vl;
	const char *v;

	if (len <= nl || p[nl] != ':' || strncasecmp(p, name, nl))
		return false;
	v = p + nl + 1;
	vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
		      v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (vl >= size)
		vl = size - 1;
	memcpy(dst, v, vl);
	dst[vl] = '\0';
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	struct vs_http_response *r = t->resp;
	size_t len = size * n;
	char num[32];

	/* a new status line: an interim answer's headers do not count */
	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		r->has_length = false;
		r->etag[0] = r->content_range[0] = r->bucket_region[0] = '\0';
		return len;
	}
	if (header_value(p, len, "ETag", r->etag, sizeof(r->etag)) ||
	    header_value(p, len, "Content-Range", r->content_range,
			 sizeof(r->content_range)) ||
	    header_value(p, len, "x-amz-bucket-region", r->bucket_region,
			 sizeof(r->bucket_region)))
		return len;
	if (header_value(p, len, "Content-Length", num, sizeof(num))) {
		char *end;
		unsigned long long v;

		if (num[0] >= '0' && num[0] <= '9') {
			v = strtoull(num, &end, 10);
			if (!*end) {
				r->has_length = true;
				r->length = v;
			}
		}
	}
	return len;
}

static bool transient_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* Sets the options of one request on c; false if curl refuses one. */
static bool setup(struct vs_http *h, CURL *c, struct transfer *t,
		  struct curl_slist *headers, char *errbuf)
{
	const struct vs_http_request *req = t->req;
	bool ok = true;

	ok &= !curl_easy_setopt(c, CURLOPT_URL, req->url);
	ok &= !curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	ok &= !curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	ok &= !curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	ok &= !curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	ok &= !curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
				h->connect_timeout_ms);
	ok &= !curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	ok &= !curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->low_speed_s);
	ok &= !curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	ok &= !curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	ok &= !curl_easy_setopt(c, CURLOPT_USERAGENT, "varve");
	ok &= !curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	ok &= !curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	ok &= !curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	ok &= !curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	ok &= !curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	if (!strcmp(req->method, "GET")) {
		ok &= !curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (!strcmp(req->method, "HEAD")) {
		ok &= !curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(req->method, "PUT")) {
		ok &= !curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		ok &= !curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
		ok &= !curl_easy_setopt(c, CURLOPT_READDATA, t);
		ok &= !curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		ok &= !curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
		ok &= !curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
					(curl_off_t)req->body_len);
	} else {
		ok &= !curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
	return ok;
}

int vs_http_send(struct vs_http *h, const struct vs_http_request *req,
		 struct vs_http_response *resp, bool *transient,
		 struct vs_error *err)
{
	struct transfer t = { .req = req, .resp = resp };
	struct curl_slist *headers = NULL, *n;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	CURL *c;
	size_t i;
	int r = 0;

	*transient = false;
	vs_http_response_reset(resp);
	c = handle_take(h);
	if (!c)
		return vs_error_set(err, VS_E_REMOTE,
				    "cannot make a libcurl handle for %s",
				    req->url);
	/* allocation failure aborts, as everywhere in the store (buf.h) */
	for (i = 0; i < req->nheaders; i++) {
		n = curl_slist_append(headers, req->headers[i]);
		if (!n)
			abort();
		headers = n;
	}
	n = curl_slist_append(headers, "Expect:");
	if (!n)
		abort();
	headers = n;
	if (!setup(h, c, &t, headers, errbuf)) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "libcurl refused an option of a request to %s",
				 req->url);
		goto out;
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		long status = 0;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		resp->status = status;
	} else if (t.too_large) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "%s answered more than the %zu bytes expected",
				 req->url, req->max_body);
	} else {
		*transient = transient_code(rc);
		r = vs_error_set(err, VS_E_REMOTE, "cannot reach %s: %s",
				 req->url,
				 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
out:
	/* a session token was among them */
	for (n = headers; n; n = n->next)
		explicit_bzero(n->data, strlen(n->data));
	curl_slist_free_all(headers);
	/* forget this request's pointers, keep the connections */
	curl_easy_reset(c);
	handle_give_back(h, c);
	return r;
}
