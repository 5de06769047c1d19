//! Fault injection and the operation log: which port operations were made, in order,
//! and which of them are to fail.

use packer_domain::ports::{PortErrorKind, PortOp};

/// A failure to inject into the port operations made after [`MemFs::inject`].
///
/// Operations are counted from 1 starting with the first one made after the `inject`
/// call; every `WorkspacePort` method call is one operation, except `read_many`, which
/// is one [`PortOp::Read`] per path, and `scan_and_read`, which is one [`PortOp::Scan`]
/// and then one `Read` per file. Operations that fail on their own (a missing file)
/// count too, so the numbering is the one [`MemFs::ops`] shows.
///
/// [`MemFs::inject`]: crate::MemFs::inject
/// [`MemFs::ops`]: crate::MemFs::ops
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// The operation (1-based) that fails; `0` never matches.
    pub nth: u64,
    pub mode: FaultMode,
    /// The error the failing operations report.
    pub kind: PortErrorKind,
}

/// How many operations a [`Fault`] hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Only operation `nth`: a transient error.
    Once,
    /// Operation `nth` and every later one: a disk that died, or a process that did.
    FromThenOn,
}

impl Fault {
    /// Fails operation `nth` only.
    pub fn once(nth: u64, kind: PortErrorKind) -> Fault {
        Fault {
            nth,
            mode: FaultMode::Once,
            kind,
        }
    }

    /// Fails operation `nth` and every later one.
    pub fn from_then_on(nth: u64, kind: PortErrorKind) -> Fault {
        Fault {
            nth,
            mode: FaultMode::FromThenOn,
            kind,
        }
    }
}

/// The log of port operations and the faults waiting for them.
#[derive(Debug, Default)]
pub(crate) struct OpLog {
    /// Every operation ever made; faults count from the value it had when injected, so
    /// clearing the log does not shift them.
    made: u64,
    armed: Vec<Armed>,
    log: Vec<(PortOp, String)>,
}

#[derive(Debug)]
struct Armed {
    fault: Fault,
    /// `made` when the fault was injected.
    after: u64,
}

impl Armed {
    fn hits(&self, made: u64) -> bool {
        let ordinal = made - self.after;
        match self.fault.mode {
            FaultMode::Once => ordinal == self.fault.nth,
            FaultMode::FromThenOn => self.fault.nth != 0 && ordinal >= self.fault.nth,
        }
    }
}

impl OpLog {
    /// Records one operation on `path` and says whether it is to fail, and how.
    pub(crate) fn record(&mut self, op: PortOp, path: String) -> Option<PortErrorKind> {
        self.made += 1;
        self.log.push((op, path));
        let made = self.made;
        self.armed
            .iter()
            .find(|armed| armed.hits(made))
            .map(|armed| armed.fault.kind)
    }

    pub(crate) fn arm(&mut self, fault: Fault) {
        self.armed.push(Armed {
            fault,
            after: self.made,
        });
    }

    pub(crate) fn disarm(&mut self) {
        self.armed.clear();
    }

    pub(crate) fn armed_count(&self) -> usize {
        self.armed.len()
    }

    pub(crate) fn entries(&self) -> Vec<(PortOp, String)> {
        self.log.clone()
    }

    pub(crate) fn len(&self) -> u64 {
        self.log.len() as u64
    }

    pub(crate) fn clear(&mut self) {
        self.log.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `made` operations after arming `fault` and lists the ones that failed.
    fn check(fault: Fault, made: u64, expected: &[u64]) {
        let mut log = OpLog::default();
        log.record(PortOp::Stat, "before".to_owned());
        log.arm(fault);
        let failed: Vec<u64> = (1..=made)
            .filter(|n| log.record(PortOp::Read, format!("{n}")).is_some())
            .collect();
        assert_eq!(failed, expected, "{fault:?}");
    }

    #[test]
    fn once_hits_one_operation() {
        check(Fault::once(3, PortErrorKind::Io), 6, &[3]);
        check(Fault::once(1, PortErrorKind::Io), 2, &[1]);
        check(Fault::once(0, PortErrorKind::Io), 3, &[]);
        check(Fault::once(9, PortErrorKind::Io), 3, &[]);
    }

    #[test]
    fn from_then_on_hits_every_later_operation() {
        check(
            Fault::from_then_on(3, PortErrorKind::DiskFull),
            6,
            &[3, 4, 5, 6],
        );
        check(Fault::from_then_on(0, PortErrorKind::DiskFull), 2, &[]);
    }

    #[test]
    fn clearing_the_log_keeps_the_count() {
        let mut log = OpLog::default();
        log.arm(Fault::once(2, PortErrorKind::Io));
        assert_eq!(log.record(PortOp::Read, "a".to_owned()), None);
        log.clear();
        assert_eq!(log.len(), 0);
        assert_eq!(
            log.record(PortOp::Read, "b".to_owned()),
            Some(PortErrorKind::Io)
        );
        assert_eq!(log.entries(), vec![(PortOp::Read, "b".to_owned())]);
    }
}
