# Helpers for the tests of the FUSE mount (tests/integration/test_mount_*.sh).
# Source it right after lib.sh (mount tests set a shorter watchdog first):
#
#   TEST_TIMEOUT=${TEST_TIMEOUT:-120}
#   source "$(dirname "$0")/lib.sh"
#   source "$VARVE_SRC/tests/integration/mountlib.sh"   # lib.sh has cd'ed to $TMP
#
# What sourcing it does:
#   - exits 77 (skip) when /dev/fuse is missing; the first mount_store also
#     skips when the kernel or the container refuses to mount at all;
#   - replaces lib.sh's EXIT trap with one that first unmounts every mount the
#     test made (varve umount, then kill -9 of its daemon and a lazy unmount as
#     the last resort) and kills the daemons it started, then runs lib.sh's
#     cleanup; $TMP is never removed while something is still mounted in it.
#
# Helpers (all abort the test through `fail` on a mismatch):
#   mount_store MNT [ARGS...]   varve mount MNT ARGS; records the mount and its
#                               daemon pid ($DAEMON_PID, also DAEMON_PIDS[MNT])
#   umount_store MNT            varve umount MNT; asserts the mount and the
#                               daemon are gone and that the daemon's log
#                               ($STORE/mount.log) holds no sanitizer report
#   check_daemon_log            that last check on its own
#   is_mounted MNT              true while MNT (absolute or relative) is in the
#                               mount table, dead or alive
#   daemon_pid_from_log MNT     the pid of the last "mounted at MNT (pid N)" line
#                               in $STORE/mount.log
#   mount_stats MNT             the user.varve.stats xattr of the mount root
#   mount_stat MNT FIELD        one field of it (requests, cache_hits, ...)
#   fuse_trace_begin MNT / fuse_trace_end
#                               records the FUSE requests the kernel sends to
#                               MNT in between (tracefs, as root; a private
#                               trace instance) and prints them as
#                               "LOOKUP x2 READDIRPLUS x1"; prints nothing
#                               where tracing is not available
#   wait_until SECS CMD...      polls CMD (every 0.1 s) until it succeeds; false
#                               if it never did within SECS
#   mount_listing DIR           canonical listing: path, type, exec bit, size,
#                               sha256 or symlink target (modes as a mount
#                               shows them: snapshots are read-only)
#   assert_same_listing A B [WHAT]  mount_listing A == mount_listing B
#   requires CMD...             fail with a hint when a command is missing

if [[ ! -c /dev/fuse ]]; then
	echo "$TEST_NAME: no /dev/fuse: skipping" >&2
	exit 77
fi

MOUNTS=()
declare -A DAEMON_PIDS=()
DAEMON_PID=

# _abs PATH: the absolute form of PATH without touching PATH itself (a dead
# FUSE mount cannot be stat'ed, so no realpath).
_abs() {
	local p=$1
	[[ "$p" == /* ]] || p=$PWD/$p
	# drop "/./" and a trailing "/"
	p=${p//\/.\//\/}
	p=${p%/}
	printf '%s\n' "$p"
}

is_mounted() {
	local want
	want=$(_abs "$1")
	# /proc/self/mounts escapes spaces etc. as octal; test paths have none.
	awk -v m="$want" '$2 == m { found = 1 } END { exit !found }' /proc/self/mounts
}

requires() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			fail "'$c' is not installed (scripts/setup.sh installs what the tests need)"
	done
}

daemon_pid_from_log() {
	local abs
	abs=$(_abs "$1")
	sed -n "s|^varve: mounted at $abs (pid \([0-9][0-9]*\)).*|\1|p" \
		"${STORE:?STORE not set}/mount.log" 2>/dev/null | tail -n 1
}

# mount_store MNT [ARGS...]
mount_store() {
	local mnt=$1; shift
	local rc=0 pid
	is_mounted "$mnt" || mkdir -p "$mnt"
	"$VARVE" mount "$mnt" "$@" </dev/null >"$OUT" 2>"$ERR" || rc=$?
	_check_sanitizer varve mount "$mnt" "$@"
	LAST_CMD="varve mount $mnt $*"
	if ((rc != 0)); then
		# Mounting impossible here (no permission, no fuse module)? Then skip.
		if grep -qiE 'fuse: device not found|fusermount3?: .*(not permitted|permission denied)|mount failed: operation not permitted|fuse: failed to open /dev/fuse|no such device' \
			"$ERR" "${STORE:-/nonexistent}/mount.log" 2>/dev/null; then
			_show_output
			echo "$TEST_NAME: this system cannot mount FUSE file systems: skipping" >&2
			exit 77
		fi
		_show_output
		[[ -f "${STORE:-}/mount.log" ]] && { echo "  --- mount.log (last 20 lines) ---" >&2; tail -n 20 "$STORE/mount.log" >&2; }
		fail "varve mount $mnt $* exited $rc"
	fi
	is_mounted "$mnt" || fail "varve mount $mnt exited 0 but $mnt is not in the mount table"
	pid=$(sed -n 's/.*(daemon pid \([0-9][0-9]*\).*/\1/p' "$ERR" | tail -n 1)
	[[ -n "$pid" ]] || pid=$(daemon_pid_from_log "$mnt")
	[[ -n "$pid" ]] || { _show_output; fail "no daemon pid in the output of varve mount nor in mount.log"; }
	kill -0 "$pid" 2>/dev/null || fail "daemon pid $pid (from varve mount) is not running"
	check_daemon_log
	DAEMON_PID=$pid
	DAEMON_PIDS[$(_abs "$mnt")]=$pid
	MOUNTS+=("$(_abs "$mnt")")
}

# umount_store MNT: a clean unmount; the daemon must have released the store
# when varve umount returns.
umount_store() {
	local mnt abs pid
	mnt=$1
	abs=$(_abs "$mnt")
	pid=${DAEMON_PIDS[$abs]:-}
	expect_exit 0 varve umount "$mnt"
	is_mounted "$mnt" && fail "$mnt is still mounted after varve umount"
	check_daemon_log
	if [[ -n "$pid" ]]; then
		# umount waits for the store lock; the process may take a moment to exit.
		wait_until 5 _pid_gone "$pid" || fail "daemon $pid still runs 5 s after varve umount"
	fi
	if [[ -S "$STORE/control.sock" ]] && ! wait_until 2 test ! -S "$STORE/control.sock"; then
		note "control.sock left behind after umount (a stale socket must be detected by the next command)"
	fi
	return 0
}

_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# check_daemon_log: a sanitizer report or a crash message in the daemon's log
# ($STORE/mount.log; the daemon's stderr) fails the test.
check_daemon_log() {
	local log=${STORE:?STORE not set}/mount.log
	[[ -f "$log" ]] || return 0
	if grep -qE 'ERROR: (Address|Leak|Undefined|Thread)Sanitizer|runtime error: |WARNING: ThreadSanitizer|Assertion .* failed' "$log"; then
		grep -nE -m 5 -A 30 'ERROR: (Address|Leak|Undefined|Thread)Sanitizer|runtime error: |WARNING: ThreadSanitizer|Assertion .* failed' "$log" | head -n 60 >&2
		fail "the mount daemon reported an error in $log"
	fi
}

wait_until() {
	local secs=$1; shift
	local i=0
	while ! "$@" >/dev/null 2>&1; do
		((i++ < secs * 10)) || return 1
		sleep 0.1
	done
	return 0
}

# mount_stats MNT: one getxattr(2) call, so exactly one FUSE request (getfattr
# asks for the size first and costs two).
# One getxattr call with a buffer large enough, so reading the counters costs
# exactly one request (os.getxattr tries 128 bytes first, then asks again).
mount_stats() {
	python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(4096)
n = libc.getxattr(os.fsencode(sys.argv[1]), b"user.varve.stats", buf, 4096)
if n < 0:
    sys.exit(os.strerror(ctypes.get_errno()))
print(buf.raw[:n].decode())' "$1" ||
		fail "cannot read user.varve.stats of $1"
}

mount_stat() {
	local s
	s=$(mount_stats "$1")
	[[ " $s " =~ [[:space:]]$2=([0-9]+)[[:space:]] ]] || fail "user.varve.stats '$s' has no $2=N"
	echo "${BASH_REMATCH[1]}"
}

# The kernel's fuse_request_send tracepoint names the connection by the
# kernel's dev_t of the mount (major 0 for FUSE: the minor number).
FUSE_TRACE=
FUSE_TRACE_CONN=
fuse_trace_begin() {
	local events=/sys/kernel/tracing/events/fuse/fuse_request_send dev
	FUSE_TRACE=
	[[ -d "$events" && -w /sys/kernel/tracing/instances ]] || return 0
	dev=$(stat -c %d "$1") || return 0
	FUSE_TRACE_CONN=$(((dev & 0xff) | ((dev >> 12) & ~0xff)))
	# named for lib.sh's cleanup, which removes what a killed test left
	FUSE_TRACE=/sys/kernel/tracing/instances/varve-$$-$BASHPID
	mkdir "$FUSE_TRACE" 2>/dev/null || { FUSE_TRACE=; return 0; }
	echo 1 >"$FUSE_TRACE/events/fuse/fuse_request_send/enable" 2>/dev/null ||
		{ rmdir "$FUSE_TRACE"; FUSE_TRACE=; }
	return 0
}

fuse_trace_end() {
	[[ -n "$FUSE_TRACE" ]] || return 0
	echo 0 >"$FUSE_TRACE/events/fuse/fuse_request_send/enable"
	sed -nE "s/.*connection $FUSE_TRACE_CONN req [0-9]+ opcode [0-9]+ \(FUSE_([A-Z0-9_]+)\).*/\1/p" \
		"$FUSE_TRACE/trace" | sort | uniq -c | awk '{ printf "%s%s x%d", sep, $2, $1; sep = " " }'
	rmdir "$FUSE_TRACE" 2>/dev/null || true
	FUSE_TRACE=
}

# mount_listing DIR: one line per entry, sorted: repr(path) TYPE X SIZE DIGEST
# with X = "x" for files with the user-x bit, DIGEST = sha256 of a file or the
# target of a symlink.
mount_listing() {
	python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = os.fsencode(sys.argv[1])
out = []
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, root)
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            out.append((rel, "l", "-", str(st.st_size), repr(os.readlink(full))))
        elif stat.S_ISDIR(st.st_mode):
            out.append((rel, "d", "-", "-", "-"))
        elif stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(full, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            x = "x" if st.st_mode & stat.S_IXUSR else "-"
            out.append((rel, "f", x, str(st.st_size), h.hexdigest()))
        else:
            out.append((rel, "other", "-", "-", "-"))
out.sort()
for rel, *rest in out:
    print(repr(rel), *rest)
PY
}

assert_same_listing() {
	local what=${3:-"listing of '$2'"}
	mount_listing "$1" >"$TMP/.ml-a" || fail "mount_listing $1 failed"
	mount_listing "$2" >"$TMP/.ml-b" || fail "mount_listing $2 failed"
	if ! diff -u "$TMP/.ml-a" "$TMP/.ml-b" >"$TMP/.ml-diff"; then
		head -n 40 "$TMP/.ml-diff" | cat -v >&2
		fail "$what differs from '$1' (types, exec bits, sizes, contents, link targets)"
	fi
}

# --- cleanup ---------------------------------------------------------------------

_mount_teardown() {
	local m pid
	for m in "${MOUNTS[@]}"; do
		is_mounted "$m" || continue
		timeout -k 5 20 "$VARVE" umount "$m" >/dev/null 2>&1 || true
		is_mounted "$m" || continue
		pid=${DAEMON_PIDS[$m]:-}
		[[ -z "$pid" ]] || kill -9 "$pid" 2>/dev/null || true
		umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null || true
	done
	for m in "${!DAEMON_PIDS[@]}"; do
		pid=${DAEMON_PIDS[$m]}
		if kill -0 "$pid" 2>/dev/null; then
			wait_until 3 _pid_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
		fi
	done
	for m in "${MOUNTS[@]}"; do
		if is_mounted "$m"; then
			echo "$TEST_NAME: warning: '$m' is still mounted; leaving $TMP in place" >&2
			CLEANUP_PATHS=()
		fi
	done
}

_mount_cleanup() {
	local rc=$?
	set +e   # teardown must run to the end whatever fails
	cd / 2>/dev/null
	local pid
	# background readers/writers first: they may hold the mount busy
	for pid in "${CLEANUP_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	CLEANUP_PIDS=()
	_mount_teardown
	_set_rc "$rc"
	cleanup
}
_set_rc() { return "$1"; }
trap _mount_cleanup EXIT
