//! The fixture format: what loads, what is refused with which line, and the dump.

use crate::{FixtureError, MemFs};

use super::{check, load, text};

fn check_error(fixture: &str, line: usize, message: &str) {
    let error = MemFs::from_fixture(fixture).expect_err("the fixture should be refused");
    assert_eq!(
        error,
        FixtureError {
            line,
            message: message.to_owned()
        }
    );
}

#[test]
fn loads_files_directories_links_and_hex() {
    check(
        r#"
        //- sprites/hero/asset.json
        {
          "name": "hero"
        }

        //- sprites/hero/hero.png hex: 89 50 4e 47
        //- .prometeu/index.json
        {}
        //- audio/
        //- notes/empty.txt
        //- sprites/villain -> ../sprites/hero
        "#,
        |_| {},
        r#"
        //- .prometeu/index.json
        {}
        //- audio/
        //- notes/empty.txt
        //- sprites/hero/asset.json
        {
          "name": "hero"
        }
        //- sprites/hero/hero.png hex: 89 50 4e 47
        //- sprites/villain -> ../sprites/hero
        "#,
    );
}

#[test]
fn fifos_load_dump_and_come_back() {
    check(
        "
        //- a/pipe <fifo>
        //- a/x.bin
        x
        ",
        |fs| fs.mkfifo("b/made"),
        "
        //- a/pipe <fifo>
        //- a/x.bin
        x
        //- b/made <fifo>
        ",
    );
    check_error(
        "//- a/pipe <fifo>\ncontent\n",
        2,
        "`//- a/pipe <fifo>` takes no content lines",
    );
    let fs = load("//- a/pipe <fifo>\n");
    assert_eq!(fs.read("a/pipe"), None, "a FIFO holds nothing to read");
}

#[test]
fn content_is_lines_each_ending_in_a_newline() {
    let fs = load(
        "
        //- a.txt
        first

          indented
        \tand a tab


        //- b.txt

        after an empty line
        //- c.txt
        //- d.bin hex:0001ff  7F
        //- e.bin hex:
        ",
    );
    let files: Vec<(String, Vec<u8>)> = fs.files().into_iter().collect();
    assert_eq!(
        files,
        vec![
            (
                "a.txt".to_owned(),
                b"first\n\n  indented\n\tand a tab\n".to_vec()
            ),
            ("b.txt".to_owned(), b"\nafter an empty line\n".to_vec()),
            ("c.txt".to_owned(), Vec::new()),
            ("d.bin".to_owned(), vec![0x00, 0x01, 0xff, 0x7f]),
            ("e.bin".to_owned(), Vec::new()),
        ]
    );
}

#[test]
fn dedent_keeps_deeper_indentation_and_tabs() {
    let fs = load("\n\n\t\t//- x\n\t\t  two\n\t\tzero\n\t\n");
    assert_eq!(fs.read("x"), Some(b"  two\nzero\n".to_vec()));
}

#[test]
fn an_empty_fixture_is_an_empty_workspace() {
    check("", |_| {}, "");
    check("\n   \n\t\n", |_| {}, "");
}

#[test]
fn refuses_bad_headers() {
    let expected = |header: &str| {
        format!(
            "bad header `{header}`: expected `//- PATH`, `//- DIR/`, `//- LINK -> TARGET`, \
             `//- PATH hex: BYTES` or `//- PATH <fifo>`"
        )
    };
    check_error("//-a.txt\n", 1, &expected("//-a.txt"));
    check_error("//- a\n//- \n", 2, &expected("//-"));
    check_error("//- link ->   \n", 1, &expected("//- link ->"));
    check_error("//-  -> x\n", 1, &expected("//-  -> x"));
    check_error("//- / \n", 1, &expected("//- /"));
}

#[test]
fn refuses_duplicates_naming_both_lines() {
    check_error(
        "
        //- a/b.txt
        x
        //- a/
        //- a/b.txt
        ",
        5,
        "duplicate path `a/b.txt`, first declared on line 2",
    );
    check_error(
        "//- d/\n//- d -> x\n",
        2,
        "duplicate path `d`, first declared on line 1",
    );
}

#[test]
fn refuses_bad_hex() {
    check_error(
        "//- a.bin hex: 00 zz\n",
        1,
        "bad hex `zz`: expected pairs of hexadecimal digits",
    );
    check_error(
        "//- a.bin hex: 0a1\n",
        1,
        "bad hex `0a1`: expected pairs of hexadecimal digits",
    );
    check_error(
        "//- a.bin hex: +f\n",
        1,
        "bad hex `+f`: expected pairs of hexadecimal digits",
    );
}

#[test]
fn refuses_invalid_paths() {
    check_error(
        "//- /etc/passwd\n",
        1,
        "invalid path `/etc/passwd`: the path is absolute; it must be relative to its base",
    );
    check_error(
        "//- a/../b\n",
        1,
        "invalid path `a/../b`: the path has a `..` segment; it may not leave its base",
    );
    check_error(
        "//- a//b/\n",
        1,
        "invalid path `a//b`: the path has an empty segment (`//` or a trailing `/`)",
    );
}

#[test]
fn refuses_paths_through_files_and_links() {
    check_error("//- a\n//- a/b\n", 2, "`a` is a file");
    check_error("//- a/b\n//- a\n", 2, "`a` is a directory");
    check_error("//- l -> d\n//- l/x\n", 2, "`l` is a symbolic link");
    check_error("//- a/b\n//- a -> x\n", 2, "`a` already exists");
}

#[test]
fn refuses_content_under_other_headers_and_before_the_first() {
    check_error("//- d/\nstray\n", 2, "`//- d/` takes no content lines");
    check_error(
        "//- l -> t\n\nstray\n\n//- x\n",
        3,
        "`//- l -> t` takes no content lines",
    );
    check_error(
        "//- b hex: 00\nstray\n",
        2,
        "`//- b hex: 00` takes no content lines",
    );
    check_error(
        "\n  \n    orphan\n    //- x\n",
        3,
        "text before the first `//- PATH` header",
    );
}

#[test]
fn errors_display_their_line() {
    let error = MemFs::from_fixture("//- a\n//- a\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "fixture line 2: duplicate path `a`, first declared on line 1"
    );
}

#[test]
fn dump_uses_hex_for_what_text_cannot_carry() {
    check(
        "",
        |fs| {
            fs.write("no-final-newline", "abc");
            fs.write("trailing-empty-line", "abc\n\n");
            fs.write("only-newline", "\n");
            fs.write("looks-like-a-header", "x\n//- y\n");
            fs.write("not-utf8", [0xff, 0x0a]);
            fs.write("crlf", "a\r\n");
            fs.write("blank-inside", "a\n\n  \nb\n");
        },
        "
        //- blank-inside
        a

          
        b
        //- crlf
        a\r
        //- looks-like-a-header hex: 78 0a 2f 2f 2d 20 79 0a
        //- no-final-newline hex: 61 62 63
        //- not-utf8 hex: ff 0a
        //- only-newline hex: 0a
        //- trailing-empty-line hex: 61 62 63 0a 0a
        ",
    );
}

#[test]
fn dump_sorts_by_path_bytes_and_lists_only_empty_directories() {
    check(
        "
        //- a/b/c.txt
        //- a.txt
        //- a/e/
        //- .prometeu/tx/
        //- Z
        ",
        |_| {},
        "
        //- .prometeu/tx/
        //- Z
        //- a.txt
        //- a/b/c.txt
        //- a/e/
        ",
    );
}

#[test]
fn dump_loads_back_to_the_same_tree() {
    let fs = load(
        "
        //- .prometeu/index.json
        {}
        //- sprites/hero/asset.json
        {\"name\": \"hero\"}
        //- sprites/link -> hero/asset.json
        //- empty/
        ",
    );
    fs.write("odd", "a\n\n//- b\n");
    fs.write("bytes.bin", [0u8, 159, 146, 150]);
    let dump = fs.dump();
    let again = MemFs::from_fixture(&dump).unwrap();
    assert_eq!(again.dump(), dump);
    assert_eq!(again.files(), fs.files());
    assert_eq!(text(&dump), dump);
}
