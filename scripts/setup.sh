#!/usr/bin/env bash
# Installs the Debian packages varve needs to build and test (and, with --bench,
# the peers that scripts/bench-ingest.sh measures against). Idempotent: prints
# nothing and touches nothing when every package is already installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(build-essential cmake pkg-config librocksdb-dev rocksdb-tools libzstd-dev
          libxxhash-dev libssl-dev libcmocka-dev libfuse3-dev fuse3 attr
          libcurl4-openssl-dev libjansson-dev python3-yaml)
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
((${#missing[@]} == 0)) && exit 0

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
