#!/usr/bin/env bash
# CI integration: `tag --ci` detects each provider (GitHub Actions, GitLab
# CI/CD, Jenkins, Travis CI, CircleCI, Bitbucket Pipelines, Buildkite, Azure
# Pipelines) from its variables and records the run; outside CI it fails and changes nothing; tags stay immutable; `runs --json`
# and `run show --json` have the documented shape; lineage walks model -> run ->
# dataset -> run -> dataset; `pin` then `checkout --lock` reproduces the pinned
# versions after newer commits; `lock verify` finds missing snapshots.
#
# Every command runs with the CI variables of the machine running this test
# removed (`noci`), so the suite also passes inside a CI system (where CI=true,
# GITHUB_ACTIONS=true, ... are set).
source "$(dirname "$0")/lib.sh"

# The variables of every CI provider (and of the machine running this test).
ci_vars() {
	local v
	for v in $(compgen -e); do
		case "$v" in
		CI | CI_* | GITHUB_* | GITLAB_* | RUNNER_* | JENKINS_* | BUILD_* | GIT_* | \
			JOB_* | BRANCH_NAME | TRAVIS | TRAVIS_* | CIRCLECI | CIRCLE_* | \
			BITBUCKET_* | BUILDKITE | BUILDKITE_* | TF_BUILD | SYSTEM_* | AGENT_*)
			echo "$v"
			;;
		esac
	done
}

# noci CMD...: CMD without any CI provider's variables in its environment
# (env -u for commands, "varve" meaning the binary; unset in a subshell for
# shell functions such as store_fingerprint).
noci() {
	local -a unset=()
	local v cmd=$1
	shift
	[[ "$cmd" == varve ]] && cmd=$VARVE
	if declare -F "$cmd" >/dev/null; then
		(
			for v in $(ci_vars); do unset "$v"; done
			"$cmd" "$@"
		)
		return
	fi
	for v in $(ci_vars); do unset+=(-u "$v"); done
	env "${unset[@]}" "$cmd" "$@"
}

# ci PROVIDER CMD...: CMD in a clean environment plus PROVIDER's variables.
ci() {
	local p=$1
	shift
	local -a vars
	case "$p" in
	github)
		vars=(CI=true GITHUB_ACTIONS=true GITHUB_RUN_ID="${RUN_ID:-9876543210}"
			GITHUB_RUN_ATTEMPT="${ATTEMPT:-1}" GITHUB_SERVER_URL=https://github.com
			GITHUB_REPOSITORY=acme/train
			GITHUB_SHA=0123456789abcdef0123456789abcdef01234567
			GITHUB_REF=refs/heads/main GITHUB_WORKFLOW=train GITHUB_JOB=fit) ;;
	gitlab)
		vars=(CI=true GITLAB_CI=true CI_PIPELINE_ID="${RUN_ID:-4242}" CI_JOB_ID=777
			CI_PIPELINE_URL="https://gitlab.example.com/acme/train/-/pipelines/${RUN_ID:-4242}"
			CI_COMMIT_SHA=fedcba9876543210fedcba9876543210fedcba98
			CI_COMMIT_REF_NAME=feature/x CI_PROJECT_PATH=acme/train CI_JOB_NAME=prepare) ;;
	jenkins)
		vars=(JENKINS_URL=https://jenkins.example.com/ BUILD_NUMBER="${RUN_ID:-77}"
			BUILD_ID="${RUN_ID:-77}"
			BUILD_URL="https://jenkins.example.com/job/train/${RUN_ID:-77}/"
			GIT_COMMIT=abc123abc123abc123abc123abc123abc123abc1 GIT_BRANCH=origin/main
			GIT_URL=https://git.example.com/acme/train.git JOB_NAME=ml/train) ;;
	travis)
		vars=(CI=true TRAVIS=true TRAVIS_BUILD_ID="${RUN_ID:-555}" TRAVIS_JOB_ID=556
			TRAVIS_BUILD_WEB_URL="https://app.travis-ci.com/acme/train/builds/${RUN_ID:-555}"
			TRAVIS_COMMIT=c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00 TRAVIS_BRANCH=main
			TRAVIS_REPO_SLUG=acme/train TRAVIS_JOB_NAME=train) ;;
	circleci)
		vars=(CI=true CIRCLECI=true
			CIRCLE_WORKFLOW_ID="${RUN_ID:-5a2e0a7e-1c1b-4a63-9f0e-1234567890ab}"
			CIRCLE_BUILD_NUM=321 CIRCLE_BUILD_URL=https://circleci.com/gh/acme/train/321
			CIRCLE_SHA1=beefbeefbeefbeefbeefbeefbeefbeefbeefbeef CIRCLE_BRANCH=main
			CIRCLE_PROJECT_USERNAME=acme CIRCLE_PROJECT_REPONAME=train CIRCLE_JOB=fit) ;;
	bitbucket)
		vars=(CI=true BITBUCKET_PIPELINE_UUID='{1f0c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f}'
			BITBUCKET_BUILD_NUMBER="${RUN_ID:-42}"
			BITBUCKET_STEP_UUID='{9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9}'
			BITBUCKET_COMMIT=0badc0de0badc0de0badc0de0badc0de0badc0de BITBUCKET_BRANCH=main
			BITBUCKET_WORKSPACE=acme BITBUCKET_REPO_SLUG=train BITBUCKET_REPO_FULL_NAME=acme/train
			BITBUCKET_GIT_HTTP_ORIGIN=http://bitbucket.org/acme/train) ;;
	buildkite)
		vars=(CI=true BUILDKITE=true
			BUILDKITE_BUILD_ID="${RUN_ID:-4735ba57-80d0-46e2-8fa0-b28223a86586}"
			BUILDKITE_BUILD_NUMBER=1514 BUILDKITE_RETRY_COUNT="${RETRIES:-0}"
			BUILDKITE_BUILD_URL=https://buildkite.com/acme/train/builds/1514
			BUILDKITE_COMMIT=83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d BUILDKITE_BRANCH=main
			BUILDKITE_REPO=git@github.com:acme/train.git BUILDKITE_PIPELINE_SLUG=train
			BUILDKITE_ORGANIZATION_SLUG=acme BUILDKITE_LABEL=':hammer: fit'
			BUILDKITE_JOB_ID=e44f9784-e20e-4b93-a21d-f41fd5869db9) ;;
	azure)
		vars=(TF_BUILD=True BUILD_BUILDID="${RUN_ID:-1234}" BUILD_BUILDNUMBER=20240807.1
			SYSTEM_JOBATTEMPT="${ATTEMPT:-1}" SYSTEM_COLLECTIONURI=https://dev.azure.com/fabrikam/
			SYSTEM_TEAMFOUNDATIONCOLLECTIONURI=https://dev.azure.com/fabrikam/
			SYSTEM_TEAMPROJECT='Fabrikam Fiber'
			BUILD_SOURCEVERSION=3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e
			BUILD_SOURCEBRANCH=refs/heads/main
			BUILD_REPOSITORY_URI=https://dev.azure.com/fabrikam/_git/train
			BUILD_DEFINITIONNAME='train CI' SYSTEM_JOBDISPLAYNAME='Fit model' AGENT_JOBNAME=Job
			SYSTEM_JOBID=12f1170f-54f2-53f3-20dd-22fc7dff55f9) ;;
	*) fail "ci: unknown provider $p" ;;
	esac
	[[ "$1" == varve ]] && set -- "$VARVE" "${@:2}"
	noci env "${vars[@]}" "$@"
}

# --- a store with a dataset (two versions) and a model ---------------------------
expect_exit 0 noci varve init
STORE=$TMP/.varve
expect_exit 0 noci varve create dataset imgs
expect_exit 0 noci varve create model net
mkdir -p src1 src2 model1
printf 'one\n' >src1/a.txt
printf 'two\n' >src1/b.txt
expect_exit 0 noci varve commit datasets/imgs --from src1 -m v1
D1=$(cat "$OUT")
cp -a src1/. src2/
printf 'changed\n' >>src2/a.txt
expect_exit 0 noci varve commit datasets/imgs --from src2 -m v2
D2=$(cat "$OUT")
printf 'weights 1\n' >model1/w.bin
expect_exit 0 noci varve commit models/net --from model1 -m m1
M1=$(cat "$OUT")

# --- outside CI: a clear error, nothing changes ------------------------------------
before=$(noci store_fingerprint)
expect_exit 1 noci varve tag --ci --used datasets/imgs
expect_error_format
expect_err_contains "no CI run detected"
expect_err_contains "GITHUB_ACTIONS"
# CI=true alone (a provider varve does not know) is still no run.
expect_exit 1 noci env CI=true "$VARVE" tag --ci --produced models/net
expect_err_contains "CI is"
# A provider detected without its run id.
expect_exit 1 noci env GITHUB_ACTIONS=true "$VARVE" tag --ci --used datasets/imgs
expect_err_contains "GITHUB_RUN_ID"
expect_exit 1 noci env GITLAB_CI=true CI_PIPELINE_ID='1/2' "$VARVE" tag --ci --used datasets/imgs
expect_err_contains "invalid run id"
assert_eq "$before" "$(noci store_fingerprint)" "store after failed --ci"
expect_exit 0 noci varve runs --json
assert_eq "[]" "$(json 'd' <"$OUT")" "no run recorded"

# --- usage errors -------------------------------------------------------------------
expect_exit 2 noci varve tag --ci datasets/imgs
expect_error_format usage
expect_err_contains "--used or --produced"
expect_exit 2 noci varve tag --used datasets/imgs
expect_err_contains "need --ci"
expect_exit 2 ci github varve tag --ci --used --produced datasets/imgs
expect_exit 2 ci github varve tag --ci --used
expect_exit 2 ci github varve tag --ci --used datasets/imgs name extra
expect_exit 2 noci varve runs --provider drone
expect_err_contains "unknown provider 'drone' (expected one of github, gitlab, jenkins, travis, circleci, bitbucket, buildkite, azure)"
expect_exit 2 noci varve runs extra
expect_exit 2 noci varve run
expect_exit 2 noci varve run list
expect_exit 2 noci varve run show
expect_exit 2 noci varve run show notakey
expect_exit 1 noci varve run show github/1
expect_error_format
expect_err_contains "no run 'github/1'"
expect_exit 2 noci varve lineage
expect_exit 2 noci varve tags
expect_exit 1 noci varve tags datasets/nope
expect_exit 1 ci github varve tag --ci --used datasets/nope
expect_exit 1 ci github varve tag --ci --used datasets/imgs 'bad..name'
expect_err_contains "invalid tag name"

# --- each provider: detect, tag, record ------------------------------------------------
# check_run PROVIDER KEY RUN_ID ATTEMPT URL COMMIT REF REPOSITORY WORKFLOW JOB
check_run() {
	local p=$1 key=$2
	expect_exit 0 noci varve run show "$key" --json
	assert_eq "$key" "$(json 'd["key"]' <"$OUT")" "$p key"
	assert_eq "$p" "$(json 'd["provider"]' <"$OUT")" "$p provider"
	assert_eq "$3" "$(json 'd["run_id"]' <"$OUT")" "$p run_id"
	assert_eq "$4" "$(json 'd["attempt"]' <"$OUT")" "$p attempt"
	assert_eq "$5" "$(json 'd["url"]' <"$OUT")" "$p url"
	assert_eq "$6" "$(json 'd["commit"]' <"$OUT")" "$p commit"
	assert_eq "$7" "$(json 'd["ref"]' <"$OUT")" "$p ref"
	assert_eq "$8" "$(json 'd["repository"]' <"$OUT")" "$p repository"
	assert_eq "$9" "$(json 'd["workflow"]' <"$OUT")" "$p workflow"
	assert_eq "${10}" "$(json 'd["job"]' <"$OUT")" "$p job"
	assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$(json 'd["time"]' <"$OUT")" "$p time"
	assert_eq "[[\"datasets/imgs\", \"$D1\", \"ci/$key\"]]" \
		"$(json '[[s["repo"], s["commit"], s["tag"]] for s in d["inputs"]]' <"$OUT")" "$p inputs"
	assert_eq "[]" "$(json 'd["outputs"]' <"$OUT")" "$p outputs"
}

expect_exit 0 ci github varve tag --ci --used "datasets/imgs@$D1"
assert_eq "tagged datasets/imgs@ci/github/9876543210-1 -> ${D1:0:12} (used by run github/9876543210-1)" \
	"$(cat "$OUT")" "github tag output"
check_run github github/9876543210-1 9876543210 1 \
	https://github.com/acme/train/actions/runs/9876543210 \
	0123456789abcdef0123456789abcdef01234567 refs/heads/main acme/train train fit

expect_exit 0 ci gitlab varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "datasets/imgs@ci/gitlab/4242 ->"
check_run gitlab gitlab/4242 4242 null \
	https://gitlab.example.com/acme/train/-/pipelines/4242 \
	fedcba9876543210fedcba9876543210fedcba98 feature/x acme/train null prepare
expect_exit 0 noci varve run show gitlab/4242 --json
assert_eq 777 "$(json 'd["inputs"][0]["job_id"]' <"$OUT")" "gitlab job id"

expect_exit 0 ci jenkins varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "datasets/imgs@ci/jenkins/77 ->"
check_run jenkins jenkins/77 77 null https://jenkins.example.com/job/train/77/ \
	abc123abc123abc123abc123abc123abc123abc1 origin/main \
	https://git.example.com/acme/train.git ml/train null

expect_exit 0 ci travis varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "datasets/imgs@ci/travis/555 ->"
check_run travis travis/555 555 null https://app.travis-ci.com/acme/train/builds/555 \
	c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00 main acme/train null train

expect_exit 0 ci circleci varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "datasets/imgs@ci/circleci/5a2e0a7e-1c1b-4a63-9f0e-1234567890ab ->"
check_run circleci circleci/5a2e0a7e-1c1b-4a63-9f0e-1234567890ab \
	5a2e0a7e-1c1b-4a63-9f0e-1234567890ab null https://circleci.com/gh/acme/train/321 \
	beefbeefbeefbeefbeefbeefbeefbeefbeefbeef main acme/train null fit

expect_exit 0 ci bitbucket varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "datasets/imgs@ci/bitbucket/42 ->"
check_run bitbucket bitbucket/42 42 null https://bitbucket.org/acme/train/pipelines/results/42 \
	0badc0de0badc0de0badc0de0badc0de0badc0de main acme/train null null
expect_exit 0 noci varve run show bitbucket/42 --json
assert_eq '{9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9}' "$(json 'd["inputs"][0]["job_id"]' <"$OUT")" \
	"bitbucket step uuid"
# Bitbucket Pipelines detected without a build number: nothing recorded.
expect_exit 1 noci env BITBUCKET_PIPELINE_UUID='{1}' "$VARVE" tag --ci --used datasets/imgs
expect_err_contains "BITBUCKET_BUILD_NUMBER is not set"

BK=4735ba57-80d0-46e2-8fa0-b28223a86586
expect_exit 0 ci buildkite varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "datasets/imgs@ci/buildkite/$BK-1 ->"
check_run buildkite "buildkite/$BK-1" "$BK" 1 https://buildkite.com/acme/train/builds/1514 \
	83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d main git@github.com:acme/train.git train ':hammer: fit'
expect_exit 0 noci varve run show "buildkite/$BK-1" --json
assert_eq e44f9784-e20e-4b93-a21d-f41fd5869db9 "$(json 'd["inputs"][0]["job_id"]' <"$OUT")" \
	"buildkite job id"
# A retried job (BUILDKITE_RETRY_COUNT=1) is the second attempt; a bad count
# is an error naming the variable, and records nothing.
RETRIES=1 expect_exit 0 ci buildkite varve tag --ci --used "datasets/imgs@$D2"
expect_out_contains "datasets/imgs@ci/buildkite/$BK-2 ->"
RETRIES=x expect_exit 1 ci buildkite varve tag --ci --used "datasets/imgs@$D2" never
expect_err_contains "invalid retry count 'x' in \$BUILDKITE_RETRY_COUNT"

AZ_URL="https://dev.azure.com/fabrikam/Fabrikam%20Fiber/_build/results?buildId=1234"
expect_exit 0 ci azure varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "datasets/imgs@ci/azure/1234-1 ->"
check_run azure azure/1234-1 1234 1 "$AZ_URL" 3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e \
	refs/heads/main https://dev.azure.com/fabrikam/_git/train 'train CI' 'Fit model'
expect_exit 0 noci varve run show azure/1234-1 --json
assert_eq 12f1170f-54f2-53f3-20dd-22fc7dff55f9 "$(json 'd["inputs"][0]["job_id"]' <"$OUT")" \
	"azure job id"
expect_exit 0 noci varve run show azure/1234
expect_out_contains "url         $AZ_URL"
expect_out_contains "workflow    train CI"
# TF_BUILD=True names the build; another value names none.
expect_exit 1 noci env TF_BUILD=true BUILD_BUILDID=1 "$VARVE" tag --ci --used datasets/imgs
expect_err_contains "no CI run detected"
expect_err_contains "TF_BUILD"

# The tag carries the run.
expect_exit 0 noci varve tags datasets/imgs --json
assert_eq '["ci/azure/1234-1", "ci/bitbucket/42", "ci/buildkite/4735ba57-80d0-46e2-8fa0-b28223a86586-1", "ci/buildkite/4735ba57-80d0-46e2-8fa0-b28223a86586-2", "ci/circleci/5a2e0a7e-1c1b-4a63-9f0e-1234567890ab", "ci/github/9876543210-1", "ci/gitlab/4242", "ci/jenkins/77", "ci/travis/555"]' \
	"$(json '[t["name"] for t in d]' <"$OUT")" "tags of datasets/imgs"
assert_eq "gitlab/4242 used $D1" \
	"$(json '[" ".join([t["run"], t["role"], t["commit"]]) for t in d if t["name"] == "ci/gitlab/4242"][0]' <"$OUT")" \
	"tag run meta"
assert_eq "https://gitlab.example.com/acme/train/-/pipelines/4242" \
	"$(json '[t["meta"]["ci.url"] for t in d if t["name"] == "ci/gitlab/4242"][0]' <"$OUT")" "tag ci.url"
expect_exit 0 noci varve tags datasets/imgs
grep -qE "^ci/travis/555  ${D1:0:12}  [0-9T:-]+Z  used by travis/555$" "$OUT" ||
	{ cat "$OUT" >&2; fail "tags: no human line for ci/travis/555"; }

# "github/9876543210" names its only attempt.
expect_exit 0 noci varve run show github/9876543210
expect_out_contains "run         github/9876543210-1"
expect_out_contains "url         https://github.com/acme/train/actions/runs/9876543210"
expect_out_contains "  datasets/imgs@${D1:0:12}  tag ci/github/9876543210-1  job fit"

# --- immutable tags ------------------------------------------------------------------
# The same command again (a retried job) is a no-op success.
before=$(noci store_fingerprint "datasets/imgs@ci/github/9876543210-1")
expect_exit 0 ci github varve tag --ci --used "datasets/imgs@$D1"
expect_out_contains "already tagged datasets/imgs@ci/github/9876543210-1"
# The run's tag name at another commit: fails, nothing changes.
expect_exit 1 ci github varve tag --ci --used "datasets/imgs@$D2"
expect_error_format
expect_err_contains "already exists"
expect_err_contains "immutable"
assert_eq "$before" "$(noci store_fingerprint "datasets/imgs@ci/github/9876543210-1")" \
	"store after re-tag"
expect_exit 0 noci varve run show github/9876543210-1 --json
assert_eq 1 "$(json 'len(d["inputs"])' <"$OUT")" "inputs after refused re-tag"
# Plain tags: an existing NAME fails and nothing changes.
expect_exit 0 noci varve tag "datasets/imgs@$D1" v1
expect_exit 1 noci varve tag "datasets/imgs@$D2" v1
expect_err_contains "already exists"
expect_exit 1 ci gitlab varve tag --ci --used "datasets/imgs@$D2" v1
expect_err_contains "immutable"
expect_exit 0 noci varve log datasets/imgs@v1 -n 1 --json
assert_eq "$D1" "$(json 'd[0]["id"]' <"$OUT")" "v1 still at D1"
# Another attempt of the same GitHub run is another run.
ATTEMPT=2 expect_exit 0 ci github varve tag --ci --used "datasets/imgs@$D2"
expect_out_contains "datasets/imgs@ci/github/9876543210-2 ->"
# Now "github/9876543210" is ambiguous.
expect_exit 1 noci varve run show github/9876543210
expect_error_format
expect_err_contains "github/9876543210-1, github/9876543210-2"

# --- runs --json -------------------------------------------------------------------------
expect_exit 0 noci varve runs --json
json 'd' <"$OUT" >/dev/null
python3 - "$OUT" <<'PY' || fail "runs --json shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 10, d
providers = {"github", "gitlab", "jenkins", "travis", "circleci", "bitbucket", "buildkite",
             "azure"}
for r in d:
    for k in ("key", "provider", "run_id", "attempt", "url", "commit", "ref",
              "repository", "workflow", "job", "time", "timestamp", "inputs", "outputs"):
        assert k in r, (k, r)
    assert r["provider"] in providers, r
    assert isinstance(r["run_id"], str) and r["run_id"], r
    assert isinstance(r["url"], str) and r["url"].startswith("https://"), r
    for s in r["inputs"] + r["outputs"]:
        assert set(("repo", "commit", "tag")) <= set(s), s
        assert len(s["commit"]) == 64, s
# newest first
ts = [r["timestamp"] for r in d]
assert ts == sorted(ts, reverse=True), ts
PY
expect_exit 0 noci varve runs --provider github --json
assert_eq '["github/9876543210-1", "github/9876543210-2"]' "$(json 'sorted(r["key"] for r in d)' <"$OUT")" \
	"runs --provider github"
expect_exit 0 noci varve runs
assert_eq 10 "$(wc -l <"$OUT")" "runs: one line per run"
grep -qE '^jenkins/77  [0-9T:-]+Z  origin/main  abc123abc1  1 used, 0 produced  https://jenkins.example.com/job/train/77/$' "$OUT" ||
	{ cat "$OUT" >&2; fail "runs: no human line for jenkins/77"; }

# --- lineage: raw -> (gitlab 900) -> clean -> (github 901) -> model -------------------
expect_exit 0 noci varve create dataset raw
expect_exit 0 noci varve create dataset clean
mkdir raw clean
printf 'raw\n' >raw/r.txt
printf 'clean\n' >clean/c.txt
expect_exit 0 noci varve commit datasets/raw --from raw
R1=$(cat "$OUT")
RUN_ID=900 expect_exit 0 ci gitlab varve tag --ci --used datasets/raw
expect_exit 0 noci varve commit datasets/clean --from clean
C1=$(cat "$OUT")
RUN_ID=900 expect_exit 0 ci gitlab varve tag --ci --produced datasets/clean
RUN_ID=901 expect_exit 0 ci github varve tag --ci --used datasets/clean
RUN_ID=901 expect_exit 0 ci github varve tag --ci --used "datasets/imgs@$D2" trained-on
printf 'weights 2\n' >model1/w.bin
expect_exit 0 noci varve commit models/net --from model1 -m m2
M2=$(cat "$OUT")
RUN_ID=901 expect_exit 0 ci github varve tag --ci --produced models/net -m "trained"
expect_out_contains "tagged models/net@ci/github/901-1 -> ${M2:0:12} (produced by run github/901-1)"

expect_exit 0 noci varve lineage models/net --json
python3 - "$OUT" "$M2" "$C1" "$R1" "$D2" <<'PY' || fail "lineage --json"
import json, sys
d = json.load(open(sys.argv[1]))
m2, c1, r1, d2 = sys.argv[2:]
assert d["repo"] == "models/net" and d["commit"] == m2 and not d["repeated"], d
[run] = d["produced_by"]
assert run["key"] == "github/901-1" and run["provider"] == "github", run
assert run["tag"] == "ci/github/901-1" and run["missing"] is False, run
ins = {i["repo"]: i for i in run["inputs"]}
assert set(ins) == {"datasets/clean", "datasets/imgs"}, ins
assert ins["datasets/imgs"]["commit"] == d2 and ins["datasets/imgs"]["tag"] == "trained-on"
assert ins["datasets/imgs"]["produced_by"] == []
clean = ins["datasets/clean"]
assert clean["commit"] == c1, clean
[prep] = clean["produced_by"]
assert prep["key"] == "gitlab/900" and prep["url"].endswith("/pipelines/900"), prep
[raw] = prep["inputs"]
assert raw["repo"] == "datasets/raw" and raw["commit"] == r1 and raw["produced_by"] == [], raw
assert [o["repo"] for o in prep["outputs"]] == ["datasets/clean"], prep
PY
expect_exit 0 noci varve lineage models/net
expect_out_contains "models/net@${M2:0:12}"
expect_out_contains "  produced by github/901-1  https://github.com/acme/train/actions/runs/901"
expect_out_contains "      used datasets/clean@${C1:0:12}  tag ci/github/901-1"
expect_out_contains "      produced by gitlab/900"
expect_out_contains "          used datasets/raw@${R1:0:12}  tag ci/gitlab/900"
# The older model was produced by no run.
expect_exit 0 noci varve lineage "models/net@$M1"
expect_out_contains "produced by no recorded run"
expect_exit 1 noci varve lineage models/nope

# --- pin, then checkout --lock after newer commits -------------------------------------
mkdir code
cd code
expect_exit 0 noci varve pin "datasets/imgs@$D1" models/net
assert_eq "pinned datasets/imgs at ${D1:0:12} in varve.lock
pinned models/net at ${M2:0:12} in varve.lock" "$(cat "$OUT")" "pin output"
grep -qx "datasets/imgs $D1 # from datasets/imgs@$D1" varve.lock || { cat varve.lock >&2; fail "lock line of datasets/imgs"; }
grep -qx "models/net $M2 # from models/net" varve.lock || fail "lock line of models/net"
[[ "$(grep -v '^#' varve.lock | awk '{print $1}')" == "$(printf 'datasets/imgs\nmodels/net')" ]] ||
	fail "lock not sorted by repository"
cp varve.lock lock.orig
# Newer commits do not move the pins.
cd "$TMP"
printf 'three\n' >src2/c.txt
expect_exit 0 noci varve commit datasets/imgs --from src2 -m v3
D3=$(cat "$OUT")
printf 'weights 3\n' >model1/w.bin
expect_exit 0 noci varve commit models/net --from model1 -m m3
cd code
expect_exit 0 noci varve checkout --lock varve.lock data
expect_err_contains "checked out 2 pinned snapshots from varve.lock into data"
assert_same_tree "$TMP/src1" data/datasets/imgs
assert_eq "weights 2" "$(cat data/models/net/w.bin)" "pinned model content"
assert_eq "datasets models" "$(ls data | tr '\n' ' ' | sed 's/ $//')" "checkout --lock layout"
# The default lock file, and checkout over a non-empty directory.
expect_exit 1 noci varve checkout --lock varve.lock data
expect_err_contains "not empty"
mkdir empty
expect_exit 0 noci varve checkout --lock varve.lock empty
[[ -f empty/datasets/imgs/a.txt ]] || fail "checkout --lock into an empty dir"
expect_exit 2 noci varve checkout --lock varve.lock "datasets/imgs" data2
expect_err_contains "only DIR"
expect_exit 1 noci varve checkout --lock nosuch.lock data3
expect_err_contains "no lock file"
[[ ! -e data3 ]] || fail "checkout --lock of a missing lock created DIR"

# pin again: only the changed line changes, the rest is kept byte for byte.
printf '# my own note\n' >>varve.lock
expect_exit 0 noci varve pin datasets/imgs
expect_out_contains "pinned datasets/imgs at ${D3:0:12}"
diff lock.orig varve.lock >lock.diff || true
assert_eq "4c4
< datasets/imgs $D1 # from datasets/imgs@$D1
---
> datasets/imgs $D3 # from datasets/imgs
5a6
> # my own note" "$(cat lock.diff)" "diff of the lock file after a re-pin"
[[ $(grep -c '^datasets/imgs ' varve.lock) == 1 ]] || fail "re-pin duplicated the line"
expect_exit 0 noci varve pin datasets/imgs
expect_out_contains "already pinned datasets/imgs at ${D3:0:12}"
expect_exit 0 noci varve lock list
assert_eq "datasets/imgs@$D3
models/net@$M2" "$(cat "$OUT")" "lock list"

# --lock FILE elsewhere; bad input changes nothing.
expect_exit 0 noci varve pin --lock ../other.lock "models/net@$M1"
[[ -f ../other.lock ]] || fail "pin --lock FILE"
cp varve.lock lock.before
expect_exit 1 noci varve pin datasets/imgs datasets/nope
expect_error_format
cmp -s lock.before varve.lock || fail "a failed pin changed the lock file"
expect_exit 2 noci varve pin "datasets/imgs@$D1" "datasets/imgs@$D2"
expect_err_contains "one revision per repository"
expect_exit 2 noci varve pin
printf 'datasets/imgs %s extra\n' "$D1" >bad.lock
expect_exit 1 noci varve pin --lock bad.lock models/net
expect_err_contains "line 1: unexpected 'extra'"
expect_exit 1 noci varve lock verify --lock bad.lock
expect_exit 1 noci varve checkout --lock bad.lock data4
[[ ! -e data4 ]] || fail "checkout of a bad lock created DIR"

# --- lock verify -------------------------------------------------------------------------
expect_exit 0 noci varve lock verify
expect_out_contains "ok       datasets/imgs ${D3:0:12}"
expect_out_contains "all 2 pinned snapshots are present"
expect_exit 0 noci varve lock verify --json
assert_eq '[true, true]' "$(json '[p["present"] for p in d]' <"$OUT")" "lock verify --json"
printf 'datasets/ghost %s # not pulled\n' "$(printf 'ab%.0s' $(seq 32))" >>varve.lock
expect_exit 1 noci varve lock verify
expect_out_contains "missing  datasets/ghost abababababab (commit not in the store)"
expect_err_contains "1 of 3 pinned snapshots are not complete"
expect_exit 1 noci varve checkout --lock varve.lock data5
expect_err_contains "datasets/ghost: pinned commit"
[[ ! -e data5 ]] || fail "checkout --lock with a missing pin created DIR"
expect_exit 2 noci varve lock
expect_exit 2 noci varve lock frobnicate
expect_exit 1 noci varve lock verify --lock nosuch.lock
expect_err_contains "no lock file"

# --- lineage through the newer providers ---------------------------------------------
# check_produced REV COMMIT KEY PROVIDER ATTEMPT URL REF CODE_COMMIT INPUT_REPO INPUT_COMMIT
# REV (at COMMIT) was produced by run KEY, which used INPUT_REPO@INPUT_COMMIT:
# `lineage --json` and the human `lineage`, `runs` and `run show` show it.
check_produced() {
	local rev=$1 commit=$2 key=$3 p=$4 attempt=$5 url=$6 ref=$7 code=$8 in_repo=$9 in_commit=${10}
	expect_exit 0 noci varve lineage "$rev" --json
	python3 - "$OUT" "$commit" "$key" "$p" "$attempt" "$url" "$ref" "$code" "$in_repo" "$in_commit" <<'PY2' ||
import json, sys
d = json.load(open(sys.argv[1]))
commit, key, p, attempt, url, ref, code, in_repo, in_commit = sys.argv[2:]
assert d["commit"] == commit, d
[run] = d["produced_by"]
assert run["key"] == key and run["provider"] == p and run["tag"] == "ci/" + key, run
assert run["missing"] is False and json.dumps(run["attempt"]) == attempt, run
assert run["url"] == url and run["ref"] == ref and run["commit"] == code, run
assert [(i["repo"], i["commit"], i["tag"]) for i in run["inputs"]] == [(in_repo, in_commit, "ci/" + key)], run
assert [o["commit"] for o in run["outputs"]] == [commit], run
PY2
		fail "$p: lineage --json of $rev"
	expect_exit 0 noci varve lineage "$rev"
	expect_out_contains "  produced by $key  $url"
	expect_out_contains "      used $in_repo@${in_commit:0:12}  tag ci/$key"
	expect_exit 0 noci varve runs --provider "$p"
	local line
	line=$(grep -F "$key  " "$OUT" | head -n 1)
	[[ "$line" == "$key  "*"Z  $ref  ${code:0:10}  1 used, 1 produced  $url" ]] ||
		{ cat "$OUT" >&2; fail "$p: no human runs line for $key"; }
	expect_exit 0 noci varve run show "$key"
	expect_out_contains "url         $url"
	expect_out_contains "ref         $ref"
}

# raw -> (bitbucket 7001) -> datasets/feat
cd "$TMP"
expect_exit 0 noci varve create dataset feat
mkdir feat
printf 'features\n' >feat/f.txt
expect_exit 0 noci varve commit datasets/feat --from feat
F1=$(cat "$OUT")
RUN_ID=7001 expect_exit 0 ci bitbucket varve tag --ci --used "datasets/raw@$R1"
RUN_ID=7001 expect_exit 0 ci bitbucket varve tag --ci --produced datasets/feat
expect_out_contains "tagged datasets/feat@ci/bitbucket/7001 -> ${F1:0:12} (produced by run bitbucket/7001)"
check_produced datasets/feat "$F1" bitbucket/7001 bitbucket null \
	https://bitbucket.org/acme/train/pipelines/results/7001 main \
	0badc0de0badc0de0badc0de0badc0de0badc0de datasets/raw "$R1"

# datasets/feat -> (buildkite build 9a0e...) -> models/kite
expect_exit 0 noci varve create model kite
mkdir kite
printf 'kite weights\n' >kite/w.bin
expect_exit 0 noci varve commit models/kite --from kite
K1=$(cat "$OUT")
BK2=9a0e6d1c-2f3b-4c5d-8e7f-60718293a4b5
RUN_ID=$BK2 expect_exit 0 ci buildkite varve tag --ci --used datasets/feat
RUN_ID=$BK2 expect_exit 0 ci buildkite varve tag --ci --produced models/kite
check_produced models/kite "$K1" "buildkite/$BK2-1" buildkite 1 \
	https://buildkite.com/acme/train/builds/1514 main \
	83a20ec058e2fb00e7fa4558c4c6e81e2dcf253d datasets/feat "$F1"
# ... and on through the Bitbucket run that produced datasets/feat.
expect_exit 0 noci varve lineage models/kite
expect_out_contains "      produced by bitbucket/7001  https://bitbucket.org/acme/train/pipelines/results/7001"
expect_out_contains "          used datasets/raw@${R1:0:12}  tag ci/bitbucket/7001"

# models/kite -> (azure 5678, second attempt of the job) -> models/tuned: the whole
# chain raw -> bitbucket -> feat -> buildkite -> kite -> azure -> tuned.
expect_exit 0 noci varve create model tuned
mkdir tuned
printf 'tuned weights\n' >tuned/w.bin
expect_exit 0 noci varve commit models/tuned --from tuned
T1=$(cat "$OUT")
RUN_ID=5678 ATTEMPT=2 expect_exit 0 ci azure varve tag --ci --used models/kite
RUN_ID=5678 ATTEMPT=2 expect_exit 0 ci azure varve tag --ci --produced models/tuned
expect_out_contains "tagged models/tuned@ci/azure/5678-2 -> ${T1:0:12} (produced by run azure/5678-2)"
check_produced models/tuned "$T1" azure/5678-2 azure 2 \
	"https://dev.azure.com/fabrikam/Fabrikam%20Fiber/_build/results?buildId=5678" \
	refs/heads/main 3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e3f2a9c0e models/kite "$K1"
expect_exit 0 noci varve lineage models/tuned --json
assert_eq "azure buildkite bitbucket" \
	"$(json '" ".join([d["produced_by"][0]["provider"], d["produced_by"][0]["inputs"][0]["produced_by"][0]["provider"], d["produced_by"][0]["inputs"][0]["produced_by"][0]["inputs"][0]["produced_by"][0]["provider"]])' <"$OUT")" \
	"lineage through azure, buildkite and bitbucket"

# Every command in the suite ran clean of the runner's own CI variables.
note "providers: github gitlab jenkins travis circleci bitbucket buildkite azure"
