#!/usr/bin/env bash
# kill -9 of the mount daemon: the staged changes of the writable head survive (they
# live in the store), the dead mount point is recovered by the next `varve mount`
# (even with a shell still inside it), the store verifies, and the changes commit
# correctly. A second kill lands while a writer is busy: the store stays consistent
# and `varve reset` cleans up. SIGTERM makes the daemon unmount and exit cleanly,
# keeping what it staged.
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
source "$(dirname "$0")/lib.sh"
source "$VARVE_SRC/tests/integration/mountlib.sh"
requires python3

NAME=crash
REPO=datasets/$NAME
if is_sanitized; then big=$((2 * 1024 * 1024)); else big=$((8 * 1024 * 1024)); fi

expect_exit 0 varve init
STORE=$TMP/.varve
expect_exit 0 varve create dataset "$NAME"
mkdir -p src/sub src/gone
printf 'keep\n' >src/keep.txt
printf 'edit me\n' >src/edit.txt
randbytes base "$big" >src/big.bin
printf 'delete me\n' >src/del.txt
printf 'g\n' >src/gone/g.txt
printf 's\n' >src/sub/s.txt
expect_exit 0 varve commit "$REPO" --from src -m base
ID0=$(cat "$OUT")

MNT=$TMP/mnt
mount_store "$MNT"
H=$MNT/datasets/$NAME
[[ "$(daemon_pid_from_log "$MNT")" == "$DAEMON_PID" ]] ||
	fail "mount.log does not say 'varve: mounted at $MNT (pid $DAEMON_PID)'"
grep -qa varve "/proc/$DAEMON_PID/cmdline" || fail "pid $DAEMON_PID is not a varve process"

# --- stage changes, then kill -9 the daemon ---------------------------------------------
rm -rf exp
cp -a src exp
for r in exp "$H"; do
	randbytes new "$big" >"$r/new.bin"
	printf 'edited\n' >>"$r/edit.txt"
	printf 'PATCH' | dd of="$r/big.bin" bs=1 seek=12345 conv=notrunc status=none
	rm "$r/del.txt"
	rm -r "$r/gone"
	mkdir -p "$r/newdir/deep"
	printf 'deep\n' >"$r/newdir/deep/f.txt"
	ln -s keep.txt "$r/link"
	mv "$r/sub/s.txt" "$r/sub/t.txt"
done
assert_same_listing exp "$H" "the head before the kill"
expect_exit 0 varve status "$REPO"
sort "$OUT" >status.before
[[ -s status.before ]] || fail "no staged changes before the kill"

# a shell keeps its working directory in the head, as a user's terminal would
(cd "$H/newdir" && exec sleep 60) &
CLEANUP_PIDS+=($!)
sleeper=$!
sleep 0.2

kill -9 "$DAEMON_PID"
wait_until 5 _pid_gone "$DAEMON_PID" || fail "daemon $DAEMON_PID survived kill -9"
rc=0
ls "$MNT" >/dev/null 2>"$ERR" || rc=$?
((rc != 0)) || fail "the mount still answers after kill -9 of its daemon"
grep -q "Transport endpoint is not connected" "$ERR" || note "ls of the dead mount: $(cat "$ERR")"

# without a daemon the CLI finds the stale socket, removes it and works on its own
expect_exit 0 varve status "$REPO"
sort "$OUT" | diff -u status.before - >&2 || fail "status without a daemon differs from before the kill"
expect_exit 0 varve verify

# --- recover the dead mount point -------------------------------------------------------
mount_store "$MNT"
expect_err_contains "recovered"
kill -9 "$sleeper" 2>/dev/null || true
wait "$sleeper" 2>/dev/null || true
expect_exit 0 varve status "$REPO"
sort "$OUT" | diff -u status.before - >&2 || fail "status after recovery differs from before the kill"
assert_same_listing exp "$H" "the head after kill -9 and recovery"
assert_same_listing src "$MNT/datasets/$NAME@$ID0" "the committed snapshot after recovery"

expect_exit 0 varve commit "$REPO" -m "after crash"
ID1=$(cat "$OUT")
assert_match "$HEX64" "$ID1" "commit after recovery"
[[ "$ID1" != "$ID0" ]] || fail "commit after recovery made no commit"
expect_exit 0 varve status "$REPO"
assert_eq "" "$(cat "$OUT")" "status after the commit"
expect_exit 0 varve checkout "$REPO" co1
assert_same_tree exp co1
assert_same_listing exp "$H" "the head after the commit"

# --- kill -9 while a writer streams into the head ----------------------------------------
# The writer paces itself (about 40 MiB/s) so that the kill lands mid-stream.
python3 - "$H/stream.bin" >"$TMP/.writer.log" 2>&1 <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
block = os.urandom(256 << 10)
for i in range(4000):
    os.write(fd, block)
    time.sleep(0.005)
os.close(fd)
PY
writer=$!
CLEANUP_PIDS+=("$writer")
size_at_least() { (($(stat -c %s "$1" 2>/dev/null || echo 0) >= $2)); }
wait_until 20 size_at_least "$H/stream.bin" $((4 << 20)) ||
	fail "the writer did not get 4 MiB into the head"
kill -9 "$DAEMON_PID"
rc=0
wait "$writer" || rc=$?
((rc != 0)) || fail "the writer did not notice that the daemon died"
wait_until 5 _pid_gone "$DAEMON_PID" || fail "daemon survived kill -9"
expect_exit 0 varve verify
mount_store "$MNT"
expect_err_contains "recovered"
expect_exit 0 varve status "$REPO"
grep -qx 'A stream.bin' "$OUT" || { _show_output; fail "the partly written stream.bin is not staged"; }
# whatever reached the staging area before the kill is readable
sz=$(stat -c %s "$H/stream.bin")
note "stream.bin: $((sz >> 20)) MiB staged when the daemon died"
cat "$H/stream.bin" >/dev/null || fail "the partly written file cannot be read after recovery"
expect_exit 0 varve reset "$REPO"
expect_exit 0 varve status "$REPO"
assert_eq "" "$(cat "$OUT")" "status after reset"
assert_same_listing exp "$H" "the head after reset"
expect_exit 0 varve log "$REPO" -n 1 --json
assert_eq "$ID1" "$(json 'd[0]["id"]' <"$OUT")" "the branch head after the second crash"

umount_store "$MNT"
expect_exit 0 varve verify --full

# SIGTERM: the daemon unmounts, says so in its log and exits; what it staged stays
mount_store "$MNT"
printf 'staged before SIGTERM\n' >"$H/term.txt"
kill -TERM "$DAEMON_PID"
wait_until 5 _pid_gone "$DAEMON_PID" || fail "daemon $DAEMON_PID still runs 5 s after SIGTERM"
is_mounted "$MNT" && fail "$MNT is still mounted after the daemon's SIGTERM exit"
tail -n 1 "$STORE/mount.log" | grep -q "unmounted $MNT" ||
	fail "mount.log does not end with the daemon's unmount: $(tail -n 1 "$STORE/mount.log")"
check_daemon_log
expect_exit 0 varve status "$REPO"
expect_out_contains "A term.txt"
expect_exit 0 varve commit "$REPO" -m after-term
expect_exit 0 varve cat "$REPO:term.txt"
assert_eq "staged before SIGTERM" "$(cat "$OUT")" "term.txt committed after SIGTERM"
