/*
 * hash.c - object ids: SHA-256 through OpenSSL 3's EVP interface, and the
 * hex form of ids.
 *
 * The only file in varve that includes OpenSSL.  The SHA-256 implementation
 * is fetched from the default provider once per process (an explicit fetch
 * avoids the per-call implicit fetch that EVP_sha256() costs in OpenSSL 3);
 * EVP then uses SHA-NI where the CPU has it.
 *
 * vs_hash() is called once per chunk and once per object, often on small
 * inputs, so it reuses one EVP_MD_CTX per thread (kept in thread-specific
 * data, freed when the thread exits) instead of allocating a context per
 * call.  Nothing is shared between threads except the immutable EVP_MD.
 *
 * EVP failures here can only come from a broken OpenSSL installation or
 * memory exhaustion; like allocation failure in buf.c they abort.
 */
#include "hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "error.h"
#include "banned.h"

struct vs_hasher {
	EVP_MD_CTX *ctx;
};

static pthread_once_t vs_hash_once = PTHREAD_ONCE_INIT;
static EVP_MD *vs_sha256;
static pthread_key_t vs_hash_ctx_key;

static void vs_hash_ctx_destroy(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void vs_hash_setup(void)
{
	vs_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!vs_sha256)
		abort();
	if (pthread_key_create(&vs_hash_ctx_key, vs_hash_ctx_destroy))
		abort();
}

static const EVP_MD *vs_hash_md(void)
{
	if (pthread_once(&vs_hash_once, vs_hash_setup))
		abort();
	return vs_sha256;
}

/* The calling thread's context, created on first use. */
static EVP_MD_CTX *vs_hash_thread_ctx(void)
{
	EVP_MD_CTX *ctx;

	vs_hash_md();
	ctx = pthread_getspecific(vs_hash_ctx_key);
	if (ctx)
		return ctx;
	ctx = EVP_MD_CTX_new();
	if (!ctx || pthread_setspecific(vs_hash_ctx_key, ctx))
		abort();
	return ctx;
}

void vs_hash(const void *data, size_t len, struct vs_id *out)
{
	EVP_MD_CTX *ctx = vs_hash_thread_ctx();
	unsigned int n = 0;

	if (!EVP_DigestInit_ex2(ctx, vs_sha256, NULL) ||
	    !EVP_DigestUpdate(ctx, data, len) ||
	    !EVP_DigestFinal_ex(ctx, out->b, &n) || n != VS_ID_LEN)
		abort();
}

struct vs_hasher *vs_hasher_new(void)
{
	const EVP_MD *md = vs_hash_md();
	struct vs_hasher *h = malloc(sizeof(*h));

	if (!h)
		abort();
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex2(h->ctx, md, NULL))
		abort();
	return h;
}

void vs_hasher_free(struct vs_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void vs_hasher_update(struct vs_hasher *h, const void *data, size_t len)
{
	if (!EVP_DigestUpdate(h->ctx, data, len))
		abort();
}

void vs_hasher_final(struct vs_hasher *h, struct vs_id *out)
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(h->ctx, out->b, &n) || n != VS_ID_LEN ||
	    !EVP_DigestInit_ex2(h->ctx, vs_sha256, NULL))
		abort();
}

/* --- ids ------------------------------------------------------------ */

bool vs_id_equal(const struct vs_id *a, const struct vs_id *b)
{
	return !memcmp(a->b, b->b, VS_ID_LEN);
}

int vs_id_cmp(const struct vs_id *a, const struct vs_id *b)
{
	return memcmp(a->b, b->b, VS_ID_LEN);
}

bool vs_id_is_zero(const struct vs_id *id)
{
	static const struct vs_id zero;

	return vs_id_equal(id, &zero);
}

char *vs_id_to_hex(const struct vs_id *id, char hex[VS_ID_HEXLEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < VS_ID_LEN; i++) {
		hex[2 * i] = digits[id->b[i] >> 4];
		hex[2 * i + 1] = digits[id->b[i] & 0xf];
	}
	hex[VS_ID_HEXLEN] = '\0';
	return hex;
}

/* Value of one hex digit, or -1. */
static int vs_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vs_id_from_hex(struct vs_id *id, const char *hex)
{
	struct vs_id tmp;
	size_t i;
	int hi, lo;

	for (i = 0; i < VS_ID_LEN; i++) {
		hi = vs_hexval(hex[2 * i]);
		if (hi < 0)
			return VS_E_INVAL;
		lo = vs_hexval(hex[2 * i + 1]);
		if (lo < 0)
			return VS_E_INVAL;
		tmp.b[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[VS_ID_HEXLEN] != '\0')
		return VS_E_INVAL;
	*id = tmp;
	return 0;
}

bool vs_id_is_hex_prefix(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		if (n == VS_ID_HEXLEN || vs_hexval(s[n]) < 0)
			return false;
	}
	return n >= VS_ID_MIN_PREFIX;
}
