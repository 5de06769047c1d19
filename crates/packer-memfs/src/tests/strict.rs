//! Every strictness rule of the port, each failing with an exact kind and no effect, and
//! the operations that succeed, compared by dump.

use packer_domain::ports::PortErrorKind::{
    AlreadyExists, Io, IsADirectory, NotADirectory, NotFound, PermissionDenied, TooLarge,
};
use packer_domain::ports::{PortError, PortOp, ReadRequest};

use super::{check, check_err, load, p, port};

const TREE: &str = "
    //- .prometeu/index.json
    {}
    //- sprites/hero/asset.json
    {}
    //- sprites/hero/hero.png hex: 89 50
    //- empty/
";

#[test]
fn write_file_needs_an_existing_parent_directory() {
    check_err(
        TREE,
        |fs| fs.write_file(&p("missing/a.txt"), b"x"),
        NotFound,
    );
    check_err(
        TREE,
        |fs| fs.write_file(&p("sprites/hero/asset.json/a"), b"x"),
        NotADirectory,
    );
    check_err(
        TREE,
        |fs| fs.write_file(&p("sprites/hero/asset.json/a/b"), b"x"),
        NotADirectory,
    );
}

#[test]
fn write_file_refuses_directories() {
    check_err(
        TREE,
        |fs| fs.write_file(&p("sprites/hero"), b"x"),
        IsADirectory,
    );
    check_err(
        TREE,
        |fs| fs.write_file(&packer_domain::path::WsPath::root(), b"x"),
        IsADirectory,
    );
}

#[test]
fn write_file_creates_or_truncates() {
    check(
        TREE,
        |fs| {
            port(fs).write_file(&p("empty/new.txt"), b"new\n").unwrap();
            port(fs)
                .write_file(&p("sprites/hero/asset.json"), b"")
                .unwrap();
            port(fs)
                .write_file(&p(".prometeu/tx"), b"staged\n")
                .unwrap();
        },
        "
        //- .prometeu/index.json
        {}
        //- .prometeu/tx
        staged
        //- empty/new.txt
        new
        //- sprites/hero/asset.json
        //- sprites/hero/hero.png hex: 89 50
        ",
    );
}

#[test]
fn read_refuses_directories_missing_files_and_large_files() {
    check_err(TREE, |fs| fs.read(&p("sprites"), 100), IsADirectory);
    check_err(TREE, |fs| fs.read(&p("sprites/nope.json"), 100), NotFound);
    check_err(TREE, |fs| fs.read(&p("sprites/hero/hero.png"), 1), TooLarge);
    let fs = load(TREE);
    let read = port(&fs).read(&p("sprites/hero/hero.png"), 2).unwrap();
    assert_eq!(read.bytes, vec![0x89, 0x50]);
    let error = port(&fs).read(&p("sprites/hero/hero.png"), 1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot read assets/sprites/hero/hero.png: file too large (2 bytes; the limit is 1)"
    );
}

#[test]
fn stat_answers_none_when_nothing_is_there() {
    let fs = load(TREE);
    let fs = port(&fs);
    assert_eq!(fs.stat(&p("nope")).unwrap(), None);
    assert_eq!(fs.stat(&p("nope/deeper")).unwrap(), None);
    assert_eq!(fs.stat(&p("sprites/hero/asset.json/x")).unwrap(), None);
    assert!(fs.stat(&p("sprites/hero/asset.json")).unwrap().is_some());
    check_err(TREE, |fs| fs.stat(&p("sprites")), IsADirectory);
}

#[test]
fn rename_moves_files_over_files_only() {
    check_err(
        TREE,
        |fs| fs.rename(&p("sprites/hero/asset.json"), &p("empty")),
        IsADirectory,
    );
    check_err(TREE, |fs| fs.rename(&p("nope"), &p("empty/nope")), NotFound);
    check_err(
        TREE,
        |fs| fs.rename(&p("sprites/hero/hero.png"), &p("gone/x.png")),
        NotFound,
    );
    check_err(
        TREE,
        |fs| fs.rename(&p("sprites/hero/hero.png"), &p("sprites/hero/asset.json/x")),
        NotADirectory,
    );
    check_err(
        TREE,
        |fs| {
            fs.rename(
                &p("sprites/hero/hero.png"),
                &packer_domain::path::WsPath::root(),
            )
        },
        IsADirectory,
    );
    check(
        TREE,
        |fs| {
            let fs = port(fs);
            fs.rename(&p("sprites/hero/hero.png"), &p("sprites/hero/asset.json"))
                .unwrap();
            fs.rename(&p(".prometeu/index.json"), &p("empty/index.json"))
                .unwrap();
            fs.rename(&p("empty/index.json"), &p("empty/index.json"))
                .unwrap();
        },
        "
        //- .prometeu/
        //- empty/index.json
        {}
        //- sprites/hero/asset.json hex: 89 50
        ",
    );
}

#[test]
fn rename_moves_directories_only_where_nothing_is() {
    check_err(
        TREE,
        |fs| fs.rename(&p("sprites"), &p("empty")),
        AlreadyExists,
    );
    check_err(
        TREE,
        |fs| fs.rename(&p("empty"), &p("sprites/hero/hero.png")),
        AlreadyExists,
    );
    check_err(
        TREE,
        |fs| fs.rename(&p("empty"), &packer_domain::path::WsPath::root()),
        AlreadyExists,
    );
    check_err(
        TREE,
        |fs| fs.rename(&p("sprites"), &p("sprites/hero/inner")),
        Io,
    );
    check_err(TREE, |fs| fs.rename(&p("sprites"), &p("sprites/inner")), Io);
    check_err(
        TREE,
        |fs| fs.rename(&packer_domain::path::WsPath::root(), &p("x")),
        PermissionDenied,
    );
    check(
        TREE,
        |fs| {
            port(fs)
                .rename(&p("sprites/hero"), &p("empty/hero"))
                .unwrap()
        },
        "
        //- .prometeu/index.json
        {}
        //- empty/hero/asset.json
        {}
        //- empty/hero/hero.png hex: 89 50
        //- sprites/
        ",
    );
}

#[test]
fn removal_needs_the_right_kind() {
    check_err(TREE, |fs| fs.remove_file(&p("sprites")), IsADirectory);
    check_err(TREE, |fs| fs.remove_file(&p("nope")), NotFound);
    check_err(TREE, |fs| fs.remove_dir_all(&p("nope")), NotFound);
    check_err(TREE, |fs| fs.remove_dir_all(&p("missing/nope")), NotFound);
    check_err(
        TREE,
        |fs| fs.remove_dir_all(&p("sprites/hero/asset.json")),
        NotADirectory,
    );
    check_err(
        TREE,
        |fs| fs.remove_dir_all(&packer_domain::path::WsPath::root()),
        PermissionDenied,
    );
    check(
        TREE,
        |fs| {
            port(fs).remove_file(&p("sprites/hero/hero.png")).unwrap();
            port(fs).remove_dir_all(&p(".prometeu")).unwrap();
            port(fs).remove_dir_all(&p("empty")).unwrap();
        },
        "
        //- sprites/hero/asset.json
        {}
        ",
    );
}

#[test]
fn create_dir_all_creates_what_is_missing_and_nothing_through_a_file() {
    check_err(
        TREE,
        |fs| fs.create_dir_all(&p("sprites/hero/asset.json")),
        AlreadyExists,
    );
    check_err(
        TREE,
        |fs| fs.create_dir_all(&p("sprites/hero/asset.json/x/y")),
        AlreadyExists,
    );
    check(
        TREE,
        |fs| {
            let fs = port(fs);
            fs.create_dir_all(&p("sprites/hero")).unwrap();
            fs.create_dir_all(&p("a/b/c")).unwrap();
            fs.create_dir_all(&p(".prometeu/tx/1")).unwrap();
            fs.create_dir_all(&packer_domain::path::WsPath::root())
                .unwrap();
        },
        "
        //- .prometeu/index.json
        {}
        //- .prometeu/tx/1/
        //- a/b/c/
        //- empty/
        //- sprites/hero/asset.json
        {}
        //- sprites/hero/hero.png hex: 89 50
        ",
    );
}

#[test]
fn syncs_need_the_right_kind() {
    check_err(TREE, |fs| fs.sync_file(&p("sprites")), IsADirectory);
    check_err(TREE, |fs| fs.sync_file(&p("nope")), NotFound);
    check_err(
        TREE,
        |fs| fs.sync_dir(&p("sprites/hero/asset.json")),
        NotADirectory,
    );
    check_err(TREE, |fs| fs.sync_dir(&p("nope")), NotFound);
    let fs = load(TREE);
    port(&fs)
        .sync_dir(&packer_domain::path::WsPath::root())
        .unwrap();
    port(&fs).sync_file(&p(".prometeu/index.json")).unwrap();
}

#[test]
fn errors_name_the_operation_and_the_path() {
    let fs = load(TREE);
    let error = port(&fs).write_file(&p("missing/a.txt"), b"x").unwrap_err();
    assert_eq!(
        error,
        PortError::new(NotFound, PortOp::Write, &p("missing/a.txt"))
            .with_detail("the parent directory does not exist")
    );
    let error = port(&fs).rename(&p("empty"), &p("sprites")).unwrap_err();
    assert_eq!((error.op, error.path), (PortOp::Rename, p("sprites")));
}

#[test]
fn read_many_delivers_every_index_once() {
    let fs = load(TREE);
    let paths = [p("sprites/hero/asset.json"), p("nope"), p("empty")];
    let results = std::sync::Mutex::new(Vec::new());
    port(&fs).read_many(&ReadRequest::all(&paths, 10), &|index, result| {
        results
            .lock()
            .unwrap()
            .push((index, result.map(|r| r.bytes).map_err(|e| e.kind)));
    });
    assert_eq!(
        results.into_inner().unwrap(),
        vec![
            (0, Ok(b"{}\n".to_vec())),
            (1, Err(NotFound)),
            (2, Err(IsADirectory))
        ]
    );
}

#[test]
fn helpers_edit_like_a_person() {
    check(
        TREE,
        |fs| {
            fs.write("new/deep/file.txt", "deep\n");
            fs.mkdir("new/dir");
            fs.mkdir("empty");
            fs.rename("sprites/hero", "moved/hero");
            fs.rename("new/deep/file.txt", "moved/hero/asset.json");
            fs.remove("empty");
            fs.symlink("moved/link", "hero/hero.png");
            assert_eq!(fs.read("moved/link"), Some(vec![0x89, 0x50]));
            assert_eq!(fs.read("moved"), None);
            assert_eq!(fs.read("nope"), None);
        },
        "
        //- .prometeu/index.json
        {}
        //- moved/hero/asset.json
        deep
        //- moved/hero/hero.png hex: 89 50
        //- moved/link -> hero/hero.png
        //- new/deep/
        //- new/dir/
        //- sprites/
        ",
    );
}

#[test]
#[should_panic(expected = "MemFs::write(\"sprites\"): `sprites` is a directory")]
fn helpers_panic_on_nonsense() {
    load(TREE).write("sprites", "x");
}

#[test]
#[should_panic(expected = "MemFs::rename(\"sprites\"): `sprites` cannot move into itself")]
fn helpers_refuse_to_move_a_directory_into_itself() {
    load(TREE).rename("sprites", "sprites/hero/x");
}
