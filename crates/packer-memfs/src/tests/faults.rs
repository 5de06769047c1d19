//! Fault injection and the operation log.

use packer_domain::ports::PortErrorKind::{self, DiskFull, Io, NotFound, PermissionDenied};
use packer_domain::ports::{PortError, PortOp, ReadRequest, ScanDelivery, ScanOptions, ScanReads};

use super::{load, p, port, text};
use crate::{Fault, FaultMode};

const TREE: &str = "
    //- .prometeu/index.json
    {}
    //- a.txt
    a
    //- b.txt
    b
    //- c.txt
    c
";

#[test]
fn once_fails_only_the_nth_operation_and_changes_nothing() {
    let fs = load(TREE);
    let port = port(&fs);
    port.stat(&p("a.txt")).unwrap();
    fs.inject(Fault {
        nth: 2,
        mode: FaultMode::Once,
        kind: DiskFull,
    });
    port.write_file(&p("new.txt"), b"1\n").unwrap();
    let error = port.write_file(&p("a.txt"), b"overwritten\n").unwrap_err();
    assert_eq!(
        error,
        PortError::new(DiskFull, PortOp::Write, &p("a.txt")).with_detail("injected fault")
    );
    port.rename(&p("b.txt"), &p("moved.txt")).unwrap();
    assert_eq!(
        fs.dump(),
        text(
            "
            //- .prometeu/index.json
            {}
            //- a.txt
            a
            //- c.txt
            c
            //- moved.txt
            b
            //- new.txt
            1
            "
        )
    );
}

#[test]
fn from_then_on_fails_every_later_operation() {
    let fs = load(TREE);
    let port = port(&fs);
    fs.inject(Fault::from_then_on(2, Io));
    port.remove_file(&p("a.txt")).unwrap();
    let kinds: Vec<_> = [
        port.remove_file(&p("b.txt")),
        port.rename(&p("c.txt"), &p("d.txt")),
        port.create_dir_all(&p("dir")),
        port.sync_dir(&p("dir")),
    ]
    .into_iter()
    .map(|result| result.map_err(|e| e.kind))
    .collect();
    assert_eq!(kinds, vec![Err(Io), Err(Io), Err(Io), Err(Io)]);
    assert_eq!(port.scan(ScanOptions::default()).unwrap_err().kind, Io);
    assert_eq!(port.lock().unwrap_err().kind, Io);
    fs.clear_faults();
    port.remove_file(&p("b.txt")).unwrap();
    assert_eq!(
        fs.dump(),
        text(
            "
            //- .prometeu/index.json
            {}
            //- c.txt
            c
            "
        )
    );
}

#[test]
fn faults_count_from_their_injection_and_together() {
    let fs = load(TREE);
    let port = port(&fs);
    fs.inject(Fault::once(3, PermissionDenied));
    port.stat(&p("a.txt")).unwrap();
    fs.inject(Fault::once(1, NotFound));
    let results: Vec<_> = (0..3)
        .map(|_| port.stat(&p("a.txt")).map(|_| ()).map_err(|e| e.kind))
        .collect();
    assert_eq!(results, vec![Err(NotFound), Err(PermissionDenied), Ok(())]);
}

#[test]
fn read_many_counts_one_read_per_path() {
    let fs = load(TREE);
    fs.inject(Fault::once(2, Io));
    let paths = [p("a.txt"), p("b.txt"), p("c.txt")];
    let results = std::sync::Mutex::new(Vec::new());
    port(&fs).read_many(&ReadRequest::all(&paths, 100), &|index, result| {
        results
            .lock()
            .unwrap()
            .push((index, result.map_err(|e| e.kind).map(|r| r.bytes)));
    });
    assert_eq!(
        results.into_inner().unwrap(),
        vec![
            (0, Ok(b"a\n".to_vec())),
            (1, Err(Io)),
            (2, Ok(b"c\n".to_vec()))
        ]
    );
    assert_eq!(
        fs.ops(),
        vec![
            (PortOp::Read, "a.txt".to_owned()),
            (PortOp::Read, "b.txt".to_owned()),
            (PortOp::Read, "c.txt".to_owned()),
        ]
    );
}

/// One delivery of a `scan_and_read`: what it was and what was read.
type Delivery = (String, Result<Vec<u8>, PortErrorKind>);

/// What a `scan_and_read` of `a.txt`-named files delivered, in order, and how the walk
/// ended.
fn scan_and_read(
    fs: &crate::MemFs,
    requests: &[ReadRequest],
) -> (Result<(), PortErrorKind>, Vec<Delivery>) {
    let delivered = std::sync::Mutex::new(Vec::new());
    let reads = ScanReads {
        requests,
        file_name: "a.txt",
        limit: 100,
    };
    let walked = port(fs).scan_and_read(ScanOptions::default(), &reads, &|delivery| {
        let (what, result) = match delivery {
            ScanDelivery::Request { index, result } => (format!("request {index}"), result),
            ScanDelivery::Found { dir, result } => (format!("found in `{}`", dir.path()), result),
        };
        delivered
            .lock()
            .unwrap()
            .push((what, result.map(|r| r.bytes.to_vec()).map_err(|e| e.kind)));
    });
    (
        walked.map(|_| ()).map_err(|e| e.kind),
        delivered.into_inner().unwrap(),
    )
}

#[test]
fn scan_and_read_counts_one_scan_then_one_read_per_file() {
    let fs = load(
        "
        //- a.txt
        a
        //- d/a.txt
        d
        //- .prometeu/index.json
        {}
        ",
    );
    fs.inject(Fault::once(3, Io));
    let (walked, delivered) =
        scan_and_read(&fs, &ReadRequest::all(&[p(".prometeu/index.json")], 100));
    assert_eq!(walked, Ok(()));
    // Found files in reverse path order, then the requests: callers may count on neither.
    assert_eq!(
        delivered,
        vec![
            ("found in `d`".to_owned(), Ok(b"d\n".to_vec())),
            ("found in ``".to_owned(), Err(Io)),
            ("request 0".to_owned(), Ok(b"{}\n".to_vec())),
        ]
    );
    assert_eq!(
        fs.ops(),
        vec![
            (PortOp::Scan, String::new()),
            (PortOp::Read, "d/a.txt".to_owned()),
            (PortOp::Read, "a.txt".to_owned()),
            (PortOp::Read, ".prometeu/index.json".to_owned()),
        ]
    );
}

#[test]
fn a_failed_scan_and_read_still_delivers_every_request() {
    let fs = load(TREE);
    fs.inject(Fault::once(1, Io));
    let requests = ReadRequest::all(&[p("b.txt"), p("nope")], 100);
    let (walked, delivered) = scan_and_read(&fs, &requests);
    assert_eq!(walked, Err(Io));
    assert_eq!(
        delivered,
        vec![
            ("request 0".to_owned(), Ok(b"b\n".to_vec())),
            ("request 1".to_owned(), Err(NotFound)),
        ]
    );
}

#[test]
fn the_log_holds_every_call_failed_ones_included() {
    let fs = load(TREE);
    let port = port(&fs);
    port.scan(ScanOptions::default()).unwrap();
    port.read(&p("nope"), 10).unwrap_err();
    port.rename(&p("a.txt"), &p("z.txt")).unwrap();
    port.sync_dir(&packer_domain::path::WsPath::root()).unwrap();
    drop(port.lock().unwrap());
    fs.write("helper.txt", "not a port operation\n");
    assert_eq!(
        fs.ops(),
        vec![
            (PortOp::Scan, String::new()),
            (PortOp::Read, "nope".to_owned()),
            (PortOp::Rename, "a.txt -> z.txt".to_owned()),
            (PortOp::SyncDir, String::new()),
            (PortOp::Lock, ".prometeu/lock".to_owned()),
        ]
    );
    assert_eq!(fs.op_count(), 5);
    fs.clear_ops();
    assert_eq!((fs.ops(), fs.op_count()), (Vec::new(), 0));
    port.stat(&p("z.txt")).unwrap();
    assert_eq!(fs.op_count(), 1);
}

#[test]
fn a_failed_rename_of_a_directory_moves_nothing() {
    let fs = load(
        "
        //- src/a/one.txt
        1
        //- dst/
        ",
    );
    fs.inject(Fault::once(1, Io));
    let before = fs.dump();
    port(&fs).rename(&p("src/a"), &p("dst/a")).unwrap_err();
    assert_eq!(fs.dump(), before);
    port(&fs).rename(&p("src/a"), &p("dst/a")).unwrap();
    assert_eq!(
        fs.dump(),
        text(
            "
            //- dst/a/one.txt
            1
            //- src/
            "
        )
    );
}
