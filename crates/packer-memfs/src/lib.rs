//! The in-memory workspace adapter for tests: [`MemFs`], the strictest implementation of
//! [`WorkspacePort`], with fault injection and a crash model; [`MemOutput`], a build
//! output folder in memory; [`ScriptedWatcher`], a watcher driven by the test;
//! [`ManualClock`]; and [`EventLog`], a recording
//! [`EventPort`](packer_domain::ports::EventPort).
//!
//! ```
//! use packer_domain::path::WsPath;
//! use packer_domain::ports::WorkspacePort;
//! use packer_memfs::MemFs;
//!
//! let fs = MemFs::from_fixture(r#"
//!     //- sprites/hero/asset.json
//!     {"name": "hero"}
//!     //- sprites/hero/hero.png hex: 89 50 4e 47
//! "#)?;
//! let port: &dyn WorkspacePort = &fs;
//! let read = port.read(&WsPath::new("sprites/hero/asset.json")?, 1024)?;
//! assert_eq!(read.bytes, b"{\"name\": \"hero\"}\n");
//! fs.write("sprites/hero/asset.json", "{}\n"); // a person's edit
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Fixtures
//!
//! A fixture writes a whole workspace (paths relative to `assets/`) as one string. The
//! text is first de-indented: leading blank lines are dropped and the leading whitespace
//! common to the non-blank lines is removed, so a fixture can sit indented in a raw
//! string. Then every line that starts with `//-` is a header:
//!
//! ```text
//! //- .prometeu/index.json
//! {"schema_version": 1, "next_asset_id": 1, "assets": []}
//! //- sprites/hero/asset.json
//! {
//!   "name": "hero"
//! }
//! //- notes/empty.txt
//! //- sprites/hero/hero.png hex: 89 50 4e 47 0d 0a 1a 0a
//! //- audio/
//! //- sprites/villain -> ../sprites/hero
//! ```
//!
//! * `//- PATH`: a file whose content is the lines up to the next header, each followed
//!   by `\n`. No lines gives an empty file; trailing empty lines before the next header
//!   are dropped (so content that ends in empty lines, or lacks a final newline, needs
//!   the hex form).
//! * `//- PATH hex: 89 50 4e 47`: a file with these bytes (pairs of hex digits,
//!   whitespace between pairs optional).
//! * `//- DIR/`: an empty directory.
//! * `//- LINK -> TARGET`: a symbolic link whose raw target is `TARGET`, resolved from the
//!   link's directory as a real link is (`../x`, or `/etc/passwd`, which leads outside).
//! * `//- PATH <fifo>`: a FIFO (standing for any special file: socket, device), which
//!   has a name and a kind and nothing to read or write.
//!
//! Parents are created implicitly, everything a fixture creates is durable, and a path
//! may be declared once. A bad header, a duplicate path, bad hex, an invalid path, a
//! path through a file or a link, or content under a non-text header is a
//! [`FixtureError`] naming the line. [`MemFs::dump`] renders a tree back in this form,
//! sorted by path, choosing hex for content the text form cannot carry exactly (a path
//! that itself contains ` -> ` or ` hex:`, or ends in ` <fifo>`, cannot be written in a
//! fixture).
//!
//! # Strictness
//!
//! `MemFs` refuses what a real disk might let pass:
//!
//! * `write_file` needs an existing parent directory (`NotFound`; `NotADirectory` when
//!   the parent is a file) and refuses a directory (`IsADirectory`). It never writes
//!   through a symbolic link: a link at the path itself is `OutsideWorkspace` when it
//!   leads outside and `AlreadyExists` otherwise.
//! * `read` of a directory is `IsADirectory`, of more than `limit` bytes `TooLarge`.
//! * `rename` moves a file over a file (or link), never over a directory
//!   (`IsADirectory`); a directory moves only where nothing is (`AlreadyExists`), and
//!   never into its own subtree (`Io`). The root cannot be renamed (`PermissionDenied`).
//! * `remove_file` of a directory is `IsADirectory`; `remove_dir_all` of a missing path
//!   is `NotFound`, of a file or a link `NotADirectory`, of the root `PermissionDenied`.
//! * `create_dir_all` through a file, or onto a link that leads nowhere, is
//!   `AlreadyExists`.
//! * `sync_file` of a directory is `IsADirectory`, `sync_dir` of a file `NotADirectory`.
//! * A directory a test made read-only ([`MemFs::set_read_only`]) takes no new entry,
//!   loses none and renames none (`PermissionDenied`), nor moves to another parent;
//!   `remove_dir_all` of a tree holding one is refused before anything is removed.
//! * Symbolic links inside the workspace are followed on the way to any path, and at the
//!   path itself by `read`, `stat`, `create_dir_all` and the syncs; `write_file`,
//!   `rename`, `remove_file` and `remove_dir_all` act on (or refuse) the link itself. A
//!   link that leads outside (an absolute target, or `..` above `assets/`, even if a
//!   later step comes back in), or that carries a path from the user's area into
//!   `.prometeu` or from `.prometeu` out of it, makes the operation `OutsideWorkspace`.
//!   More than 40 links in one walk is a loop (`Io`).
//! * `stat` answers `None` when nothing is there (absent, a dangling link, a file where a
//!   directory should be) and `IsADirectory` for a directory.
//! * `lock` needs `.prometeu/` to be a directory (the disk adapter keeps its lock file
//!   there); the lock itself lives in memory and leaves no file.
//!
//! `scan` lists every file, directory and link except `.prometeu` and below, sorted by
//! path, never descending into links: [`LinkTarget::Inside`] with the link-free path,
//! `Outside`, or `Dangling` (missing, or a loop). `scan_and_read` lists the same, and
//! delivers what callers may not count on in an order they cannot count on either: the
//! files found by name in reverse path order, then the requests.
//!
//! Fingerprints: inode numbers are assigned on creation and never reused; a logical
//! clock, advanced by every mutation, gives the mtime and ctime (a write sets both, a
//! rename moves the ctime); the size is the byte length.
//!
//! # Faults, the operation log and crashes
//!
//! [`MemFs::inject`] arms a [`Fault`] that fails the n-th port operation after it (or
//! that one and all later ones); a failed operation has no effect. Every port method
//! call is one operation, except `read_many`, which is one `Read` per path, and
//! `scan_and_read`, which is one `Scan` and then one `Read` per file; the log of them is
//! [`MemFs::ops`].
//!
//! Every file inode has current and durable content, every directory current and
//! durable entries. `sync_file` makes a file's content durable, `sync_dir` a directory's
//! entries (name to inode). [`MemFs::crash`] puts the durable state back: an unsynced
//! new file vanishes, or is empty if only its directory was synced; an unsynced rename
//! is undone; a directory renamed and synced at both ends stays moved.
//!
//! [`LinkTarget::Inside`]: packer_domain::ports::LinkTarget::Inside
//! [`WorkspacePort`]: packer_domain::ports::WorkspacePort

mod clock;
mod events;
mod faults;
mod fixture;
mod memfs;
mod output;
mod person;
mod port;
mod tree;
mod watch;

#[cfg(test)]
mod tests;

pub use crate::clock::ManualClock;
pub use crate::events::EventLog;
pub use crate::faults::{Fault, FaultMode};
pub use crate::fixture::FixtureError;
pub use crate::memfs::MemFs;
pub use crate::output::MemOutput;
pub use crate::watch::ScriptedWatcher;
