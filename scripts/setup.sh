#!/bin/sh
# One idempotent setup step behind `npm start`, `npm test` and `npm run bench`:
# install missing Debian packages, `npm ci` when the lockfile changed, then
# build bpf/, native/ and the TypeScript incrementally. A second run with
# nothing changed only checks timestamps, so it takes seconds.
#
#   scripts/setup.sh               packages to build and run the agent
#   scripts/setup.sh --test        also the packages the test suite uses
#   scripts/setup.sh --build-only  skip packages and npm ci
#   scripts/setup.sh --image       only the packages `npm run image:test` uses
set -eu
cd "$(dirname "$0")/.."

mode=run
case "${1:-}" in
  --test) mode=test ;;
  --build-only) mode=build ;;
  --image) mode=image ;;
  "") ;;
  *) echo "setup: unknown option $1 (use --test, --build-only or --image)" >&2; exit 2 ;;
esac

# Build: clang compiles CO-RE BPF; bpftool dumps vmlinux.h; libbpf-dev and
# libelf/zlib link the addon.
run_pkgs="clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc pkg-config binutils"
# Tests: fixtures in C/C++/Go, perf for cross-checks, chromium for the HTML
# flame graph, nginx+wrk for the unwinding acceptance run, python3.11 for
# the Python frame walker, curl and iproute2 (veth pairs) for network
# profiling, libssl-dev (libssl.a) for the statically linked TLS server,
# bpftrace as the peer the agent-cost benchmark compares with.
test_pkgs="g++ gdb golang-go linux-perf chromium nginx wrk openssl libssl-dev python3.11 curl iproute2 bpftrace"
# Image test only: podman/buildah build and run the Containerfile (with runc:
# crun refuses hosts with cgroup v1 and v2 both mounted), mmdebstrap makes its
# Debian base (no registry is needed).
image_pkgs="podman buildah runc mmdebstrap"

missing_pkgs() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf '%s ' "$p"
  done
}

if [ "$mode" != build ]; then
  pkgs=$run_pkgs
  [ "$mode" = test ] && pkgs="$pkgs $test_pkgs"
  # the deploy/ manifest test renders with kubectl kustomize: Debian's
  # kubernetes-client where no other kubectl is installed
  [ "$mode" = test ] && ! command -v kubectl >/dev/null 2>&1 && pkgs="$pkgs kubernetes-client"
  [ "$mode" = image ] && pkgs=$image_pkgs
  # shellcheck disable=SC2086
  missing=$(missing_pkgs $pkgs)
  if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup: missing Debian packages: $missing" >&2
      echo "setup: run as root, or install them with: sudo apt-get install -y $missing" >&2
      exit 1
    fi
    echo "setup: installing $missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi

  [ "$mode" = image ] && exit 0

  # npm ci only when package-lock.json differs from what node_modules was built from.
  lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f node_modules/.meshprof-lock ] || [ "$(cat node_modules/.meshprof-lock)" != "$lock_hash" ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" > node_modules/.meshprof-lock
  fi
fi

# Generated protobuf code is rebuilt only when a .proto is newer than its stamp.
if [ -d proto ] && [ -n "$(find proto -name '*.proto' 2>/dev/null | head -1)" ]; then
  if [ ! -f src/gen/.stamp ] || [ -n "$(find proto buf.gen.yaml -newer src/gen/.stamp 2>/dev/null | head -1)" ]; then
    echo "setup: generating protobuf code"
    rm -rf src/gen && npx --no-install buf generate proto && touch src/gen/.stamp
  fi
fi

make -s -C bpf
make -s -C native
# tsc's own incremental check still takes seconds; skip it when nothing changed.
# The stamp is setup's own: `tsc --noEmit` rewrites .tsbuildinfo without emitting.
# The bundle bin/meshprof.js runs (scripts/bundle.mjs) is made from tsc's
# output every time tsc runs here, and again when tsc ran elsewhere after it
# (bin/meshprof.js then runs dist/src, with a warning).
if [ ! -f dist/.setup-stamp ] || [ ! -f dist/bundle/meshprof.js ] || [ dist/.tsbuildinfo -nt dist/bundle/meshprof.js ] || [ -n "$(find src bench scripts/bundle.mjs tsconfig.json package-lock.json -newer dist/.setup-stamp \( -name '*.ts' -o -name '*.json' -o -name '*.mjs' \) 2>/dev/null | head -1)" ]; then
  npx --no-install tsc -p tsconfig.json
  node scripts/bundle.mjs
  touch dist/.setup-stamp
fi
