//! `data`: a JSON document, checked by the project's strict reader (the one that reads
//! `asset.json`: UTF-8, no duplicate keys, at most 64 levels deep) and minified: every
//! space, tab and line break outside strings is removed and a leading byte-order mark
//! dropped; everything else — strings with their escapes, numbers as written, key
//! order — is kept byte for byte.

use packer_domain::json;
use packer_domain::location::line_col;

use super::{DecodeError, Decoded, PartInfo};

pub(super) fn minify(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    // Checked without a tree: a large array of numbers (a tile map) would cost some 40
    // bytes of tree per value.
    if let Err(error) = json::validate(bytes) {
        let (line, column) = line_col(bytes, error.offset);
        return Err(DecodeError::Json {
            line,
            column,
            message: error.message,
        });
    }
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut out = Vec::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            _ => out.push(byte),
        }
    }
    Ok(Decoded {
        info: PartInfo::Bytes,
        bytes: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, (u32, u32, &str)>) {
        let got = minify(input.as_bytes());
        match (got, expected) {
            (Ok(decoded), Ok(text)) => assert_eq!(String::from_utf8(decoded.bytes).unwrap(), text),
            (
                Err(DecodeError::Json {
                    line,
                    column,
                    message,
                }),
                Err((l, c, m)),
            ) => {
                assert_eq!((line, column), (l, c), "{message}");
                assert!(message.contains(m), "{message}");
            }
            (got, expected) => panic!("got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn removes_whitespace_outside_strings_only() {
        check(
            "\u{feff}{ \"a b\" : [ 1 , 2.50e3 ],\n\t\"q\\\" x\": \"\\u0041 \\\\\" }\r\n",
            Ok(r#"{"a b":[1,2.50e3],"q\" x":"\u0041 \\"}"#),
        );
        check(" 7 ", Ok("7"));
    }

    #[test]
    fn refuses_invalid_json_with_its_place() {
        check("{\n  \"a\": 1,\n}", Err((3, 1, "trailing comma")));
        check("{\"a\": 1, \"a\": 2}", Err((1, 10, "duplicate key")));
        check("", Err((1, 1, "empty")));
    }
}
