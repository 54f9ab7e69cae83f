/*
 * hash.h - object ids: SHA-256 through OpenSSL's EVP interface.
 *
 * This is the only module that includes OpenSSL.  EVP picks SHA-NI where the
 * CPU has it.
 */
#ifndef VS_HASH_H
#define VS_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_ID_LEN 32
#define VS_ID_HEXLEN 64
/* Shortest id prefix accepted in text. */
#define VS_ID_MIN_PREFIX 7

struct vs_id {
	uint8_t b[VS_ID_LEN];
};

bool vs_id_equal(const struct vs_id *a, const struct vs_id *b);
int vs_id_cmp(const struct vs_id *a, const struct vs_id *b);
bool vs_id_is_zero(const struct vs_id *id);
/* Writes 64 lowercase hex digits and a NUL into hex[65]. Returns hex. */
char *vs_id_to_hex(const struct vs_id *id, char hex[VS_ID_HEXLEN + 1]);
/* Parses exactly 64 hex digits (either case). 0 or VS_E_INVAL. */
int vs_id_from_hex(struct vs_id *id, const char *hex);
/* True if s is 7..64 hex digits (a candidate id prefix). */
bool vs_id_is_hex_prefix(const char *s);

/* One-shot SHA-256 of <data, len>. Cannot fail (aborts if EVP is broken). */
void vs_hash(const void *data, size_t len, struct vs_id *out);

/* Incremental hashing; one per thread, reusable after _final. */
struct vs_hasher;
struct vs_hasher *vs_hasher_new(void);
void vs_hasher_free(struct vs_hasher *h);
void vs_hasher_update(struct vs_hasher *h, const void *data, size_t len);
/* Writes the digest and resets h for the next message. */
void vs_hasher_final(struct vs_hasher *h, struct vs_id *out);

#endif
