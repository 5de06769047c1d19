//! Workspace ports over another, for tests that change what one or two operations do:
//! `delegate!` writes the others, each handed to the inner port as it is.

/// Inside `impl WorkspacePort for …`, the listed methods, each calling the same method
/// of `self.$inner`.
macro_rules! delegate {
    ($inner:ident: $($method:ident),* $(,)?) => {
        $( $crate::delegate::delegate!(@one $inner $method); )*
    };
    (@one $inner:ident scan) => {
        fn scan(
            &self,
            options: packer_domain::ports::ScanOptions,
        ) -> Result<Vec<packer_domain::ports::ScanEntry>, packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::scan(&self.$inner, options)
        }
    };
    (@one $inner:ident scan_reusing) => {
        fn scan_reusing(
            &self,
            reuse: Option<packer_domain::ports::Reuse<'_>>,
        ) -> Result<
            (Vec<packer_domain::ports::ScanEntry>, packer_domain::ports::SeenDirs),
            packer_domain::ports::PortError,
        > {
            packer_domain::ports::WorkspacePort::scan_reusing(&self.$inner, reuse)
        }
    };
    (@one $inner:ident scan_and_read) => {
        fn scan_and_read(
            &self,
            options: packer_domain::ports::ScanOptions,
            reads: &packer_domain::ports::ScanReads<'_>,
            sink: &packer_domain::ports::ScanSink<'_>,
        ) -> Result<packer_domain::listing::Listing, packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::scan_and_read(&self.$inner, options, reads, sink)
        }
    };
    (@one $inner:ident read) => {
        fn read(
            &self,
            path: &packer_domain::path::WsPath,
            limit: u64,
        ) -> Result<packer_domain::ports::FileRead, packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::read(&self.$inner, path, limit)
        }
    };
    (@one $inner:ident read_many) => {
        fn read_many(
            &self,
            requests: &[packer_domain::ports::ReadRequest],
            sink: &packer_domain::ports::ReadSink<'_>,
        ) {
            packer_domain::ports::WorkspacePort::read_many(&self.$inner, requests, sink);
        }
    };
    (@one $inner:ident list_dir) => {
        fn list_dir(
            &self,
            path: &packer_domain::path::WsPath,
        ) -> Result<Vec<packer_domain::ports::DirEntry>, packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::list_dir(&self.$inner, path)
        }
    };
    (@one $inner:ident stat) => {
        fn stat(
            &self,
            path: &packer_domain::path::WsPath,
        ) -> Result<Option<packer_domain::ports::Fingerprint>, packer_domain::ports::PortError>
        {
            packer_domain::ports::WorkspacePort::stat(&self.$inner, path)
        }
    };
    (@one $inner:ident sync_all) => {
        fn sync_all(
            &self,
        ) -> Result<packer_domain::ports::SyncAll, packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::sync_all(&self.$inner)
        }
    };
    (@one $inner:ident rename) => {
        fn rename(
            &self,
            from: &packer_domain::path::WsPath,
            to: &packer_domain::path::WsPath,
        ) -> Result<(), packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::rename(&self.$inner, from, to)
        }
    };
    (@one $inner:ident write_file) => {
        fn write_file(
            &self,
            path: &packer_domain::path::WsPath,
            bytes: &[u8],
        ) -> Result<(), packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::write_file(&self.$inner, path, bytes)
        }
    };
    (@one $inner:ident remove_empty_dir) => {
        fn remove_empty_dir(
            &self,
            path: &packer_domain::path::WsPath,
        ) -> Result<bool, packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::remove_empty_dir(&self.$inner, path)
        }
    };
    (@one $inner:ident lock) => {
        fn lock(
            &self,
        ) -> Result<Box<dyn packer_domain::ports::LockGuard>, packer_domain::ports::PortError>
        {
            packer_domain::ports::WorkspacePort::lock(&self.$inner)
        }
    };
    (@one $inner:ident lock_if_in_use) => {
        fn lock_if_in_use(
            &self,
            wait: Option<std::time::Duration>,
        ) -> Result<
            Option<Box<dyn packer_domain::ports::LockGuard>>,
            packer_domain::ports::PortError,
        > {
            packer_domain::ports::WorkspacePort::lock_if_in_use(&self.$inner, wait)
        }
    };
    // The operations on one path that give nothing back.
    (@one $inner:ident $method:ident) => {
        fn $method(
            &self,
            path: &packer_domain::path::WsPath,
        ) -> Result<(), packer_domain::ports::PortError> {
            packer_domain::ports::WorkspacePort::$method(&self.$inner, path)
        }
    };
}

pub(crate) use delegate;
