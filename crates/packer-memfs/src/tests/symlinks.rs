//! Symbolic links: followed inside the workspace, refused when they lead out of it or
//! between the user's area and `.prometeu`, never written through.

use packer_domain::ports::PortErrorKind::{
    AlreadyExists, Io, IsADirectory, NotADirectory, NotFound, OutsideWorkspace,
};

use super::{check, check_err, load, p, port};

const LINKS: &str = "
    //- .prometeu/index.json
    {}
    //- .prometeu/out -> ../sprites
    //- sprites/hero/hero.png
    png
    //- sprites/hero/also.png -> hero.png
    //- sprites/current -> hero
    //- sprites/chain -> current/also.png
    //- sprites/up -> ../sprites/hero/hero.png
    //- sprites/abs -> /etc/passwd
    //- sprites/above -> ../../etc/passwd
    //- sprites/back-in -> ../../assets/sprites/hero/hero.png
    //- sprites/internal -> ../.prometeu/index.json
    //- sprites/internal-dir -> ../.prometeu
    //- sprites/dangling -> nope.png
    //- sprites/through-file -> hero/hero.png/x
    //- sprites/loop-a -> loop-b
    //- sprites/loop-b -> loop-a
    //- sprites/self -> self
    //- sprites/to-root -> ..
    //- sprites/outside-dir -> /tmp
";

#[test]
fn links_inside_are_followed_by_read_and_stat() {
    let fs = load(LINKS);
    let port = port(&fs);
    for path in [
        "sprites/hero/also.png",
        "sprites/current/hero.png",
        "sprites/current/also.png",
        "sprites/chain",
        "sprites/up",
        "sprites/to-root/sprites/hero/hero.png",
    ] {
        let read = port
            .read(&p(path), 100)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(read.bytes, b"png\n", "{path}");
        let stat = port.stat(&p(path)).unwrap();
        assert_eq!(stat, Some(read.fingerprint), "{path}");
    }
    assert_eq!(port.stat(&p("sprites/dangling")).unwrap(), None);
    assert_eq!(port.stat(&p("sprites/through-file")).unwrap(), None);
}

#[test]
fn links_that_leave_are_refused() {
    for path in [
        "sprites/abs",
        "sprites/above",
        "sprites/back-in",
        "sprites/internal",
        "sprites/internal-dir/index.json",
        "sprites/outside-dir/x",
        ".prometeu/out/hero/hero.png",
    ] {
        check_err(LINKS, |fs| fs.read(&p(path), 100), OutsideWorkspace);
        check_err(LINKS, |fs| fs.stat(&p(path)), OutsideWorkspace);
    }
    check_err(
        LINKS,
        |fs| fs.write_file(&p("sprites/outside-dir/x"), b"x"),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.write_file(&p("sprites/internal-dir/x"), b"x"),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.create_dir_all(&p("sprites/outside-dir/a")),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.remove_file(&p("sprites/internal-dir/index.json")),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.remove_dir_all(&p("sprites/outside-dir/x")),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.rename(&p("sprites/hero/hero.png"), &p("sprites/outside-dir/x")),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.sync_dir(&p("sprites/outside-dir")),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.sync_file(&p("sprites/internal")),
        OutsideWorkspace,
    );
}

#[test]
fn dangling_links_and_loops() {
    check_err(LINKS, |fs| fs.read(&p("sprites/dangling"), 100), NotFound);
    check_err(
        LINKS,
        |fs| fs.read(&p("sprites/through-file"), 100),
        NotADirectory,
    );
    check_err(LINKS, |fs| fs.read(&p("sprites/loop-a"), 100), Io);
    check_err(LINKS, |fs| fs.stat(&p("sprites/self")), Io);
    check_err(
        LINKS,
        |fs| fs.read(&p("sprites/current"), 100),
        IsADirectory,
    );
    check_err(
        LINKS,
        |fs| fs.create_dir_all(&p("sprites/dangling")),
        AlreadyExists,
    );
    check_err(
        LINKS,
        |fs| fs.create_dir_all(&p("sprites/up/x")),
        AlreadyExists,
    );
}

#[test]
fn writes_never_go_through_a_link() {
    check_err(
        LINKS,
        |fs| fs.write_file(&p("sprites/hero/also.png"), b"x"),
        AlreadyExists,
    );
    check_err(
        LINKS,
        |fs| fs.write_file(&p("sprites/dangling"), b"x"),
        AlreadyExists,
    );
    check_err(
        LINKS,
        |fs| fs.write_file(&p("sprites/abs"), b"x"),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.write_file(&p("sprites/internal"), b"x"),
        OutsideWorkspace,
    );
    check_err(
        LINKS,
        |fs| fs.remove_dir_all(&p("sprites/current")),
        NotADirectory,
    );
}

#[test]
fn directories_reached_through_links_are_written_in_place() {
    check(
        "
        //- sprites/hero/hero.png
        //- sprites/current -> hero
        ",
        |fs| {
            let port = port(fs);
            port.create_dir_all(&p("sprites/current/sub")).unwrap();
            port.write_file(&p("sprites/current/sub/a.txt"), b"a\n")
                .unwrap();
            port.rename(
                &p("sprites/current/hero.png"),
                &p("sprites/current/sub/b.png"),
            )
            .unwrap();
        },
        "
        //- sprites/current -> hero
        //- sprites/hero/sub/a.txt
        a
        //- sprites/hero/sub/b.png
        ",
    );
}

#[test]
fn links_themselves_are_renamed_and_removed() {
    check(
        LINKS,
        |fs| {
            let port = port(fs);
            port.rename(&p("sprites/abs"), &p("abs-moved")).unwrap();
            port.remove_file(&p("sprites/current")).unwrap();
            port.remove_file(&p("sprites/outside-dir")).unwrap();
            port.remove_file(&p("sprites/internal-dir")).unwrap();
            port.remove_file(&p(".prometeu/out")).unwrap();
            port.rename(&p("sprites/hero/hero.png"), &p("sprites/chain"))
                .unwrap();
            for link in [
                "up",
                "above",
                "back-in",
                "internal",
                "dangling",
                "through-file",
            ] {
                port.remove_file(&p(&format!("sprites/{link}"))).unwrap();
            }
            for link in ["loop-a", "loop-b", "self", "to-root"] {
                port.remove_file(&p(&format!("sprites/{link}"))).unwrap();
            }
        },
        "
        //- .prometeu/index.json
        {}
        //- abs-moved -> /etc/passwd
        //- sprites/chain
        png
        //- sprites/hero/also.png -> hero.png
        ",
    );
}
