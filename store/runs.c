/*
 * runs.c - CI run records: their encoding, detection from a provider's
 * environment, recording in VS_CF_RUNS, tagging snapshots for a run, and
 * the lineage walk (formats and rules in runs.h's design notes).
 *
 * Like object.c, the decoder accepts exactly what the encoder writes, so a
 * fuzzer can check decode -> encode == input; strings of a fresh run point
 * at one shared, never written "" (vs_run_nostr), replaced only through
 * vs_run_set().
 */
#include "runs.h"
#include "store_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "object.h"

#include "xalloc.h"
#include "banned.h"

/* Smallest snap: repo "models/x" (1 + 8), id, three empty strings. */
#define VS_RUN_SNAP_MIN (1 + 8 + VS_ID_LEN + 3)

static char vs_run_nostr[1];

static void str_free(char *s)
{
	if (s != vs_run_nostr)
		free(s);
}

const char *vs_run_role_name(enum vs_run_role role)
{
	return role == VS_RUN_PRODUCED ? "produced" : "used";
}

/* --- the value ------------------------------------------------------- */

void vs_run_init(struct vs_run *r)
{
	r->provider = r->run_id = vs_run_nostr;
	r->attempt = 0;
	r->url = r->commit = r->ref = r->repository = vs_run_nostr;
	r->workflow = r->job = r->job_id = vs_run_nostr;
	r->time = 0;
	r->ninputs = r->noutputs = 0;
	r->inputs = r->outputs = NULL;
}

static void snaps_release(struct vs_run_snap *snaps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		str_free(snaps[i].tag);
		str_free(snaps[i].job);
		str_free(snaps[i].job_id);
	}
	free(snaps);
}

void vs_run_release(struct vs_run *r)
{
	str_free(r->provider);
	str_free(r->run_id);
	str_free(r->url);
	str_free(r->commit);
	str_free(r->ref);
	str_free(r->repository);
	str_free(r->workflow);
	str_free(r->job);
	str_free(r->job_id);
	snaps_release(r->inputs, r->ninputs);
	snaps_release(r->outputs, r->noutputs);
	vs_run_init(r);
}

void vs_run_set(char **field, const char *value)
{
	char *copy = vs_xstrdup(value ? value : "");

	str_free(*field);
	*field = copy;
}

static bool snap_has(const struct vs_run_snap *snaps, size_t n,
		     const struct vs_repo *repo, const struct vs_id *commit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (vs_id_equal(&snaps[i].commit, commit) &&
		    !strcmp(snaps[i].repo.full, repo->full))
			return true;
	return false;
}

bool vs_run_add_snap(struct vs_run *r, enum vs_run_role role,
		     const struct vs_repo *repo, const struct vs_id *commit,
		     const char *tag, const char *job, const char *job_id)
{
	struct vs_run_snap **list = role == VS_RUN_USED ? &r->inputs :
							  &r->outputs;
	size_t *n = role == VS_RUN_USED ? &r->ninputs : &r->noutputs;
	struct vs_run_snap *sn;

	if (snap_has(*list, *n, repo, commit))
		return false;
	*list = vs_xreallocarray(*list, *n + 1, sizeof(**list));
	sn = &(*list)[*n];
	sn->repo = *repo;
	sn->commit = *commit;
	sn->tag = vs_xstrdup(tag ? tag : "");
	sn->job = vs_xstrdup(job ? job : "");
	sn->job_id = vs_xstrdup(job_id ? job_id : "");
	(*n)++;
	return true;
}

static void copy_fields(struct vs_run *dst, const struct vs_run *src)
{
	vs_run_set(&dst->provider, src->provider);
	vs_run_set(&dst->run_id, src->run_id);
	dst->attempt = src->attempt;
	vs_run_set(&dst->url, src->url);
	vs_run_set(&dst->commit, src->commit);
	vs_run_set(&dst->ref, src->ref);
	vs_run_set(&dst->repository, src->repository);
	vs_run_set(&dst->workflow, src->workflow);
	vs_run_set(&dst->job, src->job);
	vs_run_set(&dst->job_id, src->job_id);
	dst->time = src->time;
}

void vs_run_copy(struct vs_run *dst, const struct vs_run *src)
{
	size_t i;

	vs_run_init(dst);
	copy_fields(dst, src);
	for (i = 0; i < src->ninputs; i++)
		vs_run_add_snap(dst, VS_RUN_USED, &src->inputs[i].repo,
				&src->inputs[i].commit, src->inputs[i].tag,
				src->inputs[i].job, src->inputs[i].job_id);
	for (i = 0; i < src->noutputs; i++)
		vs_run_add_snap(dst, VS_RUN_PRODUCED, &src->outputs[i].repo,
				&src->outputs[i].commit, src->outputs[i].tag,
				src->outputs[i].job, src->outputs[i].job_id);
}

bool vs_run_provider_valid(const char *p)
{
	size_t i, len = strlen(p);

	if (len == 0 || len > VS_RUN_PROVIDER_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9')))
			return false;
	return true;
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

bool vs_run_id_valid(const char *id)
{
	size_t i, len = strlen(id);

	if (len == 0 || len > VS_RUN_ID_MAX || !alnum(id[0]))
		return false;
	for (i = 1; i < len; i++)
		if (!alnum(id[i]) && id[i] != '.' && id[i] != '_' &&
		    id[i] != '-')
			return false;
	/* So that "ci/<provider>/<id>" is a valid tag name. */
	return !strstr(id, "..") && id[len - 1] != '.';
}

char *vs_run_key(const struct vs_run *r, char out[VS_RUN_KEY_MAX])
{
	if (r->attempt)
		snprintf(out, VS_RUN_KEY_MAX, "%s/%s-%llu", r->provider,
			 r->run_id, (unsigned long long)r->attempt);
	else
		snprintf(out, VS_RUN_KEY_MAX, "%s/%s", r->provider,
			 r->run_id);
	return out;
}

char *vs_run_default_tag(const struct vs_run *r, char out[VS_RUN_KEY_MAX + 3])
{
	char key[VS_RUN_KEY_MAX];

	snprintf(out, VS_RUN_KEY_MAX + 3, "ci/%s", vs_run_key(r, key));
	return out;
}

/* --- encoding -------------------------------------------------------- */

static void add_str(struct vs_buf *out, const char *s)
{
	size_t len = strlen(s);

	assert(len <= VS_RUN_FIELD_MAX);
	vs_buf_add_bytes(out, s, len);
}

static void encode_snaps(const struct vs_run_snap *snaps, size_t n,
			 struct vs_buf *out)
{
	size_t i;

	vs_buf_add_varint(out, n);
	for (i = 0; i < n; i++) {
		assert(!snap_has(snaps, i, &snaps[i].repo, &snaps[i].commit));
		add_str(out, snaps[i].repo.full);
		vs_buf_add(out, snaps[i].commit.b, VS_ID_LEN);
		assert(!snaps[i].tag[0] || vs_ref_name_valid(snaps[i].tag));
		add_str(out, snaps[i].tag);
		add_str(out, snaps[i].job);
		add_str(out, snaps[i].job_id);
	}
}

void vs_run_encode(const struct vs_run *r, struct vs_buf *out)
{
	assert(vs_run_provider_valid(r->provider));
	assert(vs_run_id_valid(r->run_id));
	vs_buf_addch(out, VS_RUN_TYPE);
	vs_buf_addch(out, VS_RUN_VERSION);
	add_str(out, r->provider);
	add_str(out, r->run_id);
	vs_buf_add_varint(out, r->attempt);
	add_str(out, r->url);
	add_str(out, r->commit);
	add_str(out, r->ref);
	add_str(out, r->repository);
	add_str(out, r->workflow);
	add_str(out, r->job);
	add_str(out, r->job_id);
	vs_buf_add_varint(out, r->time);
	encode_snaps(r->inputs, r->ninputs, out);
	encode_snaps(r->outputs, r->noutputs, out);
}

/* A string field (no NUL, at most VS_RUN_FIELD_MAX) into *dst, which holds
 * vs_run_nostr or an owned string.  false with the cursor marked bad. */
static bool cursor_str(struct vs_cursor *c, char **dst)
{
	size_t len;
	const uint8_t *p = vs_cursor_bytes(c, &len);

	if (!p || len > VS_RUN_FIELD_MAX || memchr(p, '\0', len)) {
		c->bad = true;
		return false;
	}
	str_free(*dst);
	*dst = vs_xmemdupz(p, len);
	return true;
}

static int decode_snaps(struct vs_run_snap **list, size_t *n,
			struct vs_cursor *c)
{
	uint64_t count = vs_cursor_varint(c);
	struct vs_run_snap *sn;
	const uint8_t *p;
	size_t len;

	if (!vs_cursor_ok(c) || count > vs_cursor_left(c) / VS_RUN_SNAP_MIN)
		return VS_E_CORRUPT;
	if (count)
		*list = vs_xreallocarray(NULL, (size_t)count, sizeof(**list));
	while (*n < count) {
		sn = &(*list)[*n];
		p = vs_cursor_bytes(c, &len);
		if (!p || vs_repo_parse(&sn->repo, (const char *)p, len,
					NULL) < 0 ||
		    strlen(sn->repo.full) != len)
			return VS_E_CORRUPT;
		p = vs_cursor_take(c, VS_ID_LEN);
		if (!p)
			return VS_E_CORRUPT;
		memcpy(sn->commit.b, p, VS_ID_LEN);
		sn->tag = sn->job = sn->job_id = vs_run_nostr;
		/* Counted from here: the release frees the strings. */
		(*n)++;
		if (!cursor_str(c, &sn->tag) || !cursor_str(c, &sn->job) ||
		    !cursor_str(c, &sn->job_id))
			return VS_E_CORRUPT;
		if (sn->tag[0] && !vs_ref_name_valid(sn->tag))
			return VS_E_CORRUPT;
		if (snap_has(*list, *n - 1, &sn->repo, &sn->commit))
			return VS_E_CORRUPT;
	}
	return 0;
}

int vs_run_decode(struct vs_run *r, const void *data, size_t len)
{
	char **tail[] = { &r->url, &r->commit, &r->ref, &r->repository,
			  &r->workflow, &r->job, &r->job_id };
	struct vs_cursor c;
	uint8_t type, ver;
	size_t i;
	int rc = VS_E_CORRUPT;

	vs_run_init(r);
	vs_cursor_init(&c, data, len);
	type = vs_cursor_u8(&c);
	ver = vs_cursor_u8(&c);
	if (!vs_cursor_ok(&c) || type != VS_RUN_TYPE)
		goto fail;
	if (ver > VS_RUN_VERSION) {
		rc = VS_E_VERSION;
		goto fail;
	}
	if (ver != VS_RUN_VERSION)
		goto fail;
	if (!cursor_str(&c, &r->provider) || !cursor_str(&c, &r->run_id))
		goto fail;
	if (!vs_run_provider_valid(r->provider) ||
	    !vs_run_id_valid(r->run_id))
		goto fail;
	r->attempt = vs_cursor_varint(&c);
	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		if (!cursor_str(&c, tail[i]))
			goto fail;
	r->time = vs_cursor_varint(&c);
	if (!vs_cursor_ok(&c))
		goto fail;
	rc = decode_snaps(&r->inputs, &r->ninputs, &c);
	if (rc == 0)
		rc = decode_snaps(&r->outputs, &r->noutputs, &c);
	if (rc)
		goto fail;
	rc = VS_E_CORRUPT;
	if (!vs_cursor_ok(&c) || vs_cursor_left(&c))
		goto fail;
	return 0;

fail:
	vs_run_release(r);
	return rc;
}

/* --- detection --------------------------------------------------------- */

/*
 * The CI providers are rows of a table (providers[] below): a new CI system
 * is one row, no code.  A row names the provider, the variable that detects
 * it, and for every field of the run where its value comes from.
 *
 * A field (struct ci_field) lists up to CI_ALTS templates; the first that
 * expands gives the value, and a field none of whose templates expands stays
 * "".  A template is text with ${NAME} references to variables and expands
 * only when every variable it references is set (unset and "" are alike):
 *
 *   { "${GITHUB_SHA}" }                    one variable
 *   { "${GIT_BRANCH}", "${BRANCH_NAME}" }  the first of several that is set
 *   { "${A}/${B}" }                        a format of several variables
 *   { "${X}", "default" }                  a variable, else a default
 *
 * A reference may carry a filter: ${NAME|noslash} drops the value's
 * trailing '/'s (a base URL), ${NAME|escape} percent-encodes every byte but
 * A-Z a-z 0-9 - . _ ~ (one URL path segment).  The run id's templates are
 * single references (its message names the variable), checked by
 * vs_run_id_valid().  The attempt comes from a variable counting attempts
 * from 1 (.attempt) or one counting retries from 0 (.retries; attempt =
 * retries + 1), or from neither: the provider has no attempts.
 */
#define CI_ALTS 3
#define CI_VAR_MAX 64

struct ci_field {
	const char *alt[CI_ALTS];	/* templates; the first that expands */
};

static const struct ci_provider {
	const char *name;	/* "github": the record key's first part */
	const char *title;	/* "GitHub Actions", for messages */
	const char *var;	/* detected by this variable ... */
	const char *value;	/* ... having this value; NULL: any */
	struct ci_field run_id;
	const char *attempt;	/* attempts counted from 1, or NULL */
	const char *retries;	/* retries counted from 0, or NULL */
	struct ci_field url, commit, ref, repository, workflow, job, job_id;
} providers[] = {
	/* GitHub Docs, "Variables reference": default environment
	 * variables. */
	{
		.name = "github", .title = "GitHub Actions",
		.var = "GITHUB_ACTIONS", .value = "true",
		.run_id = { { "${GITHUB_RUN_ID}" } },
		.attempt = "GITHUB_RUN_ATTEMPT",
		.url = { { "${GITHUB_SERVER_URL|noslash}/${GITHUB_REPOSITORY}"
			   "/actions/runs/${GITHUB_RUN_ID}" } },
		.commit = { { "${GITHUB_SHA}" } },
		.ref = { { "${GITHUB_REF}" } },
		.repository = { { "${GITHUB_REPOSITORY}" } },
		.workflow = { { "${GITHUB_WORKFLOW}" } },
		.job = { { "${GITHUB_JOB}" } },
	},
	/* GitLab Docs, "Predefined CI/CD variables reference". */
	{
		.name = "gitlab", .title = "GitLab CI/CD",
		.var = "GITLAB_CI", .value = "true",
		.run_id = { { "${CI_PIPELINE_ID}" } },
		.url = { { "${CI_PIPELINE_URL}" } },
		.commit = { { "${CI_COMMIT_SHA}" } },
		.ref = { { "${CI_COMMIT_REF_NAME}" } },
		.repository = { { "${CI_PROJECT_PATH}" } },
		.job = { { "${CI_JOB_NAME}" } },
		.job_id = { { "${CI_JOB_ID}" } },
	},
	/* Jenkins User Handbook, "Using a Jenkinsfile": environment
	 * variables (and ${JENKINS_URL}/env-vars.html); GIT_* from the Git
	 * plugin's "Environment variables"; BRANCH_NAME from multibranch
	 * pipelines. */
	{
		.name = "jenkins", .title = "Jenkins",
		.var = "JENKINS_URL", .value = NULL,
		.run_id = { { "${BUILD_NUMBER}", "${BUILD_ID}" } },
		.url = { { "${BUILD_URL}" } },
		.commit = { { "${GIT_COMMIT}" } },
		.ref = { { "${GIT_BRANCH}", "${BRANCH_NAME}" } },
		.repository = { { "${GIT_URL}" } },
		.workflow = { { "${JOB_NAME}" } },
	},
	/* Travis CI docs, "Environment Variables": default environment
	 * variables. */
	{
		.name = "travis", .title = "Travis CI",
		.var = "TRAVIS", .value = "true",
		.run_id = { { "${TRAVIS_BUILD_ID}" } },
		.url = { { "${TRAVIS_BUILD_WEB_URL}" } },
		.commit = { { "${TRAVIS_COMMIT}" } },
		.ref = { { "${TRAVIS_BRANCH}", "${TRAVIS_TAG}" } },
		.repository = { { "${TRAVIS_REPO_SLUG}" } },
		.job = { { "${TRAVIS_JOB_NAME}" } },
		.job_id = { { "${TRAVIS_JOB_ID}" } },
	},
	/* CircleCI docs, "Project values and variables": built-in
	 * environment variables. */
	{
		.name = "circleci", .title = "CircleCI",
		.var = "CIRCLECI", .value = "true",
		.run_id = { { "${CIRCLE_WORKFLOW_ID}", "${CIRCLE_BUILD_NUM}" } },
		.url = { { "${CIRCLE_BUILD_URL}" } },
		.commit = { { "${CIRCLE_SHA1}" } },
		.ref = { { "${CIRCLE_BRANCH}", "${CIRCLE_TAG}" } },
		.repository = { { "${CIRCLE_PROJECT_USERNAME}/"
				  "${CIRCLE_PROJECT_REPONAME}" } },
		.job = { { "${CIRCLE_JOB}" } },
		.job_id = { { "${CIRCLE_BUILD_NUM}" } },
	},
	/*
	 * Bitbucket Cloud docs, "Variables and secrets": default variables
	 * (support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/).
	 * Every pipeline has a BITBUCKET_PIPELINE_UUID; BITBUCKET_BUILD_NUMBER
	 * counts the builds of one repository, and a rerun is a new build
	 * with a new number, so there are no attempts.  The page names no
	 * variable for the pipeline's or the step's name.  The result page
	 * is built from the repository: BITBUCKET_REPO_FULL_NAME is what
	 * follows https://bitbucket.org/ ("workspace/repo"), else
	 * BITBUCKET_GIT_HTTP_ORIGIN is the repository's URL.
	 */
	{
		.name = "bitbucket", .title = "Bitbucket Pipelines",
		.var = "BITBUCKET_PIPELINE_UUID", .value = NULL,
		.run_id = { { "${BITBUCKET_BUILD_NUMBER}" } },
		.url = { { "https://bitbucket.org/${BITBUCKET_REPO_FULL_NAME}"
			   "/pipelines/results/${BITBUCKET_BUILD_NUMBER}",
			   "${BITBUCKET_GIT_HTTP_ORIGIN|noslash}"
			   "/pipelines/results/${BITBUCKET_BUILD_NUMBER}" } },
		.commit = { { "${BITBUCKET_COMMIT}" } },
		.ref = { { "${BITBUCKET_BRANCH}", "${BITBUCKET_TAG}" } },
		.repository = { { "${BITBUCKET_REPO_FULL_NAME}" } },
		.job_id = { { "${BITBUCKET_STEP_UUID}" } },
	},
	/*
	 * Buildkite docs, "Environment variables"
	 * (buildkite.com/docs/pipelines/environment_variables).
	 * BUILDKITE_BUILD_ID is the build's UUID, unique across pipelines,
	 * where BUILDKITE_BUILD_NUMBER counts per pipeline.
	 * BUILDKITE_RETRY_COUNT counts the retries of the job (0 at first),
	 * so a retried job is a new attempt, whose retried job has its own
	 * BUILDKITE_JOB_ID.  BUILDKITE_BRANCH holds the tag, too, in a build
	 * of a tag; BUILDKITE_REPO is the repository's git URL.
	 */
	{
		.name = "buildkite", .title = "Buildkite",
		.var = "BUILDKITE", .value = "true",
		.run_id = { { "${BUILDKITE_BUILD_ID}",
			      "${BUILDKITE_BUILD_NUMBER}" } },
		.retries = "BUILDKITE_RETRY_COUNT",
		.url = { { "${BUILDKITE_BUILD_URL}" } },
		.commit = { { "${BUILDKITE_COMMIT}" } },
		.ref = { { "${BUILDKITE_BRANCH}", "${BUILDKITE_TAG}" } },
		.repository = { { "${BUILDKITE_REPO}" } },
		.workflow = { { "${BUILDKITE_PIPELINE_SLUG}" } },
		.job = { { "${BUILDKITE_LABEL}" } },
		.job_id = { { "${BUILDKITE_JOB_ID}" } },
	},
	/*
	 * Azure DevOps docs, "Use predefined variables"
	 * (learn.microsoft.com/azure/devops/pipelines/build/variables); a
	 * variable Build.BuildId is the environment variable BUILD_BUILDID.
	 * TF_BUILD is "True" in a build.  System.JobAttempt counts the
	 * attempts of the job from 1, and a job rerun keeps the build's id.
	 * The results page is <collection URI>/<project>/_build/results?
	 * buildId=<id>: System.CollectionUri, else the same URI as
	 * System.TeamFoundationCollectionUri ("https://dev.azure.com/org/"),
	 * and the project's name, which may hold blanks.  Build.SourceBranch
	 * is a full ref (refs/heads/main, refs/tags/v1, refs/pull/1/merge).
	 * The job is System.JobDisplayName, else Agent.JobName (usually
	 * "Job" or "__default").
	 */
	{
		.name = "azure", .title = "Azure Pipelines",
		.var = "TF_BUILD", .value = "True",
		.run_id = { { "${BUILD_BUILDID}" } },
		.attempt = "SYSTEM_JOBATTEMPT",
		.url = { { "${SYSTEM_COLLECTIONURI|noslash}/"
			   "${SYSTEM_TEAMPROJECT|escape}"
			   "/_build/results?buildId=${BUILD_BUILDID}",
			   "${SYSTEM_TEAMFOUNDATIONCOLLECTIONURI|noslash}/"
			   "${SYSTEM_TEAMPROJECT|escape}"
			   "/_build/results?buildId=${BUILD_BUILDID}" } },
		.commit = { { "${BUILD_SOURCEVERSION}" } },
		.ref = { { "${BUILD_SOURCEBRANCH}" } },
		.repository = { { "${BUILD_REPOSITORY_URI}" } },
		.workflow = { { "${BUILD_DEFINITIONNAME}" } },
		.job = { { "${SYSTEM_JOBDISPLAYNAME}", "${AGENT_JOBNAME}" } },
		.job_id = { { "${SYSTEM_JOBID}" } },
	},
};

#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

const char *vs_run_provider_name(size_t i)
{
	return i < NPROVIDERS ? providers[i].name : NULL;
}

bool vs_run_provider_known(const char *name)
{
	size_t i;

	for (i = 0; i < NPROVIDERS; i++)
		if (!strcmp(name, providers[i].name))
			return true;
	return false;
}

struct env {
	vs_run_getenv_fn fn;
	void *arg;
	const struct ci_provider *p;
	const char *detected;	/* "GITHUB_ACTIONS=true" */
};

/* The value of name, or NULL when unset or empty. */
static const char *env_get(const struct env *e, const char *name)
{
	const char *v = e->fn(e->arg, name);

	return v && *v ? v : NULL;
}

/* s for an error message: at most 80 bytes, non-printables as '?'. */
static const char *quote(char out[88], const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < 80; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/*
 * The next ${NAME|filter} reference in *tpl: its name into name, its filter
 * (or NULL) into *filter and *flen; *tpl moves past it, and *lit and
 * *llen get the literal text before it.  false at the end (the rest is
 * *lit).
 */
static bool tpl_next(const char **tpl, const char **lit, size_t *llen,
		     char name[CI_VAR_MAX], const char **filter, size_t *flen)
{
	const char *ref = strstr(*tpl, "${"), *end, *bar;
	size_t n;

	*lit = *tpl;
	if (!ref) {
		*llen = strlen(*tpl);
		*tpl += *llen;
		return false;
	}
	*llen = (size_t)(ref - *tpl);
	ref += 2;
	end = strchr(ref, '}');
	assert(end);	/* the table is ours: a typo is a bug */
	bar = memchr(ref, '|', (size_t)(end - ref));
	n = (size_t)((bar ? bar : end) - ref);
	assert(n > 0 && n < CI_VAR_MAX);
	memcpy(name, ref, n);
	name[n] = '\0';
	*filter = bar ? bar + 1 : NULL;
	*flen = bar ? (size_t)(end - bar - 1) : 0;
	*tpl = end + 1;
	return true;
}

static bool filter_is(const char *filter, size_t flen, const char *want)
{
	return strlen(want) == flen && !memcmp(filter, want, flen);
}

/* True if tpl is one plain reference "${NAME}"; NAME into name. */
static bool tpl_single(const char *tpl, char name[CI_VAR_MAX])
{
	const char *lit, *filter;
	size_t llen, flen;

	return tpl_next(&tpl, &lit, &llen, name, &filter, &flen) &&
	       llen == 0 && !filter && !*tpl;
}

/* s percent-encoded as one URL path segment (RFC 3986 unreserved bytes
 * kept). */
static void add_escaped(struct vs_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s; s++) {
		c = (unsigned char)*s;
		if (alnum(*s) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			vs_buf_addch(out, c);
		} else {
			vs_buf_addch(out, '%');
			vs_buf_addch(out, hex[c >> 4]);
			vs_buf_addch(out, hex[c & 15]);
		}
	}
}

/* Expands tpl into out (reset first); false if a variable it names is
 * not set. */
static bool tpl_expand(const struct env *e, const char *tpl,
		       struct vs_buf *out)
{
	const char *lit, *filter, *v;
	char name[CI_VAR_MAX];
	size_t llen, flen, n;

	vs_buf_reset(out);
	while (tpl_next(&tpl, &lit, &llen, name, &filter, &flen)) {
		vs_buf_add(out, lit, llen);
		v = env_get(e, name);
		if (!v)
			return false;
		n = strlen(v);
		if (filter && filter_is(filter, flen, "escape")) {
			add_escaped(out, v);
			continue;
		}
		if (filter && filter_is(filter, flen, "noslash")) {
			while (n && v[n - 1] == '/')
				n--;
		} else {
			assert(!filter);	/* no other filter */
		}
		vs_buf_add(out, v, n);
	}
	vs_buf_add(out, lit, llen);
	return true;
}

/* Whether name is one of the run id's variables (whose values are short). */
static bool is_run_id_var(const struct ci_provider *p, const char *name)
{
	char id[CI_VAR_MAX];
	size_t i;

	for (i = 0; i < CI_ALTS && p->run_id.alt[i]; i++)
		if (tpl_single(p->run_id.alt[i], id) && !strcmp(id, name))
			return true;
	return false;
}

/* The error for a value of tpl longer than VS_RUN_FIELD_MAX: it names the
 * variables that can make it long (all but the run id's). */
static int too_long(const struct env *e, const char *tpl,
		    struct vs_error *err)
{
	const char *t, *lit, *filter, *names[8];
	char name[CI_VAR_MAX], list[8][CI_VAR_MAX];
	struct vs_buf msg = VS_BUF_INIT;
	size_t llen, flen, i, n = 0, all = 0;
	int rc;

	for (t = tpl; all < 8 && tpl_next(&t, &lit, &llen, name, &filter,
					  &flen);)
		memcpy(list[all++], name, CI_VAR_MAX);
	for (i = 0; i < all; i++)
		if (!is_run_id_var(e->p, list[i]))
			names[n++] = list[i];
	if (n == 0)
		for (i = 0; i < all; i++)
			names[n++] = list[i];
	if (n == 1) {
		rc = vs_error_set(err, VS_E_INVAL, "$%s is too long (more "
				  "than %d bytes)", names[0],
				  VS_RUN_FIELD_MAX);
		goto out;
	}
	for (i = 0; i < n; i++)
		vs_buf_addf(&msg, "%s$%s", i == 0 ? "" : i + 1 < n ? ", " :
			    " and ", names[i]);
	rc = vs_error_set(err, VS_E_INVAL, "%s are too long", msg.data);
out:
	vs_buf_release(&msg);
	return rc;
}

/* A field is composed when one of its templates is more than one plain
 * reference. */
static bool field_composed(const struct ci_field *f)
{
	char name[CI_VAR_MAX];
	size_t i;

	for (i = 0; i < CI_ALTS && f->alt[i]; i++)
		if (!tpl_single(f->alt[i], name))
			return true;
	return false;
}

/* *field from the first template of f that expands, if any. */
static int fill_field(const struct env *e, const struct ci_field *f,
		      char **field, struct vs_buf *tmp, struct vs_error *err)
{
	size_t i;

	for (i = 0; i < CI_ALTS && f->alt[i]; i++) {
		if (!tpl_expand(e, f->alt[i], tmp))
			continue;
		if (tmp->len > VS_RUN_FIELD_MAX)
			return too_long(e, f->alt[i], err);
		vs_run_set(field, tmp->data);
		return 0;
	}
	return 0;
}

/* The run id from the first of its variables that is set. */
static int fill_run_id(const struct env *e, struct vs_run *r,
		       struct vs_error *err)
{
	const struct ci_field *f = &e->p->run_id;
	char name[CI_VAR_MAX], q[88];
	const char *v = NULL;
	size_t i;

	for (i = 0; i < CI_ALTS && f->alt[i] && !v; i++) {
		bool single = tpl_single(f->alt[i], name);

		assert(single);	/* a run id is one variable */
		(void)single;
		v = env_get(e, name);
	}
	if (!v) {
		(void)tpl_single(f->alt[0], name);
		return vs_error_set(err, VS_E_INVAL, "%s detected (%s) but "
				    "$%s is not set: cannot name the run",
				    e->p->title, e->detected, name);
	}
	if (!vs_run_id_valid(v))
		return vs_error_set(err, VS_E_INVAL, "invalid run id '%s' in "
				    "$%s (expected 1-%d of A-Z a-z 0-9 . _ -, "
				    "starting with a letter or digit)",
				    quote(q, v), name, VS_RUN_ID_MAX);
	vs_run_set(&r->run_id, v);
	return 0;
}

/* The attempt from .attempt (1, 2, ...) or .retries (0, 1, ...). */
static int fill_attempt(const struct env *e, struct vs_run *r,
			struct vs_error *err)
{
	bool retries = e->p->retries != NULL;
	const char *name = retries ? e->p->retries : e->p->attempt;
	const char *v = name ? env_get(e, name) : NULL;
	uint64_t n = 0;
	char q[88];
	size_t i;

	assert(!(e->p->attempt && e->p->retries));
	if (!v)
		return 0;
	for (i = 0; v[i]; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 9)
			goto bad;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (retries)
		n++;
	if (n == 0)
		goto bad;
	r->attempt = n;
	return 0;
bad:
	return vs_error_set(err, VS_E_INVAL, "invalid %s '%s' in $%s "
			    "(expected a %s number)", retries ?
			    "retry count" : "attempt", quote(q, v), name,
			    retries ? "non-negative" : "positive");
}

/*
 * Every field of r from e->p's row.  Fields straight from one variable go
 * before composed ones, so that a variable too long on its own is named as
 * such rather than through a value made from it.
 */
static int fill_run(const struct env *e, struct vs_run *r,
		    struct vs_error *err)
{
	const struct ci_provider *p = e->p;
	const struct ci_field *specs[] = { &p->url, &p->commit, &p->ref,
					   &p->repository, &p->workflow,
					   &p->job, &p->job_id };
	char **fields[] = { &r->url, &r->commit, &r->ref, &r->repository,
			    &r->workflow, &r->job, &r->job_id };
	struct vs_buf tmp = VS_BUF_INIT;
	int composed, rc;
	size_t i;

	rc = fill_run_id(e, r, err);
	if (rc == 0)
		rc = fill_attempt(e, r, err);
	for (composed = 0; composed < 2 && rc == 0; composed++)
		for (i = 0; i < sizeof(specs) / sizeof(specs[0]) && rc == 0;
		     i++)
			if (field_composed(specs[i]) == (composed == 1))
				rc = fill_field(e, specs[i], fields[i], &tmp,
						err);
	vs_buf_release(&tmp);
	return rc;
}

/* "no CI run detected: none of GITHUB_ACTIONS, ... is set ...". */
static int not_detected(const struct env *e, struct vs_error *err)
{
	struct vs_buf msg = VS_BUF_INIT;
	size_t i;
	int rc;

	vs_buf_addstr(&msg, "no CI run detected: none of ");
	for (i = 0; i < NPROVIDERS; i++)
		vs_buf_addf(&msg, "%s%s", i ? ", " : "", providers[i].var);
	vs_buf_addf(&msg, " is set%s (--ci works in ", env_get(e, "CI") ?
		    " (CI is, but names no provider varve knows)" : "");
	for (i = 0; i < NPROVIDERS; i++)
		vs_buf_addf(&msg, "%s%s", i == 0 ? "" : i + 1 < NPROVIDERS ?
			    ", " : " and ", providers[i].title);
	vs_buf_addch(&msg, ')');
	rc = vs_error_set(err, VS_E_NOTFOUND, "%s", msg.data);
	vs_buf_release(&msg);
	return rc;
}

int vs_run_from_env(struct vs_run *run, vs_run_getenv_fn getenv_fn,
		    void *arg, uint64_t now, struct vs_error *err)
{
	struct env e = { .fn = getenv_fn, .arg = arg };
	char detected[64];
	size_t i;
	int rc;

	vs_run_init(run);
	for (i = 0; i < NPROVIDERS && !e.p; i++) {
		const char *v = env_get(&e, providers[i].var);

		if (v && (!providers[i].value ||
			  !strcmp(v, providers[i].value)))
			e.p = &providers[i];
	}
	if (!e.p)
		return not_detected(&e, err);
	snprintf(detected, sizeof(detected), "%s%s%s", e.p->var,
		 e.p->value ? "=" : " is set", e.p->value ? e.p->value : "");
	e.detected = detected;
	vs_run_set(&run->provider, e.p->name);
	run->time = now;
	rc = fill_run(&e, run, err);
	if (rc < 0)
		vs_run_release(run);
	return rc;
}

/* --- the store ------------------------------------------------------------ */

int vs_run_get(struct vs_store *s, const char *key, struct vs_run *out,
	       struct vs_error *err)
{
	struct vs_buf val = VS_BUF_INIT;
	int rc;

	vs_run_init(out);
	rc = vs_kv_get(s->kv, VS_CF_RUNS, key, strlen(key), &val, NULL);
	if (rc == VS_E_NOTFOUND)
		rc = vs_error_set(err, rc, "no run '%s' (see 'varve runs')",
				  key);
	else if (rc < 0)
		rc = vs_error_set(err, rc, "cannot read run '%s'", key);
	else {
		rc = vs_run_decode(out, val.data, val.len);
		if (rc < 0)
			vs_error_set(err, rc, "the record of run '%s' is %s",
				     key, rc == VS_E_VERSION ?
				     "of a newer format" : "corrupt");
	}
	vs_buf_release(&val);
	return rc;
}

int vs_run_list(struct vs_store *s, const char *provider,
		int (*fn)(const char *key, const struct vs_run *run,
			  void *arg),
		void *arg, struct vs_error *err)
{
	struct vs_buf prefix = VS_BUF_INIT, key = VS_BUF_INIT;
	struct vs_kv_iter *it;
	int rc = 0;

	if (provider)
		vs_buf_addf(&prefix, "%s/", provider);
	it = vs_kv_iter_new(s->kv, VS_CF_RUNS, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		size_t klen, vlen;
		const char *k = vs_kv_iter_key(it, &klen);
		const void *v = vs_kv_iter_value(it, &vlen);
		struct vs_run run;

		vs_buf_reset(&key);
		vs_buf_add(&key, k, klen);
		rc = vs_run_decode(&run, v, vlen);
		if (rc < 0) {
			vs_error_set(err, rc, "the record of run '%s' is %s",
				     key.data, rc == VS_E_VERSION ?
				     "of a newer format" : "corrupt");
			break;
		}
		rc = fn(key.data, &run, arg);
		vs_run_release(&run);
		if (rc)
			break;
	}
	rc = vs_kv_iter_end(it, rc, err);
	vs_buf_release(&prefix);
	vs_buf_release(&key);
	return rc;
}

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int vs_run_find(struct vs_store *s, const char *key, struct vs_run *out,
		char **key_out, struct vs_error *err)
{
	struct vs_buf prefix = VS_BUF_INIT, found = VS_BUF_INIT,
		      names = VS_BUF_INIT;
	struct vs_kv_iter *it;
	size_t n = 0;
	int rc;

	*key_out = NULL;
	rc = vs_run_get(s, key, out, err);
	if (rc == 0)
		*key_out = vs_xstrdup(key);
	if (rc != VS_E_NOTFOUND)
		return rc;
	vs_error_clear(err);
	vs_buf_addf(&prefix, "%s-", key);
	it = vs_kv_iter_new(s->kv, VS_CF_RUNS, prefix.data, prefix.len);
	for (; vs_kv_iter_valid(it); vs_kv_iter_next(it)) {
		size_t klen;
		const char *k = vs_kv_iter_key(it, &klen);

		if (!all_digits(k + prefix.len, klen - prefix.len))
			continue;
		if (n++ == 0) {
			vs_buf_add(&found, k, klen);
		} else if (n <= 6) {
			vs_buf_addstr(&names, ", ");
			vs_buf_add(&names, k, klen);
		}
	}
	rc = vs_kv_iter_end(it, 0, err);
	if (rc == 0 && n == 0)
		rc = vs_error_set(err, VS_E_NOTFOUND, "no run '%s' (see "
				  "'varve runs')", key);
	else if (rc == 0 && n > 1)
		rc = vs_error_set(err, VS_E_AMBIGUOUS, "run '%s' has %zu "
				  "attempts: %s%s%s (name one)", key, n,
				  found.data, names.data, n > 6 ? ", ..." : "");
	else if (rc == 0) {
		rc = vs_run_get(s, found.data, out, err);
		if (rc == 0)
			*key_out = vs_buf_detach(&found, NULL);
	}
	vs_buf_release(&prefix);
	vs_buf_release(&found);
	vs_buf_release(&names);
	return rc;
}

/* Note 4: a record under the same key must describe the same run. */
static int run_consistent(const struct vs_run *have, const struct vs_run *want,
			  const char *key, struct vs_error *err)
{
	static const struct {
		size_t off;
		const char *what;
	} fields[] = {
		{ offsetof(struct vs_run, repository), "repository" },
		{ offsetof(struct vs_run, workflow), "workflow" },
		{ offsetof(struct vs_run, commit), "source commit" },
	};
	char qa[88], qb[88];
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *a = *(char *const *)((const char *)have +
						 fields[i].off);
		const char *b = *(char *const *)((const char *)want +
						 fields[i].off);

		if (*a && *b && strcmp(a, b))
			return vs_error_set(err, VS_E_CONFLICT,
					    "run '%s' is already recorded with "
					    "%s '%s', this run has '%s' (two "
					    "runs with one id?)", key,
					    fields[i].what, quote(qa, a),
					    quote(qb, b));
	}
	return 0;
}

int vs_run_record(struct vs_store *s, const struct vs_run *run,
		  enum vs_run_role role, const struct vs_repo *repo,
		  const struct vs_id *commit, const char *tag, bool *added,
		  struct vs_error *err)
{
	struct vs_buf val = VS_BUF_INIT;
	struct vs_kv_batch *b;
	char key[VS_RUN_KEY_MAX];
	struct vs_run rec;
	int rc;

	if (added)
		*added = false;
	vs_run_key(run, key);
	pthread_mutex_lock(&s->ref_lock);
	rc = vs_run_get(s, key, &rec, err);
	if (rc == VS_E_NOTFOUND) {
		vs_error_clear(err);
		copy_fields(&rec, run);
		rc = 0;
	} else if (rc == 0) {
		rc = run_consistent(&rec, run, key, err);
	}
	if (rc < 0)
		goto out;
	if (!vs_run_add_snap(&rec, role, repo, commit, tag, run->job,
			     run->job_id))
		goto out;
	vs_run_encode(&rec, &val);
	b = vs_kv_batch_new();
	vs_kv_batch_put(b, s->kv, VS_CF_RUNS, key, strlen(key), val.data,
			val.len);
	rc = vs_kv_write(s->kv, b, VS_KV_SYNC, err);
	vs_kv_batch_free(b);
	if (rc == 0 && added)
		*added = true;
out:
	pthread_mutex_unlock(&s->ref_lock);
	vs_run_release(&rec);
	vs_buf_release(&val);
	return rc;
}

const char *vs_tag_meta_get(const struct vs_tag *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->nmeta; i++)
		if (!strcmp(t->meta[i].key, key))
			return t->meta[i].value;
	return NULL;
}

/* Whether an existing tag is the one vs_run_tag would make (note 6). */
static int check_existing_tag(const struct vs_tag *t, const char *name,
			      const struct vs_repo *repo,
			      const struct vs_id *commit, const char *key,
			      enum vs_run_role role, struct vs_error *err)
{
	const char *trun = vs_tag_meta_get(t, VS_RUN_META_RUN);
	const char *trole = vs_tag_meta_get(t, VS_RUN_META_ROLE);
	bool same_run = trun && !strcmp(trun, key);
	char hex[VS_ID_HEXLEN + 1];

	if (same_run && vs_id_equal(&t->commit, commit) && trole &&
	    !strcmp(trole, vs_run_role_name(role)))
		return 0;
	if (same_run && vs_id_equal(&t->commit, commit))
		return vs_error_set(err, VS_E_EXISTS,
				    "tag '%s' already exists in '%s' and marks "
				    "this snapshot as %s by run '%s' (tags "
				    "are immutable; give another NAME)",
				    name, repo->full, trole ? trole : "?",
				    key);
	return vs_error_set(err, VS_E_EXISTS,
			    "tag '%s' already exists in '%s' at %.12s (tags "
			    "are immutable)", name, repo->full,
			    vs_id_to_hex(&t->commit, hex));
}

int vs_run_tag(struct vs_store *s, const struct vs_run *run,
	       enum vs_run_role role, const struct vs_repo *repo,
	       const struct vs_id *commit, const struct vs_run_tag_opts *opts,
	       bool *existed, struct vs_error *err)
{
	char key[VS_RUN_KEY_MAX], defname[VS_RUN_KEY_MAX + 3];
	struct vs_buf msg = VS_BUF_INIT;
	const char *name = opts->name;
	struct vs_run rec;
	struct vs_tag tag;
	int rc;

	if (existed)
		*existed = false;
	vs_run_key(run, key);
	if (!name)
		name = vs_run_default_tag(run, defname);
	if (!vs_ref_name_valid(name))
		return vs_error_set(err, VS_E_INVAL, "invalid tag name '%s' "
				    "(use letters, digits, . _ - /)", name);

	/* Refuse before writing anything if the run record disagrees. */
	rc = vs_run_get(s, key, &rec, err);
	if (rc == 0)
		rc = run_consistent(&rec, run, key, err);
	else if (rc == VS_E_NOTFOUND) {
		vs_error_clear(err);
		rc = 0;
	}
	vs_run_release(&rec);
	if (rc < 0)
		return rc;

	rc = vs_tag_get(s, repo, name, &tag, err);
	if (rc == 0) {
		rc = check_existing_tag(&tag, name, repo, commit, key, role,
					err);
		vs_tag_release(&tag);
		if (rc < 0)
			return rc;
		if (existed)
			*existed = true;
	} else if (rc != VS_E_NOTFOUND) {
		vs_tag_release(&tag);
		return rc;
	} else {
		vs_error_clear(err);
		vs_tag_init(&tag);
		tag.commit = *commit;
		tag.time = opts->time;
		vs_tag_set_author(&tag, opts->author ? opts->author : "");
		if (opts->message) {
			vs_buf_addstr(&msg, opts->message);
		} else {
			vs_buf_addf(&msg, "%s by %s run %s",
				    vs_run_role_name(role), run->provider,
				    run->run_id);
			if (run->attempt)
				vs_buf_addf(&msg, " (attempt %llu)",
					    (unsigned long long)run->attempt);
		}
		vs_tag_set_message(&tag, msg.data);
		vs_tag_set_meta(&tag, VS_RUN_META_RUN, key);
		vs_tag_set_meta(&tag, VS_RUN_META_ROLE, vs_run_role_name(role));
		vs_tag_set_meta(&tag, VS_RUN_META_PROVIDER, run->provider);
		if (run->url[0])
			vs_tag_set_meta(&tag, VS_RUN_META_URL, run->url);
		if (run->commit[0])
			vs_tag_set_meta(&tag, VS_RUN_META_COMMIT, run->commit);
		if (run->ref[0])
			vs_tag_set_meta(&tag, VS_RUN_META_REF, run->ref);
		rc = vs_tag_create(s, repo, name, &tag, err);
		vs_tag_release(&tag);
		vs_buf_release(&msg);
		if (rc < 0)
			return rc;
	}
	return vs_run_record(s, run, role, repo, commit, name, NULL, err);
}

/* --- lineage ------------------------------------------------------------- */

struct producer {
	char *tag;
	char *key;
};

struct producers {
	const struct vs_id *commit;
	size_t n;
	struct producer *p;
};

static int producer_cb(const char *name, const struct vs_tag *tag, void *arg)
{
	struct producers *ps = arg;
	const char *role = vs_tag_meta_get(tag, VS_RUN_META_ROLE);
	const char *key = vs_tag_meta_get(tag, VS_RUN_META_RUN);
	size_t i;

	if (!vs_id_equal(&tag->commit, ps->commit) || !role || !key ||
	    !*key || strcmp(role, vs_run_role_name(VS_RUN_PRODUCED)))
		return 0;
	for (i = 0; i < ps->n; i++)
		if (!strcmp(ps->p[i].key, key))
			return 0;
	ps->p = vs_xreallocarray(ps->p, ps->n + 1, sizeof(*ps->p));
	ps->p[ps->n].tag = vs_xstrdup(name);
	ps->p[ps->n].key = vs_xstrdup(key);
	ps->n++;
	return 0;
}

static void producers_release(struct producers *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->p[i].tag);
		free(ps->p[i].key);
	}
	free(ps->p);
	ps->p = NULL;
	ps->n = 0;
}

struct walk {
	struct vs_store *s;
	struct vs_error *err;
	size_t nseen;
	struct vs_run_snap *seen;	/* only repo and commit are used */
};

static int lineage_expand(struct walk *w, struct vs_lineage_node *n);

static int lineage_run(struct walk *w, struct vs_lineage_run *lr)
{
	size_t i;
	int rc;

	rc = vs_run_get(w->s, lr->key, &lr->run, w->err);
	if (rc == VS_E_NOTFOUND) {
		/* The tag outlived (or was pushed without) its record. */
		vs_error_clear(w->err);
		lr->missing = true;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (lr->run.ninputs)
		lr->inputs = vs_xreallocarray(NULL, lr->run.ninputs,
					   sizeof(*lr->inputs));
	for (i = 0; i < lr->run.ninputs; i++) {
		struct vs_lineage_node *in = &lr->inputs[i];
		const struct vs_run_snap *sn = &lr->run.inputs[i];

		memset(in, 0, sizeof(*in));
		in->repo = sn->repo;
		in->commit = sn->commit;
		in->tag = vs_xstrdup(sn->tag);
		lr->ninputs++;
		rc = lineage_expand(w, in);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int lineage_expand(struct walk *w, struct vs_lineage_node *n)
{
	struct producers ps = { .commit = &n->commit };
	size_t i;
	int rc;

	if (snap_has(w->seen, w->nseen, &n->repo, &n->commit)) {
		n->repeated = true;
		return 0;
	}
	w->seen = vs_xreallocarray(w->seen, w->nseen + 1, sizeof(*w->seen));
	w->seen[w->nseen].repo = n->repo;
	w->seen[w->nseen].commit = n->commit;
	w->nseen++;

	rc = vs_tag_list(w->s, &n->repo, producer_cb, &ps, w->err);
	if (rc < 0)
		goto out;
	if (ps.n)
		n->runs = vs_xreallocarray(NULL, ps.n, sizeof(*n->runs));
	for (i = 0; i < ps.n; i++) {
		struct vs_lineage_run *lr = &n->runs[i];

		memset(lr, 0, sizeof(*lr));
		vs_run_init(&lr->run);
		lr->key = ps.p[i].key;
		lr->tag = ps.p[i].tag;
		ps.p[i].key = ps.p[i].tag = NULL;
		n->nruns++;
		rc = lineage_run(w, lr);
		if (rc < 0)
			break;
	}
out:
	producers_release(&ps);
	return rc;
}

int vs_lineage_build(struct vs_store *s, const struct vs_repo *repo,
		     const struct vs_id *commit, struct vs_lineage_node *root,
		     struct vs_error *err)
{
	struct walk w = { .s = s, .err = err };
	int rc;

	memset(root, 0, sizeof(*root));
	root->repo = *repo;
	root->commit = *commit;
	root->tag = vs_xstrdup("");
	rc = lineage_expand(&w, root);
	free(w.seen);
	return rc;
}

void vs_lineage_release(struct vs_lineage_node *n)
{
	size_t i, j;

	for (i = 0; i < n->nruns; i++) {
		struct vs_lineage_run *lr = &n->runs[i];

		for (j = 0; j < lr->ninputs; j++)
			vs_lineage_release(&lr->inputs[j]);
		free(lr->inputs);
		free(lr->key);
		free(lr->tag);
		vs_run_release(&lr->run);
	}
	free(n->runs);
	free(n->tag);
	n->runs = NULL;
	n->nruns = 0;
	n->tag = NULL;
}
