#!/usr/bin/env bash
# The CI proof of the packages scripts/package.sh built: inspects the .deb and the .rpm
# (file lists, conffiles, maintainer scripts, dependencies), verifies the units with
# systemd-analyze, and gates the sandbox: `systemd-analyze security` must say 2.0 or lower.
#
#   scripts/check-packages.sh [DEB RPM]     (default: the newest in target/packages/)
#
# Needs dpkg-deb, rpm (with rpm2archive) and systemd-analyze; installs rpm with apt-get when
# it is missing.
set -euo pipefail

if ! command -v rpm >/dev/null || ! command -v rpm2archive >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null
fi

cd "$(dirname "$0")/.."
MAX_EXPOSURE=2.0
NAME=nginx-backlog-exporter

DEB=${1:-$(ls -t target/packages/*.deb 2>/dev/null | head -n1)}
RPM=${2:-$(ls -t target/packages/*.rpm 2>/dev/null | head -n1)}
[ -f "$DEB" ] && [ -f "$RPM" ] || { echo "check-packages: no packages; run scripts/package.sh" >&2; exit 2; }

FAILURES=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILURES=$((FAILURES + 1)); }
# same_lines LABEL EXPECTED_FILE ACTUAL_FILE: exact match of two sorted lists, diff on failure.
same_lines() {
    if diff -u "$2" "$3" > "$WORK/diff"; then pass "$1"; else fail "$1"; cat "$WORK/diff"; fi
}
# contains LABEL FILE PATTERN (grep -E)
contains() {
    if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1 (no /$3/ in $(basename "$2"))"; fi
}

MAN_PAGES="nginx-backlog-exporter nginx-backlog-exporter-check nginx-backlog-exporter-once nginx-backlog-exporter-parse-log nginx-backlog-exporter-replay nginx-backlog-exporter-policy nginx-backlog-exporter-policy-lint nginx-backlog-exporter-policy-render nginx-backlog-exporter-run nginx-backlog-exporter-simulate"

echo "--- $DEB"
cat > "$WORK/deb.expected" <<LIST
/etc/cron.d/$NAME
/etc/default/$NAME
/etc/$NAME/config.toml
/usr/bin/$NAME
/usr/lib/systemd/system/$NAME-once.service
/usr/lib/systemd/system/$NAME-once.timer
/usr/lib/systemd/system/$NAME.service
/usr/share/bash-completion/completions/$NAME
/usr/share/doc/$NAME/README.md
/usr/share/doc/$NAME/docs/access-log.md
/usr/share/doc/$NAME/docs/architecture.md
/usr/share/doc/$NAME/docs/asg-guide.md
/usr/share/doc/$NAME/docs/configuration.md
/usr/share/doc/$NAME/docs/measuring.md
/usr/share/doc/$NAME/docs/operations.md
/usr/share/doc/$NAME/docs/simulate.md
/usr/share/doc/$NAME/docs/tests.md
/usr/share/doc/$NAME/copyright
/usr/share/doc/$NAME/scaling-policy.toml
/usr/share/fish/vendor_completions.d/$NAME.fish
/usr/share/zsh/vendor-completions/_$NAME
LIST
for page in $MAN_PAGES; do echo "/usr/share/man/man1/$page.1.gz" >> "$WORK/deb.expected"; done
sort -o "$WORK/deb.expected" "$WORK/deb.expected"
dpkg-deb -c "$DEB" > "$WORK/deb.contents"
grep -v '^d' "$WORK/deb.contents" | awk '{print $NF}' | sed 's|^\./|/|' | sort > "$WORK/deb.actual"
same_lines "deb file list" "$WORK/deb.expected" "$WORK/deb.actual"
contains "deb: binary is root-owned 0755" "$WORK/deb.contents" "^-rwxr-xr-x 0/0 .* \./usr/bin/$NAME\$"

printf '/etc/cron.d/%s\n/etc/default/%s\n/etc/%s/config.toml\n' $NAME $NAME $NAME | sort > "$WORK/conffiles.expected"
dpkg-deb -I "$DEB" conffiles | sort > "$WORK/conffiles.actual"
same_lines "deb conffiles (kept on upgrade)" "$WORK/conffiles.expected" "$WORK/conffiles.actual"

dpkg-deb -f "$DEB" Depends > "$WORK/deb.depends"
contains "deb depends on ca-certificates" "$WORK/deb.depends" '(^|, )ca-certificates($|,| )'
contains "deb depends on passwd (useradd)" "$WORK/deb.depends" '(^|, )passwd($|,| )'
contains "deb depends on libc" "$WORK/deb.depends" 'libc6'

for script in postinst postrm prerm; do
    dpkg-deb -I "$DEB" "$script" > "$WORK/deb.$script" || fail "deb has no $script"
    if sh -n "$WORK/deb.$script"; then pass "deb $script parses"; else fail "deb $script has a syntax error"; fi
done
contains "deb postinst creates the system group" "$WORK/deb.postinst" 'groupadd --system "\$NAME"'
contains "deb postinst creates the system user" "$WORK/deb.postinst" 'useradd --system --gid "\$NAME" --no-create-home'
contains "deb postinst gives it no login shell" "$WORK/deb.postinst" '--shell /usr/sbin/nologin'
contains "deb postinst adds the user to adm" "$WORK/deb.postinst" 'LOG_GROUP=adm'
contains "deb postinst enables the daemon" "$WORK/deb.postinst" "^\s*deb-systemd-helper enable $NAME.service"
contains "deb postinst (re)starts the daemon" "$WORK/deb.postinst" "^\s*deb-systemd-invoke \\\$_dh_action $NAME.service "
contains "deb postinst restarts (not stop/start) on upgrade" "$WORK/deb.postinst" "_dh_action=restart"
# The timer gets debhelper's dont-enable snippet: one guarded enable (only if an admin had
# enabled it before) and no start.
if [ "$(grep -c "enable $NAME-once.timer" "$WORK/deb.postinst")" = 1 ] \
        && grep -q "debian-installed $NAME-once.timer" "$WORK/deb.postinst" \
        && ! grep -Eq "deb-systemd-invoke (start|\\\$_dh_action) .*$NAME-once" "$WORK/deb.postinst"; then
    pass "deb postinst neither enables nor starts the timer"
else
    fail "deb postinst enables or starts the timer"
fi
contains "deb postinst keeps an enabled timer running across upgrades" "$WORK/deb.postinst" "deb-systemd-invoke try-restart $NAME-once.service $NAME-once.timer"
contains "deb postrm removes the user on purge" "$WORK/deb.postrm" 'userdel "\$NAME"'
contains "deb postrm removes the state on purge" "$WORK/deb.postrm" 'rm -rf "\$STATE_DIR"'

echo "--- $RPM"
sed 's|^/etc/default/|/etc/sysconfig/|; s|/zsh/vendor-completions/|/zsh/site-functions/|; \|/usr/share/doc/'$NAME'/copyright|d' \
    "$WORK/deb.expected" > "$WORK/rpm.expected"
cat >> "$WORK/rpm.expected" <<LIST
/usr/lib/systemd/system/$NAME.service.d/sysconfig.conf
/usr/lib/systemd/system/$NAME-once.service.d/sysconfig.conf
/usr/share/licenses/$NAME/LICENSE
LIST
sort -o "$WORK/rpm.expected" "$WORK/rpm.expected"
# rpm -qlp lists the directories it owns too; compare the files only.
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$RPM" > "$WORK/rpm.modes"
grep -v '^d' "$WORK/rpm.modes" | awk '{print $2}' | sort > "$WORK/rpm.actual"
same_lines "rpm file list" "$WORK/rpm.expected" "$WORK/rpm.actual"
rpm -qlp "$RPM" > "$WORK/rpm.list"
contains "rpm -qlp lists the binary" "$WORK/rpm.list" "^/usr/bin/$NAME\$"
contains "rpm: binary is 0755" "$WORK/rpm.modes" "^-rwxr-xr-x /usr/bin/$NAME\$"

printf '/etc/cron.d/%s\n/etc/sysconfig/%s\n/etc/%s/config.toml\n' $NAME $NAME $NAME | sort > "$WORK/rpmconf.expected"
rpm -qp --configfiles "$RPM" | sort > "$WORK/rpmconf.actual"
same_lines "rpm config files" "$WORK/rpmconf.expected" "$WORK/rpmconf.actual"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM" | grep '^c' > "$WORK/rpm.flags" || true
if [ "$(grep -c '^cn ' "$WORK/rpm.flags")" = 3 ]; then pass "rpm config files are %config(noreplace)"; else fail "rpm config files are not all noreplace:"; cat "$WORK/rpm.flags"; fi

rpm -qp --requires "$RPM" > "$WORK/rpm.requires"
contains "rpm requires ca-certificates" "$WORK/rpm.requires" '^ca-certificates'
contains "rpm requires shadow-utils (useradd)" "$WORK/rpm.requires" '^shadow-utils'
rpm -qp --scripts "$RPM" > "$WORK/rpm.scripts"
contains "rpm %pre creates the system user" "$WORK/rpm.scripts" 'useradd --system --gid "\$NAME" --no-create-home'
contains "rpm %pre gives it no login shell" "$WORK/rpm.scripts" '--shell /sbin/nologin'
contains "rpm %pre adds the user to group nginx if it exists" "$WORK/rpm.scripts" 'usermod --append --groups nginx'
contains "rpm %postun restarts on upgrade" "$WORK/rpm.scripts" 'systemctl try-restart nginx-backlog-exporter.service'
contains "rpm %postun removes the user on erase" "$WORK/rpm.scripts" 'userdel nginx-backlog-exporter'
for script in packaging/rpm/*.sh; do
    if sh -n "$script"; then pass "$script parses"; else fail "$script has a syntax error"; fi
done

# --- The units, as installed. systemd-analyze verify wants the ExecStart binaries and the
# units they pull in (sysinit.target, ...) under --root, so each package is unpacked into a
# root that also holds the host's own unit files. verify exits 0 on most problems (unknown
# keys, bad values), so any output at all is a failure.
verify_units() { # LABEL ROOT UNIT_DIR
    local label=$1 root=$2 unit_dir=$3
    cp -rn /usr/lib/systemd/system/. "$root/$unit_dir/"
    if (cd "$root/$unit_dir" && systemd-analyze verify --root="$root" --man=no \
            $NAME.service $NAME-once.service $NAME-once.timer) > "$WORK/verify.out" 2>&1 \
            && [ ! -s "$WORK/verify.out" ]; then
        pass "$label: systemd-analyze verify is silent"
    else
        fail "$label: systemd-analyze verify:"; cat "$WORK/verify.out"
    fi
    for unit in $NAME.service $NAME-once.service; do
        systemd-analyze security --offline=true --root="$root" "$unit" > "$WORK/security.out" 2>&1 || true
        local level
        level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$WORK/security.out")
        if [ -z "$level" ]; then
            fail "$label: no exposure level for $unit:"; cat "$WORK/security.out"
        elif awk -v l="$level" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(l <= max) }'; then
            pass "$label: $unit exposure $level <= $MAX_EXPOSURE"
        else
            fail "$label: $unit exposure $level > $MAX_EXPOSURE:"; grep '✗' "$WORK/security.out"
        fi
    done
}
echo "--- the units, as installed by each package"
mkdir -p "$WORK/deb-root" "$WORK/rpm-root"
dpkg-deb -x "$DEB" "$WORK/deb-root"
verify_units deb "$WORK/deb-root" usr/lib/systemd/system
RPM_ABS=$(realpath "$RPM")
# rpm2archive, not rpm2cpio: Debian 12's rpm2cpio exits 1 on these (zstd) payloads even
# though its output is complete.
rpm2archive - < "$RPM_ABS" | tar -xzf - -C "$WORK/rpm-root"
verify_units "rpm (with the sysconfig drop-ins)" "$WORK/rpm-root" usr/lib/systemd/system
DROPIN=$WORK/rpm-root/usr/lib/systemd/system/$NAME.service.d/sysconfig.conf
if grep -qx "EnvironmentFile=-/etc/sysconfig/$NAME" "$DROPIN" 2>/dev/null; then
    pass "rpm: the drop-in adds /etc/sysconfig/$NAME (verified with the unit above)"
else
    fail "rpm: the sysconfig drop-in is missing or wrong"
fi

echo "--- cron.d, man pages, completions"
# --- The cron.d alternative: shipped commented out, as the system user, parsable by sh.
CRON=$WORK/deb-root/etc/cron.d/$NAME
if grep -Eq '^[^#]*[*0-9].* /usr/bin/' "$CRON"; then fail "cron.d line is active (must ship commented out)"; else pass "cron.d line ships commented out"; fi
CRON_LINE=$(grep -E '^#\* \* \* \* \* ' "$CRON" | head -n1 | sed 's/^#//')
CRON_USER=$(echo "$CRON_LINE" | awk '{print $6}')
CRON_CMD=$(echo "$CRON_LINE" | cut -d' ' -f7-)
[ "$CRON_USER" = "$NAME" ] && pass "cron.d runs as $NAME" || fail "cron.d user is '$CRON_USER'"
if [ -n "$CRON_CMD" ] && sh -n -c "$CRON_CMD"; then pass "cron.d command parses"; else fail "cron.d command does not parse"; fi
case "$CRON_CMD" in *"$NAME once"*) pass "cron.d runs once" ;; *) fail "cron.d does not run once" ;; esac

# --- The generated assets match the binary.
BIN=$WORK/deb-root/usr/bin/$NAME
"$BIN" --version > "$WORK/version" && pass "packaged binary runs: $(cat "$WORK/version")" || fail "packaged binary does not run"
zcat "$WORK/deb-root/usr/share/man/man1/$NAME.1.gz" > "$WORK/man"
contains "man page documents --config" "$WORK/man" 'config'
contains "man page lists the check command" "$WORK/man" 'check'
contains "bash completion knows once" "$WORK/deb-root/usr/share/bash-completion/completions/$NAME" 'once'
contains "zsh completion is a compdef" "$WORK/deb-root/usr/share/zsh/vendor-completions/_$NAME" "^#compdef $NAME"
contains "fish completion knows --window" "$WORK/deb-root/usr/share/fish/vendor_completions.d/$NAME.fish" "-l window"

echo "---"
if [ "$FAILURES" -gt 0 ]; then
    echo "check-packages: $FAILURES check(s) failed"
    exit 1
fi
echo "check-packages: all checks passed"
