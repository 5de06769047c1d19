//! `asset.json`: an asset's declaration, its strict reader and its deterministic writer.

use std::fmt;
use std::fmt::Write as _;

use rustc_hash::FxHashSet;
use uuid::Uuid;

use crate::decode::{self, ObjectReader};
use crate::diagnostics::{Code, FormatError, FormatErrors};
use crate::json::{self, JsonValue};
use crate::path::AssetPath;
use crate::registry::json_string;

/// The newest declaration schema this packer reads and the one it writes.
pub const DECLARATION_SCHEMA_VERSION: u64 = 1;
/// Longest asset name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// What an asset is, which decides how `build` packs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// PNG input, decoded to pixels.
    Image,
    /// WAV input, decoded to PCM.
    Audio,
    /// JSON input, checked and minified.
    Data,
    /// Any bytes, copied.
    Blob,
}

impl AssetKind {
    pub const ALL: [AssetKind; 4] = [
        AssetKind::Image,
        AssetKind::Audio,
        AssetKind::Data,
        AssetKind::Blob,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Image => "image",
            AssetKind::Audio => "audio",
            AssetKind::Data => "data",
            AssetKind::Blob => "blob",
        }
    }

    pub fn parse(s: &str) -> Option<AssetKind> {
        AssetKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Pixel layout of a packed image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelFormat {
    /// 8 bits per channel, red, green, blue, alpha.
    #[default]
    Rgba8,
    /// One byte per pixel into a palette of at most 256 RGBA colours.
    Indexed8,
}

/// Sample layout of packed audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleFormat {
    /// Interleaved signed 16-bit little-endian PCM.
    #[default]
    Pcm16,
}

/// The kind's packing options: the `output` object of `asset.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputOptions {
    Image { format: PixelFormat },
    Audio { format: SampleFormat },
    Data,
    Blob,
}

impl OutputOptions {
    /// The options `build` uses when `output` is omitted.
    pub fn default_for(kind: AssetKind) -> OutputOptions {
        match kind {
            AssetKind::Image => OutputOptions::Image {
                format: PixelFormat::default(),
            },
            AssetKind::Audio => OutputOptions::Audio {
                format: SampleFormat::default(),
            },
            AssetKind::Data => OutputOptions::Data,
            AssetKind::Blob => OutputOptions::Blob,
        }
    }

    /// The `output` object as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        let format = match self {
            OutputOptions::Image { format } => Some(match format {
                PixelFormat::Rgba8 => "rgba8",
                PixelFormat::Indexed8 => "indexed8",
            }),
            OutputOptions::Audio {
                format: SampleFormat::Pcm16,
            } => Some("pcm16"),
            OutputOptions::Data | OutputOptions::Blob => None,
        };
        if let Some(format) = format {
            map.insert("format".to_owned(), format.into());
        }
        serde_json::Value::Object(map)
    }

    /// Reads an `output` object given outside a file (a request's JSON text) for `kind`,
    /// by the same rules as in `asset.json`. The error is one sentence, with its hint.
    pub fn parse(kind: AssetKind, text: &[u8]) -> Result<OutputOptions, String> {
        let value = json::parse(text).map_err(|e| e.message)?;
        OutputOptions::decode(kind, &value).map_err(|e| match e.hint {
            Some(hint) => format!("{}; {hint}", e.message),
            None => e.message,
        })
    }

    /// Reads an `output` object for `kind`.
    pub(crate) fn decode(
        kind: AssetKind,
        value: &JsonValue<'_>,
    ) -> Result<OutputOptions, FormatError> {
        let object = ObjectReader::new(value, &"`output`")?;
        let known: &[&str] = match kind {
            AssetKind::Image | AssetKind::Audio => &["format"],
            AssetKind::Data | AssetKind::Blob => &[],
        };
        let mut errors = FormatErrors::default();
        object.unknown_keys(known, &mut errors);
        if let Some(first) = errors.into_first() {
            return Err(if known.is_empty() {
                first.hint(format!(
                    "`{kind}` assets take no output options; use `{{}}`"
                ))
            } else {
                first
            });
        }
        let format = object
            .optional("format")
            .map(|v| Ok::<_, FormatError>((decode::string(v, "`output.format`")?, v.offset)))
            .transpose()?;
        let bad_format = |text: &str, offset: usize, allowed: &str| {
            FormatError::new(
                Code::InvalidValue,
                offset,
                format!("`{text}` is not an output format for `{kind}` assets"),
            )
            .hint(format!("use one of: {allowed}"))
        };
        Ok(match kind {
            AssetKind::Image => OutputOptions::Image {
                format: match format {
                    None | Some(("rgba8", _)) => PixelFormat::Rgba8,
                    Some(("indexed8", _)) => PixelFormat::Indexed8,
                    Some((text, offset)) => {
                        return Err(bad_format(text, offset, "rgba8, indexed8"));
                    }
                },
            },
            AssetKind::Audio => OutputOptions::Audio {
                format: match format {
                    None | Some(("pcm16", _)) => SampleFormat::Pcm16,
                    Some((text, offset)) => return Err(bad_format(text, offset, "pcm16")),
                },
            },
            AssetKind::Data => OutputOptions::Data,
            AssetKind::Blob => OutputOptions::Blob,
        })
    }
}

/// A valid declaration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Declaration {
    pub asset_uuid: Uuid,
    pub name: String,
    pub kind: AssetKind,
    /// Relative to the asset root; at least one, no duplicates.
    pub inputs: Vec<AssetPath>,
    pub output: OutputOptions,
}

/// A declaration read from a file, with where each input was written (byte offsets),
/// so later findings about an input can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDeclaration {
    pub declaration: Declaration,
    pub uuid_offset: usize,
    pub input_offsets: Vec<usize>,
}

/// What a declaration read from a file that is otherwise broken still tells: its uuid,
/// when that much could be read. Lets drift detection recognise a damaged moved asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationFailure {
    pub errors: FormatErrors,
    pub asset_uuid: Option<Uuid>,
}

const KEYS: [&str; 6] = [
    "schema_version",
    "asset_uuid",
    "name",
    "kind",
    "inputs",
    "output",
];

impl Declaration {
    /// Reads `asset.json`. Syntax errors stop at the first; every other error of a
    /// well-formed file is reported, in document order.
    pub fn parse(text: &[u8]) -> Result<ParsedDeclaration, DeclarationFailure> {
        let fail = |errors| DeclarationFailure {
            errors,
            asset_uuid: None,
        };
        let value = json::parse(text).map_err(|e| {
            fail(FormatErrors::one(FormatError::syntax(
                text,
                e,
                "resolve the conflict by hand, keeping one side of each conflicting part (and one asset_uuid), then save the file",
                "a key may appear once in an object: delete one of the two",
            )))
        })?;
        let object = ObjectReader::new(&value, &"the declaration")
            .map_err(|e| fail(FormatErrors::one(e)))?;
        let mut errors = FormatErrors::default();
        object.unknown_keys(&KEYS, &mut errors);
        if let Err(e) =
            decode::schema_version(&object, DECLARATION_SCHEMA_VERSION, "the declaration")
        {
            if e.code == Code::SchemaTooNew {
                return Err(fail(FormatErrors::one(e)));
            }
            errors.push(e);
        }
        let uuid_offset = object.optional("asset_uuid").map_or(0, |v| v.offset);
        let asset_uuid = decode::take(
            &mut errors,
            object
                .required("asset_uuid")
                .and_then(|v| decode::uuid(v, "`asset_uuid`")),
        );
        let name = decode::take(&mut errors, object.required("name").and_then(decode_name));
        let kind = decode::take(&mut errors, object.required("kind").and_then(decode_kind));
        let inputs = decode::take(
            &mut errors,
            object.required("inputs").and_then(decode_inputs),
        );
        let output = match (kind, object.optional("output")) {
            (Some(kind), Some(value)) => {
                decode::take(&mut errors, OutputOptions::decode(kind, value))
            }
            (Some(kind), None) => Some(OutputOptions::default_for(kind)),
            (None, _) => None,
        };
        match (asset_uuid, name, kind, inputs, output) {
            (
                Some(asset_uuid),
                Some(name),
                Some(kind),
                Some((inputs, input_offsets)),
                Some(output),
            ) if errors.is_empty() => Ok(ParsedDeclaration {
                declaration: Declaration {
                    asset_uuid,
                    name,
                    kind,
                    inputs,
                    output,
                },
                uuid_offset,
                input_offsets,
            }),
            _ => {
                errors.finish();
                Err(DeclarationFailure { errors, asset_uuid })
            }
        }
    }

    /// The declaration as the packer writes it: fixed key order, two-space indent,
    /// compact arrays and options, trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(256);
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|i| json_string(i.as_str()))
            .collect();
        let output = compact(&self.output.to_json());
        let _ = write!(
            out,
            "{{\n  \"schema_version\": {DECLARATION_SCHEMA_VERSION},\n  \"asset_uuid\": \"{}\",\n  \"name\": {},\n  \"kind\": \"{}\",\n  \"inputs\": [{}],\n  \"output\": {output}\n}}\n",
            self.asset_uuid.hyphenated(),
            json_string(&self.name),
            self.kind,
            inputs.join(", "),
        );
        out.into_bytes()
    }
}

/// Checks a name given anywhere (a file, a command): 1 to 128 characters, no control
/// characters, not only white space.
pub fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 || name.trim().is_empty() {
        return Err("the name is empty".to_owned());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "the name has {chars} characters; the limit is {MAX_NAME_CHARS}"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains a control character".to_owned());
    }
    Ok(())
}

fn decode_name(value: &JsonValue<'_>) -> Result<String, FormatError> {
    let name = decode::string(value, "`name`")?;
    check_name(name)
        .map_err(|message| FormatError::new(Code::InvalidValue, value.offset, message))?;
    Ok(name.to_owned())
}

fn decode_kind(value: &JsonValue<'_>) -> Result<AssetKind, FormatError> {
    let text = decode::string(value, "`kind`")?;
    AssetKind::parse(text).ok_or_else(|| {
        FormatError::new(
            Code::InvalidValue,
            value.offset,
            format!("`{text}` is not an asset kind"),
        )
        .hint("use one of: image, audio, data, blob")
    })
}

fn decode_inputs(value: &JsonValue<'_>) -> Result<(Vec<AssetPath>, Vec<usize>), FormatError> {
    let items = decode::array(value, "`inputs`")?;
    if items.is_empty() {
        return Err(
            FormatError::new(Code::InvalidValue, value.offset, "`inputs` is empty")
                .hint("list at least one input file, relative to the asset folder"),
        );
    }
    let mut inputs: Vec<AssetPath> = Vec::with_capacity(items.len());
    let mut offsets = Vec::with_capacity(items.len());
    // A set, not a search of the list: a declaration may list tens of thousands.
    // (A path's text is shared: the set's copies allocate nothing.)
    let mut seen: FxHashSet<AssetPath> = FxHashSet::default();
    seen.reserve(items.len());
    for item in items {
        let path = decode::asset_path(item, "the input")?;
        if !seen.insert(path.clone()) {
            return Err(FormatError::new(
                Code::DuplicateInput,
                item.offset,
                format!("the input `{path}` is listed twice"),
            ));
        }
        inputs.push(path);
        offsets.push(item.offset);
    }
    Ok((inputs, offsets))
}

/// `{ "format": "rgba8" }` style: one line, spaces inside the braces.
fn compact(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) if map.is_empty() => "{}".to_owned(),
        serde_json::Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", json_string(k), compact(v)))
                .collect();
            format!("{{ {} }}", members.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::line_col;

    fn check(text: &str, expected: &str) {
        let got = match Declaration::parse(text.as_bytes()) {
            Ok(parsed) => String::from_utf8(parsed.declaration.to_bytes()).unwrap(),
            Err(failure) => failure
                .errors
                .list
                .iter()
                .map(|e| {
                    let (l, c) = line_col(text.as_bytes(), e.offset);
                    format!("{l}:{c} {} {}\n", e.code, e.message)
                })
                .collect(),
        };
        assert_eq!(got.trim(), expected.trim(), "\n--- got ---\n{got}");
    }

    const U1: &str = "6f1c2d0e-8a57-4b6e-9a53-0c0b6a1d2e11";

    #[test]
    fn names_a_merges_conflict_markers() {
        let text = "{\r\n  \"schema_version\": 1,\r\n>>>>>>> feat\r\n}";
        check(
            text,
            "3:1 json_syntax merge conflict marker `>>>>>>>`: the file still holds both sides of a merge",
        );
        let failure = Declaration::parse(text.as_bytes()).unwrap_err();
        assert!(
            failure.errors.list[0]
                .hint
                .as_deref()
                .unwrap_or("")
                .contains("asset_uuid")
        );
    }

    #[test]
    fn a_key_given_twice_is_named_with_advice_for_this_file() {
        let text = "{\"schema_version\": 1, \"name\": \"a\", \"name\": \"b\"}";
        check(text, "1:36 json_syntax duplicate key `name` in the object");
        let failure = Declaration::parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            failure.errors.list[0].hint.as_deref(),
            Some("a key may appear once in an object: delete one of the two")
        );
    }

    #[test]
    fn writes_the_canonical_form() {
        let canonical = format!(
            r#"{{
  "schema_version": 1,
  "asset_uuid": "{U1}",
  "name": "hero",
  "kind": "image",
  "inputs": ["hero.png", "sub/alt.png"],
  "output": {{ "format": "rgba8" }}
}}"#
        );
        check(
            &format!(
                r#"{{"kind":"image","name":"hero","inputs":["hero.png","sub/alt.png"],"asset_uuid":"{U1}","schema_version":1}}"#
            ),
            &canonical,
        );
        check(&canonical, &canonical);
    }

    #[test]
    fn reports_errors_in_place() {
        check(
            &format!(
                "{{\n  \"schema_version\": 1,\n  \"asset_uuid\": \"{}\",\n  \"name\": \"\",\n  \"kind\": \"sprite\",\n  \"inputs\": [\"../hero.png\"],\n  \"colour\": 1\n}}",
                U1.to_uppercase()
            ),
            "
3:17 invalid_value `asset_uuid` `6F1C2D0E-8A57-4B6E-9A53-0C0B6A1D2E11` is not a lower-case hyphenated UUID
4:11 invalid_value the name is empty
5:11 invalid_value `sprite` is not an asset kind
6:14 invalid_path the input `../hero.png` is not allowed: the path has a `..` segment; it may not leave its base
7:3 unknown_key unknown key `colour` in the declaration",
        );
        check(
            &format!(
                r#"{{"schema_version":1,"asset_uuid":"{U1}","name":"x","kind":"data","inputs":["a.json","a.json"],"output":{{"format":"x"}}}}"#
            ),
            "1:117 duplicate_input the input `a.json` is listed twice\n1:137 unknown_key unknown key `format` in `output`",
        );
        check(
            &format!(
                r#"{{"schema_version":1,"asset_uuid":"{U1}","name":"x","kind":"image","inputs":["a.png"],"output":{{"format":"rgb5"}}}}"#
            ),
            "1:137 invalid_value `rgb5` is not an output format for `image` assets",
        );
        check(
            r#"{"schema_version":1,"name":5,"kind":"blob","inputs":"x"}"#,
            "1:28 wrong_type `name` must be a string, not a number\n1:53 wrong_type `inputs` must be an array, not a string\n1:1 missing_key the declaration has no `asset_uuid`",
        );
    }

    #[test]
    fn reads_output_options_given_outside_a_file() {
        fn check_output(kind: AssetKind, text: &str, expected: Result<OutputOptions, &str>) {
            let got = OutputOptions::parse(kind, text.as_bytes());
            assert_eq!(got, expected.map_err(str::to_owned), "{kind} {text}");
        }
        let indexed = OutputOptions::Image {
            format: PixelFormat::Indexed8,
        };
        check_output(AssetKind::Image, r#"{"format":"indexed8"}"#, Ok(indexed));
        check_output(
            AssetKind::Image,
            "{}",
            Ok(OutputOptions::default_for(AssetKind::Image)),
        );
        check_output(AssetKind::Blob, "{}", Ok(OutputOptions::Blob));
        check_output(
            AssetKind::Audio,
            r#"{"format":"rgba8"}"#,
            Err("`rgba8` is not an output format for `audio` assets; use one of: pcm16"),
        );
        check_output(
            AssetKind::Data,
            r#"{"format":"x"}"#,
            Err("unknown key `format` in `output`; `data` assets take no output options; use `{}`"),
        );
        check_output(
            AssetKind::Blob,
            "[]",
            Err("`output` must be an object, not an array"),
        );
    }

    #[test]
    fn keeps_the_uuid_of_a_broken_declaration() {
        let failure =
            Declaration::parse(format!(r#"{{"schema_version":1,"asset_uuid":"{U1}"}}"#).as_bytes())
                .unwrap_err();
        assert_eq!(
            failure.asset_uuid.map(|u| u.to_string()).as_deref(),
            Some(U1)
        );
    }

    /// Repeats among many inputs are found in one pass: searching the list for each
    /// input took seconds on a hand-made declaration of 30,000, and would not end here.
    #[test]
    fn reads_a_declaration_with_very_many_inputs() {
        let inputs: Vec<String> = (0..200_000).map(|i| format!(r#""in/{i}.bin""#)).collect();
        let text = |inputs: &[String]| {
            format!(
                r#"{{"schema_version":1,"asset_uuid":"{U1}","name":"x","kind":"blob","inputs":[{}]}}"#,
                inputs.join(",")
            )
        };
        let parsed = Declaration::parse(text(&inputs).as_bytes()).unwrap();
        assert_eq!(parsed.declaration.inputs.len(), 200_000);
        let mut repeated = inputs.clone();
        repeated.push(r#""in/7.bin""#.to_owned());
        let failure = Declaration::parse(text(&repeated).as_bytes()).unwrap_err();
        let messages: Vec<&str> = failure
            .errors
            .list
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(messages, ["the input `in/7.bin` is listed twice"]);
    }

    proptest::proptest! {
        /// A declaration damaged anywhere never makes the reader panic: it reads back
        /// what it writes, or every error it gives has a place in the file.
        #[test]
        fn damaged_declarations_are_read_or_placed(
            edits in proptest::collection::vec((0usize..1000, proptest::num::u8::ANY), 0..6)
        ) {
            let mut text = format!(
                r#"{{"schema_version": 1, "asset_uuid": "{U1}", "name": "h\u00e9ro",
    "kind": "image", "inputs": ["a.png", "b/c.png"], "output": {{"format": "indexed8"}}}}"#
            )
            .into_bytes();
            for (at, byte) in edits {
                let at = at % text.len();
                text[at] = byte;
            }
            match Declaration::parse(&text) {
                Ok(parsed) => {
                    let again = Declaration::parse(&parsed.declaration.to_bytes());
                    proptest::prop_assert_eq!(again.map(|p| p.declaration), Ok(parsed.declaration));
                }
                Err(failure) => {
                    proptest::prop_assert!(!failure.errors.list.is_empty());
                    for error in failure.errors.list {
                        proptest::prop_assert!(error.offset <= text.len(), "{error:?}");
                        line_col(&text, error.offset);
                    }
                }
            }
        }
    }
}
