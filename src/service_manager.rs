//! The systemd notification protocol (sd_notify), the one message the daemon sends: READY=1
//! once the config is valid and every task has started. The unit is `Type=notify`, so
//! `systemctl start` waits for it and reports a daemon that exits first (a config error, exit
//! 2, which the unit does not restart) as a failed start. Outside systemd it does nothing.

use std::os::unix::net::UnixDatagram;

/// Tell the service manager the daemon is up; a failure to tell it is logged, never fatal.
pub(crate) fn notify_ready() {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(error) = send(&socket, b"READY=1") {
        tracing::warn!("cannot tell systemd the daemon is ready (NOTIFY_SOCKET {socket:?}): {error}");
    }
}

fn send(socket: &std::ffi::OsStr, message: &[u8]) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let datagram = UnixDatagram::unbound()?;
    let path = socket.as_bytes();
    // "@name" is a socket in the abstract namespace (systemd's own is a path).
    if let Some(name) = path.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        datagram.send_to_addr(message, &address)?;
    } else {
        datagram.send_to(message, std::path::Path::new(socket))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), b"READY=1").unwrap();
        let mut buffer = [0u8; 64];
        let n = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("nbe-notify-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        send(std::ffi::OsStr::new(&format!("@{name}")), b"READY=1").unwrap();
        let n = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1");
    }
}
