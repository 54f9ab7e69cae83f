/*
 * runs.h - CI runs: which run used and produced which snapshots.
 *
 * A run is one execution of a CI pipeline (a GitHub Actions workflow run
 * attempt, a GitLab pipeline, a Jenkins build, a Travis build, a CircleCI
 * workflow, a Bitbucket pipeline, a Buildkite build, an Azure Pipelines
 * build).
 * `varve tag --ci --used|--produced REV` detects the provider from its
 * documented environment variables (vs_run_from_env), tags the snapshot and
 * adds it to the run's record (vs_run_tag).  Lineage goes from a
 * snapshot to the run that produced it and on to the snapshots that run
 * used, recursively (vs_lineage_build).
 *
 * DESIGN NOTES: run records (VS_CF_RUNS)
 *   key    "<provider>/<run_id>" or "<provider>/<run_id>-<attempt>"
 *          (vs_run_key); e.g. "github/9876543210-2", "gitlab/1234".
 *   value  the run encoding below.
 *
 *   run    'R' ver  provider(bytes) run_id(bytes) attempt(varint, 0: none)
 *                   url(bytes) commit(bytes) ref(bytes) repository(bytes)
 *                   workflow(bytes) job(bytes) job_id(bytes) time(varint)
 *                   ninputs(varint) x snap, noutputs(varint) x snap
 *   snap            repo(bytes) commit id(32 bytes) tag(bytes) job(bytes)
 *                   job_id(bytes)
 *
 *  1. As object.h's encodings: a type byte ('R', which no object.h type
 *     uses) and a version byte first; varints minimal; strings are a varint
 *     length and bytes; the decoder consumes its input exactly and rejects
 *     anything else with VS_E_CORRUPT (a newer version: VS_E_VERSION), so
 *     decode then encode gives the input back.  Fuzzed by
 *     tests/fuzz/fuzz_run.c.
 *  2. provider is 1..16 of [a-z0-9]; run_id is vs_run_id_valid(); strings
 *     hold no NUL and at most VS_RUN_FIELD_MAX bytes; a snap's repo is
 *     "datasets/NAME" or "models/NAME", its tag "" or a valid ref name.
 *  3. Within inputs, and within outputs, no two snaps have the same repo and
 *     commit: recording a snapshot twice with the same role is a no-op
 *     (the first tag name recorded stays).  Snaps keep recording order.
 *  4. The run's own fields (provider .. time) are written when the record is
 *     created, by the first recording of the run, and never change.  Later
 *     recordings (other jobs of the same run) must agree on repository,
 *     workflow and source commit where both have them; a mismatch is
 *     VS_E_CONFLICT (two runs with the same key, e.g. Jenkins build numbers,
 *     which count per job), and nothing is written.
 *  5. A tag made for a run carries the meta keys VS_RUN_META_RUN (the run
 *     key) and VS_RUN_META_ROLE ("used" or "produced"), plus the provider,
 *     URL, source commit and ref for readers without the run record.
 *     Lineage follows produced tags: snapshot -> run -> its inputs.
 *  6. vs_run_tag() creates the tag first and then adds the snapshot to the
 *     record, each step atomic and durable.  A crash between them leaves a
 *     tag whose run lacks the snapshot; running the same command again
 *     finds its own tag (same commit, run and role), creates nothing and
 *     completes the record.  Any other existing tag of that name is
 *     VS_E_EXISTS and nothing changes.
 *
 *   transition                         function
 *   (none) -> run with one snap        vs_run_record
 *   run -> run with one more snap      vs_run_record
 *   (none) -> tag + snap in its run    vs_run_tag
 */
#ifndef VS_RUNS_H
#define VS_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "hash.h"
#include "refs.h"
#include "store.h"

#define VS_RUN_TYPE 'R'
#define VS_RUN_VERSION 1
#define VS_RUN_PROVIDER_MAX 16
#define VS_RUN_ID_MAX 64
#define VS_RUN_FIELD_MAX 2048
/* "<provider>/<run_id>-<attempt>" and a NUL. */
#define VS_RUN_KEY_MAX (VS_RUN_PROVIDER_MAX + 1 + VS_RUN_ID_MAX + 1 + 20 + 1)

#define VS_RUN_META_RUN "ci.run"
#define VS_RUN_META_ROLE "ci.role"
#define VS_RUN_META_PROVIDER "ci.provider"
#define VS_RUN_META_URL "ci.url"
#define VS_RUN_META_COMMIT "ci.commit"
#define VS_RUN_META_REF "ci.ref"

enum vs_run_role {
	VS_RUN_USED,
	VS_RUN_PRODUCED,
};

/* "used" / "produced" */
const char *vs_run_role_name(enum vs_run_role role);

/* A snapshot a run used or produced. */
struct vs_run_snap {
	struct vs_repo repo;
	struct vs_id commit;
	char *tag;	/* owned; "" if none */
	char *job;	/* owned; the job that recorded it, or "" */
	char *job_id;	/* owned; or "" */
};

/*
 * A run.  Every string is owned and never NULL after vs_run_init(); change
 * them with vs_run_set() only (a fresh run's strings are a shared "").
 */
struct vs_run {
	char *provider;		/* "github", "gitlab", ... */
	char *run_id;		/* the run, pipeline or build id */
	uint64_t attempt;	/* 1, 2, ... where the provider has attempts;
				   0: none */
	char *url;		/* the run's web page */
	char *commit;		/* source commit sha of the code */
	char *ref;		/* branch or ref */
	char *repository;	/* "owner/name" or the code's git URL */
	char *workflow;		/* workflow, pipeline or job name */
	char *job;		/* the job that created the record */
	char *job_id;
	uint64_t time;		/* creation of the record, seconds, UTC */
	size_t ninputs, noutputs;
	struct vs_run_snap *inputs;	/* owned */
	struct vs_run_snap *outputs;	/* owned */
};

void vs_run_init(struct vs_run *r);
void vs_run_release(struct vs_run *r);
/* Replaces *field (one of r's strings) with a copy of value. */
void vs_run_set(char **field, const char *value);
/*
 * Appends a snapshot to inputs (VS_RUN_USED) or outputs, copying the
 * strings (tag may be NULL for "").  Returns false, appending nothing, if
 * that list already holds repo and commit (note 3).
 */
bool vs_run_add_snap(struct vs_run *r, enum vs_run_role role,
		     const struct vs_repo *repo, const struct vs_id *commit,
		     const char *tag, const char *job, const char *job_id);
/* A copy of src's fields into dst (initialised by the call), entries too. */
void vs_run_copy(struct vs_run *dst, const struct vs_run *src);

/* The value must be valid as asserted (note 2). */
void vs_run_encode(const struct vs_run *r, struct vs_buf *out);
/* 0, VS_E_CORRUPT or VS_E_VERSION.  r is initialised by the call and left
 * released on failure. */
int vs_run_decode(struct vs_run *r, const void *data, size_t len);

/* Note 2: 1..16 of [a-z0-9]. */
bool vs_run_provider_valid(const char *provider);
/* 1..64 of [A-Za-z0-9._-], starting with a letter or digit, without ".."
 * or a final '.' (so the default tag name is a valid ref name). */
bool vs_run_id_valid(const char *run_id);
/* The record's key, "<provider>/<run_id>[-<attempt>]"; returns out. */
char *vs_run_key(const struct vs_run *r, char out[VS_RUN_KEY_MAX]);
/* The default tag name for r's snapshots: "ci/" + key; returns out. */
char *vs_run_default_tag(const struct vs_run *r,
			 char out[VS_RUN_KEY_MAX + 3]);

/* --- detecting the run from the environment ---------------------------- */

/* Looks up an environment variable; NULL if unset. */
typedef const char *(*vs_run_getenv_fn)(void *arg, const char *name);

/* The name of the i-th provider vs_run_from_env knows ("github", ...), in
 * detection order; NULL past the last.  A static string. */
const char *vs_run_provider_name(size_t i);
/* True if name is one of those providers. */
bool vs_run_provider_known(const char *name);

/*
 * Fills run (initialised by the call; release it) from the variables of the
 * first CI provider detected: GitHub Actions (GITHUB_ACTIONS=true), GitLab
 * CI/CD (GITLAB_CI=true), Jenkins (JENKINS_URL set), Travis CI
 * (TRAVIS=true), CircleCI (CIRCLECI=true), Bitbucket Pipelines
 * (BITBUCKET_PIPELINE_UUID set), Buildkite (BUILDKITE=true), Azure
 * Pipelines (TF_BUILD=True).  now becomes run->time.
 * Returns 0, VS_E_NOTFOUND when no provider is detected, or VS_E_INVAL when
 * one is but its run id is missing or invalid, or a value is too long (the
 * message names the variable).
 */
int vs_run_from_env(struct vs_run *run, vs_run_getenv_fn getenv_fn,
		    void *arg, uint64_t now, struct vs_error *err);

/* --- the store ------------------------------------------------------------ */

/*
 * Reads the run with key into out (initialised by the call; release it).
 * Returns 0, VS_E_NOTFOUND, VS_E_CORRUPT, VS_E_VERSION or VS_E_KV.
 */
int vs_run_get(struct vs_store *s, const char *key, struct vs_run *out,
	       struct vs_error *err);

/*
 * Calls fn for every run in key order, or only those of provider when it
 * is not NULL; key and run are borrowed for the call.  A record that does
 * not decode stops the listing with VS_E_CORRUPT.  Non-zero from fn stops
 * and is returned.
 */
int vs_run_list(struct vs_store *s, const char *provider,
		int (*fn)(const char *key, const struct vs_run *run,
			  void *arg),
		void *arg, struct vs_error *err);

/*
 * Finds a run by the key a user typed: the exact key, else, when exactly
 * one record is "<key>-<attempt>", that one.  *key_out (caller frees) gets
 * the key found.  Returns 0, VS_E_NOTFOUND, VS_E_AMBIGUOUS (the message
 * lists the attempts), or a read error.
 */
int vs_run_find(struct vs_store *s, const char *key, struct vs_run *out,
		char **key_out, struct vs_error *err);

/*
 * Adds the snapshot to run's record under role (note 3), creating the record
 * from run's own fields (its entries are ignored) if it does not exist.
 * *added (may be NULL) tells whether anything was written.  Returns 0,
 * VS_E_CONFLICT (note 4), VS_E_CORRUPT or VS_E_KV.
 */
int vs_run_record(struct vs_store *s, const struct vs_run *run,
		  enum vs_run_role role, const struct vs_repo *repo,
		  const struct vs_id *commit, const char *tag, bool *added,
		  struct vs_error *err);

struct vs_run_tag_opts {
	const char *name;	/* tag name; NULL: vs_run_default_tag() */
	const char *author;
	const char *message;	/* NULL: "<role> by <provider> run <id>" */
	uint64_t time;
};

/*
 * Tags commit in repo for run and records it in the run (note 6).
 * *existed (may be NULL) is set when the tag was already there for the same
 * commit, run and role.  Returns 0, VS_E_EXISTS (the name is taken
 * otherwise), VS_E_INVAL (bad name), VS_E_CONFLICT, or a store error.
 */
int vs_run_tag(struct vs_store *s, const struct vs_run *run,
	       enum vs_run_role role, const struct vs_repo *repo,
	       const struct vs_id *commit, const struct vs_run_tag_opts *opts,
	       bool *existed, struct vs_error *err);

/* The value of key in t's metadata, or NULL (borrowed from t). */
const char *vs_tag_meta_get(const struct vs_tag *t, const char *key);

/* --- lineage ----------------------------------------------------------------- */

struct vs_lineage_run;

/* A snapshot in the lineage graph. */
struct vs_lineage_node {
	struct vs_repo repo;
	struct vs_id commit;
	char *tag;		/* owned: the tag of the run's input; "" at
				   the root */
	bool repeated;		/* expanded earlier in the walk: runs empty */
	size_t nruns;
	struct vs_lineage_run *runs;	/* owned: the runs that produced it */
};

/* A run that produced a node. */
struct vs_lineage_run {
	char *key;		/* owned */
	char *tag;		/* owned: the produced tag linking them */
	bool missing;		/* no record under key: run is empty */
	struct vs_run run;
	size_t ninputs;
	struct vs_lineage_node *inputs;	/* owned: run.inputs, expanded */
};

/*
 * Builds the lineage of commit in repo into root (released with
 * vs_lineage_release, also on failure): the runs whose produced tags name
 * it (note 5), each with its inputs, recursively.  Every snapshot is
 * expanded once; later occurrences (diamonds, cycles) are marked repeated.
 * Returns 0 or a read error.
 */
int vs_lineage_build(struct vs_store *s, const struct vs_repo *repo,
		     const struct vs_id *commit, struct vs_lineage_node *root,
		     struct vs_error *err);
void vs_lineage_release(struct vs_lineage_node *root);

#endif
