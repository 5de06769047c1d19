//! How much of a build's data may wait in memory between its stages. Input bytes read
//! to be hashed, and payloads made or found in the cache, are kept for the stage that
//! needs them next only while they fit the budget; what does not fit is let go and
//! read again when its turn comes (an input from the workspace, a payload from the
//! cache). So a project whose pack is larger than memory still builds, and a small one
//! reads nothing twice.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a build may still keep. Taking is final: bytes let go later are not given back,
/// which keeps the accounting free of races and the bound conservative.
#[derive(Debug)]
pub(crate) struct Budget {
    left: AtomicU64,
}

impl Budget {
    pub(crate) fn new(bytes: u64) -> Budget {
        Budget {
            left: AtomicU64::new(bytes),
        }
    }

    /// Whether `bytes` more may be kept; when they may, they are counted.
    pub(crate) fn take(&self, bytes: u64) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_does_not_fit_is_refused_and_not_counted() {
        let budget = Budget::new(10);
        assert!(budget.take(6));
        assert!(!budget.take(5));
        assert!(budget.take(4));
        assert!(!budget.take(1));
        assert!(budget.take(0));
    }
}
