/*
 * xml.h - the two XML documents an S3 server answers varve with: a page
 * of ListObjectsV2 (<ListBucketResult>) and an error (<Error>), read with
 * expat, never by searching strings.
 *
 * Both parsers take untrusted bytes: a document type declaration or an
 * entity declaration is refused (S3 never sends one, and entities are how
 * a hostile answer grows in memory), as are elements nested deeper than 16
 * or a text longer than 64 KiB.  Namespaces are not processed: S3 puts
 * its elements in one default namespace, and a name is matched without
 * it ("ListBucketResult").
 */
#ifndef VS_REMOTE_XML_H
#define VS_REMOTE_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* One <Contents> of a listing. */
struct vs_xml_entry {
	char *key;		/* decoded when <EncodingType>url</...> */
	uint64_t size;
};

/* One page of a listing. */
struct vs_xml_list {
	struct vs_xml_entry *entries;
	size_t n;
	bool truncated;		/* <IsTruncated>true: more pages */
	char *next_token;	/* <NextContinuationToken>, or NULL */
};

void vs_xml_list_init(struct vs_xml_list *l);
/* Frees the entries and the token; l is as after vs_xml_list_init. */
void vs_xml_list_release(struct vs_xml_list *l);

/*
 * Parses a <ListBucketResult> document into l (initialised by the
 * caller; entries in document order).  Returns 0, or VS_E_REMOTE with a
 * message saying what is wrong (not XML, another document, a <Contents>
 * without a <Key> or with a <Size> that is not a number, <IsTruncated>
 * neither true nor false, a truncated page without a continuation token);
 * l then holds nothing.
 */
int vs_xml_parse_list(const char *data, size_t len, struct vs_xml_list *l,
		      struct vs_error *err);

/* An <Error> document.  Strings are "" when absent, cut to fit. */
struct vs_xml_error {
	char code[64];		/* "NoSuchKey" */
	char message[256];	/* the server's sentence */
	char region[64];	/* <Region>: where the bucket is, if said */
	char endpoint[256];	/* <Endpoint>: where to go, if said */
};

/*
 * Parses an <Error> document into e.  Returns 0, or VS_E_REMOTE when the
 * bytes are not one (HTML from a proxy, nothing, malformed XML); e is then
 * all "".
 */
int vs_xml_parse_error(const char *data, size_t len, struct vs_xml_error *e);

#endif
