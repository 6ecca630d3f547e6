#!/usr/bin/env bash
# The boot test: installs the .deb for real in a booted Debian 12 container and checks that
#   0. installed unconfigured, the daemon refuses to start and says which key to set where;
#   1. once configured, the daemon runs as the system user, reads stub_status from a host nginx on loopback and
#      publishes PendingRequests{InstanceId} to a local CloudWatch API (ministack);
#   2. the unit's sandbox still lets it dump listening sockets over netlink sock_diag, read
#      /proc/self/net/{tcp,tcp6,netstat} and an adm-only nginx log, write its state directory
#      and nothing else;
#   3. it survives `systemctl restart`;
#   4. the timer starts the one-shot, which publishes too, and so does the cron.d command;
#   5. upgrading to revision 2 keeps the locally edited config and the state, and restarts
#      the daemon;
#   6. purge removes the user, the group, the state and the config;
#   7. the rpm's scriptlets do the same on install, upgrade and erase (in a chroot, see there).
#
#   sudo scripts/nspawn-test.sh [DEB_REVISION_1 DEB_REVISION_2]
#
# Default packages: target/packages/*-1_*.deb and *-2_*.deb, built with scripts/package.sh
# (--revision 1 and 2) when missing. Needs root, debootstrap, systemd-container (nspawn),
# nginx and python3; installs what is missing with apt-get.
#
# The container shares the host's network namespace (no --private-network), so nginx and
# ministack on the host's loopback are the container's loopback too. systemd-nspawn runs
# with --register=no --keep-unit because the host's PID 1 need not be systemd (no machined),
# and commands go into the container with nsenter.
#
# Cached between runs in $NSPAWN_CACHE (default /var/tmp/nginx-backlog-exporter-nspawn): the
# debootstrapped root (about 6 minutes to make, once) and the Python venv with ministack,
# cbor2 and boto3. With a warm cache and built packages a run takes 1.5 to 2.5 minutes, most
# of it waiting for periods and for the timer's next wall-clock minute.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
NAME=nginx-backlog-exporter
CACHE=${NSPAWN_CACHE:-/var/tmp/nginx-backlog-exporter-nspawn}
BASE=$CACHE/bookworm-base
VENV=$CACHE/venv
MACHINE=nbe-test-$$
NAMESPACE=NbeNspawnTest
INSTANCE_ID=i-0feedc0ffee000001
FAILURES=0

say() { printf '==> %s\n' "$*"; }
pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILURES=$((FAILURES + 1)); }
die() { printf 'nspawn-test: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, systemd-nspawn)"

# --- Tools -------------------------------------------------------------------------------
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v nginx >/dev/null || missing+=(nginx-light)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Packages ----------------------------------------------------------------------------
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
ARCH=$(dpkg --print-architecture)
DEB1=${1:-target/packages/${NAME}_${VERSION}-1_${ARCH}.deb}
DEB2=${2:-target/packages/${NAME}_${VERSION}-2_${ARCH}.deb}
[ -f "$DEB1" ] || scripts/package.sh --revision 1
[ -f "$DEB2" ] || scripts/package.sh --revision 2
DEB1=$(realpath "$DEB1"); DEB2=$(realpath "$DEB2")

# --- Cache: the Debian 12 root and the venv ----------------------------------------------
mkdir -p "$CACHE"
if [ ! -f "$BASE/.complete" ]; then
    # The mirror apt uses here (deb822 or one-line sources), so the test needs no other host.
    # A machine may have only one of the two places (deb822 sources and no sources.list):
    # grep then exits 2 for the missing one, which pipefail would make fatal.
    MIRROR=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -v security | head -n1 | tr -d ' ') || true
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
    say "debootstrap bookworm from $MIRROR (once; cached in $BASE)"
    rm -rf "$BASE.new"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates \
        bookworm "$BASE.new" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE/debootstrap.log"; die "debootstrap failed"; }
    rm -rf "$BASE"; mv "$BASE.new" "$BASE"; touch "$BASE/.complete"
fi
# cbor2: the Rust SDK speaks CloudWatch's CBOR protocol (rpcv2Cbor); without the module,
# ministack logs "CBOR decode error" and stores nothing.
if [ ! -x "$VENV/bin/ministack" ] || ! "$VENV/bin/python" -c 'import boto3, cbor2' 2>/dev/null; then
    say "creating the venv with ministack, cbor2 and boto3 (once; cached in $VENV)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q ministack cbor2 boto3
fi

# --- Per-run work area, and cleanup of everything this run started -----------------------
WORK=$(mktemp -d /var/tmp/nbe-nspawn-run.XXXXXX)
chmod 0755 "$WORK"   # nginx's workers (user nobody) serve a file from here
ROOT=$WORK/root
NSPAWN_PID=""; NGINX_STARTED=""; MINISTACK_PID=""
cleanup() {
    set +e
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        [ -n "${LEADER:-}" ] && nsenter -t "$LEADER" -a -- systemctl poweroff >/dev/null 2>&1
        for _ in $(seq 30); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
        kill "$NSPAWN_PID" 2>/dev/null; wait "$NSPAWN_PID" 2>/dev/null
    fi
    [ -n "$NGINX_STARTED" ] && nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -s stop 2>/dev/null
    [ -n "$MINISTACK_PID" ] && kill "$MINISTACK_PID" 2>/dev/null && wait "$MINISTACK_PID" 2>/dev/null
    if [ "$FAILURES" -gt 0 ] || [ -n "${KEEP_WORK:-}" ]; then
        echo "logs kept in $WORK (boot.log, nginx/, ministack.log); root removed"
        rm -rf "$ROOT"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for_port() { # PORT SECONDS
    for _ in $(seq $(($2 * 5))); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.5)" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# --- nginx on the host's loopback, with stub_status --------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 64; }
http {
    access_log $WORK/nginx/logs/access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = /nginx_status { stub_status; allow 127.0.0.1; deny all; }
        # Slow downloads hold requests open: a backlog the exporter must see.
        location /slow.bin { root $WORK/nginx/html; limit_rate 8k; }
        location / { return 200 "ok\n"; }
    }
}
EOF
mkdir -p "$WORK/nginx/html"
head -c 160000 /dev/zero > "$WORK/nginx/html/slow.bin"   # about 20 s at 8 KB/s
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
NGINX_STARTED=1
HELD=4
HOLD_PIDS=()
hold_requests() { # HELD concurrent slow downloads, in the background, about 20 s each
    for _ in $(seq "$HELD"); do
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$NGINX_PORT/slow.bin', timeout=60).read()" &
        HOLD_PIDS+=($!)
    done
}
wait_for_port "$NGINX_PORT" 10 || die "nginx did not listen on $NGINX_PORT"
status_reads() { grep -c 'GET /nginx_status' "$WORK/nginx/logs/access.log" 2>/dev/null || true; }

# --- A CloudWatch API on the host's loopback ---------------------------------------------
CW_PORT=$(free_port)
(cd "$WORK" && BIND_HOST=127.0.0.1 GATEWAY_PORT=$CW_PORT SERVICES=cloudwatch \
    exec "$VENV/bin/ministack") > "$WORK/ministack.log" 2>&1 &
MINISTACK_PID=$!
wait_for_port "$CW_PORT" 30 || { cat "$WORK/ministack.log"; die "ministack did not listen on $CW_PORT"; }
cat > "$WORK/cloudwatch.py" <<EOF
# Prints "<series> <datapoints> <samples> <highest sample>" for the instance series.
import datetime, boto3
cw = boto3.client("cloudwatch", endpoint_url="http://127.0.0.1:$CW_PORT", region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
series = [m for m in cw.list_metrics(Namespace="$NAMESPACE", MetricName="PendingRequests")["Metrics"]
          if m["Dimensions"] == [{"Name": "InstanceId", "Value": "$INSTANCE_ID"}]]
now = datetime.datetime.now(datetime.timezone.utc)
points = cw.get_metric_statistics(
    Namespace="$NAMESPACE", MetricName="PendingRequests",
    Dimensions=[{"Name": "InstanceId", "Value": "$INSTANCE_ID"}],
    StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5),
    Period=1, Statistics=["SampleCount", "Maximum"])["Datapoints"]
print(len(series), len(points), int(sum(p["SampleCount"] for p in points)),
      int(max([p["Maximum"] for p in points], default=0)))
EOF
published() { "$VENV/bin/python" "$WORK/cloudwatch.py"; }
# wait_published MIN_DATAPOINTS SECONDS: until ministack holds at least that many datapoints.
wait_published() {
    local deadline=$((SECONDS + $2)) now
    while [ $SECONDS -lt $deadline ]; do
        now=$(published); set -- "$1" "$2" $now
        [ "$4" -ge "$1" ] && { echo "$now"; return 0; }
        sleep 2
    done
    echo "$now"; return 1
}

# --- Boot the container --------------------------------------------------------------------
say "copying the base root and booting it (machine $MACHINE)"
cp -a --reflink=auto "$BASE" "$ROOT"
systemd-nspawn -D "$ROOT" -M "$MACHINE" --register=no --keep-unit --console=passive -b \
    --bind-ro="$(dirname "$DEB1")":/packages1 --bind-ro="$(dirname "$DEB2")":/packages2 \
    > "$WORK/boot.log" 2>&1 &
NSPAWN_PID=$!
LEADER=""
for _ in $(seq 100); do
    LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd || true)
    [ -n "$LEADER" ] && break
    sleep 0.2
done
[ -n "$LEADER" ] || { cat "$WORK/boot.log"; die "the container did not start"; }
in_ct() { nsenter -t "$LEADER" -a -- "$@"; }
state=""
for _ in $(seq 120); do
    state=$(in_ct systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.5
done
case "$state" in running|degraded) pass "container booted ($state)" ;; *) die "container not up: $state" ;; esac

# --- 1. Install revision 1 and configure it ------------------------------------------------
say "installing $(basename "$DEB1")"
# The postinst starts the daemon with the shipped config, which leaves cloudwatch.namespace
# unset: that start must fail, saying which file and key to edit (checked below). It is
# configured and started again after that.
in_ct dpkg -i "/packages1/$(basename "$DEB1")" > "$WORK/dpkg-install.log" 2>&1 \
    || { cat "$WORK/dpkg-install.log"; die "dpkg -i failed"; }
pass "dpkg -i $(basename "$DEB1")"
if in_ct systemctl is-enabled -q $NAME.service; then pass "daemon enabled by the package"; else fail "daemon not enabled"; fi
if in_ct systemctl is-enabled -q $NAME-once.timer; then fail "timer enabled by the package"; else pass "timer left disabled"; fi
in_ct getent passwd $NAME > "$WORK/passwd" || fail "system user missing"
IFS=: read -r _ _ USER_UID _ _ USER_HOME USER_SHELL < "$WORK/passwd"
if [ "$USER_UID" -lt 1000 ] && [ "$USER_SHELL" = /usr/sbin/nologin ]; then
    pass "system user $NAME (uid $USER_UID, home $USER_HOME, shell $USER_SHELL)"
else
    fail "user $NAME is not a nologin system user: $(cat "$WORK/passwd")"
fi
if grep -qw adm <<< "$(in_ct id -nG $NAME)"; then pass "$NAME is in group adm"; else fail "$NAME not in adm: $(in_ct id -nG $NAME)"; fi

# A fresh install publishes nothing to a namespace nobody chose: the unit the postinst
# started has failed, once (exit 2 is not restarted), and says in its status and journal
# which key to set in which file; `check` says the same and exits 2.
UNSET="cloudwatch.namespace: is not set: set cloudwatch.namespace in /etc/$NAME/config.toml"
sleep 6   # past RestartSec=5s: a restart would have happened by now
STATE=$(in_ct systemctl show -p ActiveState --value $NAME.service)
EXIT=$(in_ct systemctl show -p ExecMainStatus --value $NAME.service)
RESTARTS=$(in_ct systemctl show -p NRestarts --value $NAME.service)
if [ "$STATE" = failed ] && [ "$EXIT" = 2 ] && [ "$RESTARTS" = 0 ]; then
    pass "unconfigured: the started unit failed with exit 2 and was not restarted"
else
    fail "unconfigured: the unit is '$STATE' (exit '$EXIT', $RESTARTS restarts), not failed with exit 2 once"
fi
STATUS=$(in_ct systemctl status --no-pager -n 5 $NAME.service 2>&1 || true)
if grep -qF "$UNSET" <<< "$STATUS"; then
    pass "unconfigured: systemctl status names the key and the file"
else
    fail "unconfigured: systemctl status does not say '$UNSET':"; echo "$STATUS"
fi
JOURNAL=$(in_ct journalctl -u $NAME --no-pager -o cat)
if grep -qF "$UNSET" <<< "$JOURNAL"; then pass "unconfigured: the journal says so too"; else
    fail "unconfigured: the journal does not say '$UNSET'"; echo "$JOURNAL" | tail -n 5; fi
CHECK_RC=0; CHECK=$(in_ct $NAME check 2>&1) || CHECK_RC=$?
if [ "$CHECK_RC" = 2 ] && grep -qF "$UNSET" <<< "$CHECK"; then
    pass "unconfigured: check exits 2 with the same message"
else
    fail "unconfigured: check exited $CHECK_RC: $CHECK"
fi

# The local edits: endpoints for this test (kept on upgrade, checked in step 5).
in_ct sed -i \
    -e "s|^status_url = .*|status_url = \"http://127.0.0.1:$NGINX_PORT/nginx_status\"|" \
    -e "s|^# namespace = .*|namespace = \"$NAMESPACE\"|" \
    -e "s|^# instance_id = .*|instance_id = \"$INSTANCE_ID\"|" \
    -e "s|^# region = .*|region = \"us-east-1\"|" \
    /etc/$NAME/config.toml
in_ct sh -c "echo '# local edit: nspawn-test' >> /etc/$NAME/config.toml"
in_ct sh -c "cat >> /etc/default/$NAME" <<EOF
AWS_ENDPOINT_URL=http://127.0.0.1:$CW_PORT
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
NGINX_BACKLOG_EXPORTER_LOG=debug
EOF

in_ct systemctl daemon-reload
in_ct systemctl reset-failed $NAME.service 2>/dev/null || true
reads_before=$(status_reads)
hold_requests
in_ct systemctl restart $NAME.service
sleep 3
if in_ct systemctl is-active -q $NAME.service; then pass "configured: daemon active"; else
    fail "daemon not active"; in_ct journalctl -u $NAME --no-pager -n 30; fi
MAIN_PID=$(in_ct systemctl show -p MainPID --value $NAME.service)
RUN_AS=$(in_ct stat -c %U "/proc/$MAIN_PID" 2>/dev/null || echo '?')
if [ "$RUN_AS" = "$NAME" ]; then pass "daemon (pid $MAIN_PID) runs as $RUN_AS"; else fail "daemon runs as '$RUN_AS'"; fi
sleep 2
if [ "$(status_reads)" -gt "$reads_before" ]; then pass "daemon reads stub_status on the host's loopback ($(( $(status_reads) - reads_before )) reads)"; else fail "no stub_status reads in nginx's access log"; fi
if got=$(wait_published 2 40); then
    pass "published to the CloudWatch API: series/datapoints/samples/max = $got"
else
    fail "nothing published after 40 s: $got"; in_ct journalctl -u $NAME --no-pager -n 30
fi
read -r _ _ _ highest <<< "$got"
if [ "${highest:-0}" -ge "$HELD" ]; then
    pass "the $HELD held requests show up: highest sample $highest"
else
    fail "the $HELD held requests do not show up: highest sample ${highest:-none}"
fi
wait "${HOLD_PIDS[@]}" || fail "a slow download failed (see nginx/logs/error.log)"
# Native journal entries (the binary saw JOURNAL_STREAM): they carry the logger's TARGET
# field, which lines captured from stderr would not. (Captured first: `| grep -q` would
# SIGPIPE journalctl and fail the pipeline under pipefail.)
JOURNAL=$(in_ct journalctl -u $NAME --no-pager -o verbose -n 50)
if grep -q '^ *TARGET=nginx_backlog_exporter' <<< "$JOURNAL"; then
    pass "logs go to the journal as structured entries"
else
    fail "no structured journal entries from the daemon"
fi
# The unit allows AF_NETLINK so the accept queues come from sock_diag; a fallback to
# /proc/self/net/tcp{,6} still works but costs ~10x the idle CPU, and says so once.
DAEMON_LOG=$(in_ct journalctl -u $NAME --no-pager -o cat)
if grep -q 'reading accept queues from /proc/self/net/tcp' <<< "$DAEMON_LOG"; then
    fail "the daemon fell back to /proc/self/net/tcp{,6}: netlink sock_diag refused in its sandbox"
else
    pass "accept queues read through netlink sock_diag inside the sandbox"
fi

# --- 2. The unit's own sandbox, probed ------------------------------------------------------
# A copy of the installed unit with only the commands swapped for probes: the same user,
# groups and hardening read the accept-queue files and an adm-only nginx log, write the state
# directory, and fail to write anywhere else.
in_ct mkdir -p /var/log/nginx
in_ct sh -c 'echo "127.0.0.1 - - probe" > /var/log/nginx/access.log && chown root:adm /var/log/nginx/access.log && chmod 0640 /var/log/nginx/access.log'
in_ct sh -c "sed -e '/^ExecStartPre=/d' -e '/^Restart/d' -e 's/^Type=notify/Type=oneshot/' -e '/^NotifyAccess=/d' \
    -e 's|^ExecStart=.*|ExecStart=/bin/sh -c \"head -c1 /var/log/nginx/access.log >/dev/null \&\& cat /proc/self/net/tcp /proc/self/net/tcp6 /proc/self/net/netstat >/dev/null \&\& touch /var/lib/$NAME/probe \&\& ! touch /etc/probe 2>/dev/null \&\& ! touch /var/log/nginx/probe 2>/dev/null\"|' \
    /usr/lib/systemd/system/$NAME.service > /etc/systemd/system/nbe-sandbox-probe.service"
in_ct systemctl daemon-reload
if in_ct systemctl start nbe-sandbox-probe.service 2>/dev/null; then
    pass "sandbox: reads /proc/self/net/{tcp,tcp6,netstat} and the adm-only log, writes only its state dir"
else
    fail "sandbox probe failed"; in_ct journalctl -u nbe-sandbox-probe --no-pager -n 20
fi
in_ct rm -f /etc/systemd/system/nbe-sandbox-probe.service "/var/lib/$NAME/probe"

# --- 3. systemctl restart -------------------------------------------------------------------
read -r _ before_points _ <<< "$(published)"
in_ct systemctl restart $NAME.service
sleep 2
NEW_PID=$(in_ct systemctl show -p MainPID --value $NAME.service)
if in_ct systemctl is-active -q $NAME.service && [ "$NEW_PID" != "$MAIN_PID" ]; then
    pass "restart: active again (pid $MAIN_PID -> $NEW_PID)"
else
    fail "restart: not active or same pid ($NEW_PID)"
fi
if got=$(wait_published $((before_points + 1)) 40); then pass "publishing after restart: $got"; else fail "no new datapoints after restart: $got"; fi

# --- 4. The timer runs the one-shot ---------------------------------------------------------
# The daemon stops first (never both). The one-shot's window shrinks to 5 s for the test; the
# timer itself is the shipped one, so this waits for the next wall-clock minute.
in_ct systemctl stop $NAME.service
in_ct mkdir -p /etc/systemd/system/$NAME-once.service.d
in_ct sh -c "printf '[Service]\nExecStart=\nExecStart=/usr/bin/$NAME once --window 5s\n' > /etc/systemd/system/$NAME-once.service.d/nspawn-test.conf"
in_ct systemctl daemon-reload
read -r _ before_points _ <<< "$(published)"
in_ct systemctl start $NAME-once.timer
say "waiting for the timer (next minute) and the one-shot"
# Fired = the timer has a last trigger time; done = the one-shot has left inactive once and
# is back to inactive (or failed).
# (ExecMainExitTimestamp is no use here: systemd 252 shows 0 for a finished oneshot.)
ran=""
for _ in $(seq 90); do
    fired=$(in_ct systemctl show -p LastTriggerUSecMonotonic --value $NAME-once.timer)
    started=$(in_ct systemctl show -p InactiveExitTimestampMonotonic --value $NAME-once.service)
    state=$(in_ct systemctl show -p ActiveState --value $NAME-once.service)
    if [ "${fired:-0}" != 0 ] && [ "${started:-0}" != 0 ] && { [ "$state" = inactive ] || [ "$state" = failed ]; }; then
        ran=$(in_ct systemctl show -p Result --value $NAME-once.service)
        break
    fi
    sleep 1
done
if [ "$ran" = success ]; then pass "timer started $NAME-once.service, which succeeded"; else
    fail "one-shot did not run or failed (result '$ran')"; in_ct journalctl -u $NAME-once --no-pager -n 20; fi
if got=$(wait_published $((before_points + 1)) 15); then pass "the one-shot published: $got"; else fail "the one-shot published nothing: $got"; fi
# The cron.d line, as cron would run it (as the user, /bin/sh, the environment file sourced),
# with a 3 s window instead of 45 s.
CRON_CMD=$(in_ct sed -n 's/^#\* \* \* \* \* '$NAME' //p' /etc/cron.d/$NAME | sed 's/--window 45s/--window 3s/')
read -r _ before_points _ <<< "$(published)"
if [ -n "$CRON_CMD" ] && in_ct runuser -u $NAME -- /bin/sh -c "$CRON_CMD" \
        && got=$(wait_published $((before_points + 1)) 15); then
    pass "the cron.d command publishes as $NAME: $got"
else
    fail "the cron.d command did not publish"
fi
in_ct systemctl stop $NAME-once.timer
in_ct rm -rf /etc/systemd/system/$NAME-once.service.d
in_ct systemctl daemon-reload
in_ct systemctl start $NAME.service

# --- 5. Upgrade to revision 2 ---------------------------------------------------------------
in_ct sh -c "echo kept > /var/lib/$NAME/marker"
OLD_PID=$(in_ct systemctl show -p MainPID --value $NAME.service)
say "upgrading to $(basename "$DEB2")"
in_ct dpkg -i "/packages2/$(basename "$DEB2")" > "$WORK/dpkg-upgrade.log" 2>&1 \
    || { cat "$WORK/dpkg-upgrade.log"; fail "dpkg -i (upgrade) failed"; }
INSTALLED=$(in_ct dpkg-query -W -f '${Version}' $NAME)
case "$INSTALLED" in *-2) pass "upgraded to $INSTALLED" ;; *) fail "installed version is $INSTALLED" ;; esac
if in_ct grep -q '^# local edit: nspawn-test' /etc/$NAME/config.toml && in_ct grep -q "127.0.0.1:$NGINX_PORT" /etc/$NAME/config.toml; then
    pass "locally edited config.toml kept"
else
    fail "config.toml lost its local edits"
fi
if in_ct grep -q "AWS_ENDPOINT_URL=" /etc/default/$NAME; then pass "/etc/default/$NAME kept"; else fail "/etc/default/$NAME lost its edits"; fi
if [ "$(in_ct cat /var/lib/$NAME/marker 2>/dev/null)" = kept ]; then pass "state directory kept"; else fail "state directory lost"; fi
[ "$(in_ct id -u $NAME)" = "$USER_UID" ] && pass "user kept (uid $USER_UID)" || fail "user changed or gone"
sleep 1
UPGRADED_PID=$(in_ct systemctl show -p MainPID --value $NAME.service)
if in_ct systemctl is-active -q $NAME.service && [ "$UPGRADED_PID" != "$OLD_PID" ]; then
    pass "daemon restarted by the upgrade (pid $OLD_PID -> $UPGRADED_PID)"
else
    fail "daemon not restarted by the upgrade (pid $OLD_PID -> $UPGRADED_PID)"
fi

# --- 6. Purge -------------------------------------------------------------------------------
in_ct rm -rf /etc/systemd/system/$NAME.service.d
in_ct dpkg --purge $NAME > "$WORK/dpkg-purge.log" 2>&1 || { cat "$WORK/dpkg-purge.log"; fail "dpkg --purge failed"; }
if in_ct getent passwd $NAME >/dev/null; then fail "purge left the user"; else pass "purge removed the user"; fi
if in_ct getent group $NAME >/dev/null; then fail "purge left the group"; else pass "purge removed the group"; fi
if in_ct test -e /var/lib/$NAME; then fail "purge left /var/lib/$NAME"; else pass "purge removed /var/lib/$NAME"; fi
if in_ct test -e /etc/$NAME; then fail "purge left /etc/$NAME"; else pass "purge removed /etc/$NAME"; fi
if in_ct test -e /usr/lib/systemd/system/$NAME.service; then fail "purge left the unit"; else pass "purge removed the units"; fi
if [ -n "$(in_ct systemctl show -p MainPID --value $NAME.service 2>/dev/null | grep -v '^0$')" ]; then fail "daemon still running after purge"; else pass "daemon stopped"; fi

# --- 7. The rpm's scriptlets, in a chroot ----------------------------------------------------
# No RPM distribution can be bootstrapped from the registries this runs with, so the rpm's
# %pre/%post/%preun/%postun run under Debian's rpm in a chroot of the same base root
# (--nodeps: Debian has no rpm database of its packages). Their systemctl parts are skipped
# there (no /run/systemd/system); the user, group, state and config handling is what runs.
# (|| true: without rpms, ls fails and pipefail would end the run before the NOTE below.)
RPM1=$(ls "$(dirname "$DEB1")"/$NAME-"$VERSION"-1.*.rpm 2>/dev/null | head -n1 || true)
RPM2=$(ls "$(dirname "$DEB2")"/$NAME-"$VERSION"-2.*.rpm 2>/dev/null | head -n1 || true)
if command -v rpm >/dev/null && [ -f "$RPM1" ] && [ -f "$RPM2" ]; then
    say "rpm scriptlets in a chroot: install, upgrade, erase"
    RPM_ROOT=$WORK/rpm-root
    cp -a --reflink=auto "$BASE" "$RPM_ROOT"
    rpm_ct() { rpm --root "$RPM_ROOT" --nodeps "$@" 2>&1 | grep -v 'use Alien\|know what you are doing' || true; }
    rpm --root "$RPM_ROOT" --initdb
    rpm_ct -i "$RPM1"
    if grep -q ':/sbin/nologin$' <<< "$(chroot "$RPM_ROOT" getent passwd $NAME)"; then pass "rpm: %pre created the nologin system user"; else fail "rpm: no system user"; fi
    if [ "$(chroot "$RPM_ROOT" stat -c %U /var/lib/$NAME 2>/dev/null)" = $NAME ]; then
        pass "rpm: %post made /var/lib/$NAME for the user"
    else
        fail "rpm: state directory missing or not the user's"
    fi
    echo "# local edit" >> "$RPM_ROOT/etc/$NAME/config.toml"
    echo kept > "$RPM_ROOT/var/lib/$NAME/marker"
    rpm_ct -U "$RPM2"
    if [ "$(rpm --root "$RPM_ROOT" -q --qf '%{RELEASE}' $NAME 2>/dev/null)" = 2 ] \
            && grep -q '^# local edit' "$RPM_ROOT/etc/$NAME/config.toml" \
            && [ "$(cat "$RPM_ROOT/var/lib/$NAME/marker" 2>/dev/null)" = kept ] \
            && chroot "$RPM_ROOT" getent passwd $NAME >/dev/null; then
        pass "rpm: upgrade kept the edited config (noreplace), the state and the user"
    else
        fail "rpm: upgrade lost the config, the state or the user"
    fi
    rpm_ct -e $NAME
    if ! chroot "$RPM_ROOT" getent passwd $NAME >/dev/null && ! chroot "$RPM_ROOT" getent group $NAME >/dev/null \
            && [ ! -e "$RPM_ROOT/var/lib/$NAME" ] && [ -f "$RPM_ROOT/etc/$NAME/config.toml.rpmsave" ]; then
        pass "rpm: erase removed the user, group and state; the edited config stays as .rpmsave"
    else
        fail "rpm: erase left the user, group or state (or lost the edited config)"
    fi
    rm -rf "$RPM_ROOT"
else
    echo "NOTE  rpm or the rpm packages missing: rpm scriptlets not exercised"
fi

echo "---"
if [ "$FAILURES" -gt 0 ]; then echo "nspawn-test: $FAILURES check(s) failed"; exit 1; fi
echo "nspawn-test: all checks passed"
