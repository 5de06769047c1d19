//! Listing one directory (the packer's own `tx/` among others): names and kinds from
//! `getdents`, without following links or stat-ing entries.

use packer_domain::path::WsPath;
use packer_domain::ports::{DirEntry, DirEntryKind, PortError, PortOp};
use rustix::fs::{Dir, FileType, Mode, OFlags};

use crate::confine::FinalLink;
use crate::error::port_error;
use crate::workspace::DiskWorkspace;

impl DiskWorkspace {
    pub(crate) fn list_entries(&self, path: &WsPath) -> Result<Vec<DirEntry>, PortError> {
        let op = PortOp::Scan;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        let fd = self.open_confined(path, flags, Mode::empty(), FinalLink::Follow, op)?;
        let mut dir = Dir::read_from(&fd).map_err(|e| port_error(e, op, path))?;
        let mut out = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|e| port_error(e, op, path))?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::RegularFile => DirEntryKind::File,
                FileType::Directory => DirEntryKind::Dir,
                FileType::Symlink => DirEntryKind::Symlink,
                FileType::Unknown => match rustix::fs::statat(
                    &fd,
                    entry.file_name(),
                    rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
                ) {
                    Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                        FileType::RegularFile => DirEntryKind::File,
                        FileType::Directory => DirEntryKind::Dir,
                        FileType::Symlink => DirEntryKind::Symlink,
                        _ => DirEntryKind::Other,
                    },
                    // Gone since the listing: not an entry any more.
                    Err(_) => continue,
                },
                _ => DirEntryKind::Other,
            };
            out.push(DirEntry {
                name: name.to_owned(),
                kind,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
