/*
 * sigv4.c - AWS Signature Version 4 (the rules are sigv4.h's design
 * notes).  s3.c signs every request through vs_sigv4_sign().
 *
 * The HMAC is OpenSSL's, through the EVP_MAC interface of OpenSSL 3 (the
 * HMAC() and HMAC_CTX calls are deprecated since 3.0); SHA-256 goes
 * through hash.h like every other hash of the store.  This file and hash.c
 * are the store's only OpenSSL users.
 */
#include "sigv4.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "error.h"
#include "hash.h"
#include "xalloc.h"
#include "banned.h"

/* --- HMAC-SHA256 ---------------------------------------------------------- */

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/*
 * out = HMAC-SHA256(key, data).  Aborts if OpenSSL cannot compute it: the
 * library is broken, and a request signed with garbage helps nobody.
 */
static void hmac_sha256(const void *key, size_t key_len, const void *data,
			size_t len, uint8_t out[32])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t out_len = 0;

	pthread_once(&hmac_once, hmac_fetch);
	if (!hmac_alg)
		abort();
	ctx = EVP_MAC_CTX_new(hmac_alg);
	if (!ctx)
		abort();
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, key_len, params) != 1 ||
	    EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, out, &out_len, 32) != 1 || out_len != 32)
		abort();
	EVP_MAC_CTX_free(ctx);
}

static void to_hex(const uint8_t *b, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * n] = '\0';
}

/* --- small pieces --------------------------------------------------------- */

char *vs_sigv4_date(time_t t, char out[VS_SIGV4_DATE_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, VS_SIGV4_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm) !=
	    VS_SIGV4_DATE_LEN - 1)
		out[0] = '\0';
	return out;
}

char *vs_sigv4_sha256_hex(const void *data, size_t len,
			  char hex[VS_SIGV4_HEX_LEN])
{
	struct vs_id id;

	vs_hash(data, len, &id);
	return vs_id_to_hex(&id, hex);
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

void vs_sigv4_uri_encode(struct vs_buf *out, const char *s, size_t len,
			 bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			vs_buf_addch(out, c);
		} else {
			vs_buf_addch(out, '%');
			vs_buf_addch(out, digits[c >> 4]);
			vs_buf_addch(out, digits[c & 15]);
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends <s, len> percent-decoded; a '%' not followed by two hex digits
 * stands for itself. */
static void uri_decode(struct vs_buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			vs_buf_addch(out, hi << 4 | lo);
			i += 2;
		} else {
			vs_buf_addch(out, s[i]);
		}
	}
}

/* --- the canonical URI ---------------------------------------------------- */

/*
 * Removes dot segments and folds runs of '/' (note 2, VS_SIGV4_NORMALIZE):
 * "/a/./b/../c//" -> "/a/c/".  A path that ended in '/' keeps one.
 */
static void normalize_path(struct vs_buf *out, const char *path)
{
	size_t n = strlen(path), start = out->len, i = 0;
	bool trailing = n > 1 && path[n - 1] == '/';

	while (i < n) {
		size_t j, seg;

		while (i < n && path[i] == '/')
			i++;
		for (j = i; j < n && path[j] != '/'; j++)
			;
		seg = j - i;
		if (seg == 1 && path[i] == '.') {
			/* drop */
		} else if (seg == 2 && path[i] == '.' && path[i + 1] == '.') {
			while (out->len > start && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;	/* the '/' before it */
			vs_buf_setlen(out, out->len);
		} else if (seg) {
			vs_buf_addch(out, '/');
			vs_buf_add(out, path + i, seg);
		}
		i = j;
	}
	if (out->len == start || trailing)
		vs_buf_addch(out, '/');
}

static void canonical_uri(struct vs_buf *out, const char *path,
			  unsigned flags)
{
	struct vs_buf norm = VS_BUF_INIT, once = VS_BUF_INIT;

	if (!(flags & VS_SIGV4_NORMALIZE)) {
		vs_sigv4_uri_encode(out, path, strlen(path), true);
		return;
	}
	normalize_path(&norm, path);
	vs_sigv4_uri_encode(&once, norm.data, norm.len, true);
	vs_sigv4_uri_encode(out, once.data, once.len, true);
	vs_buf_release(&once);
	vs_buf_release(&norm);
}

/* --- the canonical query -------------------------------------------------- */

struct qparam {
	char *name;	/* encoded */
	char *value;	/* encoded */
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Decodes then encodes <s, len> into a new string (note 3). */
static char *requote(const char *s, size_t len)
{
	struct vs_buf raw = VS_BUF_INIT, enc = VS_BUF_INIT;
	char *r;

	uri_decode(&raw, s, len);
	vs_sigv4_uri_encode(&enc, raw.data, raw.len, false);
	vs_buf_release(&raw);
	r = vs_buf_detach(&enc, NULL);
	return r;
}

static void canonical_query(struct vs_buf *out, const char *query)
{
	struct qparam *p = NULL;
	size_t n = 0, cap = 0, i;
	const char *s = query;

	while (s && *s) {
		const char *end = strchr(s, '&'), *eq;
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (len) {
			eq = memchr(s, '=', len);
			if (n == cap) {
				cap = cap ? 2 * cap : 8;
				p = vs_xreallocarray(p, cap, sizeof(*p));
			}
			p[n].name = requote(s, eq ? (size_t)(eq - s) : len);
			p[n].value = eq ? requote(eq + 1, len - (size_t)(eq - s) - 1)
					: vs_xstrdup("");
			n++;
		}
		s = end ? end + 1 : NULL;
	}
	if (n)
		qsort(p, n, sizeof(*p), qparam_cmp);
	for (i = 0; i < n; i++) {
		if (i)
			vs_buf_addch(out, '&');
		vs_buf_addf(out, "%s=%s", p[i].name, p[i].value);
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

/* --- the canonical headers ------------------------------------------------ */

struct hdr {
	char *name;	/* lowercase */
	const char *value;
	size_t index;	/* position given: duplicates keep their order */
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Appends value trimmed, inner runs of spaces folded to one (note 1). */
static void add_trimmed(struct vs_buf *out, const char *v)
{
	bool space = false;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if (space)
			vs_buf_addch(out, ' ');
		space = false;
		vs_buf_addch(out, *v);
	}
}

/*
 * Appends the canonical headers block (each "name:value\n") to out and the
 * signed header names ("a;b;c") to names.
 */
static int canonical_headers(const struct vs_sigv4_request *req,
			     struct vs_buf *out, struct vs_buf *names)
{
	struct hdr *h;
	size_t i, j;

	if (!req->nheaders)
		return VS_E_INVAL;
	h = vs_xcalloc(req->nheaders, sizeof(*h));
	for (i = 0; i < req->nheaders; i++) {
		const char *name = req->headers[i].name;
		const char *value = req->headers[i].value;

		if (!name || !*name || strpbrk(name, "\r\n: ") || !value ||
		    strpbrk(value, "\r\n")) {
			while (i--)
				free(h[i].name);
			free(h);
			return VS_E_INVAL;
		}
		h[i].name = vs_xstrdup(name);
		for (j = 0; h[i].name[j]; j++)
			h[i].name[j] = (char)tolower((unsigned char)h[i].name[j]);
		h[i].value = value;
		h[i].index = i;
	}
	qsort(h, req->nheaders, sizeof(*h), hdr_cmp);
	for (i = 0; i < req->nheaders; i++) {
		bool first = !i || strcmp(h[i - 1].name, h[i].name);

		if (first) {
			if (i)
				vs_buf_addch(out, '\n');
			vs_buf_addf(out, "%s:", h[i].name);
			if (i)
				vs_buf_addch(names, ';');
			vs_buf_addstr(names, h[i].name);
		} else {
			vs_buf_addch(out, ',');
		}
		add_trimmed(out, h[i].value);
	}
	vs_buf_addch(out, '\n');
	for (i = 0; i < req->nheaders; i++)
		free(h[i].name);
	free(h);
	return 0;
}

/* --- the request ---------------------------------------------------------- */

/* The canonical request into out, the signed names ("a;b") into names. */
static int build_creq(const struct vs_sigv4_request *req, unsigned flags,
		      struct vs_buf *out, struct vs_buf *names)
{
	struct vs_buf hdrs = VS_BUF_INIT;
	int r;

	if (!req->method || !*req->method || !req->path ||
	    req->path[0] != '/' || !req->payload_hash || !*req->payload_hash)
		return VS_E_INVAL;
	r = canonical_headers(req, &hdrs, names);
	if (r < 0)
		goto out;
	vs_buf_addf(out, "%s\n", req->method);
	canonical_uri(out, req->path, flags);
	vs_buf_addch(out, '\n');
	canonical_query(out, req->query);
	vs_buf_addch(out, '\n');
	vs_buf_add(out, hdrs.data, hdrs.len);
	vs_buf_addch(out, '\n');
	vs_buf_add(out, names->data, names->len);
	vs_buf_addch(out, '\n');
	vs_buf_addstr(out, req->payload_hash);
out:
	vs_buf_release(&hdrs);
	return r;
}

int vs_sigv4_canonical_request(const struct vs_sigv4_request *req,
			       unsigned flags, struct vs_buf *out)
{
	struct vs_buf names = VS_BUF_INIT;
	int r = build_creq(req, flags, out, &names);

	vs_buf_release(&names);
	return r;
}

static bool valid_date(const char *d)
{
	size_t i;

	if (!d || strlen(d) != VS_SIGV4_DATE_LEN - 1 || d[8] != 'T' ||
	    d[15] != 'Z')
		return false;
	for (i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)d[i]))
			return false;
	return true;
}

static bool valid_scope_part(const char *s)
{
	return s && *s && !strchr(s, '/') && !strpbrk(s, "\r\n");
}

static int check_scope(const struct vs_sigv4_key *key, const char *amz_date)
{
	if (!valid_date(amz_date) || !valid_scope_part(key->region) ||
	    !valid_scope_part(key->service))
		return VS_E_INVAL;
	return 0;
}

/* "20150830/us-east-1/service/aws4_request" */
static void add_scope(struct vs_buf *out, const struct vs_sigv4_key *key,
		      const char *amz_date)
{
	vs_buf_add(out, amz_date, 8);
	vs_buf_addf(out, "/%s/%s/aws4_request", key->region, key->service);
}

int vs_sigv4_string_to_sign(const struct vs_sigv4_key *key,
			    const char *amz_date, const char *creq,
			    size_t creq_len, struct vs_buf *out)
{
	char hex[VS_SIGV4_HEX_LEN];
	int r = check_scope(key, amz_date);

	if (r < 0)
		return r;
	vs_buf_addf(out, VS_SIGV4_ALGORITHM "\n%s\n", amz_date);
	add_scope(out, key, amz_date);
	vs_buf_addf(out, "\n%s", vs_sigv4_sha256_hex(creq, creq_len, hex));
	return 0;
}

int vs_sigv4_signature(const struct vs_sigv4_key *key, const char *amz_date,
		       const char *sts, size_t sts_len,
		       char hex[VS_SIGV4_HEX_LEN])
{
	uint8_t k[32], sig[32];
	char *secret;
	size_t slen;
	int r = check_scope(key, amz_date);

	if (r < 0)
		return r;
	if (!key->secret_access_key || !*key->secret_access_key)
		return VS_E_INVAL;
	/* "AWS4" + secret, wiped below with every derived key */
	slen = strlen(key->secret_access_key);
	secret = vs_xmalloc(slen + 5);
	memcpy(secret, "AWS4", 4);
	memcpy(secret + 4, key->secret_access_key, slen + 1);
	hmac_sha256(secret, slen + 4, amz_date, 8, k);
	OPENSSL_cleanse(secret, slen + 5);
	free(secret);
	hmac_sha256(k, sizeof(k), key->region, strlen(key->region), k);
	hmac_sha256(k, sizeof(k), key->service, strlen(key->service), k);
	hmac_sha256(k, sizeof(k), "aws4_request", 12, k);
	hmac_sha256(k, sizeof(k), sts, sts_len, sig);
	OPENSSL_cleanse(k, sizeof(k));
	to_hex(sig, sizeof(sig), hex);
	return 0;
}

int vs_sigv4_sign(const struct vs_sigv4_key *key, const char *amz_date,
		  const struct vs_sigv4_request *req, unsigned flags,
		  struct vs_buf *authz, struct vs_buf *creq, struct vs_buf *sts)
{
	struct vs_buf c = VS_BUF_INIT, s = VS_BUF_INIT, names = VS_BUF_INIT;
	char sig[VS_SIGV4_HEX_LEN];
	int r;

	if (!key->access_key_id || !*key->access_key_id ||
	    strpbrk(key->access_key_id, "/, \r\n"))
		return VS_E_INVAL;
	r = build_creq(req, flags, &c, &names);
	if (r < 0)
		goto out;
	r = vs_sigv4_string_to_sign(key, amz_date, c.data, c.len, &s);
	if (r < 0)
		goto out;
	r = vs_sigv4_signature(key, amz_date, s.data, s.len, sig);
	if (r < 0)
		goto out;
	vs_buf_addf(authz, VS_SIGV4_ALGORITHM " Credential=%s/",
		    key->access_key_id);
	add_scope(authz, key, amz_date);
	vs_buf_addf(authz, ", SignedHeaders=%s, Signature=%s", names.data, sig);
	if (creq)
		vs_buf_add(creq, c.data, c.len);
	if (sts)
		vs_buf_add(sts, s.data, s.len);
out:
	vs_buf_release(&names);
	vs_buf_release(&s);
	vs_buf_release(&c);
	return r;
}
