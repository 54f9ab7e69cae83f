/*
 * xml.c - S3's XML answers (listing pages and errors) through expat, the
 * only file that includes it.  s3.c hands it response bodies.
 *
 * One small driver (struct xml) feeds expat, keeps the names of the open
 * elements and the text of the innermost one, and refuses what S3 never
 * sends (xml.h); each document is a pair of callbacks over it, told of
 * every element's start and of its end with its text.
 */
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "buf.h"
#include "xalloc.h"
#include "banned.h"

#define XML_MAX_DEPTH 16
#define XML_MAX_TEXT (64u * 1024)
#define XML_NAME_MAX 48

struct xml {
	XML_Parser p;
	int depth;				/* open elements */
	char names[XML_MAX_DEPTH][XML_NAME_MAX];	/* cut names */
	struct vs_buf text;			/* of the innermost one */
	const char *fail;			/* why we stopped, or NULL */
	void (*start)(struct xml *x);
	void (*end)(struct xml *x);
	void *arg;
};

static void xml_stop(struct xml *x, const char *why)
{
	if (!x->fail)
		x->fail = why;
	XML_StopParser(x->p, XML_FALSE);
}

/* Is the element at depth d (1: the root) named name? */
static bool at(const struct xml *x, int d, const char *name)
{
	return x->depth >= d && !strcmp(x->names[d - 1], name);
}

static void XMLCALL on_start(void *arg, const XML_Char *name,
			     const XML_Char **attrs)
{
	struct xml *x = arg;

	(void)attrs;
	if (x->fail)
		return;
	if (x->depth == XML_MAX_DEPTH) {
		xml_stop(x, "elements nested too deep");
		return;
	}
	snprintf(x->names[x->depth], XML_NAME_MAX, "%s", name);
	x->depth++;
	vs_buf_reset(&x->text);
	x->start(x);
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
	struct xml *x = arg;

	(void)name;
	if (x->fail)
		return;
	x->end(x);
	x->depth--;
	vs_buf_reset(&x->text);
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
	struct xml *x = arg;

	if (x->fail || len <= 0)
		return;
	if (x->text.len + (size_t)len > XML_MAX_TEXT) {
		xml_stop(x, "a text longer than 64 KiB");
		return;
	}
	vs_buf_add(&x->text, s, (size_t)len);
}

static void XMLCALL on_doctype(void *arg, const XML_Char *name,
			       const XML_Char *sysid, const XML_Char *pubid,
			       int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	xml_stop(arg, "a document type declaration");
}

static void XMLCALL on_entity(void *arg, const XML_Char *name, int is_param,
			      const XML_Char *value, int value_len,
			      const XML_Char *base, const XML_Char *sysid,
			      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	xml_stop(arg, "an entity declaration");
}

/*
 * Parses <data, len> through x's callbacks.  0, or VS_E_REMOTE with *why
 * pointing at a static reason and *line at where (0: unknown).
 */
static int xml_run(struct xml *x, const char *data, size_t len,
		   const char **why, unsigned long *line)
{
	int r = 0;

	*why = NULL;
	*line = 0;
	if (len > (size_t)INT32_MAX) {
		*why = "a document larger than 2 GiB";
		return VS_E_REMOTE;
	}
	x->p = XML_ParserCreate(NULL);
	if (!x->p)
		abort();
	vs_buf_init(&x->text, 0);
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, on_start, on_end);
	XML_SetCharacterDataHandler(x->p, on_text);
	XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
	XML_SetEntityDeclHandler(x->p, on_entity);
	if (XML_Parse(x->p, data, (int)len, XML_TRUE) != XML_STATUS_OK ||
	    x->fail) {
		*why = x->fail ? x->fail
			       : XML_ErrorString(XML_GetErrorCode(x->p));
		*line = (unsigned long)XML_GetCurrentLineNumber(x->p);
		r = VS_E_REMOTE;
	}
	XML_ParserFree(x->p);
	vs_buf_release(&x->text);
	return r;
}

/* --- ListObjectsV2 ---------------------------------------------------------- */

struct list_state {
	struct vs_xml_list *l;
	bool root_seen;
	bool url_encoded;	/* <EncodingType>url */
	bool truncated_seen;
	bool has_key, has_size;	/* of the open <Contents> */
	char *key;
	uint64_t size;
	size_t cap;
};

/* A decimal uint64 made of digits only. */
static bool parse_u64(const char *s, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9' || n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*v = n;
	return true;
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

/* A key of a url-encoded listing ('+' is a space), or NULL if malformed. */
static char *url_decode(const char *s)
{
	struct vs_buf b = VS_BUF_INIT;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0) {
				vs_buf_release(&b);
				return NULL;
			}
			vs_buf_addch(&b, hi << 4 | lo);
			s += 2;
		} else {
			vs_buf_addch(&b, *s == '+' ? ' ' : *s);
		}
	}
	return vs_buf_detach(&b, NULL);
}

static void list_start(struct xml *x)
{
	struct list_state *st = x->arg;

	if (x->depth == 1) {
		if (!at(x, 1, "ListBucketResult"))
			xml_stop(x, "not a <ListBucketResult>");
		st->root_seen = true;
	} else if (x->depth == 2 && at(x, 2, "Contents")) {
		st->has_key = st->has_size = false;
		free(st->key);
		st->key = NULL;
	}
}

static void list_end(struct xml *x)
{
	struct list_state *st = x->arg;
	struct vs_xml_list *l = st->l;
	const char *t = x->text.data;

	if (x->depth == 3 && at(x, 2, "Contents")) {
		if (at(x, 3, "Key")) {
			free(st->key);
			st->key = vs_xstrdup(t);
			st->has_key = true;
		} else if (at(x, 3, "Size")) {
			if (!parse_u64(t, &st->size))
				xml_stop(x, "a <Size> that is not a number");
			st->has_size = true;
		}
	} else if (x->depth == 2 && at(x, 2, "Contents")) {
		if (!st->has_key || !*st->key) {
			xml_stop(x, "a <Contents> without a <Key>");
			return;
		}
		if (!st->has_size) {
			xml_stop(x, "a <Contents> without a <Size>");
			return;
		}
		if (l->n == st->cap) {
			st->cap = st->cap ? 2 * st->cap : 64;
			l->entries = vs_xreallocarray(l->entries, st->cap,
						      sizeof(*l->entries));
		}
		l->entries[l->n].key = st->key;
		l->entries[l->n].size = st->size;
		l->n++;
		st->key = NULL;
	} else if (x->depth == 2 && at(x, 2, "IsTruncated")) {
		if (!strcmp(t, "true"))
			l->truncated = true;
		else if (!strcmp(t, "false"))
			l->truncated = false;
		else
			xml_stop(x, "an <IsTruncated> neither true nor false");
		st->truncated_seen = true;
	} else if (x->depth == 2 && at(x, 2, "NextContinuationToken")) {
		free(l->next_token);
		l->next_token = *t ? vs_xstrdup(t) : NULL;
	} else if (x->depth == 2 && at(x, 2, "EncodingType")) {
		st->url_encoded = !strcmp(t, "url");
	}
}

void vs_xml_list_init(struct vs_xml_list *l)
{
	l->entries = NULL;
	l->n = 0;
	l->truncated = false;
	l->next_token = NULL;
}

void vs_xml_list_release(struct vs_xml_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->entries[i].key);
	free(l->entries);
	free(l->next_token);
	vs_xml_list_init(l);
}

int vs_xml_parse_list(const char *data, size_t len, struct vs_xml_list *l,
		      struct vs_error *err)
{
	struct list_state st = { .l = l };
	struct xml x = { .start = list_start, .end = list_end, .arg = &st };
	const char *why;
	unsigned long line;
	size_t i;
	int r;

	r = xml_run(&x, data, len, &why, &line);
	free(st.key);
	if (!r && !st.root_seen)
		why = "no document";
	else if (!r && !st.truncated_seen)
		why = "no <IsTruncated>";
	else if (!r && l->truncated && !l->next_token)
		why = "a truncated page without a <NextContinuationToken>";
	if (!r && why)
		r = VS_E_REMOTE;
	for (i = 0; !r && st.url_encoded && i < l->n; i++) {
		char *k = url_decode(l->entries[i].key);

		if (!k) {
			why = "a url-encoded <Key> that does not decode";
			r = VS_E_REMOTE;
			break;
		}
		free(l->entries[i].key);
		l->entries[i].key = k;
	}
	if (r < 0) {
		vs_xml_list_release(l);
		if (line)
			return vs_error_set(err, r, "the server answered a "
					    "listing that cannot be read (%s, "
					    "line %lu)", why, line);
		return vs_error_set(err, r, "the server answered a listing "
				    "that cannot be read (%s)", why);
	}
	return 0;
}

/* --- errors ----------------------------------------------------------------- */

struct error_state {
	struct vs_xml_error *e;
	bool root_seen;
};

static void error_start(struct xml *x)
{
	struct error_state *st = x->arg;

	if (x->depth == 1) {
		if (!at(x, 1, "Error"))
			xml_stop(x, "not an <Error>");
		st->root_seen = true;
	}
}

/* Copies text into dst[size], cut to fit, newlines and tabs made spaces. */
static void copy_line(char *dst, size_t size, const char *text)
{
	size_t i;

	snprintf(dst, size, "%s", text);
	for (i = 0; dst[i]; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

static void error_end(struct xml *x)
{
	struct error_state *st = x->arg;
	struct vs_xml_error *e = st->e;

	if (x->depth != 2)
		return;
	if (at(x, 2, "Code"))
		copy_line(e->code, sizeof(e->code), x->text.data);
	else if (at(x, 2, "Message"))
		copy_line(e->message, sizeof(e->message), x->text.data);
	else if (at(x, 2, "Region"))
		copy_line(e->region, sizeof(e->region), x->text.data);
	else if (at(x, 2, "Endpoint"))
		copy_line(e->endpoint, sizeof(e->endpoint), x->text.data);
}

int vs_xml_parse_error(const char *data, size_t len, struct vs_xml_error *e)
{
	struct error_state st = { .e = e };
	struct xml x = { .start = error_start, .end = error_end, .arg = &st };
	const char *why;
	unsigned long line;
	int r;

	memset(e, 0, sizeof(*e));
	r = xml_run(&x, data, len, &why, &line);
	if (!r && !st.root_seen)
		r = VS_E_REMOTE;
	if (r < 0)
		memset(e, 0, sizeof(*e));
	return r;
}
