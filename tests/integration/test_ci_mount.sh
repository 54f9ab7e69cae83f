#!/usr/bin/env bash
# The CI commands while a mount daemon holds the store: `tag --ci` is forwarded
# and detects the run from the client's environment (not the daemon's), `pin`
# and `checkout --lock` use the client's working directory, and the records
# survive the unmount.
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/mountlib.sh"
requires python3

# Remove every CI variable of the machine running the test, for the daemon
# and the clients alike.
for v in $(compgen -e); do
	case "$v" in
	CI | CI_* | GITHUB_* | GITLAB_* | RUNNER_* | JENKINS_* | BUILD_* | GIT_* | \
		JOB_* | BRANCH_NAME | TRAVIS | TRAVIS_* | CIRCLECI | CIRCLE_* | \
		BITBUCKET_* | BUILDKITE | BUILDKITE_* | TF_BUILD | SYSTEM_* | AGENT_*)
		unset "$v"
		;;
	esac
done

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset d
expect_exit 0 varve create model m
mkdir src w
printf 'data\n' >src/x.txt
printf 'weights\n' >w/w.bin
expect_exit 0 varve commit datasets/d --from src
D1=$(cat "$OUT")
expect_exit 0 varve commit models/m --from w
M1=$(cat "$OUT")

mount_store mnt
GH=(GITHUB_ACTIONS=true GITHUB_RUN_ID=31337 GITHUB_RUN_ATTEMPT=1
	GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=acme/train GITHUB_SHA=abc
	GITHUB_REF=refs/heads/main GITHUB_WORKFLOW=train GITHUB_JOB=fit)

# Outside CI, even with a daemon: no run.
expect_exit 1 varve tag --ci --used datasets/d
expect_err_contains "no CI run detected"
expect_exit 0 env "${GH[@]}" "$VARVE" tag --ci --used datasets/d
expect_out_contains "tagged datasets/d@ci/github/31337-1 -> ${D1:0:12}"
expect_exit 0 env "${GH[@]}" "$VARVE" tag --ci --produced models/m
expect_exit 0 varve lineage models/m --json
assert_eq "github/31337-1 datasets/d" \
	"$(json 'd["produced_by"][0]["key"] + " " + d["produced_by"][0]["inputs"][0]["repo"]' <"$OUT")" \
	"lineage through the daemon"
# The tagged snapshot reads through the mount by its commit id, and by its tag,
# there and in the history listing ('/' in a tag name is %2F in a mount path: a
# tag name like the default ci/github/... cannot be one path component).
assert_eq "data" "$(cat "mnt/datasets/d@${D1:0:12}/x.txt")" "the tagged snapshot in the mount"
wait_until 5 test -f "mnt/history/datasets/d/tags/ci%2Fgithub%2F31337-1/x.txt" ||
	fail "the run's tag is not in the mount's history listing"
assert_eq "data" "$(cat "mnt/datasets/d@ci%2Fgithub%2F31337-1/x.txt")" "the run's tag as NAME@TAG"

mkdir code
cd code
expect_exit 0 varve pin datasets/d models/m
[[ -f varve.lock ]] || fail "pin through the daemon did not write ./varve.lock in the client's cwd"
expect_exit 0 varve checkout --lock varve.lock data
assert_eq "data" "$(cat data/datasets/d/x.txt)" "checkout --lock through the daemon"
expect_exit 0 varve lock verify
cd "$TMP"

umount_store mnt
expect_exit 0 varve runs --json
assert_eq '["github/31337-1"]' "$(json '[r["key"] for r in d]' <"$OUT")" "runs after umount"
assert_eq "$M1" "$(json 'd[0]["outputs"][0]["commit"]' <"$OUT")" "output recorded"
