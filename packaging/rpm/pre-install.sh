# %pre of nginx-backlog-exporter (RPM). $1: 1 on install, 2 on upgrade.
# The user exists before the files and the unit do, as the Fedora packaging guidelines ask.
NAME=nginx-backlog-exporter
getent group "$NAME" >/dev/null || groupadd --system "$NAME"
getent passwd "$NAME" >/dev/null || \
    useradd --system --gid "$NAME" --no-create-home --home-dir /var/lib/nginx-backlog-exporter \
        --shell /sbin/nologin --comment "nginx-backlog-exporter daemon" "$NAME"
# On RPM systems the nginx package owns its logs as user/group nginx. If nginx is installed
# after this package, run: usermod -a -G nginx nginx-backlog-exporter
if getent group nginx >/dev/null; then
    usermod --append --groups nginx "$NAME"
fi
exit 0
