#!/bin/sh
# `npm run image:test`: builds the Containerfile with podman from a local
# Debian base (mmdebstrap, plus this host's Node: no registry is needed), then
# runs `meshprof check` and a 10 s `meshprof record --all` in it the way the
# DaemonSet does -- host PID namespace, read-only root, host /proc and
# /sys/kernel read-only, every capability dropped but the DaemonSet's -- and
# checks the recording has samples. Takes minutes the first time (the base and
# the build stage's packages), about one afterwards.
#
#   scripts/image-test.sh                  build and run
#   scripts/image-test.sh --measure-caps   also record once without each capability, to show why each is there
#   CAPS=BPF,PERFMON scripts/image-test.sh    run with other capabilities
set -eu
cd "$(dirname "$0")/.."

sh scripts/setup.sh --image

# Keep in step with deploy/base/daemonset.yaml's capabilities.add.
CAPS=${CAPS:-BPF,PERFMON,SYS_PTRACE,SYSLOG}
BASE=localhost/meshprof-node-base:bookworm
IMAGE=localhost/meshprof:image-test
# runc, not crun: crun refuses hosts with both cgroup v1 and v2 mounted (hybrid),
# as this one is. Limits as the host's: podman raises RLIMIT_NOFILE by default,
# which a host that forbids raising limits refuses at container start.
PODMAN="podman --runtime runc"
ULIMITS="--ulimit nofile=$(ulimit -n):$(ulimit -Hn) --ulimit nproc=32768:32768"
work=$(mktemp -d /tmp/meshprof-image-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

if ! podman image exists "$BASE"; then
  echo "image-test: making $BASE with mmdebstrap and this host's Node $(node --version)"
  # minbase + what Node itself links; the host's node, its headers (the addon
  # builds against them) and npm are copied in, as node:20-bookworm-slim has them.
  mmdebstrap --quiet --variant=minbase --include=libstdc++6,ca-certificates \
    --customize-hook='tar -C / -c usr/bin/node usr/include/node usr/lib/node_modules/npm | tar -C "$1" -x' \
    --customize-hook='ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/bin/npm"; ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/bin/npx"' \
    bookworm "$work/base.tar" http://deb.debian.org/debian
  podman import --quiet --change 'CMD ["node"]' "$work/base.tar" "$BASE" >/dev/null
fi

echo "image-test: building $IMAGE"
# This host's trust store, for an npm registry behind a TLS-intercepting proxy.
ca=/etc/ssl/certs/ca-certificates.crt
trust=""
[ -f "$ca" ] && trust="-v $ca:/host-ca.crt:ro --build-arg NODE_EXTRA_CA_CERTS=/host-ca.crt"
# shellcheck disable=SC2086
if ! $PODMAN build $ULIMITS --network host --build-arg NODE_IMAGE="$BASE" $trust \
  -t "$IMAGE" -f Containerfile . >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  echo "image-test: FAIL: podman build" >&2; exit 1
fi
podman image inspect --format 'image-test: {{.Size}} bytes' "$IMAGE"
# No compiler in the runtime image.
for tool in gcc clang cc make tsc; do
  if $PODMAN run --rm $ULIMITS --entrypoint /bin/sh "$IMAGE" -c "command -v $tool" >/dev/null 2>&1; then
    echo "image-test: FAIL: $tool is in the runtime image" >&2; exit 1
  fi
done

# seccomp: podman's default profile, except that bpf() and perf_event_open()
# are allowed by CAP_BPF and CAP_PERFMON as Docker 23+'s default allows them
# (podman 4's and containerd 1.7's allow them only with CAP_SYS_ADMIN, which
# fails every BPF load here; see docs/deploy.md).
node -e '
const fs = require("fs");
const d = JSON.parse(fs.readFileSync("/usr/share/containers/seccomp.json", "utf8"));
const narrow = { bpf: "CAP_BPF", perf_event_open: "CAP_PERFMON" };
for (const r of d.syscalls) if (r.action === "SCMP_ACT_ERRNO") r.names = r.names.filter((n) => !(n in narrow));
for (const [name, cap] of Object.entries(narrow)) {
  d.syscalls.push({ names: [name], action: "SCMP_ACT_ALLOW", includes: { caps: [cap] } });
  d.syscalls.push({ names: [name], action: "SCMP_ACT_ERRNO", errnoRet: 1, excludes: { caps: ["CAP_SYS_ADMIN", cap] } });
}
fs.writeFileSync(process.argv[1], JSON.stringify(d));' "$work/seccomp.json"

# As the DaemonSet runs it (see deploy/base/daemonset.yaml).
run() {
  caps=$1; shift
  $PODMAN run --rm $ULIMITS --pid=host --read-only --cap-drop=all --cap-add="$caps" \
    --security-opt seccomp="$work/seccomp.json" \
    -v /proc:/host/proc:ro -v /sys/kernel:/sys/kernel:ro -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
    --tmpfs /var/cache/meshprof --tmpfs /tmp -v "$work:/out" \
    -e MESHPROF_HOST_PROC=/host/proc "$IMAGE" "$@"
}

echo "image-test: meshprof check (capabilities: $CAPS)"
run "$CAPS" check
echo "image-test: meshprof record --all -d 10s"
# A busy loop on the host, so the recording has something certain to find.
node -e 'const end = Date.now() + 30000; while (Date.now() < end);' &
spinner=$!
run "$CAPS" record --all -d 10s -o /out/all.pb.gz
kill "$spinner" 2>/dev/null || true
node --input-type=module -e "
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
const p = Profile.decode(gunzipSync(readFileSync('$work/all.pb.gz')));
const total = p.sample.reduce((n, s) => n + Number(s.value[0] ?? 0), 0);
const pids = new Set(p.sample.flatMap((s) => s.label.filter((l) => p.stringTable.strings[Number(l.key)] === 'pid').map((l) => String(l.num))));
const spinner = p.sample.filter((s) => s.label.some((l) => p.stringTable.strings[Number(l.key)] === 'pid' && Number(l.num) === $spinner));
console.log('image-test: recorded ' + p.sample.length + ' stacks, ' + total + ' samples, ' + pids.size + ' processes; the spinner (pid $spinner): ' + spinner.length + ' stacks');
if (total === 0 || spinner.length === 0) { console.error('image-test: FAIL: the recording has no samples of the spinner'); process.exit(1); }
"

if [ "${1:-}" = --measure-caps ]; then
  for drop in $(echo "$CAPS" | tr , ' '); do
    fewer=$(echo ",$CAPS," | sed "s/,$drop,/,/; s/^,//; s/,$//")
    echo "image-test: without $drop ($fewer): record --all -d 5s"
    run "$fewer" record --all -d 5s -o /out/fewer.pb.gz 2>&1 | grep -E '^wrote|missing|cannot' | cut -c1-400 || true
  done
fi
echo "image-test: ok"
