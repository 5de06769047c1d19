//! [`MemOutput`]: a build output folder in memory, the strict stand-in for the real one
//! behind [`PackOutput`], with fault injection and an operation log like [`MemFs`]'s.
//!
//! Strictness: a name must be one valid file name; a write is all or nothing (a fault
//! leaves the old file as it was); fingerprints move on every write (a logical clock,
//! and a new inode per file written, as a rename of a fresh file gives).
//!
//! [`MemFs`]: crate::MemFs

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use packer_domain::path::WsPath;
use packer_domain::ports::{
    FileSource, Fingerprint, OutputError, PackOutput, PortErrorKind, PortOp,
};

use crate::faults::{Fault, OpLog};

/// What `location` says unless told otherwise.
const DEFAULT_LOCATION: &str = "build";

/// An in-memory output folder. Clones share it.
#[derive(Clone)]
pub struct MemOutput {
    shared: Arc<Mutex<State>>,
    location: String,
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, (Vec<u8>, Fingerprint)>,
    log: OpLog,
    clock: i64,
    next_inode: u64,
}

impl MemOutput {
    /// An empty folder shown as `build`.
    pub fn new() -> MemOutput {
        MemOutput::at(DEFAULT_LOCATION)
    }

    /// An empty folder shown as `location`.
    pub fn at(location: &str) -> MemOutput {
        MemOutput {
            shared: Arc::new(Mutex::new(State::default())),
            location: location.to_owned(),
        }
    }

    /// The content of the file `name`, if there is one.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.state().files.get(name).map(|(bytes, _)| bytes.clone())
    }

    /// The names of the files, sorted.
    pub fn names(&self) -> Vec<String> {
        self.state().files.keys().cloned().collect()
    }

    /// A person's edit: replaces (or creates) `name` in place, moving its fingerprint.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        let mut state = self.state();
        let existing = state.files.get(name).map(|(_, fp)| fp.inode);
        let inode = match existing {
            Some(inode) => inode,
            None => state.new_inode(),
        };
        let fingerprint = state.fingerprint(bytes.as_ref().len(), inode);
        state
            .files
            .insert(name.to_owned(), (bytes.as_ref().to_vec(), fingerprint));
    }

    /// A person's edit: deletes `name` if it is there.
    pub fn remove(&self, name: &str) {
        self.state().files.remove(name);
    }

    /// Arms `fault`, counting from the next port operation (every method call is one).
    pub fn inject(&self, fault: Fault) {
        self.state().log.arm(fault);
    }

    /// The port operations made, with the name each concerned.
    pub fn ops(&self) -> Vec<(PortOp, String)> {
        self.state().log.entries()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics under the lock: a poisoned state is still whole.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn file_name(&self, name: &str) -> String {
        format!("{}/{name}", self.location)
    }

    /// Counts one operation, fails it if a fault or the name says so, else runs it.
    fn operate<T>(
        &self,
        op: PortOp,
        name: &str,
        run: impl FnOnce(&mut State) -> Result<T, OutputError>,
    ) -> Result<T, OutputError> {
        let mut state = self.state();
        if let Some(kind) = state.log.record(op, name.to_owned()) {
            return Err(
                OutputError::new(kind, op, self.file_name(name)).with_detail("injected fault")
            );
        }
        if let Err(e) = WsPath::check_segment(name) {
            return Err(
                OutputError::new(PortErrorKind::Io, op, self.file_name(name))
                    .with_detail(e.to_string()),
            );
        }
        run(&mut state)
    }
}

impl State {
    fn new_inode(&mut self) -> u64 {
        self.next_inode += 1;
        self.next_inode
    }

    fn fingerprint(&mut self, size: usize, inode: u64) -> Fingerprint {
        self.clock += 1;
        Fingerprint {
            size: size as u64,
            mtime_ns: self.clock,
            ctime_ns: self.clock,
            inode,
        }
    }
}

impl Default for MemOutput {
    fn default() -> MemOutput {
        MemOutput::new()
    }
}

impl fmt::Debug for MemOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemOutput")
            .field("location", &self.location)
            .field("files", &self.names())
            .finish_non_exhaustive()
    }
}

impl PackOutput for MemOutput {
    fn location(&self) -> String {
        self.location.clone()
    }

    /// One `Write` operation per file, in order, before any source is drained; the
    /// files change only once every one of them passed and every source gave all of
    /// its pieces, so a fault or a failing source leaves them all as they were.
    fn write_streams_atomic(
        &self,
        files: &mut [(&str, &mut dyn FileSource)],
    ) -> Result<(), OutputError> {
        for (name, _) in files.iter() {
            self.operate(PortOp::Write, name, |_| Ok(()))?;
        }
        let mut contents = Vec::with_capacity(files.len());
        for (name, source) in files.iter_mut() {
            let mut bytes = Vec::new();
            while let Some(piece) = source.next_piece().map_err(|_| {
                OutputError::new(PortErrorKind::Io, PortOp::Write, self.file_name(name))
                    .with_detail("its content could not be made")
            })? {
                bytes.extend_from_slice(piece);
            }
            contents.push(((*name).to_owned(), bytes));
        }
        let mut state = self.state();
        for (name, bytes) in contents {
            let inode = state.new_inode();
            let fingerprint = state.fingerprint(bytes.len(), inode);
            state.files.insert(name, (bytes, fingerprint));
        }
        Ok(())
    }

    /// Nothing to remove: a write here replaces its files in one step and leaves no
    /// temporary, dead writer or not.
    fn remove_abandoned(&self, _names: &[&str]) {}

    fn stat(&self, name: &str) -> Result<Option<Fingerprint>, OutputError> {
        self.operate(PortOp::Stat, name, |state| {
            Ok(state.files.get(name).map(|(_, fp)| *fp))
        })
    }

    fn read(&self, name: &str, limit: u64) -> Result<Vec<u8>, OutputError> {
        let file = self.file_name(name);
        self.operate(PortOp::Read, name, |state| {
            let (bytes, _) = state.files.get(name).ok_or_else(|| {
                OutputError::new(PortErrorKind::NotFound, PortOp::Read, file.clone())
            })?;
            if bytes.len() as u64 > limit {
                return Err(
                    OutputError::new(PortErrorKind::TooLarge, PortOp::Read, file.clone())
                        .with_detail(format!("more than {limit} bytes")),
                );
            }
            Ok(bytes.clone())
        })
    }
}
