#!/usr/bin/env bash
# Tests the sidecar image end to end without running a container: scripts/build-image.sh
# builds it into podman storage inside this script's temp directory, `podman image mount`
# exposes its root filesystem, and a copy of it runs the binary under chroot as the image's
# user, with only the image's environment, against a real nginx (3 requests held by a slow
# upstream), ministack and an IMDSv2 emulation on loopback. `podman run` is not used: on the
# build machines it fails ("setrlimit RLIMIT_NPROC: Operation not permitted", and with
# lowered ulimits "cgroups in hybrid mode not supported"). Checks: the image's user,
# entrypoint and files; `check` inside it exits 0; `once` publishes one datapoint of 3 held
# requests, read back from the CloudWatch-API server.
#
# IMAGE_PROFILE defaults to dev (the binary `cargo test` built; the dist build is minutes).
# Cost after `cargo test`: about 15 s (also with IMAGE_PROFILE=dist once that binary is
# built). Needs root (chroot, podman's own storage root).
set -euo pipefail
cd "$(dirname "$0")/.."
export IMAGE_PROFILE=${IMAGE_PROFILE:-dev}
# A fresh Debian machine (CI) has no podman: install it, as nspawn-test.sh installs its tools.
if ! command -v podman >/dev/null; then
    echo "test-image: installing podman" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null
fi
. scripts/demo-lib.sh   # $work, cleanup, free ports, start_aws, start_nginx

storage=$work/storage
podman_storage=(--root "$storage" --runroot "$storage.run" --storage-driver vfs)
tag=nginx-backlog-exporter:image-test
image_cleanup() {
    podman "${podman_storage[@]}" image unmount --all >/dev/null 2>&1 || true
    podman "${podman_storage[@]}" rmi --all --force >/dev/null 2>&1 || true
    cleanup
}
trap image_cleanup EXIT
fail() { echo "test-image: FAIL: $*" >&2; exit 1; }

scripts/build-image.sh --root "$storage" --tag "$tag"

inspect() { podman "${podman_storage[@]}" image inspect --format "$1" "$tag"; }
[ "$(inspect '{{.Config.User}}')" = 65532:65532 ] || fail "user is $(inspect '{{.Config.User}}')"
[ "$(inspect '{{json .Config.Entrypoint}}')" = '["/usr/bin/nginx-backlog-exporter"]' ] || fail "entrypoint $(inspect '{{json .Config.Entrypoint}}')"
[ "$(inspect '{{json .Config.Cmd}}')" = '["run"]' ] || fail "cmd $(inspect '{{json .Config.Cmd}}')"
mounted=$(podman "${podman_storage[@]}" image mount "$tag")
# What the image holds, exactly: the binary, glibc's four libraries, the CA bundle, the config,
# passwd/group, /tmp and the state directory.
files=$(cd "$mounted" && find . -type f | sort | tr '\n' ' ')
expected="./etc/group ./etc/nginx-backlog-exporter/config.toml ./etc/passwd ./etc/ssl/certs/ca-certificates.crt ./lib/x86_64-linux-gnu/libc.so.6 ./lib/x86_64-linux-gnu/libgcc_s.so.1 ./lib/x86_64-linux-gnu/libm.so.6 ./lib64/ld-linux-x86-64.so.2 ./usr/bin/nginx-backlog-exporter "
[ "$files" = "$expected" ] || fail "the image holds: $files"
cmp -s "$mounted/etc/ssl/certs/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt || fail "CA bundle differs"
cmp -s "$mounted/etc/nginx-backlog-exporter/config.toml" config/nginx-backlog-exporter.toml || fail "default config differs"
[ "$(stat -c %u:%g "$mounted/var/lib/nginx-backlog-exporter")" = 65532:65532 ] || fail "state directory not the user's"
[ "$(stat -c %u "$mounted/var/lib")" = 0 ] || fail "/var/lib not root's"

# A copy of the image's root filesystem, so the test's own config goes into its /tmp without
# touching the image.
rootfs=$work/rootfs
cp -a "$mounted" "$rootfs"
podman "${podman_storage[@]}" image unmount "$tag" >/dev/null

python3 scripts/demo_support.py upstream "$upstream_port" 30 &
pids+=($!)
start_aws
start_nginx
python3 scripts/demo_support.py wait "http://127.0.0.1:$ministack_port/" "http://127.0.0.1:$nginx_port/nginx_status"
cat >"$rootfs/tmp/config.toml" <<CONF
[nginx]
status_url = "http://127.0.0.1:$nginx_port/nginx_status"
[cloudwatch]
namespace = "Test/Image"
storage_resolution = 1
period = "5s"
sample_interval = "1s"
CONF

# Only the image's environment (its ENV lines) and the endpoints of this machine.
image_env=()
while IFS= read -r line; do image_env+=("$line"); done < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
in_image() {
    env -i "${image_env[@]}" AWS_ENDPOINT_URL="$AWS_ENDPOINT_URL" \
        AWS_EC2_METADATA_SERVICE_ENDPOINT="$AWS_EC2_METADATA_SERVICE_ENDPOINT" \
        AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
        chroot --userspec=65532:65532 "$rootfs" /usr/bin/nginx-backlog-exporter --config /tmp/config.toml "$@"
}

in_image check >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; fail "check failed"; }
[ -z "${TEST_IMAGE_VERBOSE:-}" ] || cat "$work/check.out"
grep -q "$instance_id" "$work/check.out" || { cat "$work/check.out" >&2; fail "check did not find the instance id"; }

# Three requests held by the 30 s upstream while `once` samples its 5 s window.
for _ in 1 2 3; do
    python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=60).read()" \
        "http://127.0.0.1:$nginx_port/" >/dev/null 2>&1 &
    pids+=($!)
done
python3 - "$nginx_port" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 10
while time.time() < deadline:
    status = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/nginx_status").read().decode()
    if "Writing: 4" in status:  # 3 held + this scrape
        sys.exit(0)
    time.sleep(0.1)
sys.exit(f"nginx never held the 3 requests: {status}")
PY
started=$(date +%s)
in_image once 2>"$work/once.err" || { cat "$work/once.err" >&2; fail "once failed"; }

.venv/bin/python - "$AWS_ENDPOINT_URL" "$instance_id" "$started" <<'PY'
import datetime, sys
import boto3
endpoint, instance_id, since = sys.argv[1], sys.argv[2], int(sys.argv[3])
cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
points = cw.get_metric_statistics(
    Namespace="Test/Image", MetricName="PendingRequests",
    Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
    StartTime=datetime.datetime.fromtimestamp(since - 60, datetime.timezone.utc),
    EndTime=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1),
    Period=60, Statistics=["SampleCount", "Minimum", "Maximum", "Sum"],
)["Datapoints"]
got = [(p["SampleCount"], p["Minimum"], p["Maximum"], p["Sum"]) for p in points]
# One datapoint: 5 samples of 3 requests held.
if got != [(5.0, 3.0, 3.0, 15.0)]:
    sys.exit(f"test-image: FAIL: read back {got}, expected one statistic set of 5 samples of 3")
print("test-image: one datapoint read back: 5 samples, each 3 requests held")
PY
echo "test-image: ok ($(inspect '{{.Size}}') bytes, user 65532, check and once pass inside the image)"
