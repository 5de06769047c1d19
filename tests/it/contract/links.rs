//! The port's contract for confinement: links out of the workspace, and links from
//! user paths into `.prometeu/`, are refused.

use super::*;

pub(super) fn links_out_of_the_workspace_are_refused(h: &dyn Harness) {
    let before = h.outside();
    h.put("a/file.txt", b"x");
    h.symlink("out_relative", RELATIVE_OUTSIDE_TARGET);
    h.symlink("out_absolute", &h.absolute_outside_target());
    h.symlink("out_dir", "../outside");
    h.symlink("a/climb", "../../outside/secret.txt");
    let outside = PortErrorKind::OutsideWorkspace;
    for path in [
        "out_relative",
        "out_absolute",
        "out_dir/secret.txt",
        "a/climb",
    ] {
        let error = h.port().read(&p(path), 100).unwrap_err();
        assert_eq!(
            (error.kind, error.path.as_str()),
            (outside, path),
            "{error}"
        );
        assert_eq!(kind(h.port().stat(&p(path))), outside, "{path}");
    }
    assert_eq!(
        kind(h.port().write_file(&p("out_dir/new.txt"), b"x")),
        outside
    );
    assert_eq!(kind(h.port().write_file(&p("out_relative"), b"x")), outside);
    assert_eq!(kind(h.port().create_dir_all(&p("out_dir/new"))), outside);
    assert_eq!(
        kind(h.port().rename(&p("a/file.txt"), &p("out_dir/file.txt"))),
        outside
    );
    assert_eq!(
        kind(h.port().remove_file(&p("out_dir/secret.txt"))),
        outside
    );
    assert_eq!(kind(h.port().sync_file(&p("out_relative"))), outside);
    assert_eq!(h.outside(), before);
    assert_eq!(read(h, "a/file.txt"), b"x");
}

pub(super) fn links_into_prometeu_are_refused_for_user_paths(h: &dyn Harness) {
    h.put(".prometeu/index.json", b"{}");
    h.put("a/file.txt", b"x");
    h.symlink("meta", ".prometeu");
    h.symlink("a/index", "../.prometeu/index.json");
    h.symlink(".prometeu/user", "../a");
    let outside = PortErrorKind::OutsideWorkspace;
    assert_eq!(kind(h.port().read(&p("meta/index.json"), 100)), outside);
    assert_eq!(kind(h.port().read(&p("a/index"), 100)), outside);
    assert_eq!(
        kind(h.port().write_file(&p("meta/index.json"), b"x")),
        outside
    );
    assert_eq!(
        kind(h.port().rename(&p("a/file.txt"), &p("meta/file.txt"))),
        outside
    );
    // And the packer's own paths do not lead out into the user's files.
    assert_eq!(
        kind(h.port().read(&p(".prometeu/user/file.txt"), 100)),
        outside
    );
    assert_eq!(read(h, ".prometeu/index.json"), b"{}");
    let internal = WsPath::internal("index.json").unwrap();
    assert_eq!(h.port().read(&internal, 100).unwrap().bytes, b"{}");
}
