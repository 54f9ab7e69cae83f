/*
 * s3.c - the s3:// transport: transport.h's contract over the S3 REST API
 * (GetObject, PutObject, HeadObject, ListObjectsV2, DeleteObject), for
 * AWS and every S3-compatible store.  Addressing, credentials, retries and
 * the meaning of each answer are s3.h's design notes.
 *
 * It sits on four helpers, each wrapping one library or concern: http.c
 * (libcurl), sigv4.c (request signing, OpenSSL's HMAC), xml.c (expat) and
 * creds.c (the environment and the AWS profile files).  Everything in an
 * open transport is read-only but the HTTP client's pool (locked in
 * http.c) and the jitter's random state (atomic), so any number of
 * threads may use one at once.
 */
#include "s3.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sigv4.h"
#include "xml.h"
#include "xalloc.h"
#include "banned.h"

#define S3_DEFAULT_REGION "us-east-1"
#define S3_MAX_KEYS 1000
#define S3_ATTEMPTS 5
#define S3_BASE_DELAY_MS 100
#define S3_MAX_DELAY_MS 5000
/* A listing page of 1000 keys is about 300 KiB; an error, a few. */
#define S3_MAX_LIST_BODY (32u << 20)

struct vs_transport {
	/* first, as every transport's: what vs_transport_* dispatch on */
	const struct vs_transport_ops *ops;
	struct vs_s3_target tg;
	struct vs_creds creds;	/* access_key_id NULL: unsigned (note 3) */
	char no_creds[sizeof(((struct vs_error *)0)->msg)];	/* why none */
	struct vs_http *http;
	unsigned max_keys, attempts, base_delay_ms, max_delay_ms;
	vs_s3_send_fn send;
	void *send_arg;
	void (*sleep_fn)(void *arg, unsigned ms);
	void *sleep_arg;
	_Atomic uint64_t rnd;
};

/* --- small helpers -------------------------------------------------------- */

static uint64_t next_rand(struct vs_transport *t)
{
	uint64_t z = atomic_fetch_add(&t->rnd, 0x9e3779b97f4a7c15ull) +
		     0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

unsigned vs_s3_backoff_ms(unsigned retry, unsigned base_ms, unsigned max_ms,
			  uint64_t rnd)
{
	uint64_t d = base_ms;
	unsigned i;

	for (i = 1; i < retry && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return (unsigned)(d / 2 + rnd % (d / 2 + 1));
}

static void sleep_ms(void *arg, unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	(void)arg;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* transport.h note 1: '/'-separated, no empty, "." or ".." part. */
static bool key_valid(const char *k)
{
	const char *p = k;

	if (!k || !*k)
		return false;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			break;
		p = slash + 1;
	}
	for (p = k; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/*
 * Replaces every credential in s by "[redacted]" (note 7): a server may
 * echo what it was sent, and the session token is sent.  With cut (s was
 * cut to fit a buffer), an end of s that begins a credential goes too.
 */
static void scrub(const struct vs_transport *t, char *s, bool cut)
{
	static const char mark[] = "[redacted]";
	const char *secrets[3];
	int i;

	secrets[0] = t->creds.secret_access_key;
	secrets[1] = t->creds.session_token;
	secrets[2] = t->creds.access_key_id;
	for (i = 0; i < 3; i++) {
		size_t n, len, k;
		char *hit;

		if (!secrets[i] || (n = strlen(secrets[i])) < 4)
			continue;
		while ((hit = strstr(s, secrets[i]))) {
			size_t tail = strlen(hit + n);

			if (n >= sizeof(mark) - 1) {
				memcpy(hit, mark, sizeof(mark) - 1);
				memmove(hit + sizeof(mark) - 1, hit + n,
					tail + 1);
			} else {
				memset(hit, '*', n);
			}
		}
		len = strlen(s);
		for (k = cut ? 4 : n; k < n && k <= len; k++)
			if (!memcmp(s + len - k, secrets[i], k))
				memset(s + len - k, '*', k);
	}
}

static void redact(const struct vs_transport *t, struct vs_error *err)
{
	if (err)
		scrub(t, err->msg, false);
}

/* The <Error> of an answer, every field scrubbed of credentials. */
static void parse_error(const struct vs_transport *t,
			const struct vs_http_response *resp,
			struct vs_xml_error *xe)
{
	vs_xml_parse_error(resp->body.data, resp->body.len, xe);
	scrub(t, xe->code, true);
	scrub(t, xe->message, true);
	scrub(t, xe->region, true);
	scrub(t, xe->endpoint, true);
}

/* --- where requests go ---------------------------------------------------- */

void vs_s3_target_release(struct vs_s3_target *t)
{
	free(t->bucket);
	free(t->prefix);
	free(t->region);
	free(t->scheme);
	free(t->host);
	free(t->path_base);
	free(t->endpoint);
	free(t->url);
	memset(t, 0, sizeof(*t));
}

/* A bucket name S3-compatible stores accept at all (in a path). */
static bool bucket_valid(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 1 || n > 255)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)b[i]) && !strchr("._-", b[i]))
			return false;
	return true;
}

/* Can the bucket be a DNS label of a host name (virtual-hosted style)? */
static bool bucket_dns_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) ||
	    !isalnum((unsigned char)b[n - 1]) || strstr(b, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (isupper((unsigned char)b[i]) || b[i] == '_')
			return false;
	return true;
}

/* An IPv4 or bracketed IPv6 address, or "localhost" (host without port). */
static bool host_is_literal(const char *h, size_t n)
{
	size_t i, dots = 0;

	if (n && h[0] == '[')
		return true;
	if (n == 9 && !strncasecmp(h, "localhost", 9))
		return true;
	for (i = 0; i < n; i++) {
		if (h[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)h[i]))
			return false;
	}
	return dots == 3;
}

/*
 * Splits an endpoint "http(s)://host[:port][/]" into t->scheme and
 * hostport (caller frees).  VS_E_INVAL otherwise.
 */
static int parse_endpoint(struct vs_s3_target *t, const char *ep,
			  char **hostport, struct vs_error *err)
{
	const char *rest, *end;
	size_t n, i;

	if (!strncasecmp(ep, "https://", 8)) {
		t->scheme = vs_xstrdup("https");
		rest = ep + 8;
	} else if (!strncasecmp(ep, "http://", 7)) {
		t->scheme = vs_xstrdup("http");
		rest = ep + 7;
	} else {
		goto bad;
	}
	end = strchr(rest, '/');
	n = end ? (size_t)(end - rest) : strlen(rest);
	if (!n || (end && end[1]))
		goto bad;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)rest[i]) &&
		    !strchr(".-_:[]", rest[i]))
			goto bad;
	*hostport = vs_xstrndup(rest, n);
	return 0;
bad:
	return vs_error_set(err, VS_E_INVAL,
			    "the endpoint '%s' is not http://HOST[:PORT] or "
			    "https://HOST[:PORT]", ep);
}

/* <hostport> without its port: the host's length. */
static size_t host_len(const char *hp)
{
	const char *colon;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		return close ? (size_t)(close - hp + 1) : strlen(hp);
	}
	colon = strrchr(hp, ':');
	return colon ? (size_t)(colon - hp) : strlen(hp);
}

static const char *env_get(vs_creds_getenv_fn fn, void *arg,
			   const char *name)
{
	const char *v = fn(arg, name);

	return v && *v ? v : NULL;
}

int vs_s3_target_resolve(struct vs_s3_target *t,
			 const struct vs_remote_config *cfg,
			 vs_creds_getenv_fn getenv_fn, void *arg,
			 struct vs_error *err)
{
	const char *url = cfg->url, *slash, *ep = cfg->endpoint;
	char *hostport = NULL;
	size_t plen;
	int r;

	memset(t, 0, sizeof(*t));
	if (!getenv_fn)
		vs_creds_thread_env(&getenv_fn, &arg);
	if (!url || strncmp(url, "s3://", 5))
		return vs_error_set(err, VS_E_INVAL,
				    "'%s' is not an s3:// URL (s3://BUCKET or "
				    "s3://BUCKET/PREFIX)", url ? url : "");
	url += 5;
	slash = strchr(url, '/');
	t->bucket = slash ? vs_xstrndup(url, (size_t)(slash - url))
			  : vs_xstrdup(url);
	if (!bucket_valid(t->bucket)) {
		r = vs_error_set(err, VS_E_INVAL,
				 "'%s' does not name a bucket: s3://BUCKET or "
				 "s3://BUCKET/PREFIX, the bucket made of "
				 "letters, digits, '.', '-' and '_'", cfg->url);
		goto fail;
	}
	/* the prefix, without the '/' that may end it */
	plen = slash ? strlen(slash + 1) : 0;
	while (plen && slash[plen] == '/')
		plen--;
	if (plen) {
		char *p = vs_xstrndup(slash + 1, plen);

		if (!key_valid(p)) {
			free(p);
			r = vs_error_set(err, VS_E_INVAL,
					 "'%s' has a bad prefix: no empty, '.' "
					 "or '..' parts", cfg->url);
			goto fail;
		}
		t->prefix = vs_xmalloc(plen + 2);
		memcpy(t->prefix, p, plen);
		t->prefix[plen] = '/';
		t->prefix[plen + 1] = '\0';
		free(p);
	} else {
		t->prefix = vs_xstrdup("");
	}
	t->url = plen ? vs_xmemdupz(cfg->url, 5 + strlen(t->bucket) + 1 + plen)
		      : vs_xstrdup(cfg->url);
	if (!plen && t->url[strlen(t->url) - 1] == '/')
		t->url[strlen(t->url) - 1] = '\0';

	/* region (note 2) */
	if (cfg->region && *cfg->region) {
		t->region = vs_xstrdup(cfg->region);
	} else {
		r = vs_creds_region(getenv_fn, arg, &t->region, err);
		if (r < 0)
			goto fail;
		if (!t->region)
			t->region = vs_xstrdup(S3_DEFAULT_REGION);
	}
	if (!*t->region || strpbrk(t->region, "/ \t\r\n")) {
		r = vs_error_set(err, VS_E_INVAL, "'%s' is not a region",
				 t->region);
		goto fail;
	}

	/* endpoint and addressing (note 1) */
	if (!ep || !*ep)
		ep = env_get(getenv_fn, arg, "AWS_ENDPOINT_URL_S3");
	if (!ep)
		ep = env_get(getenv_fn, arg, "AWS_ENDPOINT_URL");
	if (ep) {
		r = parse_endpoint(t, ep, &hostport, err);
		if (r < 0)
			goto fail;
	} else {
		struct vs_buf b = VS_BUF_INIT;

		t->scheme = vs_xstrdup("https");
		vs_buf_addf(&b, "s3.%s.amazonaws.com%s", t->region,
			    strncmp(t->region, "cn-", 3) ? "" : ".cn");
		hostport = vs_buf_detach(&b, NULL);
	}
	t->path_style = cfg->path_style || !bucket_dns_ok(t->bucket) ||
			(ep && host_is_literal(hostport, host_len(hostport))) ||
			(!strcmp(t->scheme, "https") && strchr(t->bucket, '.'));
	{
		struct vs_buf b = VS_BUF_INIT;

		vs_buf_addf(&b, "%s://%s", t->scheme, hostport);
		t->endpoint = vs_buf_detach(&b, NULL);
		if (t->path_style) {
			t->host = hostport;
			vs_buf_addf(&b, "/%s", t->bucket);
			t->path_base = vs_buf_detach(&b, NULL);
		} else {
			vs_buf_addf(&b, "%s.%s", t->bucket, hostport);
			t->host = vs_buf_detach(&b, NULL);
			t->path_base = vs_xstrdup("");
			free(hostport);
			/* messages name the host requests go to */
			free(t->endpoint);
			vs_buf_addf(&b, "%s://%s", t->scheme, t->host);
			t->endpoint = vs_buf_detach(&b, NULL);
		}
		hostport = NULL;
	}
	return 0;
fail:
	free(hostport);
	vs_s3_target_release(t);
	return r;
}

/* --- one request, signed and retried -------------------------------------- */

struct s3_req {
	const char *method;
	const char *key;	/* relative to the prefix; NULL: the bucket */
	const char *query;	/* encoded, or NULL */
	const char *range;	/* "bytes=0-9", or NULL */
	const char *if_match;
	const char *if_none_match;
	const void *body;
	size_t body_len;
	size_t max_body;
};

/* "s3://bucket/prefix/key" for messages. */
static void display(const struct vs_transport *t, const char *key,
		    struct vs_buf *out)
{
	vs_buf_addstr(out, t->tg.url);
	if (key)
		vs_buf_addf(out, "/%s", key);
}

/*
 * Sends rq once: signed headers, the URL.  0 with an answer in resp, or
 * VS_E_REMOTE (*transient says if a retry may help).
 */
static int send_once(struct vs_transport *t, const struct s3_req *rq,
		     const char *payload_hash, struct vs_http_response *resp,
		     bool *transient, struct vs_error *err)
{
	struct vs_sigv4_header sh[8];
	struct vs_buf path = VS_BUF_INIT, url = VS_BUF_INIT;
	struct vs_buf lines[9], authz = VS_BUF_INIT;
	const char *hl[9];
	char date[VS_SIGV4_DATE_LEN];
	size_t n = 0, i;
	int r = 0;

	/* the raw path (sigv4.h note 2) and the URL that encodes it */
	vs_buf_addstr(&path, t->tg.path_base);
	if (rq->key)
		vs_buf_addf(&path, "/%s%s", t->tg.prefix, rq->key);
	else if (!path.len)
		vs_buf_addch(&path, '/');	/* the bucket, virtual-hosted */
	vs_buf_addf(&url, "%s://%s", t->tg.scheme, t->tg.host);
	vs_sigv4_uri_encode(&url, path.data, path.len, true);
	if (rq->query && *rq->query)
		vs_buf_addf(&url, "?%s", rq->query);

	vs_sigv4_date(time(NULL), date);
	sh[n++] = (struct vs_sigv4_header){ "host", t->tg.host };
	sh[n++] = (struct vs_sigv4_header){ "x-amz-content-sha256",
					    payload_hash };
	sh[n++] = (struct vs_sigv4_header){ "x-amz-date", date };
	if (t->creds.session_token)
		sh[n++] = (struct vs_sigv4_header){ "x-amz-security-token",
						    t->creds.session_token };
	if (rq->range)
		sh[n++] = (struct vs_sigv4_header){ "range", rq->range };
	if (rq->if_match)
		sh[n++] = (struct vs_sigv4_header){ "if-match", rq->if_match };
	if (rq->if_none_match)
		sh[n++] = (struct vs_sigv4_header){ "if-none-match",
						    rq->if_none_match };
	if (t->creds.access_key_id) {
		struct vs_sigv4_key key = {
			.access_key_id = t->creds.access_key_id,
			.secret_access_key = t->creds.secret_access_key,
			.region = t->tg.region,
			.service = "s3",
		};
		struct vs_sigv4_request sreq = {
			.method = rq->method,
			.path = path.data,
			.query = rq->query,
			.headers = sh,
			.nheaders = n,
			.payload_hash = payload_hash,
		};

		r = vs_sigv4_sign(&key, date, &sreq, 0, &authz, NULL, NULL);
		if (r < 0) {
			r = vs_error_set(err, VS_E_INVAL,
					 "cannot sign a request for %s: the "
					 "access key, region or key name holds "
					 "characters a signature cannot",
					 t->tg.url);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		vs_buf_init(&lines[i], 0);
		vs_buf_addf(&lines[i], "%s: %s", sh[i].name, sh[i].value);
	}
	if (authz.len) {
		vs_buf_init(&lines[n], 0);
		vs_buf_addf(&lines[n], "Authorization: %s", authz.data);
		n++;
	}
	for (i = 0; i < n; i++)
		hl[i] = lines[i].data;
	{
		struct vs_http_request hreq = {
			.method = rq->method,
			.url = url.data,
			.headers = hl,
			.nheaders = n,
			.body = rq->body,
			.body_len = rq->body_len,
			.max_body = rq->max_body,
		};

		if (t->send)
			r = t->send(t->send_arg, &hreq, resp, transient, err);
		else
			r = vs_http_send(t->http, &hreq, resp, transient, err);
	}
	for (i = 0; i < n; i++) {
		if (lines[i].cap)	/* the token is among them */
			explicit_bzero(lines[i].data, lines[i].len);
		vs_buf_release(&lines[i]);
	}
out:
	vs_buf_release(&authz);
	vs_buf_release(&url);
	vs_buf_release(&path);
	return r;
}

/* Is this answer worth sending the request again (note 5)? */
static bool retryable(const struct vs_http_response *resp,
		      const struct vs_xml_error *xe)
{
	if (resp->status >= 500 || resp->status == 429)
		return true;
	return !strcmp(xe->code, "SlowDown") ||
	       !strcmp(xe->code, "RequestTimeout") ||
	       !strcmp(xe->code, "InternalError") ||
	       !strcmp(xe->code, "OperationAborted");
}

/*
 * Sends rq until an answer that is not worth retrying comes, at most
 * t->attempts times.  Returns 0 with that answer in resp (any status;
 * *retried tells whether an earlier attempt may have reached the server),
 * or VS_E_REMOTE after the last attempt or a failure no retry can help,
 * with a message naming the URL.
 */
static int s3_do(struct vs_transport *t, const struct s3_req *rq,
		 struct vs_http_response *resp, bool *retried,
		 struct vs_error *err)
{
	char payload_hash[VS_SIGV4_HEX_LEN];
	struct vs_buf what = VS_BUF_INIT;
	struct vs_error e;
	unsigned attempt;
	int r = 0;

	*retried = false;
	vs_sigv4_sha256_hex(rq->body ? rq->body : "", rq->body_len,
			    payload_hash);
	for (attempt = 1;; attempt++) {
		struct vs_xml_error xe;
		bool transient = false;

		vs_error_clear(&e);
		r = send_once(t, rq, payload_hash, resp, &transient, &e);
		if (r == 0) {
			if (resp->status < 300)
				break;
			parse_error(t, resp, &xe);
			if (!retryable(resp, &xe))
				break;
			vs_error_reset(&e, VS_E_REMOTE, "%s answered %ld%s%s%s%s",
				       t->tg.endpoint, resp->status,
				       xe.code[0] ? " " : "", xe.code,
				       xe.message[0] ? ": " : "", xe.message);
			transient = true;
		} else if (!transient) {
			break;
		}
		*retried = true;
		if (attempt >= t->attempts) {
			display(t, rq->key, &what);
			r = vs_error_set(err, VS_E_REMOTE,
					 "%s %s failed %u times: %s", rq->method,
					 what.data, attempt, e.msg);
			goto out;
		}
		t->sleep_fn(t->sleep_arg,
			    vs_s3_backoff_ms(attempt, t->base_delay_ms,
					     t->max_delay_ms, next_rand(t)));
	}
	if (r < 0)
		r = vs_error_set(err, r, "%s", e.msg);
out:
	vs_buf_release(&what);
	redact(t, err);
	return r;
}

/*
 * The error of a final answer that is not a success (note 6), for the
 * request rq: its code, and a message in err.
 */
static int s3_fail(struct vs_transport *t, const struct s3_req *rq,
		   const struct vs_http_response *resp, struct vs_error *err)
{
	struct vs_buf what = VS_BUF_INIT;
	struct vs_xml_error xe;
	const char *code;
	long st = resp->status;
	int r;

	parse_error(t, resp, &xe);
	code = xe.code;
	display(t, rq->key, &what);
	if (st == 404 && !strcmp(code, "NoSuchBucket")) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "the bucket '%s' does not exist at %s",
				 t->tg.bucket, t->tg.endpoint);
	} else if (st == 404 && (!*code || !strcmp(code, "NoSuchKey"))) {
		r = vs_error_set(err, VS_E_NOTFOUND, "%s: no such key",
				 what.data);
	} else if (st == 412 || !strcmp(code, "ConditionalRequestConflict")) {
		r = vs_error_set(err, VS_E_CONFLICT,
				 "%s changed: %s", what.data,
				 rq->if_none_match ? "it exists already"
				 : "its etag is not the one expected");
	} else if (st == 416 || !strcmp(code, "InvalidRange")) {
		r = vs_error_set(err, VS_E_INVAL,
				 "%s: the range %s is past its end", what.data,
				 rq->range ? rq->range + 6 : "");
	} else if (!strcmp(code, "InvalidAccessKeyId")) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "the access key is not known to %s (the key "
				 "of %s)", t->tg.endpoint, t->creds.source);
	} else if (!strcmp(code, "SignatureDoesNotMatch")) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "the secret key does not match the access key "
				 "at %s (check %s)", t->tg.endpoint,
				 t->creds.source);
	} else if (!strcmp(code, "RequestTimeTooSkewed")) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "this machine's clock is more than 15 minutes "
				 "off %s's: set it right (NTP)", t->tg.endpoint);
	} else if (!strcmp(code, "ExpiredToken") ||
		   !strcmp(code, "TokenRefreshRequired")) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "the session token has expired (the token of "
				 "%s): get new credentials", t->creds.source);
	} else if (!strcmp(code, "InvalidToken")) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "the session token is not valid at %s (the "
				 "token of %s)", t->tg.endpoint,
				 t->creds.source);
	} else if (st == 301 || st == 307 ||
		   !strcmp(code, "AuthorizationHeaderMalformed") ||
		   !strcmp(code, "PermanentRedirect") ||
		   !strcmp(code, "IllegalLocationConstraintException")) {
		const char *where = xe.region[0] ? xe.region
				    : resp->bucket_region[0] ? resp->bucket_region
							     : NULL;

		if (where && strcmp(where, t->tg.region))
			r = vs_error_set(err, VS_E_REMOTE,
					 "the bucket '%s' is in the region %s, "
					 "not %s: give the remote --region %s",
					 t->tg.bucket, where, t->tg.region,
					 where);
		else
			r = vs_error_set(err, VS_E_REMOTE,
					 "%s sends %s elsewhere (%ld %s%s%s): "
					 "check the remote's region and endpoint",
					 t->tg.endpoint, what.data, st, code,
					 xe.endpoint[0] ? " to " : "",
					 xe.endpoint);
	} else if (st == 403 || !strcmp(code, "AccessDenied")) {
		if (!t->creds.access_key_id)
			r = vs_error_set(err, VS_E_REMOTE,
					 "access denied to %s: %s", what.data,
					 t->no_creds);
		else
			r = vs_error_set(err, VS_E_REMOTE,
					 "access denied to %s (with the key of "
					 "%s)", what.data, t->creds.source);
	} else if (!strcmp(code, "InvalidBucketName")) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "%s refuses the bucket name '%s'",
				 t->tg.endpoint, t->tg.bucket);
	} else if (*code) {
		r = vs_error_set(err, VS_E_REMOTE, "%s answered %ld %s%s%s to "
				 "%s %s", t->tg.endpoint, st, code,
				 xe.message[0] ? ": " : "", xe.message,
				 rq->method, what.data);
	} else {
		r = vs_error_set(err, VS_E_REMOTE, "%s answered %ld to %s %s",
				 t->tg.endpoint, st, rq->method, what.data);
	}
	vs_buf_release(&what);
	redact(t, err);
	return r;
}

/* --- the operations ------------------------------------------------------- */

static int bad_key(const char *key, struct vs_error *err)
{
	return vs_error_set(err, VS_E_INVAL,
			    "'%s' is not a remote key (no empty, '.' or '..' "
			    "parts)", key ? key : "");
}

/* "bytes A-B/TOTAL" (TOTAL may be '*'): 0 or -1. */
static int parse_content_range(const char *s, uint64_t *a, uint64_t *b,
			       uint64_t *total, bool *has_total)
{
	unsigned long long x, y, z;
	int n = -1;

	if (sscanf(s, "bytes %llu-%llu/%llu%n", &x, &y, &z, &n) == 3 &&
	    n > 0 && !s[n] && x <= y) {
		*a = x;
		*b = y;
		*total = z;
		*has_total = true;
		return y < z ? 0 : -1;
	}
	n = -1;
	if (sscanf(s, "bytes %llu-%llu/*%n", &x, &y, &n) == 2 && n > 0 &&
	    !s[n] && x <= y) {
		*a = x;
		*b = y;
		*has_total = false;
		return 0;
	}
	return -1;
}

static void set_info(struct vs_obj_info *info, uint64_t size,
		     const char *etag)
{
	if (info) {
		info->size = size;
		snprintf(info->etag, sizeof(info->etag), "%s", etag);
	}
}

static int s3_get(struct vs_transport *t, const char *key, uint64_t off,
		  uint64_t len, struct vs_buf *out, struct vs_obj_info *info,
		  struct vs_error *err)
{
	struct vs_http_response resp;
	struct vs_buf what = VS_BUF_INIT;
	char range[64] = "bytes=";
	struct s3_req rq = { .method = "GET", .key = key };
	uint64_t size = 0, a = 0, b = 0, total = 0;
	bool retried, has_total = false;
	int r;

	if (!key_valid(key))
		return bad_key(key, err);
	if (len && off + len < off)
		return vs_error_set(err, VS_E_INVAL, "a range past 2^64");
	if (off || len) {
		if (len)
			snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64,
				 off, off + len - 1);
		else
			snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", off);
		rq.range = range;
	}
	vs_http_response_init(&resp);
	r = s3_do(t, &rq, &resp, &retried, err);
	if (r < 0)
		goto out;
	display(t, key, &what);
	if (resp.status == 416 && !len) {
		/* "bytes=SIZE-" of an object of SIZE bytes: nothing, fine */
		if (parse_content_range(resp.content_range, &a, &b, &total,
					&has_total) < 0 &&
		    sscanf(resp.content_range, "bytes */%" SCNu64, &size) == 1 &&
		    size == off) {
			set_info(info, size, resp.etag);
			goto out;
		}
	}
	if (resp.status != 200 && resp.status != 206) {
		r = s3_fail(t, &rq, &resp, err);
		goto out;
	}
	if (resp.status == 200) {
		/* the whole object (a server may ignore Range) */
		size = resp.body.len;
		if (off > size || (len && off + len > size)) {
			r = vs_error_set(err, VS_E_INVAL,
					 "%s: the range %s is past its end "
					 "(%" PRIu64 " bytes)", what.data,
					 range + 6, size);
			goto out;
		}
		if (!off && !len && !out->len) {
			struct vs_buf tmp = *out;

			*out = resp.body;
			resp.body = tmp;
		} else {
			vs_buf_add(out, resp.body.data + off,
				   len ? len : size - off);
		}
		set_info(info, size, resp.etag);
		goto out;
	}
	/* 206 */
	if (parse_content_range(resp.content_range, &a, &b, &total,
				&has_total) < 0 || a != off ||
	    b - a + 1 != resp.body.len) {
		r = vs_error_set(err, VS_E_REMOTE,
				 "%s answered a part of %s that is not the one "
				 "asked (%s for %s)", t->tg.endpoint, what.data,
				 resp.content_range, range + 6);
		goto out;
	}
	if (len && resp.body.len != len) {
		r = vs_error_set(err, VS_E_INVAL,
				 "%s: the range %s is past its end "
				 "(%" PRIu64 " bytes)", what.data, range + 6,
				 has_total ? total : b + 1);
		goto out;
	}
	vs_buf_add(out, resp.body.data, resp.body.len);
	set_info(info, has_total ? total : b + 1, resp.etag);
out:
	vs_buf_release(&what);
	vs_http_response_release(&resp);
	return r;
}

/*
 * After a conditional put that was retried met 412: is the object what we
 * wrote (our first attempt landed)?
 */
static bool put_landed(struct vs_transport *t, const char *key,
		       const void *data, size_t len, struct vs_obj_info *info)
{
	struct vs_buf cur = VS_BUF_INIT;
	struct vs_obj_info ci;
	bool same;

	same = s3_get(t, key, 0, 0, &cur, &ci, NULL) == 0 && cur.len == len &&
	       (!len || !memcmp(cur.data, data, len));
	if (same && info)
		*info = ci;
	vs_buf_release(&cur);
	return same;
}

static int s3_put(struct vs_transport *t, const char *key, const void *data,
		  size_t len, unsigned flags, const char *if_match,
		  struct vs_obj_info *info, struct vs_error *err)
{
	struct vs_http_response resp;
	struct s3_req rq = {
		.method = "PUT", .key = key, .body = data, .body_len = len,
		.max_body = S3_MAX_LIST_BODY,
	};
	bool retried;
	int r;

	if (!key_valid(key))
		return bad_key(key, err);
	if (if_match && (!*if_match || strpbrk(if_match, "\r\n")))
		return vs_error_set(err, VS_E_INVAL, "'%s' is not an etag",
				    if_match);
	if (flags & VS_PUT_IF_ABSENT)
		rq.if_none_match = "*";
	rq.if_match = if_match;
	vs_http_response_init(&resp);
	r = s3_do(t, &rq, &resp, &retried, err);
	if (r < 0)
		goto out;
	if (resp.status >= 300) {
		if (resp.status == 412 && retried &&
		    put_landed(t, key, data, len, info))
			goto out;
		r = s3_fail(t, &rq, &resp, err);
		if (r == VS_E_NOTFOUND) {
			/* S3 answers 404 to If-Match on a key that is not
			 * there: it is not at the etag expected */
			struct vs_buf what = VS_BUF_INIT;

			display(t, key, &what);
			r = if_match ? vs_error_reset(err, VS_E_CONFLICT,
						      "%s changed: it is not "
						      "there any more",
						      what.data)
				     : vs_error_reset(err, VS_E_REMOTE,
						      "%s answered 404 to PUT %s",
						      t->tg.endpoint, what.data);
			vs_buf_release(&what);
		}
		goto out;
	}
	set_info(info, len, resp.etag);
out:
	vs_http_response_release(&resp);
	return r;
}

static int s3_head(struct vs_transport *t, const char *key,
		   struct vs_obj_info *info, struct vs_error *err)
{
	struct vs_http_response resp;
	struct s3_req rq = { .method = "HEAD", .key = key };
	bool retried;
	int r;

	if (!key_valid(key))
		return bad_key(key, err);
	vs_http_response_init(&resp);
	r = s3_do(t, &rq, &resp, &retried, err);
	if (r < 0)
		goto out;
	if (resp.status >= 300) {
		r = s3_fail(t, &rq, &resp, err);
		goto out;
	}
	if (!resp.has_length) {
		struct vs_buf what = VS_BUF_INIT;

		display(t, key, &what);
		r = vs_error_set(err, VS_E_REMOTE,
				 "%s answered no Content-Length for %s",
				 t->tg.endpoint, what.data);
		vs_buf_release(&what);
		goto out;
	}
	set_info(info, resp.length, resp.etag);
out:
	vs_http_response_release(&resp);
	return r;
}

/* The query of one listing page: encoded, in any order (sigv4 sorts). */
static void list_query(const struct vs_transport *t, const char *prefix,
		       const char *token, unsigned max_keys, struct vs_buf *q)
{
	struct vs_buf full = VS_BUF_INIT;

	vs_buf_addf(&full, "%s%s", t->tg.prefix, prefix ? prefix : "");
	vs_buf_addstr(q, "list-type=2");
	if (token) {
		vs_buf_addstr(q, "&continuation-token=");
		vs_sigv4_uri_encode(q, token, strlen(token), false);
	}
	vs_buf_addf(q, "&max-keys=%u", max_keys);
	vs_buf_addstr(q, "&prefix=");
	vs_sigv4_uri_encode(q, full.data, full.len, false);
	vs_buf_release(&full);
}

static int s3_list(struct vs_transport *t, const char *prefix,
		   int (*fn)(void *arg, const char *key, uint64_t size),
		   void *arg, struct vs_error *err)
{
	struct vs_http_response resp;
	struct vs_buf query = VS_BUF_INIT, last = VS_BUF_INIT;
	char *token = NULL;
	size_t plen = strlen(t->tg.prefix);
	bool retried, first = true;
	int r = 0;

	if (prefix && (prefix[0] == '/' || strstr(prefix, "//")))
		return vs_error_set(err, VS_E_INVAL,
				    "'%s' is not a prefix of remote keys",
				    prefix);
	vs_http_response_init(&resp);
	for (;;) {
		struct s3_req rq = {
			.method = "GET", .query = NULL,
			.max_body = S3_MAX_LIST_BODY,
		};
		struct vs_xml_list page;
		size_t i;

		vs_buf_reset(&query);
		list_query(t, prefix, token, t->max_keys, &query);
		rq.query = query.data;
		r = s3_do(t, &rq, &resp, &retried, err);
		if (r < 0)
			break;
		if (resp.status >= 300) {
			r = s3_fail(t, &rq, &resp, err);
			break;
		}
		vs_xml_list_init(&page);
		r = vs_xml_parse_list(resp.body.data, resp.body.len, &page, err);
		if (r < 0)
			break;
		for (i = 0; i < page.n && !r; i++) {
			const char *k = page.entries[i].key;

			if (strncmp(k, t->tg.prefix, plen) ||
			    strncmp(k + plen, prefix ? prefix : "",
				    prefix ? strlen(prefix) : 0) ||
			    !k[plen]) {
				r = vs_error_set(err, VS_E_REMOTE,
						 "%s listed '%s', which is not "
						 "under %s/%s", t->tg.endpoint,
						 k, t->tg.url,
						 prefix ? prefix : "");
				break;
			}
			if (!first && strcmp(last.data, k) >= 0) {
				r = vs_error_set(err, VS_E_REMOTE,
						 "%s listed '%s' after '%s': not "
						 "in byte order", t->tg.endpoint,
						 k, last.data);
				break;
			}
			first = false;
			vs_buf_reset(&last);
			vs_buf_addstr(&last, k);
			r = fn(arg, k + plen, page.entries[i].size);
		}
		if (!r && page.truncated && token &&
		    !strcmp(token, page.next_token))
			r = vs_error_set(err, VS_E_REMOTE,
					 "%s answered the same continuation "
					 "token twice", t->tg.endpoint);
		free(token);
		token = NULL;
		if (!r && page.truncated) {
			token = page.next_token;
			page.next_token = NULL;
		}
		vs_xml_list_release(&page);
		if (r || !token)
			break;
	}
	free(token);
	vs_buf_release(&last);
	vs_buf_release(&query);
	vs_http_response_release(&resp);
	return r;
}

static int s3_del(struct vs_transport *t, const char *key,
		  struct vs_error *err)
{
	struct vs_http_response resp;
	struct s3_req rq = {
		.method = "DELETE", .key = key, .max_body = S3_MAX_LIST_BODY,
	};
	bool retried;
	int r;

	if (!key_valid(key))
		return bad_key(key, err);
	vs_http_response_init(&resp);
	r = s3_do(t, &rq, &resp, &retried, err);
	if (r == 0 && resp.status >= 300) {
		r = s3_fail(t, &rq, &resp, err);
		if (r == VS_E_NOTFOUND) {
			vs_error_clear(err);
			r = 0;		/* absent is fine */
		}
	}
	vs_http_response_release(&resp);
	return r;
}

/* --- open and free -------------------------------------------------------- */

static void s3_free(struct vs_transport *t)
{
	if (!t)
		return;
	vs_http_free(t->http);
	vs_creds_release(&t->creds);
	vs_s3_target_release(&t->tg);
	free(t);
}

/* Note 4: one listing request. */
static int probe(struct vs_transport *t, struct vs_error *err)
{
	struct vs_http_response resp;
	struct vs_buf query = VS_BUF_INIT;
	struct s3_req rq = {
		.method = "GET", .max_body = S3_MAX_LIST_BODY,
	};
	bool retried;
	int r;

	list_query(t, NULL, NULL, 1, &query);
	rq.query = query.data;
	vs_http_response_init(&resp);
	r = s3_do(t, &rq, &resp, &retried, err);
	if (r == 0 && resp.status >= 300) {
		struct vs_xml_error xe;

		parse_error(t, &resp, &xe);
		if (t->creds.access_key_id && resp.status == 403 &&
		    (!xe.code[0] || !strcmp(xe.code, "AccessDenied")))
			r = 0;	/* allowed to read, perhaps, not to list */
		else
			r = s3_fail(t, &rq, &resp, err);
		if (r == VS_E_NOTFOUND)	/* a 404 without NoSuchBucket */
			r = vs_error_reset(err, VS_E_REMOTE,
					   "the bucket '%s' does not exist at %s",
					   t->tg.bucket, t->tg.endpoint);
	}
	vs_http_response_release(&resp);
	vs_buf_release(&query);
	return r;
}

int vs_s3_open(const struct vs_remote_config *cfg,
	       const struct vs_s3_options *opts, struct vs_transport **out,
	       struct vs_error *err)
{
	static const struct vs_s3_options defaults;
	vs_creds_getenv_fn getenv_fn;
	struct vs_transport *t;
	struct vs_error ce;
	struct vs_http_opts ho = { 0 };
	void *arg;
	int r;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	getenv_fn = opts->getenv_fn;
	arg = opts->getenv_arg;
	if (!getenv_fn)
		vs_creds_thread_env(&getenv_fn, &arg);
	t = vs_xcalloc(1, sizeof(*t));
	t->ops = &vs_transport_s3;
	vs_creds_init(&t->creds);
	r = vs_s3_target_resolve(&t->tg, cfg, getenv_fn, arg, err);
	if (r < 0)
		goto fail;
	vs_error_clear(&ce);
	r = vs_creds_load(&t->creds, getenv_fn, arg, &ce);
	if (r == VS_E_NOTFOUND) {
		snprintf(t->no_creds, sizeof(t->no_creds), "%s", ce.msg);
	} else if (r < 0) {
		r = vs_error_set(err, r, "%s: %s", cfg->url, ce.msg);
		goto fail;
	}
	t->max_keys = opts->max_keys ? opts->max_keys : S3_MAX_KEYS;
	t->attempts = opts->attempts ? opts->attempts : S3_ATTEMPTS;
	t->base_delay_ms = opts->base_delay_ms ? opts->base_delay_ms
					       : S3_BASE_DELAY_MS;
	t->max_delay_ms = opts->max_delay_ms ? opts->max_delay_ms
					     : S3_MAX_DELAY_MS;
	t->send = opts->send;
	t->send_arg = opts->send_arg;
	t->sleep_fn = opts->sleep_fn ? opts->sleep_fn : sleep_ms;
	t->sleep_arg = opts->sleep_arg;
	atomic_init(&t->rnd, (uint64_t)time(NULL) ^
			     ((uint64_t)getpid() << 32) ^ (uintptr_t)t);
	if (!t->send) {
		ho.connect_timeout_ms = opts->connect_timeout_ms;
		r = vs_http_new(&ho, &t->http, err);
		if (r < 0)
			goto fail;
	}
	if (!opts->no_probe) {
		r = probe(t, err);
		if (r < 0)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	if (err)
		redact(t, err);
	s3_free(t);
	return r;
}

static int s3_open(const struct vs_remote_config *cfg,
		   struct vs_transport **out, struct vs_error *err)
{
	return vs_s3_open(cfg, NULL, out, err);
}

const struct vs_transport_ops vs_transport_s3 = {
	.scheme = "s3",
	.open = s3_open,
	.free = s3_free,
	.get = s3_get,
	.put = s3_put,
	.head = s3_head,
	.list = s3_list,
	.del = s3_del,
};
