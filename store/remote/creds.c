/*
 * creds.c - AWS credentials and region from the environment and the AWS
 * profile files (the rules are creds.h's).  s3.c calls it once per opened
 * transport.
 *
 * The profile files are read the way botocore's configparser reads them:
 * "[section]" headers, "key = value" lines (keys without case, values
 * trimmed, no inline comments: a secret may hold '#'), '#' and ';'
 * comment lines, and indented lines that continue the key before them
 * (nested settings such as "s3 =\n  addressing_style = path"), which
 * varve skips.  A section given twice is merged, the last value winning.
 */
#include "creds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "banned.h"

/* Profile files larger than this are refused: nobody writes one. */
#define CREDS_FILE_MAX (1u << 20)

/* --- the environment ------------------------------------------------------ */

const char *vs_creds_process_getenv(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

static _Thread_local vs_creds_getenv_fn thread_env_fn;
static _Thread_local void *thread_env_arg;

void vs_creds_set_thread_env(vs_creds_getenv_fn fn, void *arg)
{
	thread_env_fn = fn;
	thread_env_arg = fn ? arg : NULL;
}

void vs_creds_thread_env(vs_creds_getenv_fn *fn, void **arg)
{
	if (thread_env_fn) {
		*fn = thread_env_fn;
		*arg = thread_env_arg;
	} else {
		*fn = vs_creds_process_getenv;
		*arg = NULL;
	}
}

/* A variable's value, NULL when unset or empty (the AWS tools ignore an
 * empty one). */
static const char *env(vs_creds_getenv_fn fn, void *arg, const char *name)
{
	const char *v = fn(arg, name);

	return v && *v ? v : NULL;
}

/* --- secrets -------------------------------------------------------------- */

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void vs_creds_init(struct vs_creds *c)
{
	c->access_key_id = NULL;
	c->secret_access_key = NULL;
	c->session_token = NULL;
	c->source[0] = '\0';
}

void vs_creds_release(struct vs_creds *c)
{
	free(c->access_key_id);
	free_secret(c->secret_access_key);
	free_secret(c->session_token);
	vs_creds_init(c);
}

/* --- the profile files ---------------------------------------------------- */

/* The keys of a profile that varve reads or recognises. */
enum pkey {
	PK_ACCESS_KEY_ID,
	PK_SECRET_ACCESS_KEY,
	PK_SESSION_TOKEN,
	PK_REGION,
	/* profiles whose keys come from elsewhere */
	PK_ROLE_ARN,
	PK_CREDENTIAL_PROCESS,
	PK_SSO_START_URL,
	PK_SSO_SESSION,
	PK_WEB_IDENTITY_TOKEN_FILE,
	PK_COUNT
};

static const char *const pkey_names[PK_COUNT] = {
	[PK_ACCESS_KEY_ID] = "aws_access_key_id",
	[PK_SECRET_ACCESS_KEY] = "aws_secret_access_key",
	[PK_SESSION_TOKEN] = "aws_session_token",
	[PK_REGION] = "region",
	[PK_ROLE_ARN] = "role_arn",
	[PK_CREDENTIAL_PROCESS] = "credential_process",
	[PK_SSO_START_URL] = "sso_start_url",
	[PK_SSO_SESSION] = "sso_session",
	[PK_WEB_IDENTITY_TOKEN_FILE] = "web_identity_token_file",
};

/* What one file says of one profile. */
struct profile {
	bool found;		/* the file has the profile's section */
	char *v[PK_COUNT];	/* values (secrets among them), or NULL */
};

static void profile_release(struct profile *p)
{
	int i;

	for (i = 0; i < PK_COUNT; i++) {
		free_secret(p->v[i]);
		p->v[i] = NULL;
	}
	p->found = false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* <s, len> without leading and trailing white space. */
static void trim(const char **s, size_t *len)
{
	while (*len && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_space((*s)[*len - 1]))
		(*len)--;
}

/*
 * Is the section header <s, len> (between the brackets, trimmed) the
 * profile's?  Credentials file: "NAME".  Config file: "profile NAME", or
 * "default" for the default profile.
 */
static bool section_is(const char *s, size_t len, const char *profile,
		       bool config)
{
	size_t plen = strlen(profile);

	if (config && len > 7 && !strncmp(s, "profile", 7) && is_space(s[7])) {
		s += 8;
		len -= 8;
		trim(&s, &len);
		return len == plen && !memcmp(s, profile, plen);
	}
	if (config && strcmp(profile, "default"))
		return false;
	return len == plen && !memcmp(s, profile, plen);
}

/* Collects the keys of profile's sections in <text, len> into p. */
static void profile_parse(const char *text, size_t len, const char *profile,
			  bool config, struct profile *p)
{
	const char *line = text, *end = text + len;
	bool in = false;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		const char *s = line, *eq;
		size_t sl = n;
		bool indented = n && is_space(line[0]) && line[0] != '\r';

		line += n + 1;
		trim(&s, &sl);
		if (!sl || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '[') {
			const char *close = memchr(s, ']', sl);
			size_t hl;

			in = false;
			if (!close)
				continue;
			s++;
			hl = (size_t)(close - s);
			trim(&s, &hl);
			in = section_is(s, hl, profile, config);
			if (in)
				p->found = true;
			continue;
		}
		if (!in || indented)
			continue;
		eq = memchr(s, '=', sl);
		if (!eq)
			continue;
		{
			const char *k = s, *v = eq + 1;
			size_t kl = (size_t)(eq - s), vl = sl - kl - 1;
			int i;

			trim(&k, &kl);
			trim(&v, &vl);
			for (i = 0; i < PK_COUNT; i++) {
				size_t j;

				if (strlen(pkey_names[i]) != kl)
					continue;
				for (j = 0; j < kl; j++)
					if (tolower((unsigned char)k[j]) !=
					    pkey_names[i][j])
						break;
				if (j < kl)
					continue;
				free_secret(p->v[i]);
				p->v[i] = vl ? vs_xmemdupz(v, vl) : NULL;
			}
		}
	}
}

/* HOME of the environment, else of the user. Borrowed or NULL. */
static const char *home_dir(vs_creds_getenv_fn fn, void *arg)
{
	const char *h = env(fn, arg, "HOME");
	struct passwd *pw;

	if (h)
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
}

/*
 * The path of a profile file (caller frees): the variable var if set
 * ("~/" expanded), else ~/<deflt>.  NULL when neither can be known.
 */
static char *file_path(vs_creds_getenv_fn fn, void *arg, const char *var,
		       const char *deflt)
{
	const char *v = env(fn, arg, var), *home = home_dir(fn, arg);
	struct vs_buf b = VS_BUF_INIT;

	if (v && strncmp(v, "~/", 2))
		return vs_xstrdup(v);
	if (!home)
		return NULL;
	vs_buf_addf(&b, "%s/%s", home, v ? v + 2 : deflt);
	return vs_buf_detach(&b, NULL);
}

/*
 * Reads profile's section of the file at path into p.  A missing file (or
 * none known) leaves p empty: 0.  -errno with a message for a file that
 * cannot be read or is too large.  The file's bytes are wiped.
 */
static int profile_read(const char *path, const char *profile, bool config,
			struct profile *p, struct vs_error *err)
{
	struct vs_buf text = VS_BUF_INIT;
	struct stat st;
	int fd, r = 0;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		r = -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}
	if (st.st_size > CREDS_FILE_MAX) {
		r = -EFBIG;
		goto out_close;
	}
	vs_buf_grow(&text, (size_t)st.st_size + 1);
	for (;;) {
		ssize_t n;

		vs_buf_grow(&text, 4096);
		n = read(fd, text.data + text.len, text.cap - text.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (!n)
			break;
		vs_buf_setlen(&text, text.len + (size_t)n);
		if (text.len > CREDS_FILE_MAX) {
			r = -EFBIG;
			break;
		}
	}
	if (!r)
		profile_parse(text.data, text.len, profile, config, p);
	if (text.cap)
		explicit_bzero(text.data, text.cap);
	vs_buf_release(&text);
out_close:
	close(fd);
out:
	if (r < 0)
		vs_error_set(err, r, "cannot read '%s': %s", path,
			     r == -EFBIG ? "larger than 1 MiB"
			     : r == -EINVAL ? "not a regular file"
					    : strerror(-r));
	return r;
}

static const char *profile_name(vs_creds_getenv_fn fn, void *arg,
				bool *explicit)
{
	const char *p = env(fn, arg, "AWS_PROFILE");

	if (!p)
		p = env(fn, arg, "AWS_DEFAULT_PROFILE");
	*explicit = p != NULL;
	return p ? p : "default";
}

/* Both files' view of the profile: [0] credentials, [1] config. */
struct profiles {
	const char *name;
	bool explicit;		/* named by AWS_PROFILE */
	char *path[2];
	struct profile p[2];
};

static void profiles_release(struct profiles *ps)
{
	int i;

	for (i = 0; i < 2; i++) {
		free(ps->path[i]);
		profile_release(&ps->p[i]);
	}
}

static int profiles_read(struct profiles *ps, vs_creds_getenv_fn fn,
			 void *arg, struct vs_error *err)
{
	int r;

	memset(ps, 0, sizeof(*ps));
	ps->name = profile_name(fn, arg, &ps->explicit);
	ps->path[0] = file_path(fn, arg, "AWS_SHARED_CREDENTIALS_FILE",
				".aws/credentials");
	ps->path[1] = file_path(fn, arg, "AWS_CONFIG_FILE", ".aws/config");
	r = profile_read(ps->path[0], ps->name, false, &ps->p[0], err);
	if (!r)
		r = profile_read(ps->path[1], ps->name, true, &ps->p[1], err);
	return r;
}

/* The profile's value of key: the credentials file's, else the config's. */
static const char *profiles_get(const struct profiles *ps, enum pkey k,
				int *which)
{
	int i;

	for (i = 0; i < 2; i++)
		if (ps->p[i].v[k]) {
			if (which)
				*which = i;
			return ps->p[i].v[k];
		}
	return NULL;
}

/* --- credentials ---------------------------------------------------------- */

static int from_env(struct vs_creds *c, vs_creds_getenv_fn fn, void *arg,
		    struct vs_error *err)
{
	const char *id = env(fn, arg, "AWS_ACCESS_KEY_ID");
	const char *secret = env(fn, arg, "AWS_SECRET_ACCESS_KEY");
	const char *token = env(fn, arg, "AWS_SESSION_TOKEN");

	if (!id && !secret)
		return VS_E_NOTFOUND;
	if (!id || !secret)
		return vs_error_set(err, VS_E_INVAL,
				    "%s is set in the environment but %s is "
				    "not: set both, or neither to use a profile",
				    id ? "AWS_ACCESS_KEY_ID"
				       : "AWS_SECRET_ACCESS_KEY",
				    id ? "AWS_SECRET_ACCESS_KEY"
				       : "AWS_ACCESS_KEY_ID");
	c->access_key_id = vs_xstrdup(id);
	c->secret_access_key = vs_xstrdup(secret);
	c->session_token = token ? vs_xstrdup(token) : NULL;
	snprintf(c->source, sizeof(c->source),
		 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the "
		 "environment");
	return 0;
}

/* The message for a profile whose keys come from elsewhere, or NULL. */
static const char *indirect_kind(const struct profiles *ps)
{
	if (profiles_get(ps, PK_ROLE_ARN, NULL))
		return profiles_get(ps, PK_WEB_IDENTITY_TOKEN_FILE, NULL)
			       ? "web identity (role_arn, web_identity_token_file)"
			       : "an assumed role (role_arn)";
	if (profiles_get(ps, PK_CREDENTIAL_PROCESS, NULL))
		return "a credential_process";
	if (profiles_get(ps, PK_SSO_START_URL, NULL) ||
	    profiles_get(ps, PK_SSO_SESSION, NULL))
		return "IAM Identity Center (sso_*)";
	if (profiles_get(ps, PK_WEB_IDENTITY_TOKEN_FILE, NULL))
		return "web identity (web_identity_token_file)";
	return NULL;
}

static int from_profile(struct vs_creds *c, const struct profiles *ps,
			struct vs_error *err)
{
	int which = 0, swhich = 0;
	const char *id = profiles_get(ps, PK_ACCESS_KEY_ID, &which);
	const char *secret = profiles_get(ps, PK_SECRET_ACCESS_KEY, &swhich);
	const char *token = profiles_get(ps, PK_SESSION_TOKEN, NULL);
	const char *kind;

	if (!ps->p[0].found && !ps->p[1].found) {
		if (ps->explicit)
			return vs_error_set(err, VS_E_INVAL,
					    "the AWS profile '%s' (AWS_PROFILE) "
					    "is in neither '%s' nor '%s'",
					    ps->name,
					    ps->path[0] ? ps->path[0] : "~/.aws/credentials",
					    ps->path[1] ? ps->path[1] : "~/.aws/config");
		return VS_E_NOTFOUND;
	}
	if (!id && !secret) {
		kind = indirect_kind(ps);
		if (kind)
			return vs_error_set(err, VS_E_INVAL,
					    "the AWS profile '%s' gets its keys "
					    "from %s, which varve cannot use: "
					    "export them with `aws configure "
					    "export-credentials --profile %s "
					    "--format env`", ps->name, kind,
					    ps->name);
		if (ps->explicit)
			return vs_error_set(err, VS_E_INVAL,
					    "the AWS profile '%s' (AWS_PROFILE) "
					    "has no aws_access_key_id and "
					    "aws_secret_access_key", ps->name);
		return VS_E_NOTFOUND;
	}
	if (!id || !secret)
		return vs_error_set(err, VS_E_INVAL,
				    "the AWS profile '%s' in '%s' has %s but "
				    "not %s", ps->name,
				    ps->path[id ? which : swhich],
				    id ? "aws_access_key_id"
				       : "aws_secret_access_key",
				    id ? "aws_secret_access_key"
				       : "aws_access_key_id");
	c->access_key_id = vs_xstrdup(id);
	c->secret_access_key = vs_xstrdup(secret);
	c->session_token = token ? vs_xstrdup(token) : NULL;
	snprintf(c->source, sizeof(c->source), "the AWS profile '%s' of '%s'",
		 ps->name, ps->path[which]);
	return 0;
}

int vs_creds_load(struct vs_creds *c, vs_creds_getenv_fn getenv_fn,
		  void *arg, struct vs_error *err)
{
	struct profiles ps;
	int r;

	r = from_env(c, getenv_fn, arg, err);
	if (r != VS_E_NOTFOUND)
		return r;
	r = profiles_read(&ps, getenv_fn, arg, err);
	if (!r)
		r = from_profile(c, &ps, err);
	if (r == VS_E_NOTFOUND)
		vs_error_set(err, r,
			     "no AWS credentials: set AWS_ACCESS_KEY_ID and "
			     "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
			     "for temporary ones), or AWS_PROFILE to a "
			     "profile of %s", ps.path[0] ? ps.path[0]
						  : "~/.aws/credentials");
	profiles_release(&ps);
	if (r < 0)
		vs_creds_release(c);
	return r;
}

int vs_creds_region(vs_creds_getenv_fn getenv_fn, void *arg, char **region,
		    struct vs_error *err)
{
	const char *v = env(getenv_fn, arg, "AWS_REGION");
	struct profiles ps;
	int r;

	*region = NULL;
	if (!v)
		v = env(getenv_fn, arg, "AWS_DEFAULT_REGION");
	if (v) {
		*region = vs_xstrdup(v);
		return 0;
	}
	r = profiles_read(&ps, getenv_fn, arg, err);
	if (!r && ps.p[1].v[PK_REGION])
		*region = vs_xstrdup(ps.p[1].v[PK_REGION]);
	profiles_release(&ps);
	return r;
}
