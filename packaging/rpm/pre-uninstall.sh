# %preun of nginx-backlog-exporter (RPM). $1: 0 on erase, 1 on upgrade.
# On erase, stop and disable everything the package can run (%systemd_preun).
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now nginx-backlog-exporter.service \
        nginx-backlog-exporter-once.timer nginx-backlog-exporter-once.service >/dev/null 2>&1 || :
fi
exit 0
