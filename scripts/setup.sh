#!/usr/bin/env bash
# Installs the Debian packages varve needs to build and test (and, with --bench,
# the peers that scripts/bench-ingest.sh measures against), then the S3 server
# the integration tests run on loopback (s3rver, pinned by
# tests/s3rver/package-lock.json) with npm ci. Idempotent: prints nothing and
# touches nothing when every package is already installed and s3rver is
# installed from the current lock file.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(build-essential cmake pkg-config librocksdb-dev rocksdb-tools libzstd-dev
          libxxhash-dev libssl-dev libcmocka-dev libfuse3-dev fuse3 attr
          libcurl4-openssl-dev libexpat1-dev libjansson-dev python3-yaml)
# node and npm run s3rver; a machine with them from elsewhere keeps them
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
bench_packages=(restic borgbackup hyperfine fio)

for arg in "$@"; do
	case "$arg" in
	--bench) packages+=("${bench_packages[@]}") ;;
	-h|--help) echo "usage: scripts/setup.sh [--bench]"; exit 0 ;;
	*) echo "setup.sh: unknown argument '$arg'" >&2; echo "usage: scripts/setup.sh [--bench]" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ "$status" == installed ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
	if ((EUID == 0)); then
		sudo=()
	elif command -v sudo >/dev/null 2>&1; then
		sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
	else
		echo "setup.sh: missing packages (${missing[*]}) and not root, no sudo" >&2
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}" >&2
	"${sudo[@]}" apt-get update -qq >&2
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# s3rver into tests/s3rver/node_modules (git-ignored), again only when the
# lock file changed since the last install: npm ci starts from scratch.
s3dir=$root/tests/s3rver
stamp=$s3dir/node_modules/.varve-installed-from
want=$(sha256sum "$s3dir/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$s3dir/node_modules/s3rver/bin/s3rver.js" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
	echo "setup.sh: installing s3rver (npm ci --prefix tests/s3rver)" >&2
	log=$(mktemp)
	if ! npm ci --prefix "$s3dir" --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "setup.sh: npm ci in tests/s3rver failed" >&2
		exit 1
	fi
	rm -f "$log"
	echo "$want" >"$stamp"
fi
