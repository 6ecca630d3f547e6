//! The accept queues of the watched ports: what the /proc parser and the sock_diag reader both
//! give, and what [`super::KernelReader`] hands on.

/// Accept queues of the watched ports, summed over every listening row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcceptQueue {
    /// Connections the kernel completed that nginx has not accepted yet.
    pub(crate) depth: u64,
    /// Sum of the queues' limits (`listen ... backlog=`, capped by `net.core.somaxconn`);
    /// 0 when read from /proc, which does not show it.
    pub limit: u64,
    /// Listening rows found for the watched ports; 0 means nginx is not listening.
    pub listeners: u32,
}

impl AcceptQueue {
    pub(super) fn merge(&mut self, other: AcceptQueue) {
        self.depth += other.depth;
        self.limit += other.limit;
        self.listeners += other.listeners;
    }
}
