/*
 * test_remote_s3.c - unit tests of the s3:// transport (store/remote/s3.c)
 * and its helpers (creds.c, xml.c), without a network: the transport's
 * requests are answered by a fake server (vs_s3_options.send) that
 * records them and replies what each test scripts.
 *
 *  - where requests go: AWS virtual-hosted and path-style, endpoints,
 *    regions from the config, the environment and a profile, bad URLs;
 *  - credentials from the environment and from profile files in a
 *    temporary HOME, and every refusal (half a pair, an unknown profile,
 *    a profile of another kind);
 *  - listing pages and error bodies through the XML parser, malformed or
 *    hostile ones included;
 *  - every mapped answer (NoSuchKey, NoSuchBucket, AccessDenied,
 *    InvalidAccessKeyId, SignatureDoesNotMatch, SlowDown, 412, 416, a
 *    wrong region), the retry schedule, conditional puts, ranges,
 *    listings across pages;
 *  - no credential in any message, even when the server echoes them.
 *
 * With VARVE_TEST_S3_ENDPOINT (and VARVE_TEST_S3_BUCKET) set, as
 * tests/integration/test_remote_s3.sh sets them, a second group drives
 * the transport against that real server (s3rver on loopback).
 */
#include <pthread.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "creds.h"
#include "error.h"
#include "http.h"
#include "s3.h"
#include "sigv4.h"
#include "transport.h"
#include "xml.h"
#include "banned.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSECRETKEY"
#define KEY_ID "AKIAVARVETESTKEYID01"
#define TOKEN "FwoGZXIvYXdzEXAMPLETOKENvarveTOKENvalue0123456789"

/* --- an environment of the test's own ---------------------------------------- */

struct env {
	const char *vars[32];	/* "NAME=VALUE" */
};

static const char *env_get(void *arg, const char *name)
{
	struct env *e = arg;
	size_t n = strlen(name), i;

	for (i = 0; i < 32 && e->vars[i]; i++)
		if (!strncmp(e->vars[i], name, n) && e->vars[i][n] == '=')
			return e->vars[i] + n + 1;
	return NULL;
}

/* --- a temporary HOME with AWS profile files --------------------------------- */

static char home[256];

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int home_setup(void **state)
{
	char aws[300];

	snprintf(home, sizeof(home), "%s/varve-s3-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(home))
		return -1;
	snprintf(aws, sizeof(aws), "%s/.aws", home);
	return mkdir(aws, 0700);
}

static int home_teardown(void **state)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.aws/config", home);
	unlink(path);
	snprintf(path, sizeof(path), "%s/other", home);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.aws", home);
	rmdir(path);
	rmdir(home);
	return 0;
}

static void aws_files(const char *credentials, const char *config)
{
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/.aws", home);
	write_file(dir, "credentials", credentials ? credentials : "");
	write_file(dir, "config", config ? config : "");
}

/* --- where requests go -------------------------------------------------------- */

static void resolve(const char *url, const char *endpoint, const char *region,
		    bool path_style, struct env *e, struct vs_s3_target *t)
{
	struct vs_remote_config cfg = {
		.name = "origin", .url = (char *)url, .endpoint = (char *)endpoint,
		.region = (char *)region, .path_style = path_style,
	};
	struct vs_error err = { 0 };
	int r = vs_s3_target_resolve(t, &cfg, env_get, e, &err);

	if (r)
		fail_msg("%s: %s", url, err.msg);
}

static int resolve_fails(const char *url, const char *endpoint,
			 struct vs_error *err)
{
	struct vs_remote_config cfg = {
		.url = (char *)url, .endpoint = (char *)endpoint,
	};
	struct env e = { { "HOME=/nonexistent", NULL } };
	struct vs_s3_target t;
	int r;

	vs_error_clear(err);
	r = vs_s3_target_resolve(&t, &cfg, env_get, &e, err);
	assert_true(r < 0);
	return r;
}

static void test_target_aws(void **state)
{
	struct env e = { { "HOME=/nonexistent", NULL } };
	struct vs_s3_target t;

	resolve("s3://data", NULL, NULL, false, &e, &t);
	assert_string_equal(t.bucket, "data");
	assert_string_equal(t.prefix, "");
	assert_string_equal(t.region, "us-east-1");
	assert_string_equal(t.scheme, "https");
	assert_string_equal(t.host, "data.s3.us-east-1.amazonaws.com");
	assert_string_equal(t.path_base, "");
	assert_string_equal(t.endpoint, "https://data.s3.us-east-1.amazonaws.com");
	assert_string_equal(t.url, "s3://data");
	assert_false(t.path_style);
	vs_s3_target_release(&t);

	resolve("s3://data/models/v1/", NULL, "eu-west-1", false, &e, &t);
	assert_string_equal(t.prefix, "models/v1/");
	assert_string_equal(t.url, "s3://data/models/v1");
	assert_string_equal(t.host, "data.s3.eu-west-1.amazonaws.com");
	vs_s3_target_release(&t);

	/* path-style when asked, and when the bucket cannot be a host name */
	resolve("s3://data/p", NULL, "eu-west-1", true, &e, &t);
	assert_true(t.path_style);
	assert_string_equal(t.host, "s3.eu-west-1.amazonaws.com");
	assert_string_equal(t.path_base, "/data");
	assert_string_equal(t.endpoint, "https://s3.eu-west-1.amazonaws.com");
	vs_s3_target_release(&t);
	resolve("s3://my.data.bucket", NULL, NULL, false, &e, &t);
	assert_true(t.path_style);
	vs_s3_target_release(&t);
	resolve("s3://Old_Bucket", NULL, NULL, false, &e, &t);
	assert_true(t.path_style);
	assert_string_equal(t.path_base, "/Old_Bucket");
	vs_s3_target_release(&t);

	/* China */
	resolve("s3://data", NULL, "cn-north-1", false, &e, &t);
	assert_string_equal(t.host, "data.s3.cn-north-1.amazonaws.com.cn");
	vs_s3_target_release(&t);
}

static void test_target_endpoint(void **state)
{
	struct env e = { { "HOME=/nonexistent", NULL } };
	struct vs_s3_target t;

	/* an IP address or localhost: path-style */
	resolve("s3://bkt/x", "http://127.0.0.1:4568", NULL, false, &e, &t);
	assert_true(t.path_style);
	assert_string_equal(t.scheme, "http");
	assert_string_equal(t.host, "127.0.0.1:4568");
	assert_string_equal(t.path_base, "/bkt");
	assert_string_equal(t.endpoint, "http://127.0.0.1:4568");
	vs_s3_target_release(&t);
	resolve("s3://bkt", "http://localhost:9000/", NULL, false, &e, &t);
	assert_true(t.path_style);
	assert_string_equal(t.host, "localhost:9000");
	vs_s3_target_release(&t);
	resolve("s3://bkt", "http://[::1]:9000", NULL, false, &e, &t);
	assert_true(t.path_style);
	assert_string_equal(t.host, "[::1]:9000");
	vs_s3_target_release(&t);

	/* a host name: virtual-hosted unless path-style is asked */
	resolve("s3://bkt", "https://minio.example.com:9000", "auto", false,
		&e, &t);
	assert_false(t.path_style);
	assert_string_equal(t.host, "bkt.minio.example.com:9000");
	assert_string_equal(t.endpoint, "https://bkt.minio.example.com:9000");
	assert_string_equal(t.region, "auto");
	vs_s3_target_release(&t);
	resolve("s3://bkt", "https://minio.example.com:9000", NULL, true, &e,
		&t);
	assert_true(t.path_style);
	assert_string_equal(t.host, "minio.example.com:9000");
	vs_s3_target_release(&t);

	/* the endpoint of the environment, as the AWS tools read it */
	{
		struct env e2 = { { "HOME=/nonexistent",
				    "AWS_ENDPOINT_URL=http://10.1.2.3:1",
				    "AWS_ENDPOINT_URL_S3=http://127.0.0.1:7",
				    NULL } };

		resolve("s3://bkt", NULL, NULL, false, &e2, &t);
		assert_string_equal(t.endpoint, "http://127.0.0.1:7");
		vs_s3_target_release(&t);
		e2.vars[2] = NULL;
		resolve("s3://bkt", NULL, NULL, false, &e2, &t);
		assert_string_equal(t.endpoint, "http://10.1.2.3:1");
		vs_s3_target_release(&t);
		/* the config's wins */
		resolve("s3://bkt", "http://127.0.0.1:9", NULL, false, &e2, &t);
		assert_string_equal(t.endpoint, "http://127.0.0.1:9");
		vs_s3_target_release(&t);
	}
}

static void test_target_region(void **state)
{
	char h[300];
	struct env e = { { h, NULL, NULL } };
	struct vs_s3_target t;

	snprintf(h, sizeof(h), "HOME=%s", home);
	aws_files(NULL, "[default]\nregion = eu-central-1\n"
			"[profile ci]\nregion=ap-south-1\n");
	resolve("s3://b", NULL, NULL, false, &e, &t);
	assert_string_equal(t.region, "eu-central-1");
	vs_s3_target_release(&t);
	e.vars[1] = "AWS_PROFILE=ci";
	resolve("s3://b", NULL, NULL, false, &e, &t);
	assert_string_equal(t.region, "ap-south-1");
	vs_s3_target_release(&t);
	e.vars[1] = "AWS_DEFAULT_REGION=us-west-2";
	resolve("s3://b", NULL, NULL, false, &e, &t);
	assert_string_equal(t.region, "us-west-2");
	vs_s3_target_release(&t);
	e.vars[2] = "AWS_REGION=sa-east-1";
	resolve("s3://b", NULL, NULL, false, &e, &t);
	assert_string_equal(t.region, "sa-east-1");
	vs_s3_target_release(&t);
	/* the config's wins over all */
	resolve("s3://b", NULL, "us-east-2", false, &e, &t);
	assert_string_equal(t.region, "us-east-2");
	vs_s3_target_release(&t);
}

static void test_target_bad(void **state)
{
	struct vs_error err;

	assert_int_equal(resolve_fails("file:///tmp/x", NULL, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "s3://BUCKET"));
	assert_int_equal(resolve_fails("s3://", NULL, &err), VS_E_INVAL);
	assert_int_equal(resolve_fails("s3:///prefix", NULL, &err), VS_E_INVAL);
	assert_int_equal(resolve_fails("s3://b/a/../c", NULL, &err),
			 VS_E_INVAL);
	assert_int_equal(resolve_fails("s3://b//a", NULL, &err), VS_E_INVAL);
	assert_int_equal(resolve_fails("s3://b?x/y", NULL, &err), VS_E_INVAL);
	assert_int_equal(resolve_fails("s3://b", "ftp://h", &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "http://HOST[:PORT]"));
	assert_int_equal(resolve_fails("s3://b", "http://h/path", &err),
			 VS_E_INVAL);
	assert_int_equal(resolve_fails("s3://b", "http://", &err), VS_E_INVAL);
	assert_int_equal(resolve_fails("s3://b", "http://us er@h", &err),
			 VS_E_INVAL);
}

/* --- credentials -------------------------------------------------------------- */

static int load(struct env *e, struct vs_creds *c, struct vs_error *err)
{
	vs_creds_init(c);
	vs_error_clear(err);
	return vs_creds_load(c, env_get, e, err);
}

static void test_creds_env(void **state)
{
	struct env e = { { "HOME=/nonexistent",
			   "AWS_ACCESS_KEY_ID=" KEY_ID,
			   "AWS_SECRET_ACCESS_KEY=" SECRET,
			   "AWS_SESSION_TOKEN=" TOKEN, NULL } };
	struct vs_creds c;
	struct vs_error err;

	assert_int_equal(load(&e, &c, &err), 0);
	assert_string_equal(c.access_key_id, KEY_ID);
	assert_string_equal(c.secret_access_key, SECRET);
	assert_string_equal(c.session_token, TOKEN);
	assert_non_null(strstr(c.source, "environment"));
	assert_null(strstr(c.source, SECRET));
	vs_creds_release(&c);
	assert_null(c.secret_access_key);
	assert_null(c.session_token);

	/* no token */
	e.vars[3] = NULL;
	assert_int_equal(load(&e, &c, &err), 0);
	assert_null(c.session_token);
	vs_creds_release(&c);

	/* half a pair is refused, naming the missing variable */
	e.vars[2] = NULL;
	assert_int_equal(load(&e, &c, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"));
	assert_null(c.access_key_id);
	e.vars[1] = "AWS_SECRET_ACCESS_KEY=" SECRET;
	assert_int_equal(load(&e, &c, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
	assert_null(strstr(err.msg, SECRET));

	/* none at all: which variables or profile to set */
	e.vars[1] = NULL;
	assert_int_equal(load(&e, &c, &err), VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
	assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"));
	assert_non_null(strstr(err.msg, "AWS_PROFILE"));
}

static void test_creds_profile(void **state)
{
	char h[300], other[400];
	struct env e = { { h, NULL, NULL, NULL } };
	struct vs_creds c;
	struct vs_error err;

	snprintf(h, sizeof(h), "HOME=%s", home);
	aws_files("# a comment\n"
		  "[default]\n"
		  "aws_access_key_id = AKIADEFAULT0000000001\n"
		  "aws_secret_access_key = " SECRET "#notacomment\n"
		  "\n"
		  "[ci]\n"
		  "  ; an indented comment\n"
		  "AWS_Access_Key_ID=AKIACI00000000000001\n"
		  "aws_secret_access_key=ci-secret\n"
		  "aws_session_token = ci-token\n"
		  "[half]\n"
		  "aws_access_key_id = AKIAHALF000000000001\n"
		  "[role]\n"
		  "role_arn = arn:aws:iam::123456789012:role/x\n"
		  "source_profile = default\n",
		  "[default]\nregion = eu-west-3\n"
		  "[profile cfg]\n"
		  "aws_access_key_id = AKIACFG0000000000001\n"
		  "aws_secret_access_key = cfg-secret\n"
		  "s3 =\n  addressing_style = path\n"
		  "[profile sso]\nsso_session = corp\nsso_account_id = 1\n"
		  "[cfg]\naws_access_key_id = AKIANOTAPROFILE00001\n"
		  "aws_secret_access_key = wrong\n"
		  "[profile proc]\ncredential_process = /bin/echo\n");

	assert_int_equal(load(&e, &c, &err), 0);
	assert_string_equal(c.access_key_id, "AKIADEFAULT0000000001");
	/* no inline comments: a secret may hold '#' */
	assert_string_equal(c.secret_access_key, SECRET "#notacomment");
	assert_null(c.session_token);
	assert_non_null(strstr(c.source, "'default'"));
	assert_non_null(strstr(c.source, "/.aws/credentials"));
	vs_creds_release(&c);

	e.vars[1] = "AWS_PROFILE=ci";
	assert_int_equal(load(&e, &c, &err), 0);
	assert_string_equal(c.access_key_id, "AKIACI00000000000001");
	assert_string_equal(c.secret_access_key, "ci-secret");
	assert_string_equal(c.session_token, "ci-token");
	vs_creds_release(&c);

	/* [profile NAME] of the config file; its [NAME] is no profile */
	e.vars[1] = "AWS_PROFILE=cfg";
	assert_int_equal(load(&e, &c, &err), 0);
	assert_string_equal(c.access_key_id, "AKIACFG0000000000001");
	assert_string_equal(c.secret_access_key, "cfg-secret");
	assert_non_null(strstr(c.source, "/.aws/config"));
	vs_creds_release(&c);

	/* the environment's keys win over any profile */
	e.vars[2] = "AWS_ACCESS_KEY_ID=" KEY_ID;
	e.vars[3] = "AWS_SECRET_ACCESS_KEY=" SECRET;
	assert_int_equal(load(&e, &c, &err), 0);
	assert_string_equal(c.access_key_id, KEY_ID);
	vs_creds_release(&c);
	e.vars[2] = e.vars[3] = NULL;

	/* refusals, each naming what to do, none printing a secret */
	e.vars[1] = "AWS_PROFILE=half";
	assert_int_equal(load(&e, &c, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "aws_secret_access_key"));
	e.vars[1] = "AWS_PROFILE=role";
	assert_int_equal(load(&e, &c, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "role_arn"));
	assert_non_null(strstr(err.msg, "export-credentials"));
	e.vars[1] = "AWS_PROFILE=sso";
	assert_int_equal(load(&e, &c, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "sso"));
	e.vars[1] = "AWS_PROFILE=proc";
	assert_int_equal(load(&e, &c, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "credential_process"));
	e.vars[1] = "AWS_PROFILE=nosuch";
	assert_int_equal(load(&e, &c, &err), VS_E_INVAL);
	assert_non_null(strstr(err.msg, "'nosuch'"));
	assert_null(strstr(err.msg, SECRET));

	/* other files, named by the environment ("~/" is HOME) */
	snprintf(other, sizeof(other), "AWS_SHARED_CREDENTIALS_FILE=%s/other",
		 home);
	write_file(home, "other", "[x]\naws_access_key_id=AKIAOTHER00000000001\n"
				  "aws_secret_access_key=o\n");
	e.vars[1] = "AWS_PROFILE=x";
	e.vars[2] = other;
	assert_int_equal(load(&e, &c, &err), 0);
	assert_string_equal(c.access_key_id, "AKIAOTHER00000000001");
	vs_creds_release(&c);
	e.vars[2] = "AWS_SHARED_CREDENTIALS_FILE=~/other";
	assert_int_equal(load(&e, &c, &err), 0);
	vs_creds_release(&c);

	/* no files, no variables: none */
	e.vars[1] = "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c";
	e.vars[2] = "AWS_CONFIG_FILE=/nonexistent/c";
	assert_int_equal(load(&e, &c, &err), VS_E_NOTFOUND);

	/* a file that cannot be read is an error, not "none" */
	e.vars[1] = "AWS_SHARED_CREDENTIALS_FILE=/";
	assert_int_equal(load(&e, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

static void test_creds_thread_env(void **state)
{
	struct env e = { { "AWS_REGION=xx-test-1", NULL } };
	vs_creds_getenv_fn fn;
	void *arg;

	vs_creds_thread_env(&fn, &arg);
	assert_ptr_equal(fn, vs_creds_process_getenv);
	vs_creds_set_thread_env(env_get, &e);
	vs_creds_thread_env(&fn, &arg);
	assert_ptr_equal(fn, env_get);
	assert_ptr_equal(arg, &e);
	{
		struct vs_remote_config cfg = { .url = "s3://b" };
		struct vs_s3_target t;

		assert_int_equal(vs_s3_target_resolve(&t, &cfg, NULL, NULL,
						      NULL), 0);
		assert_string_equal(t.region, "xx-test-1");
		vs_s3_target_release(&t);
	}
	vs_creds_set_thread_env(NULL, NULL);
	vs_creds_thread_env(&fn, &arg);
	assert_ptr_equal(fn, vs_creds_process_getenv);
}

/* --- XML ---------------------------------------------------------------------- */

static const char page1[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount>"
	"<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
	"<Contents><Key>p/a</Key><LastModified>2026-01-01T00:00:00.000Z"
	"</LastModified><ETag>&quot;0cc1&quot;</ETag><Size>10</Size>"
	"<StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>p/b &amp; c</Key><Size>18446744073709551615</Size>"
	"</Contents>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
	"</NextContinuationToken></ListBucketResult>";

static void test_xml_list(void **state)
{
	struct vs_xml_list l;
	struct vs_error err = { 0 };
	static const char last[] =
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"</ListBucketResult>";
	static const char encoded[] =
		"<ListBucketResult><EncodingType>url</EncodingType>"
		"<Contents><Key>a%2Fb+c%C3%A9</Key><Size>0</Size></Contents>"
		"<IsTruncated>false</IsTruncated></ListBucketResult>";

	vs_xml_list_init(&l);
	if (vs_xml_parse_list(page1, strlen(page1), &l, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.entries[0].key, "p/a");
	assert_int_equal(l.entries[0].size, 10);
	assert_string_equal(l.entries[1].key, "p/b & c");
	assert_true(l.entries[1].size == UINT64_MAX);
	assert_true(l.truncated);
	assert_string_equal(l.next_token,
			    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	vs_xml_list_release(&l);

	assert_int_equal(vs_xml_parse_list(last, strlen(last), &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_false(l.truncated);
	assert_null(l.next_token);
	vs_xml_list_release(&l);

	assert_int_equal(vs_xml_parse_list(encoded, strlen(encoded), &l, &err),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.entries[0].key, "a/b c\xc3\xa9");
	vs_xml_list_release(&l);
}

static void expect_bad_list(const char *doc, const char *why)
{
	struct vs_xml_list l;
	struct vs_error err = { 0 };

	vs_xml_list_init(&l);
	assert_int_equal(vs_xml_parse_list(doc, strlen(doc), &l, &err),
			 VS_E_REMOTE);
	assert_int_equal(l.n, 0);
	assert_null(l.entries);
	assert_null(l.next_token);
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not say '%s'", err.msg, why);
	assert_null(strchr(err.msg, '\n'));
}

static void test_xml_list_malformed(void **state)
{
	char deep[2048] = "";
	size_t i, len = strlen(page1);
	char *cut;

	expect_bad_list("", "no element found");
	expect_bad_list("<html><body>502 Bad Gateway</body></html>",
			"not a <ListBucketResult>");
	expect_bad_list("<Error><Code>AccessDenied</Code></Error>",
			"not a <ListBucketResult>");
	expect_bad_list("<ListBucketResult><IsTruncated>false</IsTruncated>",
			"line 1");
	expect_bad_list("<ListBucketResult><IsTruncated>maybe</IsTruncated>"
			"</ListBucketResult>", "neither true nor false");
	expect_bad_list("<ListBucketResult></ListBucketResult>",
			"no <IsTruncated>");
	expect_bad_list("<ListBucketResult><IsTruncated>true</IsTruncated>"
			"</ListBucketResult>", "without a <NextContinuationToken>");
	expect_bad_list("<ListBucketResult><Contents><Size>1</Size></Contents>"
			"<IsTruncated>false</IsTruncated></ListBucketResult>",
			"without a <Key>");
	expect_bad_list("<ListBucketResult><Contents><Key>k</Key></Contents>"
			"<IsTruncated>false</IsTruncated></ListBucketResult>",
			"without a <Size>");
	expect_bad_list("<ListBucketResult><Contents><Key>k</Key><Size>-1"
			"</Size></Contents><IsTruncated>false</IsTruncated>"
			"</ListBucketResult>", "not a number");
	expect_bad_list("<ListBucketResult><Contents><Key>k</Key><Size>"
			"18446744073709551616</Size></Contents><IsTruncated>"
			"false</IsTruncated></ListBucketResult>", "not a number");
	expect_bad_list("<ListBucketResult><EncodingType>url</EncodingType>"
			"<Contents><Key>%zz</Key><Size>1</Size></Contents>"
			"<IsTruncated>false</IsTruncated></ListBucketResult>",
			"does not decode");
	/* what S3 never sends: a DTD, entities (billion laughs), depth */
	expect_bad_list("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>"
			"<IsTruncated>false</IsTruncated></ListBucketResult>",
			"document type declaration");
	expect_bad_list("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"a\">"
			"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
			"<ListBucketResult><Contents><Key>&b;</Key><Size>1"
			"</Size></Contents></ListBucketResult>",
			"document type declaration");
	expect_bad_list("<ListBucketResult><IsTruncated>false</IsTruncated>"
			"<Contents><Key>&undefined;</Key></Contents>"
			"</ListBucketResult>", "undefined entity");
	for (i = 0; i < 20; i++)
		snprintf(deep + strlen(deep), sizeof(deep) - strlen(deep),
			 "<a%zu>", i);
	expect_bad_list(deep, "not a <ListBucketResult>");
	memmove(deep + strlen("<ListBucketResult>"), deep, strlen(deep) + 1);
	memcpy(deep, "<ListBucketResult>", strlen("<ListBucketResult>"));
	expect_bad_list(deep, "nested too deep");
	/* every truncation of a good page is refused */
	cut = malloc(len + 1);
	assert_non_null(cut);
	for (i = 0; i < len; i++) {
		struct vs_xml_list l;

		memcpy(cut, page1, i);
		cut[i] = '\0';
		vs_xml_list_init(&l);
		assert_int_equal(vs_xml_parse_list(cut, i, &l, NULL),
				 VS_E_REMOTE);
		assert_int_equal(l.n, 0);
	}
	free(cut);
}

static void test_xml_error(void **state)
{
	struct vs_xml_error e;
	static const char doc[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
		"<Code>AuthorizationHeaderMalformed</Code><Message>the region "
		"'us-east-1' is wrong;\nexpecting 'eu-west-1'</Message>"
		"<Region>eu-west-1</Region><RequestId>X</RequestId>"
		"<HostId>Y</HostId></Error>";
	static const char *const bad[] = {
		"", "<html>503</html>", "<Error><Code>x</Code>", "not xml",
		"<ListBucketResult/>",
		"<!DOCTYPE Error><Error><Code>x</Code></Error>",
	};
	size_t i;

	assert_int_equal(vs_xml_parse_error(doc, strlen(doc), &e), 0);
	assert_string_equal(e.code, "AuthorizationHeaderMalformed");
	/* one line: control characters become spaces */
	assert_string_equal(e.message, "the region 'us-east-1' is wrong; "
			    "expecting 'eu-west-1'");
	assert_string_equal(e.region, "eu-west-1");
	assert_string_equal(e.endpoint, "");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vs_xml_parse_error(bad[i], strlen(bad[i]), &e),
				 VS_E_REMOTE);
		assert_string_equal(e.code, "");
	}
}

/* --- a fake server -------------------------------------------------------------- */

struct answer {
	long status;
	const char *body;
	const char *etag;
	const char *content_range;
	const char *bucket_region;
	long long length;	/* Content-Length, -1: none */
	int fail;		/* 1: transient failure, 2: fatal */
};

struct fake {
	const struct answer *answers;
	size_t n, next;
	/* what the last request was */
	char method[8];
	struct vs_buf url, headers, body;
	size_t requests;
	/* sleeps asked for */
	unsigned sleeps[16];
	size_t nsleeps;
	bool echo;	/* answers echo the request's headers in <Message> */
};

static int fake_send(void *arg, const struct vs_http_request *req,
		     struct vs_http_response *resp, bool *transient,
		     struct vs_error *err)
{
	struct fake *f = arg;
	const struct answer *a;
	size_t i;

	vs_http_response_reset(resp);
	f->requests++;
	snprintf(f->method, sizeof(f->method), "%s", req->method);
	vs_buf_reset(&f->url);
	vs_buf_addstr(&f->url, req->url);
	vs_buf_reset(&f->headers);
	for (i = 0; i < req->nheaders; i++)
		vs_buf_addf(&f->headers, "%s\n", req->headers[i]);
	vs_buf_reset(&f->body);
	vs_buf_add(&f->body, req->body, req->body_len);
	if (f->next >= f->n)
		fail_msg("an unexpected request: %s %s", req->method, req->url);
	a = &f->answers[f->next++];
	*transient = a->fail == 1;
	if (a->fail)
		return vs_error_set(err, VS_E_REMOTE, "cannot reach %s: %s",
				    req->url, a->fail == 1 ? "Connection reset"
							   : "bad URL");
	resp->status = a->status;
	if (a->body && f->echo) {
		/* a hostile server: everything it was sent, in its message */
		const char *m = strstr(a->body, "<Message>");

		assert_non_null(m);
		vs_buf_add(&resp->body, a->body, (size_t)(m - a->body) + 9);
		for (i = 0; i < f->headers.len; i++)
			vs_buf_addch(&resp->body, f->headers.data[i] == '\n'
						  ? ' ' : f->headers.data[i]);
		vs_buf_addstr(&resp->body, m + 9);
	} else if (a->body) {
		vs_buf_addstr(&resp->body, a->body);
	}
	if (a->etag)
		snprintf(resp->etag, sizeof(resp->etag), "%s", a->etag);
	if (a->content_range)
		snprintf(resp->content_range, sizeof(resp->content_range), "%s",
			 a->content_range);
	if (a->bucket_region)
		snprintf(resp->bucket_region, sizeof(resp->bucket_region), "%s",
			 a->bucket_region);
	if (a->length >= 0) {
		resp->has_length = true;
		resp->length = (uint64_t)a->length;
	}
	return 0;
}

static void fake_sleep(void *arg, unsigned ms)
{
	struct fake *f = arg;

	if (f->nsleeps < 16)
		f->sleeps[f->nsleeps] = ms;
	f->nsleeps++;
}

static void fake_init(struct fake *f, const struct answer *a, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->answers = a;
	f->n = n;
	vs_buf_init(&f->url, 0);
	vs_buf_init(&f->headers, 0);
	vs_buf_init(&f->body, 0);
}

static void fake_release(struct fake *f)
{
	vs_buf_release(&f->url);
	vs_buf_release(&f->headers);
	vs_buf_release(&f->body);
}

#define OK_PAGE "<ListBucketResult><IsTruncated>false</IsTruncated>" \
		"</ListBucketResult>"
#define ERR(code) "<Error><Code>" code "</Code><Message>m</Message></Error>"
/* an answer with no Content-Length, no failure */
#define A(status, body) { status, body, NULL, NULL, NULL, -1, 0 }

static struct env creds_env = { {
	"HOME=/nonexistent", "AWS_ACCESS_KEY_ID=" KEY_ID,
	"AWS_SECRET_ACCESS_KEY=" SECRET, "AWS_SESSION_TOKEN=" TOKEN, NULL } };
static struct env anon_env = { { "HOME=/nonexistent", NULL } };

/*
 * Opens s3://bkt/pre at http://127.0.0.1:9 over the fake (answers[0] is
 * the probe's unless no_probe).
 */
static int fake_open(struct fake *f, struct env *e, bool probe,
		     struct vs_transport **t, struct vs_error *err)
{
	struct vs_remote_config cfg = {
		.name = "origin", .url = "s3://bkt/pre",
		.endpoint = "http://127.0.0.1:9",
	};
	struct vs_s3_options o = {
		.getenv_fn = env_get, .getenv_arg = e, .no_probe = !probe,
		.send = fake_send, .send_arg = f, .sleep_fn = fake_sleep,
		.sleep_arg = f, .max_keys = 2,
	};

	vs_error_clear(err);
	return vs_s3_open(&cfg, &o, t, err);
}

/* No credential, nor 8 bytes of one, in msg; one line. */
static void assert_no_credential(const char *msg)
{
	static const char *const creds[] = { SECRET, TOKEN, KEY_ID };
	size_t i, k;

	for (i = 0; i < 3; i++)
		for (k = 0; k + 8 <= strlen(creds[i]); k++) {
			char window[9];

			memcpy(window, creds[i] + k, 8);
			window[8] = '\0';
			if (strstr(msg, window))
				fail_msg("a credential in the message '%s'",
					 msg);
		}
	assert_null(strchr(msg, '\n'));
}

/* --- requests ------------------------------------------------------------------- */

static void test_requests_signed(void **state)
{
	static const struct answer a[] = {
		{ 200, "", "\"etag-1\"", NULL, NULL, 0, 0 },
		{ 206, "3456", "\"etag-1\"", "bytes 3-6/10", NULL, 4, 0 },
		{ 200, NULL, "\"etag-1\"", NULL, NULL, 10, 0 },
		{ 204, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct fake f;
	struct vs_transport *t;
	struct vs_error err;
	struct vs_obj_info info;
	struct vs_buf out = VS_BUF_INIT;
	char hash[VS_SIGV4_HEX_LEN], line[128];

	fake_init(&f, a, 4);
	assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);

	/* a put: the real payload hash, signed with the token */
	assert_int_equal(vs_transport_s3.put(t, "refs/x y", "0123456789", 10,
					     VS_PUT_IF_ABSENT, NULL, &info,
					     &err), 0);
	assert_string_equal(f.method, "PUT");
	assert_string_equal(f.url.data, "http://127.0.0.1:9/bkt/pre/refs/x%20y");
	assert_string_equal(f.body.data, "0123456789");
	vs_sigv4_sha256_hex("0123456789", 10, hash);
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s\n", hash);
	assert_non_null(strstr(f.headers.data, line));
	assert_non_null(strstr(f.headers.data, "host: 127.0.0.1:9\n"));
	assert_non_null(strstr(f.headers.data, "if-none-match: *\n"));
	assert_non_null(strstr(f.headers.data,
			       "x-amz-security-token: " TOKEN "\n"));
	assert_non_null(strstr(f.headers.data, "Authorization: AWS4-HMAC-SHA256 "
			       "Credential=" KEY_ID "/"));
	assert_non_null(strstr(f.headers.data, "/us-east-1/s3/aws4_request, "
			       "SignedHeaders=host;if-none-match;"
			       "x-amz-content-sha256;x-amz-date;"
			       "x-amz-security-token, Signature="));
	assert_null(strstr(f.headers.data, SECRET));
	assert_string_equal(info.etag, "\"etag-1\"");
	assert_int_equal(info.size, 10);

	/* a range */
	assert_int_equal(vs_transport_s3.get(t, "refs/x y", 3, 4, &out, &info,
					     &err), 0);
	assert_string_equal(out.data, "3456");
	assert_int_equal(info.size, 10);
	assert_non_null(strstr(f.headers.data, "range: bytes=3-6\n"));
	assert_non_null(strstr(f.headers.data, "SignedHeaders=host;range;"));

	/* head */
	memset(&info, 0, sizeof(info));
	assert_int_equal(vs_transport_s3.head(t, "refs/x y", &info, &err), 0);
	assert_string_equal(f.method, "HEAD");
	assert_int_equal(info.size, 10);
	assert_string_equal(info.etag, "\"etag-1\"");

	/* delete */
	assert_int_equal(vs_transport_s3.del(t, "refs/x y", &err), 0);
	assert_string_equal(f.method, "DELETE");

	/* bad keys never reach the server */
	assert_int_equal(vs_transport_s3.get(t, "a//b", 0, 0, &out, NULL, &err),
			 VS_E_INVAL);
	assert_int_equal(vs_transport_s3.put(t, "../x", "", 0, 0, NULL, NULL,
					     &err), VS_E_INVAL);
	assert_int_equal(vs_transport_s3.del(t, "/x", &err), VS_E_INVAL);
	assert_int_equal(f.requests, 4);
	vs_transport_s3.free(t);
	vs_buf_release(&out);
	fake_release(&f);
}

static void test_requests_anonymous(void **state)
{
	static const struct answer a[] = {
		A(200, OK_PAGE),
		A(403, ERR("AccessDenied")),
	};
	static const struct answer denied[] = { A(403, ERR("AccessDenied")) };
	struct fake f;
	struct vs_transport *t;
	struct vs_error err;
	struct vs_buf out = VS_BUF_INIT;

	fake_init(&f, a, 2);
	assert_int_equal(fake_open(&f, &anon_env, true, &t, &err), 0);
	assert_null(strstr(f.headers.data, "Authorization"));
	assert_string_equal(f.url.data, "http://127.0.0.1:9/bkt?list-type=2"
			    "&max-keys=1&prefix=pre%2F");
	/* refused: the message says which variables to set */
	assert_int_equal(vs_transport_s3.get(t, "k", 0, 0, &out, NULL, &err),
			 VS_E_REMOTE);
	assert_non_null(strstr(err.msg, "access denied to s3://bkt/pre/k"));
	assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
	assert_non_null(strstr(err.msg, "AWS_PROFILE"));
	vs_transport_s3.free(t);
	fake_release(&f);

	/* and open fails at once when the bucket check is refused */
	fake_init(&f, denied, 1);
	assert_int_equal(fake_open(&f, &anon_env, true, &t, &err), VS_E_REMOTE);
	assert_null(t);
	assert_non_null(strstr(err.msg, "no AWS credentials"));
	fake_release(&f);
	vs_buf_release(&out);
}

/* --- what each answer means ------------------------------------------------------ */

struct mapping {
	const char *op;		/* "get", "put", "head", "del", "open" */
	struct answer answer;
	int code;
	const char *says;
};

static const struct mapping mappings[] = {
	{ "get", A(404, ERR("NoSuchKey")), VS_E_NOTFOUND,
	  "s3://bkt/pre/k: no such key" },
	{ "head", A(404, NULL), VS_E_NOTFOUND, "s3://bkt/pre/k: no such key" },
	{ "get", A(404, ERR("NoSuchBucket")), VS_E_REMOTE,
	  "the bucket 'bkt' does not exist at http://127.0.0.1:9" },
	{ "del", A(404, ERR("NoSuchBucket")), VS_E_REMOTE,
	  "the bucket 'bkt' does not exist at http://127.0.0.1:9" },
	{ "open", A(404, ERR("NoSuchBucket")), VS_E_REMOTE,
	  "the bucket 'bkt' does not exist at http://127.0.0.1:9" },
	{ "open", A(404, NULL), VS_E_REMOTE,
	  "the bucket 'bkt' does not exist at http://127.0.0.1:9" },
	{ "get", A(403, ERR("AccessDenied")), VS_E_REMOTE,
	  "access denied to s3://bkt/pre/k (with the key of AWS_ACCESS_KEY_ID "
	  "and AWS_SECRET_ACCESS_KEY of the environment)" },
	{ "head", A(403, NULL), VS_E_REMOTE, "access denied to s3://bkt/pre/k" },
	{ "put", A(403, ERR("InvalidAccessKeyId")), VS_E_REMOTE,
	  "the access key is not known to http://127.0.0.1:9 (the key of "
	  "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the environment)" },
	{ "open", A(403, ERR("InvalidAccessKeyId")), VS_E_REMOTE,
	  "the access key is not known to http://127.0.0.1:9" },
	{ "open", A(403, ERR("SignatureDoesNotMatch")), VS_E_REMOTE,
	  "the secret key does not match the access key at "
	  "http://127.0.0.1:9 (check AWS_ACCESS_KEY_ID and "
	  "AWS_SECRET_ACCESS_KEY of the environment)" },
	{ "get", A(403, ERR("RequestTimeTooSkewed")), VS_E_REMOTE,
	  "clock is more than 15 minutes off" },
	{ "get", A(400, ERR("ExpiredToken")), VS_E_REMOTE,
	  "the session token has expired" },
	{ "get", A(400, "<Error><Code>AuthorizationHeaderMalformed</Code>"
		   "<Region>eu-west-1</Region></Error>"), VS_E_REMOTE,
	  "the bucket 'bkt' is in the region eu-west-1, not us-east-1: give "
	  "the remote --region eu-west-1" },
	{ "open", { 301, "", NULL, NULL, "ap-south-1", -1, 0 }, VS_E_REMOTE,
	  "is in the region ap-south-1" },
	{ "put", A(412, ERR("PreconditionFailed")), VS_E_CONFLICT,
	  "s3://bkt/pre/k changed" },
	{ "put", A(409, ERR("ConditionalRequestConflict")), VS_E_CONFLICT,
	  "s3://bkt/pre/k changed" },
	{ "put", A(404, ERR("NoSuchKey")), VS_E_CONFLICT,
	  "s3://bkt/pre/k changed: it is not there any more" },
	{ "put", A(404, ERR("NoSuchBucket")), VS_E_REMOTE,
	  "the bucket 'bkt' does not exist" },
	{ "get", A(416, ERR("InvalidRange")), VS_E_INVAL, "past its end" },
	{ "get", A(400, ERR("InvalidArgument")), VS_E_REMOTE,
	  "http://127.0.0.1:9 answered 400 InvalidArgument: m to GET "
	  "s3://bkt/pre/k" },
	{ "get", A(418, "<html>teapot</html>"), VS_E_REMOTE,
	  "http://127.0.0.1:9 answered 418 to GET s3://bkt/pre/k" },
	{ "get", { 0, NULL, NULL, NULL, NULL, -1, 2 }, VS_E_REMOTE,
	  "cannot reach http://127.0.0.1:9/bkt/pre/k: bad URL" },
	{ "del", A(404, ERR("NoSuchKey")), 0, "" },
	{ "open", A(403, ERR("AccessDenied")), 0, "" },
};

static int run_mapping(const struct mapping *m, bool echo,
		       struct vs_error *err)
{
	bool open = !strcmp(m->op, "open");
	struct vs_transport *t = NULL;
	struct vs_buf out = VS_BUF_INIT;
	struct fake f;
	int r;

	fake_init(&f, &m->answer, 1);
	f.echo = echo && m->answer.body && strstr(m->answer.body, "<Message>");
	r = fake_open(&f, &creds_env, open, &t, err);
	if (!open) {
		assert_int_equal(r, 0);
		if (!strcmp(m->op, "get"))
			r = vs_transport_s3.get(t, "k", 0, 0, &out, NULL, err);
		else if (!strcmp(m->op, "put"))
			r = vs_transport_s3.put(t, "k", "v", 1, 0, "\"e\"",
						NULL, err);
		else if (!strcmp(m->op, "head"))
			r = vs_transport_s3.head(t, "k", NULL, err);
		else
			r = vs_transport_s3.del(t, "k", err);
	}
	assert_int_equal(f.next, 1);
	vs_transport_s3.free(t);
	vs_buf_release(&out);
	fake_release(&f);
	return r;
}

static void test_error_mapping(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
		const struct mapping *m = &mappings[i];
		struct vs_error err;
		int r = run_mapping(m, false, &err);

		if (r != m->code)
			fail_msg("%s %ld %s: %d (%s), wanted %d", m->op,
				 m->answer.status, m->answer.body
				 ? m->answer.body : "", r, err.msg, m->code);
		if (r && !strstr(err.msg, m->says))
			fail_msg("%s %ld: '%s' does not say '%s'", m->op,
				 m->answer.status, err.msg, m->says);
		assert_no_credential(err.msg);
	}
}

/* A server that echoes every header it got (the token among them) into its
 * messages: no credential reaches a message all the same. */
static void test_no_credential_in_messages(void **state)
{
	size_t i;
	int echoed = 0;

	for (i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
		struct vs_error err;

		run_mapping(&mappings[i], true, &err);
		assert_no_credential(err.msg);
		if (strstr(err.msg, "[redacted]"))
			echoed++;
	}
	/* the generic messages quote the server: the redaction was needed */
	assert_true(echoed > 0);
}

/* --- retries -------------------------------------------------------------------- */

static void test_backoff(void **state)
{
	uint64_t rnd;
	unsigned retry;

	for (retry = 1; retry < 40; retry++) {
		unsigned d = 100;
		unsigned k;

		for (k = 1; k < retry && d < 5000; k++)
			d *= 2;
		if (d > 5000)
			d = 5000;
		for (rnd = 0; rnd < 5000; rnd += 7) {
			unsigned ms = vs_s3_backoff_ms(retry, 100, 5000,
						       rnd * 0x9e3779b97f4a7c15ull);

			assert_true(ms >= d / 2);
			assert_true(ms <= d);
		}
	}
	assert_int_equal(vs_s3_backoff_ms(1, 100, 5000, 0), 50);
	assert_int_equal(vs_s3_backoff_ms(1, 100, 5000, 50), 100);
	assert_int_equal(vs_s3_backoff_ms(3, 100, 5000, 0), 200);
	assert_int_equal(vs_s3_backoff_ms(30, 100, 5000, 0), 2500);
}

static void test_retries(void **state)
{
	static const struct answer slow[] = {
		A(503, ERR("SlowDown")),
		A(500, ERR("InternalError")),
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },	/* connection reset */
		A(429, NULL),
		A(400, ERR("RequestTimeout")),
		{ 200, "data", "\"e\"", NULL, NULL, 4, 0 },
	};
	static const struct answer never[] = {
		A(503, ERR("SlowDown")), A(503, ERR("SlowDown")),
		A(503, ERR("SlowDown")), A(503, ERR("SlowDown")),
		A(503, ERR("SlowDown")),
	};
	static const struct answer dropped[] = {
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },
	};
	struct vs_remote_config cfg = {
		.url = "s3://bkt/pre", .endpoint = "http://127.0.0.1:9",
	};
	struct vs_s3_options o = {
		.getenv_fn = env_get, .getenv_arg = &creds_env, .no_probe = true,
		.send = fake_send, .sleep_fn = fake_sleep, .attempts = 6,
	};
	struct vs_transport *t;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_error err = { 0 };
	struct fake f;
	size_t i;

	/* five kinds of failure, each retried, then the answer */
	fake_init(&f, slow, 6);
	o.send_arg = o.sleep_arg = &f;
	assert_int_equal(vs_s3_open(&cfg, &o, &t, &err), 0);
	assert_int_equal(vs_transport_s3.get(t, "k", 0, 0, &out, NULL, &err),
			 0);
	assert_string_equal(out.data, "data");
	assert_int_equal(f.requests, 6);
	assert_int_equal(f.nsleeps, 5);
	for (i = 0; i < 5; i++) {
		unsigned d = 100u << i;

		assert_true(f.sleeps[i] >= d / 2 && f.sleeps[i] <= d);
	}
	vs_transport_s3.free(t);
	fake_release(&f);

	/* the default: 5 attempts, then one error naming the URL */
	o.attempts = 0;
	fake_init(&f, never, 5);
	o.send_arg = o.sleep_arg = &f;
	assert_int_equal(vs_s3_open(&cfg, &o, &t, &err), 0);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "k", 0, 0, &out, NULL, &err),
			 VS_E_REMOTE);
	assert_int_equal(f.requests, 5);
	assert_int_equal(f.nsleeps, 4);
	assert_string_equal(err.msg, "GET s3://bkt/pre/k failed 5 times: "
			    "http://127.0.0.1:9 answered 503 SlowDown: m");
	vs_transport_s3.free(t);
	fake_release(&f);

	fake_init(&f, dropped, 5);
	o.send_arg = o.sleep_arg = &f;
	assert_int_equal(vs_s3_open(&cfg, &o, &t, &err), 0);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.put(t, "k", "v", 1, 0, NULL, NULL,
					     &err), VS_E_REMOTE);
	assert_int_equal(f.requests, 5);
	assert_non_null(strstr(err.msg, "PUT s3://bkt/pre/k failed 5 times: "
			       "cannot reach http://127.0.0.1:9/bkt/pre/k"));
	assert_no_credential(err.msg);
	vs_transport_s3.free(t);
	fake_release(&f);
	vs_buf_release(&out);
}

/*
 * A conditional put whose connection dropped may have landed: the retry
 * meets 412, the object is read back, and our own bytes are success.
 */
static void test_conditional_put_retried(void **state)
{
	static const struct answer landed[] = {
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },
		A(412, ERR("PreconditionFailed")),
		{ 200, "new", "\"n\"", NULL, NULL, 3, 0 },
	};
	static const struct answer lost[] = {
		{ 0, NULL, NULL, NULL, NULL, -1, 1 },
		A(412, ERR("PreconditionFailed")),
		{ 200, "other", "\"o\"", NULL, NULL, 5, 0 },
	};
	static const struct answer first[] = {
		A(412, ERR("PreconditionFailed")),
	};
	struct vs_transport *t;
	struct vs_obj_info info;
	struct vs_error err;
	struct fake f;

	fake_init(&f, landed, 3);
	assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);
	assert_int_equal(vs_transport_s3.put(t, "refs/main", "new", 3,
					     VS_PUT_IF_ABSENT, NULL, &info,
					     &err), 0);
	assert_string_equal(info.etag, "\"n\"");
	assert_string_equal(f.method, "GET");
	vs_transport_s3.free(t);
	fake_release(&f);

	fake_init(&f, lost, 3);
	assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);
	assert_int_equal(vs_transport_s3.put(t, "refs/main", "new", 3, 0,
					     "\"old\"", &info, &err),
			 VS_E_CONFLICT);
	assert_int_equal(f.requests, 3);
	vs_transport_s3.free(t);
	fake_release(&f);

	/* a first attempt that meets 412 is a conflict, with no read back */
	fake_init(&f, first, 1);
	assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);
	assert_int_equal(vs_transport_s3.put(t, "refs/main", "new", 3,
					     VS_PUT_IF_ABSENT, NULL, &info,
					     &err), VS_E_CONFLICT);
	assert_non_null(strstr(err.msg, "exists already"));
	assert_non_null(strstr(f.headers.data, "if-none-match: *"));
	assert_int_equal(f.requests, 1);
	vs_transport_s3.free(t);
	fake_release(&f);
}

/* --- ranges --------------------------------------------------------------------- */

static void test_ranges(void **state)
{
	static const struct answer a[] = {
		/* a server that ignores Range: the slice is cut here */
		{ 200, "0123456789", "\"e\"", NULL, NULL, 10, 0 },
		{ 200, "0123456789", "\"e\"", NULL, NULL, 10, 0 },
		{ 200, "0123456789", "\"e\"", NULL, NULL, 10, 0 },
		/* past the end */
		{ 206, "89", NULL, "bytes 8-9/10", NULL, 2, 0 },
		{ 416, ERR("InvalidRange"), NULL, "bytes */10", NULL, -1, 0 },
		{ 416, ERR("InvalidRange"), NULL, "bytes */10", NULL, -1, 0 },
		/* a part that is not the one asked */
		{ 206, "789", NULL, "bytes 7-9/10", NULL, 3, 0 },
		{ 206, "8", NULL, "bytes 8-9/10", NULL, 1, 0 },
		{ 206, "89", NULL, "bytes 8-9/*", NULL, 2, 0 },
	};
	struct vs_transport *t;
	struct vs_obj_info info;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_error err;
	struct fake f;

	fake_init(&f, a, sizeof(a) / sizeof(a[0]));
	assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);
	vs_buf_addstr(&out, ">");
	assert_int_equal(vs_transport_s3.get(t, "k", 2, 3, &out, &info, &err),
			 0);
	assert_string_equal(out.data, ">234");
	assert_non_null(strstr(f.headers.data, "range: bytes=2-4\n"));
	assert_int_equal(info.size, 10);
	assert_int_equal(vs_transport_s3.get(t, "k", 7, 0, &out, &info, &err),
			 0);
	assert_string_equal(out.data, ">234789");
	assert_non_null(strstr(f.headers.data, "range: bytes=7-\n"));
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "k", 8, 5, &out, &info, &err),
			 VS_E_INVAL);
	assert_non_null(strstr(err.msg, "past its end"));
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "k", 8, 5, &out, &info, &err),
			 VS_E_INVAL);
	/* "from the end to the end" is nothing, not an error */
	assert_int_equal(vs_transport_s3.get(t, "k", 10, 0, &out, &info, &err),
			 0);
	assert_int_equal(info.size, 10);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "k", 11, 0, &out, &info, &err),
			 VS_E_INVAL);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "k", 8, 2, &out, &info, &err),
			 VS_E_REMOTE);
	assert_non_null(strstr(err.msg, "not the one asked"));
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "k", 8, 2, &out, &info, &err),
			 VS_E_REMOTE);
	assert_int_equal(vs_transport_s3.get(t, "k", 8, 2, &out, &info, &err),
			 0);
	assert_string_equal(out.data, ">23478989");
	assert_int_equal(info.size, 10);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "k", UINT64_MAX, 2, &out, &info,
					     &err), VS_E_INVAL);
	assert_int_equal(f.requests, sizeof(a) / sizeof(a[0]));
	vs_transport_s3.free(t);
	vs_buf_release(&out);
	fake_release(&f);
}

/* --- listings ------------------------------------------------------------------- */

struct seen {
	char keys[16][32];
	uint64_t sizes[16];
	int n, stop_at;
};

static int collect(void *arg, const char *key, uint64_t size)
{
	struct seen *s = arg;

	if (s->n < 16) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
		s->sizes[s->n] = size;
	}
	s->n++;
	return s->n == s->stop_at ? 42 : 0;
}

#define PAGE(contents, tail) "<ListBucketResult>" contents tail \
			     "</ListBucketResult>"
#define ENTRY(k, s) "<Contents><Key>" k "</Key><Size>" s "</Size></Contents>"
#define MORE(tok) "<IsTruncated>true</IsTruncated><NextContinuationToken>" \
		  tok "</NextContinuationToken>"
#define LAST "<IsTruncated>false</IsTruncated>"

static void test_list(void **state)
{
	static const struct answer pages[] = {
		A(200, PAGE(ENTRY("pre/packs/a", "1") ENTRY("pre/packs/b", "2"),
			    MORE("t+1/="))),
		A(200, PAGE(ENTRY("pre/packs/c", "3"), MORE("t2"))),
		A(200, PAGE("", LAST)),
	};
	static const struct answer stop[] = {
		A(200, PAGE(ENTRY("pre/a", "1") ENTRY("pre/b", "2"), MORE("t"))),
	};
	static const struct answer bad[][2] = {
		{ A(200, PAGE(ENTRY("other/a", "1"), LAST)) },
		{ A(200, PAGE(ENTRY("pre/b", "1") ENTRY("pre/a", "1"), LAST)) },
		{ A(200, PAGE(ENTRY("pre/a", "1"), MORE("t"))),
		  A(200, PAGE(ENTRY("pre/b", "1"), MORE("t"))) },
		{ A(200, "<html/>") },
		{ A(404, ERR("NoSuchBucket")) },
	};
	static const char *const why[] = {
		"which is not under s3://bkt/pre/", "not in byte order",
		"the same continuation token twice", "cannot be read",
		"does not exist",
	};
	struct vs_transport *t;
	struct vs_error err;
	struct seen s;
	struct fake f;
	size_t i;

	fake_init(&f, pages, 3);
	assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(vs_transport_s3.list(t, "packs/", collect, &s, &err),
			 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.keys[0], "packs/a");
	assert_string_equal(s.keys[2], "packs/c");
	assert_int_equal(s.sizes[1], 2);
	/* the last page's request carried the token, encoded */
	assert_string_equal(f.url.data, "http://127.0.0.1:9/bkt?list-type=2"
			    "&continuation-token=t2&max-keys=2"
			    "&prefix=pre%2Fpacks%2F");
	vs_transport_s3.free(t);
	fake_release(&f);

	/* a nonzero return stops the listing and is returned */
	fake_init(&f, stop, 1);
	assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(vs_transport_s3.list(t, "", collect, &s, &err), 42);
	assert_int_equal(s.n, 1);
	vs_transport_s3.free(t);
	fake_release(&f);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_init(&f, bad[i], bad[i][1].status ? 2 : 1);
		assert_int_equal(fake_open(&f, &creds_env, false, &t, &err), 0);
		memset(&s, 0, sizeof(s));
		vs_error_clear(&err);
		assert_int_equal(vs_transport_s3.list(t, "", collect, &s, &err),
				 VS_E_REMOTE);
		if (!strstr(err.msg, why[i]))
			fail_msg("'%s' does not say '%s'", err.msg, why[i]);
		vs_transport_s3.free(t);
		fake_release(&f);
	}
}

/* --- against a real server (VARVE_TEST_S3_ENDPOINT) ------------------------------ */

static const char *live_endpoint, *live_bucket;

static struct env live_env = { {
	"HOME=/nonexistent",
	"AWS_ACCESS_KEY_ID=S3RVER",
	"AWS_SECRET_ACCESS_KEY=S3RVER",
	"AWS_SESSION_TOKEN=" TOKEN,
	NULL } };

static int live_open(const char *url, struct env *e, unsigned max_keys,
		     struct vs_transport **t, struct vs_error *err)
{
	struct vs_remote_config cfg = {
		.name = "origin", .url = (char *)url,
		.endpoint = (char *)live_endpoint,
	};
	struct vs_s3_options o = {
		.getenv_fn = env_get, .getenv_arg = e, .max_keys = max_keys,
		.attempts = 2, .base_delay_ms = 10,
	};

	vs_error_clear(err);
	return vs_s3_open(&cfg, &o, t, err);
}

static void live_url(char *buf, size_t size, const char *prefix)
{
	snprintf(buf, size, "s3://%s/%s", live_bucket, prefix);
}

static void test_live_objects(void **state)
{
	struct vs_transport *t;
	struct vs_error err;
	struct vs_obj_info info, hinfo;
	struct vs_buf out = VS_BUF_INIT, big = VS_BUF_INIT;
	char url[256];
	size_t i;
	int r;

	live_url(url, sizeof(url), "unit/objects");
	r = live_open(url, &live_env, 0, &t, &err);
	if (r)
		fail_msg("open %s at %s: %s", url, live_endpoint, err.msg);

	/* put, get, head of a 3 MiB object with every byte value */
	for (i = 0; i < 3u << 20; i++)
		vs_buf_addch(&big, (int)((i * 131 + i / 977) & 0xff));
	assert_int_equal(vs_transport_s3.put(t, "packs/00/big.pack", big.data,
					     big.len, 0, NULL, &info, &err), 0);
	assert_true(info.etag[0] != '\0');
	assert_int_equal(vs_transport_s3.get(t, "packs/00/big.pack", 0, 0, &out,
					     &info, &err), 0);
	assert_int_equal(out.len, big.len);
	assert_memory_equal(out.data, big.data, big.len);
	assert_int_equal(info.size, big.len);
	assert_int_equal(vs_transport_s3.head(t, "packs/00/big.pack", &hinfo,
					      &err), 0);
	assert_int_equal(hinfo.size, big.len);
	assert_string_equal(hinfo.etag, info.etag);

	/* ranges: middle, to the end, past the end */
	vs_buf_reset(&out);
	assert_int_equal(vs_transport_s3.get(t, "packs/00/big.pack", 1000003,
					     4096, &out, &info, &err), 0);
	assert_int_equal(out.len, 4096);
	assert_memory_equal(out.data, big.data + 1000003, 4096);
	assert_int_equal(info.size, big.len);
	vs_buf_reset(&out);
	assert_int_equal(vs_transport_s3.get(t, "packs/00/big.pack",
					     big.len - 10, 0, &out, &info,
					     &err), 0);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.data, big.data + big.len - 10, 10);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "packs/00/big.pack",
					     big.len - 10, 20, &out, &info,
					     &err), VS_E_INVAL);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "packs/00/big.pack",
					     big.len + 5, 0, &out, &info, &err),
			 VS_E_INVAL);

	/* an empty object, a key with awkward characters */
	assert_int_equal(vs_transport_s3.put(t, "refs/empty", "", 0, 0, NULL,
					     NULL, &err), 0);
	vs_buf_reset(&out);
	assert_int_equal(vs_transport_s3.get(t, "refs/empty", 0, 0, &out, &info,
					     &err), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(info.size, 0);
	assert_int_equal(vs_transport_s3.put(t, "refs/a b+c=d&e~f%g", "x", 1, 0,
					     NULL, NULL, &err), 0);
	vs_buf_reset(&out);
	assert_int_equal(vs_transport_s3.get(t, "refs/a b+c=d&e~f%g", 0, 0,
					     &out, NULL, &err), 0);
	assert_string_equal(out.data, "x");

	/* missing keys, delete */
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.get(t, "refs/none", 0, 0, &out, NULL,
					     &err), VS_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "no such key"));
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.head(t, "refs/none", NULL, &err),
			 VS_E_NOTFOUND);
	assert_int_equal(vs_transport_s3.del(t, "refs/empty", &err), 0);
	assert_int_equal(vs_transport_s3.del(t, "refs/empty", &err), 0);
	vs_error_clear(&err);
	assert_int_equal(vs_transport_s3.head(t, "refs/empty", NULL, &err),
			 VS_E_NOTFOUND);

	/*
	 * Conditional puts: s3rver ignores If-None-Match and If-Match on a
	 * PUT (transport.h note 3), so the put succeeds there; S3 answers
	 * 412, which the fake server's tests check.
	 */
	r = vs_transport_s3.put(t, "refs/a b+c=d&e~f%g", "y", 1,
				VS_PUT_IF_ABSENT, NULL, NULL, &err);
	assert_true(r == 0 || r == VS_E_CONFLICT);
	print_message("conditional put on an existing key: %s\n",
		      r ? "refused (412)" : "accepted: the server ignores "
		      "If-None-Match");
	vs_transport_s3.free(t);
	vs_buf_release(&big);
	vs_buf_release(&out);
}

struct live_list {
	int n;
	char last[64];
	bool ordered;
};

static int live_collect(void *arg, const char *key, uint64_t size)
{
	struct live_list *l = arg;

	if (l->n && strcmp(l->last, key) >= 0)
		l->ordered = false;
	snprintf(l->last, sizeof(l->last), "%s", key);
	l->n++;
	return 0;
}

struct live_worker {
	struct vs_transport *t;
	int first, count;
	int failures;
	char msg[1100];
};

static void *live_put_get(void *arg)
{
	struct live_worker *w = arg;
	struct vs_buf out = VS_BUF_INIT;
	int i;

	for (i = w->first; i < w->first + w->count; i++) {
		struct vs_error err = { 0 };
		char key[64], val[64];

		snprintf(key, sizeof(key), "chunks/%04d", i);
		snprintf(val, sizeof(val), "value of %d", i);
		vs_buf_reset(&out);
		if (vs_transport_s3.put(w->t, key, val, strlen(val), 0, NULL,
					NULL, &err) ||
		    vs_transport_s3.get(w->t, key, 0, 0, &out, NULL, &err) ||
		    strcmp(out.data, val)) {
			w->failures++;
			snprintf(w->msg, sizeof(w->msg), "%s: %s", key,
				 err.msg);
		}
	}
	vs_buf_release(&out);
	return NULL;
}

/* 8 threads on one transport (transport.h note 4), then listings across
 * pages: more than 1000 keys, and pages of 7. */
static void test_live_threads_and_listing(void **state)
{
	enum { THREADS = 8, PER = 138 };	/* 1104 keys */
	struct live_worker w[THREADS];
	pthread_t tid[THREADS];
	struct vs_transport *t, *t7;
	struct live_list l;
	struct vs_error err;
	char url[256];
	int i;

	live_url(url, sizeof(url), "unit/list");
	assert_int_equal(live_open(url, &live_env, 0, &t, &err), 0);
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].t = t;
		w[i].first = i * PER;
		w[i].count = PER;
		assert_int_equal(pthread_create(&tid[i], NULL, live_put_get,
						&w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		if (w[i].failures)
			fail_msg("thread %d: %d failures, the last %s", i,
				 w[i].failures, w[i].msg);
	}
	/* the listing of 1000 keys a page */
	memset(&l, 0, sizeof(l));
	l.ordered = true;
	assert_int_equal(vs_transport_s3.list(t, "chunks/", live_collect, &l,
					      &err), 0);
	assert_int_equal(l.n, THREADS * PER);
	assert_true(l.ordered);
	assert_string_equal(l.last, "chunks/1103");
	/* of 7 a page */
	assert_int_equal(live_open(url, &live_env, 7, &t7, &err), 0);
	memset(&l, 0, sizeof(l));
	l.ordered = true;
	assert_int_equal(vs_transport_s3.list(t7, "chunks/00", live_collect, &l,
					      &err), 0);
	assert_int_equal(l.n, 100);
	assert_true(l.ordered);
	memset(&l, 0, sizeof(l));
	assert_int_equal(vs_transport_s3.list(t7, "nothing/", live_collect, &l,
					      &err), 0);
	assert_int_equal(l.n, 0);
	vs_transport_s3.free(t7);
	vs_transport_s3.free(t);
}

static void test_live_refusals(void **state)
{
	struct env wrong_key = { {
		"HOME=/nonexistent", "AWS_ACCESS_KEY_ID=" KEY_ID,
		"AWS_SECRET_ACCESS_KEY=" SECRET, NULL } };
	struct env wrong_secret = { {
		"HOME=/nonexistent", "AWS_ACCESS_KEY_ID=S3RVER",
		"AWS_SECRET_ACCESS_KEY=" SECRET, NULL } };
	struct vs_transport *t;
	struct vs_error err;
	char url[256];
	int r;

	/* an access key the server does not know: refused at open */
	live_url(url, sizeof(url), "unit");
	assert_int_equal(live_open(url, &wrong_key, 0, &t, &err), VS_E_REMOTE);
	assert_null(t);
	if (!strstr(err.msg, "the access key is not known to"))
		fail_msg("%s", err.msg);
	assert_non_null(strstr(err.msg, live_endpoint));
	assert_no_credential(err.msg);
	print_message("wrong access key: %s\n", err.msg);

	/* a bucket that does not exist */
	assert_int_equal(live_open("s3://no-such-bucket-varve/x", &live_env, 0,
				   &t, &err), VS_E_REMOTE);
	if (!strstr(err.msg, "the bucket 'no-such-bucket-varve' does not "
		    "exist at"))
		fail_msg("%s", err.msg);
	assert_no_credential(err.msg);
	print_message("unknown bucket: %s\n", err.msg);

	/*
	 * A wrong secret: s3rver does not check SigV4 signatures (it checks
	 * only that the access key exists), so it accepts the request; S3
	 * answers SignatureDoesNotMatch, which the fake server's tests map.
	 */
	r = live_open(url, &wrong_secret, 0, &t, &err);
	print_message("wrong secret key: %s\n",
		      r ? err.msg : "accepted: the server does not check "
		      "SigV4 signatures");
	if (r) {
		assert_non_null(strstr(err.msg, "the secret key does not match"));
		assert_no_credential(err.msg);
	} else {
		vs_transport_s3.free(t);
	}

	/* nobody listening: retried, then one error naming the URL */
	assert_int_equal(live_open(url, &live_env, 0, &t, &err), 0);
	vs_transport_s3.free(t);
	{
		const char *saved = live_endpoint;

		live_endpoint = "http://127.0.0.1:1";
		assert_int_equal(live_open(url, &live_env, 0, &t, &err),
				 VS_E_REMOTE);
		live_endpoint = saved;
		if (!strstr(err.msg, "failed 2 times: cannot reach "
			    "http://127.0.0.1:1/"))
			fail_msg("%s", err.msg);
		print_message("no server: %s\n", err.msg);
	}
}

/*
 * Through transport.h's dispatch, as the remote protocol opens remotes:
 * the config has no endpoint, the thread's environment (a forwarded
 * command's, in the daemon) gives it and the credentials.
 */
static void test_live_dispatch(void **state)
{
	char ep[300], url[256];
	struct env e = { {
		"HOME=/nonexistent", "AWS_ACCESS_KEY_ID=S3RVER",
		"AWS_SECRET_ACCESS_KEY=S3RVER", ep, NULL } };
	struct vs_remote_config cfg = { .name = "origin", .url = url };
	struct vs_transport *t = NULL;
	struct vs_buf out = VS_BUF_INIT;
	struct vs_obj_info info;
	struct vs_error err = { 0 };
	int r;

	snprintf(ep, sizeof(ep), "AWS_ENDPOINT_URL_S3=%s", live_endpoint);
	live_url(url, sizeof(url), "unit/dispatch");
	vs_creds_set_thread_env(env_get, &e);
	r = vs_transport_open(&cfg, &t, &err);
	vs_creds_set_thread_env(NULL, NULL);
	if (r)
		fail_msg("%s", err.msg);
	assert_int_equal(vs_transport_put(t, "refs/heads/main", "abc", 3, 0,
					  NULL, &info, &err), 0);
	assert_int_equal(vs_transport_get(t, "refs/heads/main", 1, 2, &out,
					  &info, &err), 0);
	assert_string_equal(out.data, "bc");
	assert_int_equal(info.size, 3);
	assert_int_equal(vs_transport_delete(t, "refs/heads/main", &err), 0);
	vs_transport_free(t);
	vs_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_aws),
		cmocka_unit_test(test_target_endpoint),
		cmocka_unit_test_setup_teardown(test_target_region, home_setup,
						home_teardown),
		cmocka_unit_test(test_target_bad),
		cmocka_unit_test(test_creds_env),
		cmocka_unit_test_setup_teardown(test_creds_profile, home_setup,
						home_teardown),
		cmocka_unit_test(test_creds_thread_env),
		cmocka_unit_test(test_xml_list),
		cmocka_unit_test(test_xml_list_malformed),
		cmocka_unit_test(test_xml_error),
		cmocka_unit_test(test_requests_signed),
		cmocka_unit_test(test_requests_anonymous),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_no_credential_in_messages),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_conditional_put_retried),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_list),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_objects),
		cmocka_unit_test(test_live_threads_and_listing),
		cmocka_unit_test(test_live_refusals),
		cmocka_unit_test(test_live_dispatch),
	};
	int r;

	r = cmocka_run_group_tests_name("s3 offline", tests, NULL, NULL);
	live_endpoint = getenv("VARVE_TEST_S3_ENDPOINT");
	live_bucket = getenv("VARVE_TEST_S3_BUCKET");
	if (r || !live_endpoint || !*live_endpoint)
		return r;
	if (!live_bucket || !*live_bucket)
		live_bucket = "varve-test";
	return cmocka_run_group_tests_name("s3 live", live, NULL, NULL);
}
