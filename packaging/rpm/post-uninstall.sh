# %postun of nginx-backlog-exporter (RPM). $1: 0 on erase, 1 on upgrade.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -ge 1 ]; then
    # Upgrade: the new binary takes over if the daemon was running (%systemd_postun_with_restart).
    # The configuration (%config(noreplace)) and the state directory are kept.
    if [ -d /run/systemd/system ]; then
        systemctl try-restart nginx-backlog-exporter.service >/dev/null 2>&1 || :
    fi
else
    # Erase: RPM has no separate purge, so this is it. Edited config files stay behind as
    # *.rpmsave; the state directory and the system user go, like a Debian purge.
    rm -rf /var/lib/nginx-backlog-exporter
    getent passwd nginx-backlog-exporter >/dev/null && userdel nginx-backlog-exporter
    getent group nginx-backlog-exporter >/dev/null && groupdel nginx-backlog-exporter
fi
exit 0
