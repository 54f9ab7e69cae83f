/*
 * sigv4.h - AWS Signature Version 4: the canonical request, the string to
 * sign and the Authorization header of one HTTP request, as S3 and the
 * S3-compatible stores check them.  Pure computation: no I/O, no clock,
 * no global state but OpenSSL's HMAC implementation, fetched once.
 *
 * DESIGN NOTES
 *  1. The signer signs exactly the headers it is given: the caller
 *     chooses (s3.c signs host, x-amz-*, range and the conditional
 *     headers).  Names are compared without case; values lose their
 *     leading and trailing spaces and every run of inner spaces becomes
 *     one; a name given more than once is signed as "v1,v2,..." in the
 *     order given.  A session token is one of those headers
 *     (x-amz-security-token), signed when the caller passes it.
 *  2. The path is given raw, not percent-encoded.  Each segment is encoded
 *     with vs_sigv4_uri_encode(), which is also how the caller must write
 *     it in the URL, so the two cannot disagree.  S3 encodes once and
 *     keeps the path as it is (a key may hold "//" or "."); with
 *     VS_SIGV4_NORMALIZE (every other AWS service) dot segments are
 *     removed, runs of '/' folded and each segment encoded twice.
 *  3. The query is given as it is written in the URL, without the '?':
 *     each name and value is percent-decoded and encoded again, and the
 *     pairs are sorted by name, then value, in byte order.  A name without
 *     '=' has the value "".
 *  4. The payload hash is the hex SHA-256 of the body, or
 *     "UNSIGNED-PAYLOAD"; S3 wants the same string in the
 *     x-amz-content-sha256 header.
 *  5. The secret key, and every key derived from it, lives only in
 *     vs_sigv4_signature()'s stack frame, wiped before it returns.
 *
 * The test vectors (tests/data/aws-sigv4/, tests/unit/test_remote_sigv4.c)
 * are AWS's own: the generic suite and the S3 examples.
 */
#ifndef VS_REMOTE_SIGV4_H
#define VS_REMOTE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"

#define VS_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define VS_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* "20150830T123600Z" and its NUL. */
#define VS_SIGV4_DATE_LEN 17
/* 64 hex digits and a NUL. */
#define VS_SIGV4_HEX_LEN 65

struct vs_sigv4_header {
	const char *name;
	const char *value;
};

struct vs_sigv4_request {
	const char *method;	/* "GET" */
	const char *path;	/* raw, starts with '/' (note 2) */
	const char *query;	/* as in the URL (note 3); NULL: none */
	const struct vs_sigv4_header *headers;	/* the signed ones (note 1) */
	size_t nheaders;
	const char *payload_hash;	/* note 4 */
};

/* Who signs, and for what.  Borrowed strings. */
struct vs_sigv4_key {
	const char *access_key_id;
	const char *secret_access_key;
	const char *region;	/* "us-east-1" */
	const char *service;	/* "s3" */
};

enum vs_sigv4_flags {
	VS_SIGV4_NORMALIZE = 1 << 0,	/* note 2: services other than S3 */
};

/* The x-amz-date of time t (UTC): "YYYYMMDDTHHMMSSZ". Returns out. */
char *vs_sigv4_date(time_t t, char out[VS_SIGV4_DATE_LEN]);

/* The lowercase hex SHA-256 of <data, len> (note 4). Returns hex. */
char *vs_sigv4_sha256_hex(const void *data, size_t len,
			  char hex[VS_SIGV4_HEX_LEN]);

/*
 * Appends <s, len> to out with every byte but the unreserved ones
 * (A-Z a-z 0-9 - . _ ~), and '/' when keep_slash, written as %XX
 * (uppercase hex).
 */
void vs_sigv4_uri_encode(struct vs_buf *out, const char *s, size_t len,
			 bool keep_slash);

/*
 * Appends the canonical request of req to out (its last line is the
 * payload hash, with no newline after it).  Returns 0, or VS_E_INVAL for
 * a path that does not start with '/', a header with an empty name or a
 * newline in a name or value, or a missing method or payload hash.
 */
int vs_sigv4_canonical_request(const struct vs_sigv4_request *req,
			       unsigned flags, struct vs_buf *out);

/*
 * Appends the string to sign of a canonical request to out:
 * "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of creq>".
 * Returns 0, or VS_E_INVAL for an amz_date not of the form above or a
 * region or service that is empty or holds a '/'.
 */
int vs_sigv4_string_to_sign(const struct vs_sigv4_key *key,
			    const char *amz_date, const char *creq,
			    size_t creq_len, struct vs_buf *out);

/*
 * The signature of a string to sign: HMAC-SHA256 under the key derived
 * from key->secret_access_key, the date part of amz_date, the region and
 * the service, as 64 hex digits in hex.  Returns 0 or VS_E_INVAL (as
 * vs_sigv4_string_to_sign, or no secret).
 */
int vs_sigv4_signature(const struct vs_sigv4_key *key, const char *amz_date,
		       const char *sts, size_t sts_len,
		       char hex[VS_SIGV4_HEX_LEN]);

/*
 * Signs req: appends the value of its Authorization header to authz
 * ("AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<names>,
 * Signature=<hex>").  creq and sts (each may be NULL) receive the
 * canonical request and the string to sign, for tests and diagnostics
 * (neither holds a secret).  Returns 0 or VS_E_INVAL (as the functions
 * above, or no access key id).
 */
int vs_sigv4_sign(const struct vs_sigv4_key *key, const char *amz_date,
		  const struct vs_sigv4_request *req, unsigned flags,
		  struct vs_buf *authz, struct vs_buf *creq, struct vs_buf *sts);

#endif
