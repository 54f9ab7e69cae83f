#!/usr/bin/env bash
# While a daemon holds the store, every varve command is forwarded to it and must
# behave exactly as without a daemon: same stdout, stderr and exit status (read-only
# commands compared byte for byte; commands that create commits compared with ids
# and times normalised). Commits, tags and repositories made while mounted show up in
# the mount within a second or two. A forwarded commit whose client is killed stops and
# leaves no commit. `varve umount` of a busy mount fails clearly and leaves the mount
# working. A mount that must wait for the store says so.
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/mountlib.sh"
requires python3

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset d
expect_exit 0 varve create model m
mkdataset src1
expect_exit 0 varve commit datasets/d --from src1 -m "first" --meta k=v
ID1=$(cat "$OUT")
cp -a src1 src2
printf 'more\n' >>src2/README.txt
rm src2/a/notes.md
mkdir src2/added
printf 'added\n' >src2/added/x.txt
expect_exit 0 varve commit datasets/d --from src2 -m "second"
ID2=$(cat "$OUT")
expect_exit 0 varve tag "datasets/d@$ID1" v1 -m "tag message"
mkdir weights
randbytes w 100000 >weights/w.bin
expect_exit 0 varve commit models/m --from weights -m "model"
mkdir -p src3 outside
cp -a src2/. src3/
printf 'third\n' >src3/third.txt

# The read-only commands compared byte for byte. Each line: a label, then the
# command as words (eval'ed, so quoting works; the cwd is $TMP unless it cd's).
CMDS=(
	"list|varve list"
	"list-json|varve list --json"
	"log|varve log datasets/d"
	"log-json|varve log datasets/d --json"
	"log-oneline|varve log datasets/d --oneline -n 1"
	"log-tilde|varve log datasets/d@main~1"
	"ls|varve ls datasets/d"
	"ls-l|varve ls datasets/d@v1 -l"
	"ls-R|varve ls -R datasets/d@${ID1:0:7}:a"
	"ls-json|varve ls datasets/d --json"
	"cat|varve cat datasets/d@v1:README.txt"
	"cat-big|varve cat datasets/d:data/big.bin | sha256sum"
	"show|varve show datasets/d@v1"
	"show-json|varve show datasets/d --json"
	"show-model|varve show models/m"
	"diff|varve diff datasets/d@v1 datasets/d"
	"diff-json|varve diff datasets/d@v1 datasets/d@main --json"
	"branch|varve branch datasets/d"
	"tags|varve tags datasets/d"
	"stats|varve stats"
	"stats-json|varve stats --json"
	"status|varve status datasets/d"
	"status-json|varve status datasets/d --json"
	"verify|varve verify"
	"help|varve help log"
	"store-opt|cd outside && varve --store ../.varve log datasets/d --oneline"
	"store-env|cd / && VARVE_STORE=$STORE varve ls datasets/d@v1:a"
	"quiet|varve -q status datasets/d"
	"stdin|echo ignored | varve list"
	"err-rev|varve log datasets/d@nope"
	"err-rev-short|varve show datasets/d@0000000"
	"err-repo|varve log datasets/nosuch"
	"err-path|varve cat datasets/d:no/such/file"
	"ls-file|varve ls datasets/d:README.txt"
	"err-checkout-exists|varve checkout datasets/d src1"
	"usage-noargs|varve log"
	"usage-badopt|varve log datasets/d --frobnicate"
	"usage-badcmd|varve frobnicate"
	"usage-extra|varve show datasets/d datasets/d"
	"err-badname|varve create dataset Bad_Name"
	"err-kind|varve create widget x"
	"err-tag-exists|varve tag datasets/d v1"
)

# run_all PREFIX: runs every command, saving stdout, stderr and exit status
run_all() {
	local p=$1 entry label cmd rc
	mkdir -p "$p"
	for entry in "${CMDS[@]}"; do
		label=${entry%%|*} cmd=${entry#*|}
		rc=0
		(cd "$TMP" && eval "$cmd") </dev/null >"$p/$label.out" 2>"$p/$label.err" || rc=$?
		echo "$rc" >"$p/$label.rc"
		OUT=$p/$label.out ERR=$p/$label.err _check_sanitizer "$cmd"
	done
}

# without a daemon first, then the same through the daemon
run_all direct

# A mount waits for a process that holds the store, says so on the terminal, and
# gives up after VARVE_LOCK_WAIT seconds.
python3 -c 'import fcntl, sys, time; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_SH); time.sleep(60)' \
	"$STORE/lock" &
holder=$!
CLEANUP_PIDS+=("$holder")
wait_until 5 eval '! flock -n -x "$STORE/lock" true' || fail "flock never took the store's lock"
mkdir mnt-wait
export VARVE_LOCK_WAIT=2
expect_exit 1 varve mount mnt-wait
unset VARVE_LOCK_WAIT
assert_match "^varve: waiting for store '$STORE', in use by pid $holder \\(python3 -c " "$(head -n 1 "$ERR")" \
	"the notice of a mount that waits"
assert_match "^varve: error: cannot mount at 'mnt-wait': store '$STORE' is in use by pid $holder \\(python3 -c .*; gave up after 2 s\$" \
	"$(tail -n 1 "$ERR")" "the error of a mount that gave up"
is_mounted mnt-wait && fail "mnt-wait is mounted"
kill "$holder"
wait "$holder" 2>/dev/null || true

MNT=$TMP/mnt
mount_store "$MNT"
D=$MNT/datasets
[[ -S "$STORE/control.sock" ]] || fail "no control socket in the store while mounted"
assert_eq "600" "$(stat -c %a "$STORE/control.sock")" "mode of control.sock"

run_all mounted

# Compare: stdout, stderr and exit status of each command.
bad=0
for entry in "${CMDS[@]}"; do
	label=${entry%%|*} cmd=${entry#*|}
	for f in rc out err; do
		if ! cmp -s "direct/$label.$f" "mounted/$label.$f"; then
			echo "== $label ($cmd): $f differs, direct (-) vs forwarded (+):" >&2
			diff -u "direct/$label.$f" "mounted/$label.$f" | head -n 15 | cat -v >&2 || true
			bad=$((bad + 1))
		fi
	done
done
((bad == 0)) || fail "$bad outputs of forwarded commands differ from the same commands run without a daemon"

# the error contract itself
for label in err-rev err-rev-short err-repo err-path err-checkout-exists err-tag-exists err-badname; do
	assert_eq 1 "$(cat "mounted/$label.rc")" "exit status of '$label' while mounted"
	[[ "$(head -n 1 "mounted/$label.err")" == "varve: error: "* ]] || fail "stderr of '$label' while mounted: $(cat "mounted/$label.err")"
	[[ ! -s "mounted/$label.out" ]] || fail "'$label' printed on stdout while mounted"
done
for label in usage-noargs usage-badopt usage-badcmd usage-extra err-kind; do
	assert_eq 2 "$(cat "mounted/$label.rc")" "exit status of '$label' while mounted"
done
for label in list log ls cat show diff status verify store-opt store-env stdin; do
	assert_eq 0 "$(cat "mounted/$label.rc")" "exit status of '$label' while mounted"
done
assert_eq "$(cat src1/README.txt)" "$(cat mounted/cat.out)" "cat while mounted"
assert_eq "$(sha256sum <src2/data/big.bin)" "$(cat mounted/cat-big.out)" "cat of a 3 MiB file while mounted"

# --- mutations while mounted, seen by the mount ----------------------------------------
assert_same_listing src2 "$D/d" "head before the commit"
expect_exit 0 varve commit datasets/d --from src3 -m "third" --meta run=1
ID3=$(cat "$OUT")
assert_match "$HEX64" "$ID3" "commit --from while mounted: stdout"
expect_err_contains "committed datasets/d@main ${ID3:0:12} ("
sed -E 's/[0-9a-f]{12,64}/ID/g' "$ERR" >mut-mounted.commit.err
wait_until 2 test -e "$D/d/third.txt" || fail "NAME/ does not show the new commit within 2 s"
wait_until 2 test -e "$D/d@main/third.txt" || fail "NAME@main does not show the new commit within 2 s"
assert_same_listing src3 "$D/d" "NAME/ after a commit --from while mounted"
assert_same_listing src3 "$D/d@main" "NAME@main after a commit --from while mounted"
assert_same_listing src2 "$D/d@main~1" "NAME@main~1 after a commit --from while mounted"
assert_eq "$ID3" "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.varve.commit").decode())' "$D/d")" \
	"user.varve.commit of the head after commit --from"
expect_exit 0 varve tag datasets/d v3
sed -E 's/[0-9a-f]{12,64}/ID/g' "$OUT" >mut-mounted.tag.out
wait_until 2 test -d "$D/d@v3" || fail "NAME@v3 does not appear within 2 s of varve tag"
assert_same_listing src3 "$D/d@v3" "NAME@v3"
[[ ! -e "$D/fresh" && ! -e "$D/fresh@main" && ! -e "$D/d@exp" ]] || fail "entries exist before they were made"
expect_exit 0 varve create dataset fresh
wait_until 2 test -d "$D/fresh" || fail "a repository created while mounted does not appear within 2 s"
assert_eq "d fresh" "$(ls "$D" | tr '\n' ' ' | sed 's/ $//')" "ls MNT/datasets after create"
expect_exit 0 varve branch datasets/d exp "datasets/d@$ID1"
wait_until 2 test -d "$D/d@exp" || fail "a branch created while mounted does not appear"
assert_same_listing src1 "$D/d@exp" "NAME@exp (new branch)"
# checkout while mounted writes relative to the client's cwd
mkdir sub-cwd
(cd sub-cwd && "$VARVE" checkout datasets/d@v1 co) >/dev/null 2>"$ERR" || { cat "$ERR" >&2; fail "checkout while mounted"; }
assert_same_tree src1 sub-cwd/co
# a second mount of the same store is refused
mkdir mnt2
expect_exit 1 varve mount mnt2
expect_error_format
expect_err_contains "already mounted"
is_mounted mnt2 && fail "a second mount of the same store succeeded"

# --- a forwarded command whose client dies stops, as it would in the client -------------
# 64 hard links of one 64 MiB file: 4 GiB to read and hash, seconds of work.
expect_exit 0 varve create dataset big
mkdir big
head -c $((64 << 20)) /dev/urandom >big/f0
for i in $(seq 63); do ln big/f0 "big/f$i"; done
"$VARVE" commit datasets/big --from big -m big >big.out 2>big.err &   # $! is varve itself
client=$!
CLEANUP_PIDS+=("$client")
sleep 0.5
kill -TERM "$client"
wait "$client" 2>/dev/null || true
wait_until 30 grep -q "forwarded 'commit' stopped: its client went away" "$STORE/mount.log" ||
	fail "the daemon went on with the commit of a killed client"
expect_exit 1 varve log datasets/big
expect_err_contains "no commits yet"
[[ ! -s big.err ]] || fail "the stopped commit wrote to its dead client's stderr: $(cat big.err)"
rm -rf big
expect_exit 0 varve log datasets/d -n 1 --oneline      # the daemon still serves
# A forwarded cat whose reader goes away stops reading: the daemon reads a few
# chunks of the 64 MiB file, not all of it.
mkdir big
head -c $((64 << 20)) /dev/urandom >big/f
expect_exit 0 varve commit datasets/big --from big -m big
dpid=$(daemon_pid_from_log "$MNT")
[[ -n "$dpid" ]] || fail "no daemon pid in the mount log"
r0=$(awk '/^rchar/ {print $2}' "/proc/$dpid/io")
"$VARVE" cat datasets/big:f | head -c 10 >/dev/null || true   # cat ends by SIGPIPE
r1=$(awk '/^rchar/ {print $2}' "/proc/$dpid/io")
(((r1 - r0) < (16 << 20))) || fail "a forwarded cat read $(((r1 - r0) >> 20)) MiB for a reader that took 10 bytes"
rm -rf big

# --- umount of a busy mount -------------------------------------------------------------
(cd "$D/d" && exec sleep 60) &
busy=$!
CLEANUP_PIDS+=("$busy")
sleep 0.3
expect_exit 1 varve umount "$MNT"
expect_error_format
expect_err_contains "busy"
is_mounted "$MNT" || fail "the mount is gone after a refused umount"
expect_exit 0 varve log datasets/d -n 1 --oneline      # the daemon still serves
assert_match "^${ID3:0:12} third" "$(cat "$OUT")" "log after a refused umount"
assert_same_listing src3 "$D/d" "the head after a refused umount"
kill "$busy" 2>/dev/null || true
wait "$busy" 2>/dev/null || true
umount_store "$MNT"
expect_exit 1 varve umount "$MNT"                       # not a mount any more
expect_error_format

# the mutating commands, normalised: commit --from and tag say the same without a daemon
expect_exit 0 varve create dataset d2
expect_exit 0 varve commit datasets/d2 --from src3 -m "third" --meta run=1
sed -E -e 's/[0-9a-f]{12,64}/ID/g' -e 's|datasets/d2|datasets/d|g' "$ERR" >mut-direct.commit.err
diff -u mut-mounted.commit.err mut-direct.commit.err >&2 || fail "commit --from: stderr differs with and without a daemon"
expect_exit 0 varve tag datasets/d2 v3
sed -E -e 's/[0-9a-f]{12,64}/ID/g' -e 's|datasets/d2|datasets/d|g' "$OUT" >mut-direct.tag.out
diff -u mut-mounted.tag.out mut-direct.tag.out >&2 || fail "tag: stdout differs with and without a daemon"
