# %post of nginx-backlog-exporter (RPM). $1: 1 on install, 2 on upgrade.
install -d -o nginx-backlog-exporter -g nginx-backlog-exporter -m 0750 /var/lib/nginx-backlog-exporter
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # What %systemd_post does: the distribution's preset decides whether the daemon is
    # enabled on first install (on Fedora/RHEL/Amazon Linux: no, enable it yourself).
    if [ "$1" -eq 1 ]; then
        systemctl --no-reload preset nginx-backlog-exporter.service >/dev/null 2>&1 || :
    fi
fi
exit 0
