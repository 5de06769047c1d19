//! `assets/.prometeu/index.json`: the registry of assets, its strict reader and its
//! deterministic writer.

use std::collections::HashMap;
use std::fmt;

use uuid::Uuid;

use crate::chunked::Chunked;
use crate::decode::{self, ObjectReader};
use crate::diagnostics::{Code, FormatError, FormatErrors};
use crate::json::{self, JsonKind, JsonValue};
use crate::path::AssetPath;

/// The newest registry schema this packer reads and the one it writes.
pub const REGISTRY_SCHEMA_VERSION: u64 = 1;

/// The largest asset id: 2^53 − 1, the largest integer that a JSON reader keeping
/// numbers as doubles (JavaScript's among them) reads back exactly. Above it, two ids
/// could read as one in such a client, which would then act on the wrong asset.
pub const MAX_ASSET_ID: u64 = (1 << 53) - 1;

/// Why an id above [`MAX_ASSET_ID`] is refused, for the hint.
const ID_RANGE_HINT: &str = "asset ids stop at 9007199254740991 (2^53 - 1), the largest whole number every JSON reader keeps exact; renumber the asset and lower next_asset_id to match";

/// A registry-issued asset id: positive, unique, never reused, at most
/// [`MAX_ASSET_ID`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct AssetId(pub u64);

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One registered asset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryEntry {
    pub asset_id: AssetId,
    pub asset_uuid: Uuid,
    pub root: AssetPath,
    pub included_in_build: bool,
}

/// The registry: entries sorted by id, ids below `next_asset_id`, roots unique and
/// never nested, uuids unique. Only [`Registry::parse`] and [`Registry::new`] build one,
/// and both check those rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registry {
    next_asset_id: u64,
    /// Chunked: the registry of the next generation shares every chunk of entries a
    /// commit did not change.
    assets: Chunked<RegistryEntry>,
}

/// Why a set of entries does not make a valid registry (outside of any file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("asset id {0} is used twice")]
    DuplicateId(AssetId),
    #[error("asset id 0 is not allowed; ids start at 1")]
    ZeroId,
    #[error("asset uuid {0} is registered twice")]
    DuplicateUuid(Uuid),
    #[error("root `{0}` is registered twice")]
    DuplicateRoot(AssetPath),
    #[error("root `{inner}` lies inside root `{outer}`")]
    NestedRoot { outer: AssetPath, inner: AssetPath },
    #[error("next_asset_id {next} must be greater than every asset id (highest: {highest})")]
    NextIdTooLow { next: u64, highest: AssetId },
    #[error("next_asset_id 0 is not allowed; ids start at 1")]
    ZeroNextId,
    #[error("asset id {0} is above {MAX_ASSET_ID}, the largest allowed")]
    IdTooLarge(AssetId),
    #[error("next_asset_id {0} is above {last}, one past the largest id allowed", last = MAX_ASSET_ID + 1)]
    NextIdTooLarge(u64),
}

/// How to resolve a merge conflict in `index.json`.
const REGISTRY_MERGE_HINT: &str = "resolve the conflict: keep the entries of both sides, giving an asset_id used twice the value of next_asset_id and raising next_asset_id; or keep one side (`git checkout --ours -- assets/.prometeu/index.json`) and run `prometeu-packer reconcile`, which offers to adopt the assets the other side added";

impl Registry {
    /// An empty registry, as `init` writes it.
    pub fn empty() -> Registry {
        Registry {
            next_asset_id: 1,
            assets: Chunked::new(),
        }
    }

    /// Builds a registry from entries in any order, checking every rule.
    pub fn new(
        next_asset_id: u64,
        mut assets: Vec<RegistryEntry>,
    ) -> Result<Registry, RegistryError> {
        assets.sort_by_key(|e| e.asset_id);
        let problems = check_rules(next_asset_id, &assets);
        match problems.into_iter().next() {
            Some((_, error)) => Err(error),
            None => Ok(Registry {
                next_asset_id,
                assets: assets.into(),
            }),
        }
    }

    /// A registry from a plan whose every step kept the rules: ids unique and below
    /// `next_asset_id`, roots unique and never nested, uuids unique. Planning checks each
    /// change against the whole registry as it makes it; re-checking every root on every
    /// commit would cost a sort of the whole project. `assets` are in id order.
    pub(crate) fn from_checked_plan(
        next_asset_id: u64,
        assets: Chunked<RegistryEntry>,
    ) -> Registry {
        debug_assert!(
            assets
                .iter()
                .zip(assets.iter().skip(1))
                .all(|(a, b)| a.asset_id < b.asset_id),
            "a plan's entries are in id order"
        );
        Registry {
            next_asset_id,
            assets,
        }
    }

    pub fn next_asset_id(&self) -> u64 {
        self.next_asset_id
    }

    /// Entries in `asset_id` order.
    pub fn assets(&self) -> &Chunked<RegistryEntry> {
        &self.assets
    }

    pub fn get(&self, id: AssetId) -> Option<&RegistryEntry> {
        self.assets
            .binary_search_by_key(&id, |e| e.asset_id)
            .ok()
            .map(|i| &self.assets[i])
    }

    /// Reads `index.json`. Syntax errors stop at the first; every semantic error of a
    /// well-formed file is reported, in document order.
    pub fn parse(text: &[u8]) -> Result<Registry, FormatErrors> {
        Registry::parse_located(text).map(|(registry, _)| registry)
    }

    /// As [`parse`](Self::parse), also giving the byte offset of each entry, in the
    /// registry's (id) order.
    pub fn parse_located(text: &[u8]) -> Result<(Registry, Vec<usize>), FormatErrors> {
        let value = json::parse(text).map_err(|e| {
            FormatErrors::one(FormatError::syntax(
                text,
                e,
                REGISTRY_MERGE_HINT,
                "a key may appear once in an object: delete one of the two (resolving a merge of `index.json`, keep the larger `next_asset_id`)",
            ))
        })?;
        let object = ObjectReader::new(&value, &"the registry").map_err(FormatErrors::one)?;
        let mut errors = FormatErrors::default();
        object.unknown_keys(&["schema_version", "next_asset_id", "assets"], &mut errors);
        if let Err(e) = decode::schema_version(&object, REGISTRY_SCHEMA_VERSION, "the registry") {
            // A newer schema may mean anything: report that alone.
            if e.code == Code::SchemaTooNew {
                return Err(FormatErrors::one(e));
            }
            errors.push(e);
        }
        let next = object
            .required("next_asset_id")
            // One past the last id: what a registry that issued it holds.
            .and_then(|v| Ok((id_value(v, "`next_asset_id`", MAX_ASSET_ID + 1)?, v.offset)));
        let next = match next {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let mut entries = Vec::new();
        let mut entry_offsets = Vec::new();
        match object
            .required("assets")
            .and_then(|v| decode::array(v, "`assets`"))
        {
            Ok(items) => {
                for (index, item) in items.iter().enumerate() {
                    match parse_entry(item, index, &mut errors) {
                        Some(entry) => {
                            entries.push(entry);
                            entry_offsets.push(item.offset);
                        }
                        None => continue,
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        if let Some((next, next_offset)) = next {
            // Rule checks need entries sorted by id; remember where each came from.
            let mut order: Vec<usize> = (0..entries.len()).collect();
            order.sort_by_key(|&i| entries[i].asset_id);
            let sorted: Vec<RegistryEntry> = order.iter().map(|&i| entries[i].clone()).collect();
            for (position, problem) in check_rules(next, &sorted) {
                let offset = match position {
                    Some(p) => entry_offsets[order[p]],
                    None => next_offset,
                };
                errors.push(registry_problem(offset, &problem));
            }
            if errors.is_empty() {
                let offsets = order.iter().map(|&i| entry_offsets[i]).collect();
                return Ok((
                    Registry {
                        next_asset_id: next,
                        assets: sorted.into(),
                    },
                    offsets,
                ));
            }
        }
        errors.finish();
        Err(errors)
    }

    /// The registry as the packer writes it: entries sorted by id, one per line, fixed
    /// key order, two-space indent, trailing newline. Equal registries give equal bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Written straight into one buffer sized for the whole file: at 100k assets the
        // registry is some 15 MB, written on every commit.
        const ENTRY_FIXED: usize = ENTRY_OPEN.len()
            + UUID_KEY.len()
            + 36
            + ROOT_KEY.len()
            + 2
            + INCLUDED_KEY.len()
            + 5
            + ENTRY_CLOSE.len()
            + 2;
        let roots: usize = self.assets.iter().map(|e| e.root.as_str().len()).sum();
        let mut out = Vec::with_capacity(96 + self.assets.len() * (ENTRY_FIXED + 20) + roots);
        out.extend_from_slice(b"{\n  \"schema_version\": ");
        push_decimal(&mut out, REGISTRY_SCHEMA_VERSION);
        out.extend_from_slice(b",\n  \"next_asset_id\": ");
        push_decimal(&mut out, self.next_asset_id);
        out.extend_from_slice(b",\n  \"assets\": [");
        let mut uuid = Uuid::encode_buffer();
        for (i, entry) in self.assets.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            out.extend_from_slice(ENTRY_OPEN);
            push_decimal(&mut out, entry.asset_id.0);
            out.extend_from_slice(UUID_KEY);
            out.extend_from_slice(
                entry
                    .asset_uuid
                    .hyphenated()
                    .encode_lower(&mut uuid)
                    .as_bytes(),
            );
            out.extend_from_slice(ROOT_KEY);
            push_json_string(&mut out, entry.root.as_str());
            out.extend_from_slice(INCLUDED_KEY);
            out.extend_from_slice(if entry.included_in_build {
                b"true"
            } else {
                b"false"
            });
            out.extend_from_slice(ENTRY_CLOSE);
        }
        if self.assets.is_empty() {
            out.extend_from_slice(b"]\n}\n");
        } else {
            out.extend_from_slice(b"\n  ]\n}\n");
        }
        out
    }
}

/// The parts of a written registry entry between its values.
const ENTRY_OPEN: &[u8] = b"    { \"asset_id\": ";
const UUID_KEY: &[u8] = b", \"asset_uuid\": \"";
const ROOT_KEY: &[u8] = b"\", \"root\": ";
const INCLUDED_KEY: &[u8] = b", \"included_in_build\": ";
const ENTRY_CLOSE: &[u8] = b" }";

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        // `n % 10` is below 10: the cast keeps it whole.
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Appends the JSON string literal for `s`, as [`json_string`] writes it.
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly the quote, the backslash and the C0 controls; a string
    // without them is written as it is, quoted.
    // Folded without stopping early, so that the check runs many bytes at a time.
    let plain = s.bytes().fold(true, |plain, b| {
        plain & (b != b'"') & (b != b'\\') & (b >= 0x20)
    });
    if !plain {
        out.extend_from_slice(json_string(s).as_bytes());
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// A JSON string literal for `s`.
pub(crate) fn json_string(s: &str) -> String {
    // Serialising a &str cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

fn parse_entry(
    item: &json::JsonValue<'_>,
    index: usize,
    errors: &mut FormatErrors,
) -> Option<RegistryEntry> {
    let what = EntryName(index + 1);
    let object = match ObjectReader::new(item, &what) {
        Ok(o) => o,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let before = errors.total;
    object.unknown_keys(
        &["asset_id", "asset_uuid", "root", "included_in_build"],
        errors,
    );
    let asset_id = object
        .required("asset_id")
        .and_then(|v| id_value(v, "`asset_id`", MAX_ASSET_ID));
    let asset_uuid = object
        .required("asset_uuid")
        .and_then(|v| decode::uuid(v, "`asset_uuid`"));
    let root = object
        .required("root")
        .and_then(|v| decode::asset_path(v, "the root"));
    let included = object
        .required("included_in_build")
        .and_then(|v| decode::boolean(v, "`included_in_build`"));
    let asset_id = decode::take(errors, asset_id);
    let asset_uuid = decode::take(errors, asset_uuid);
    let root = decode::take(errors, root);
    let included = decode::take(errors, included);
    if errors.total > before {
        return None;
    }
    Some(RegistryEntry {
        asset_id: AssetId(asset_id?),
        asset_uuid: asset_uuid?,
        root: root?,
        included_in_build: included?,
    })
}

/// An id or `next_asset_id` from 0 to `max`; a whole number above it is told why ids
/// stop there.
fn id_value(value: &JsonValue<'_>, what: &str, max: u64) -> Result<u64, FormatError> {
    decode::unsigned_up_to(value, what, max).map_err(|e| match &value.kind {
        JsonKind::Number(text) if text.bytes().all(|b| b.is_ascii_digit()) => e.hint(ID_RANGE_HINT),
        _ => e,
    })
}

/// "asset entry N", written only when a message needs it.
struct EntryName(usize);

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "asset entry {}", self.0)
    }
}

fn registry_problem(offset: usize, problem: &RegistryError) -> FormatError {
    let (code, hint) = match problem {
        RegistryError::DuplicateId(_) | RegistryError::ZeroId => (
            Code::DuplicateAssetId,
            "each asset needs its own id; give this one the value of next_asset_id and raise next_asset_id",
        ),
        RegistryError::DuplicateUuid(_) => (
            Code::DuplicateAssetUuid,
            "two entries name the same asset; remove one of them",
        ),
        RegistryError::DuplicateRoot(_) => (
            Code::DuplicateRoot,
            "two entries point at the same folder; remove one of them",
        ),
        RegistryError::NestedRoot { .. } => (
            Code::NestedRoot,
            "an asset root may not contain another asset root; move one of the folders",
        ),
        RegistryError::NextIdTooLow { .. } => (
            Code::NextAssetIdTooLow,
            "set next_asset_id to one more than the highest asset_id",
        ),
        RegistryError::ZeroNextId => (
            Code::NextAssetIdTooLow,
            "set next_asset_id to 1 (no asset has been registered yet)",
        ),
        RegistryError::IdTooLarge(_) | RegistryError::NextIdTooLarge(_) => {
            (Code::InvalidValue, ID_RANGE_HINT)
        }
    };
    let code = if matches!(problem, RegistryError::ZeroId) {
        Code::InvalidValue
    } else {
        code
    };
    FormatError::new(code, offset, problem.to_string()).hint(hint)
}

/// Every rule violation of `assets` (sorted by id), with the index of the offending
/// entry (`None`: `next_asset_id` itself).
fn check_rules(
    next_asset_id: u64,
    assets: &[RegistryEntry],
) -> Vec<(Option<usize>, RegistryError)> {
    let mut problems = Vec::new();
    let mut uuids: HashMap<Uuid, usize> = HashMap::with_capacity(assets.len());
    for (i, entry) in assets.iter().enumerate() {
        if entry.asset_id.0 == 0 {
            problems.push((Some(i), RegistryError::ZeroId));
        }
        if entry.asset_id.0 > MAX_ASSET_ID {
            problems.push((Some(i), RegistryError::IdTooLarge(entry.asset_id)));
        }
        if i > 0 && assets[i - 1].asset_id == entry.asset_id {
            problems.push((Some(i), RegistryError::DuplicateId(entry.asset_id)));
        }
        if uuids.insert(entry.asset_uuid, i).is_some() {
            problems.push((Some(i), RegistryError::DuplicateUuid(entry.asset_uuid)));
        }
    }
    // Sorted segment by segment, a root's descendants follow it directly, so a stack of
    // the roots still open finds every nesting in one pass.
    let mut by_root: Vec<usize> = (0..assets.len()).collect();
    by_root.sort_by(|&a, &b| assets[a].root.cmp_segments(&assets[b].root));
    let mut ancestors: Vec<usize> = Vec::new();
    for &i in &by_root {
        let root = assets[i].root.as_ws();
        while let Some(&top) = ancestors.last() {
            if root.starts_with(assets[top].root.as_ws()) {
                break;
            }
            ancestors.pop();
        }
        if let Some(&top) = ancestors.last() {
            if assets[top].root == assets[i].root {
                problems.push((
                    Some(i.max(top)),
                    RegistryError::DuplicateRoot(assets[i].root.clone()),
                ));
            } else {
                problems.push((
                    Some(i),
                    RegistryError::NestedRoot {
                        outer: assets[top].root.clone(),
                        inner: assets[i].root.clone(),
                    },
                ));
            }
            continue;
        }
        ancestors.push(i);
    }
    if let Some(highest) = assets.last().map(|e| e.asset_id) {
        if next_asset_id <= highest.0 {
            problems.push((
                None,
                RegistryError::NextIdTooLow {
                    next: next_asset_id,
                    highest,
                },
            ));
        }
    } else if next_asset_id == 0 {
        problems.push((None, RegistryError::ZeroNextId));
    }
    if next_asset_id > MAX_ASSET_ID + 1 {
        problems.push((None, RegistryError::NextIdTooLarge(next_asset_id)));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::line_col;
    use crate::snapshot::MAX_FILE_ERRORS;

    /// Parses `text` and renders the outcome as `line:col code message` lines, or the
    /// re-serialised registry.
    fn check(text: &str, expected: &str) {
        let got = match Registry::parse(text.as_bytes()) {
            Ok(registry) => String::from_utf8(registry.to_bytes()).unwrap(),
            Err(errors) => errors
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
    const U2: &str = "0a8f9b4c-3c1d-4f0e-8e59-1d2c3b4a5f60";

    #[test]
    fn round_trips_deterministically() {
        let text = format!(
            r#"{{"assets":[
              {{"root":"audio/jump","asset_id":2,"asset_uuid":"{U2}","included_in_build":false}},
              {{"asset_id":1,"asset_uuid":"{U1}","root":"sprites/hero","included_in_build":true}}],
              "next_asset_id":3,"schema_version":1}}"#
        );
        let expected = format!(
            r#"{{
  "schema_version": 1,
  "next_asset_id": 3,
  "assets": [
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "sprites/hero", "included_in_build": true }},
    {{ "asset_id": 2, "asset_uuid": "{U2}", "root": "audio/jump", "included_in_build": false }}
  ]
}}"#
        );
        check(&text, &expected);
        // The written form reads back to the same bytes.
        check(&expected, &expected);
        assert_eq!(
            String::from_utf8(Registry::empty().to_bytes()).unwrap(),
            "{\n  \"schema_version\": 1,\n  \"next_asset_id\": 1,\n  \"assets\": []\n}\n"
        );
    }

    /// The direct writer against the plain one made of `format!`s, on roots that need
    /// escaping, ids of every width and both flags.
    #[test]
    fn writer_matches_the_plain_formatting() {
        fn plain(registry: &Registry) -> String {
            let mut out = format!(
                "{{\n  \"schema_version\": {REGISTRY_SCHEMA_VERSION},\n  \"next_asset_id\": {},\n  \"assets\": [",
                registry.next_asset_id()
            );
            for (i, e) in registry.assets().iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                out.push_str(&format!(
                    "    {{ \"asset_id\": {}, \"asset_uuid\": \"{}\", \"root\": {}, \"included_in_build\": {} }}",
                    e.asset_id,
                    e.asset_uuid.hyphenated(),
                    serde_json::to_string(e.root.as_str()).unwrap(),
                    e.included_in_build
                ));
            }
            out.push_str(if registry.assets().is_empty() {
                "]\n}\n"
            } else {
                "\n  ]\n}\n"
            });
            out
        }
        let roots = [
            "a",
            "say \"hi\"",
            "héros/épée",
            "back`tick~",
            "z/\u{a0}\u{200b}",
        ];
        let ids = [1, 9, 10, 99_999, 123_456_789, MAX_ASSET_ID];
        let entries: Vec<RegistryEntry> = ids
            .iter()
            .zip(roots.iter().cycle())
            .enumerate()
            .map(|(i, (&id, root))| RegistryEntry {
                asset_id: AssetId(id),
                asset_uuid: Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210 + i as u128),
                root: AssetPath::new(&format!("{root}{i}")).unwrap(),
                included_in_build: i % 2 == 0,
            })
            .collect();
        for registry in [
            Registry::empty(),
            Registry::new(MAX_ASSET_ID + 1, entries).unwrap(),
        ] {
            let got = String::from_utf8(registry.to_bytes()).unwrap();
            assert_eq!(got, plain(&registry));
        }
    }

    /// Ids stop at 2^53 - 1, and `next_asset_id` one past it: a larger whole number is
    /// placed and told why; a wrong type is not given that reason.
    #[test]
    fn ids_stay_within_what_every_json_reader_keeps_exact() {
        let registry = |next: &str, id: &str| {
            format!(
                r#"{{
  "schema_version": 1,
  "next_asset_id": {next},
  "assets": [
    {{ "asset_id": {id}, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }}
  ]
}}"#
            )
        };
        let last = registry("9007199254740992", "9007199254740991");
        let parsed = Registry::parse(last.as_bytes()).unwrap();
        assert_eq!(
            parsed.get(AssetId(MAX_ASSET_ID)).unwrap().root.as_str(),
            "a"
        );
        assert_eq!(parsed.next_asset_id(), MAX_ASSET_ID + 1);
        check(
            &registry("9007199254740993", "9007199254740992"),
            "
3:20 invalid_value `next_asset_id` must be a whole number from 0 to 9007199254740992, not 9007199254740993
5:19 invalid_value `asset_id` must be a whole number from 0 to 9007199254740991, not 9007199254740992",
        );
        let errors = Registry::parse(registry("18446744073709551616", "7").as_bytes()).unwrap_err();
        assert_eq!(errors.list[0].hint.as_deref(), Some(ID_RANGE_HINT));
        let errors = Registry::parse(registry("2", "\"7\"").as_bytes()).unwrap_err();
        assert_eq!(errors.list[0].code, Code::WrongType);
        assert_ne!(errors.list[0].hint.as_deref(), Some(ID_RANGE_HINT));
        // Built in memory, the same rules hold.
        let entry = |id| RegistryEntry {
            asset_id: AssetId(id),
            asset_uuid: Uuid::from_u128(1),
            root: AssetPath::new("a").unwrap(),
            included_in_build: true,
        };
        assert!(Registry::new(MAX_ASSET_ID + 1, vec![entry(MAX_ASSET_ID)]).is_ok());
        assert_eq!(
            Registry::new(MAX_ASSET_ID + 2, vec![entry(MAX_ASSET_ID + 1)]).unwrap_err(),
            RegistryError::IdTooLarge(AssetId(MAX_ASSET_ID + 1))
        );
        assert_eq!(
            Registry::new(MAX_ASSET_ID + 2, vec![entry(1)]).unwrap_err(),
            RegistryError::NextIdTooLarge(MAX_ASSET_ID + 2)
        );
    }

    #[test]
    fn reports_every_semantic_error_in_place() {
        let text = format!(
            r#"{{
  "schema_version": 1,
  "next_asset_id": 1,
  "assets": [
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a", "included_in_build": true }},
    {{ "asset_id": 1, "asset_uuid": "{U1}", "root": "a/b", "included_in_build": true }},
    {{ "asset_id": 3, "asset_uuid": "{U2}", "root": "../x", "included_in_build": "yes", "extra": 1 }}
  ]
}}"#
        );
        check(
            &text,
            "
3:20 next_asset_id_too_low next_asset_id 1 must be greater than every asset id (highest: 1)
6:5 duplicate_asset_id asset id 1 is used twice
6:5 duplicate_asset_uuid asset uuid 6f1c2d0e-8a57-4b6e-9a53-0c0b6a1d2e11 is registered twice
6:5 nested_root root `a/b` lies inside root `a`
7:84 invalid_path the root `../x` is not allowed: the path has a `..` segment; it may not leave its base
7:113 wrong_type `included_in_build` must be true or false, not a string
7:120 unknown_key unknown key `extra` in asset entry 3",
        );
    }

    #[test]
    fn rejects_newer_schema_and_wrong_shapes() {
        check(
            r#"{"schema_version": 2, "next_asset_id": 1, "assets": []}"#,
            "1:20 schema_too_new the registry has schema_version 2; this packer understands up to 1",
        );
        check(
            "[]",
            "1:1 wrong_type the registry must be an object, not an array",
        );
        check(
            r#"{"schema_version": 1, "assets": {}}"#,
            "1:33 wrong_type `assets` must be an array, not an object\n1:1 missing_key the registry has no `next_asset_id`",
        );
        check(
            r#"{"schema_version": 1, "next_asset_id": -1, "assets": []}"#,
            "1:40 invalid_value `next_asset_id` must be a whole number from 0 to 9007199254740992, not -1",
        );
        check(
            r#"{"schema_version": 1, "next_asset_id": 1, "assets": [], "assets": []}"#,
            "1:57 json_syntax duplicate key `assets` in the object",
        );
        // A merge's conflict markers are named as such, at the marker's line; a `<`
        // elsewhere stays a plain syntax error.
        check(
            &format!(
                "{{\"schema_version\": 1, \"next_asset_id\": 3, \"assets\": [\n<<<<<<< HEAD\n  {{\"asset_id\": 2, \"asset_uuid\": \"{U1}\", \"root\": \"c\", \"included_in_build\": true}}\n=======\n  {{\"asset_id\": 2, \"asset_uuid\": \"{U2}\", \"root\": \"b\", \"included_in_build\": true}}\n>>>>>>> feat\n]}}\n"
            ),
            "2:1 json_syntax merge conflict marker `<<<<<<<`: the file still holds both sides of a merge",
        );
        check(
            "{\"schema_version\": 1, \"next_asset_id\": 1, \"assets\": [ <<<<<<< ]}",
            "1:55 json_syntax expected a JSON value",
        );
        // Markers deleted, both sides' `next_asset_id` left: which one to keep.
        let twice = Registry::parse(
            b"{\"schema_version\": 1,\n\"next_asset_id\": 3,\n\"next_asset_id\": 4, \"assets\": []}",
        )
        .unwrap_err();
        assert_eq!(twice.list[0].code, Code::JsonSyntax);
        assert!(
            twice.list[0]
                .hint
                .as_deref()
                .unwrap_or("")
                .contains("keep the larger `next_asset_id`"),
            "{twice:?}"
        );
        let merged = Registry::parse(b"[\n=======\n]").unwrap_err();
        assert!(
            merged.list[0]
                .hint
                .as_deref()
                .unwrap_or("")
                .contains("reconcile")
        );
        // No asset: the message names no "highest" id that does not exist.
        check(
            r#"{"schema_version": 1, "next_asset_id": 0, "assets": []}"#,
            "1:40 next_asset_id_too_low next_asset_id 0 is not allowed; ids start at 1",
        );
    }

    /// A registry mangled into many bad entries or unknown keys keeps only the first
    /// errors in memory, and counts the rest: four errors an entry of three bytes
    /// must not cost hundreds of times the file's size.
    #[test]
    fn keeps_the_first_errors_of_a_flood_and_counts_them_all() {
        let entries = vec!["{}"; 10_000].join(",");
        let text = format!(r#"{{"schema_version":1,"next_asset_id":1,"assets":[{entries}]}}"#);
        let errors = Registry::parse(text.as_bytes()).unwrap_err();
        assert_eq!(errors.total, 40_000);
        assert_eq!(errors.list.len(), MAX_FILE_ERRORS);
        assert_eq!(errors.list[0].message, "asset entry 1 has no `asset_id`");
        assert_eq!(
            errors.list[99].message,
            "asset entry 25 has no `included_in_build`"
        );

        let keys: Vec<String> = (0..10_000).map(|i| format!(r#""k{i}":0"#)).collect();
        let text = format!(
            r#"{{"schema_version":1,"next_asset_id":1,"assets":[],{}}}"#,
            keys.join(",")
        );
        let errors = Registry::parse(text.as_bytes()).unwrap_err();
        assert_eq!(errors.total, 10_000);
        assert_eq!(errors.list.len(), MAX_FILE_ERRORS);
        assert_eq!(errors.list[0].message, "unknown key `k0` in the registry");
        assert_eq!(errors.list[99].message, "unknown key `k99` in the registry");
    }

    proptest::proptest! {
        /// A registry damaged anywhere never makes the reader panic: it reads back what
        /// it writes, or every error it gives has a place in the file.
        #[test]
        fn damaged_registries_are_read_or_placed(
            edits in proptest::collection::vec((0usize..1000, proptest::num::u8::ANY), 0..6)
        ) {
            let mut text = format!(
                r#"{{"schema_version": 1, "next_asset_id": 3, "assets": [
  {{"asset_id": 1, "asset_uuid": "{U1}", "root": "sprites/hero", "included_in_build": true}},
  {{"asset_id": 2, "asset_uuid": "{U2}", "root": "a\u00e9/b", "included_in_build": false}}
]}}"#
            )
            .into_bytes();
            for (at, byte) in edits {
                let at = at % text.len();
                text[at] = byte;
            }
            match Registry::parse(&text) {
                Ok(registry) => {
                    proptest::prop_assert_eq!(Registry::parse(&registry.to_bytes()), Ok(registry));
                }
                Err(errors) => {
                    proptest::prop_assert!(!errors.list.is_empty());
                    for error in errors.list {
                        proptest::prop_assert!(error.offset <= text.len(), "{error:?}");
                        line_col(&text, error.offset);
                    }
                }
            }
        }
    }
}
