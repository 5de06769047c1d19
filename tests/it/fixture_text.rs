//! Text the tests write as project files: the asset UUIDs they share, and a registry and
//! a one-input blob declaration in compact JSON.

pub(crate) const U1: &str = "11111111-1111-4111-8111-111111111111";
pub(crate) const U2: &str = "22222222-2222-4222-8222-222222222222";
pub(crate) const U3: &str = "33333333-3333-4333-8333-333333333333";
pub(crate) const U4: &str = "44444444-4444-4444-8444-444444444444";
pub(crate) const U5: &str = "55555555-5555-4555-8555-555555555555";
pub(crate) const U6: &str = "66666666-6666-4666-8666-666666666666";
pub(crate) const U9: &str = "99999999-9999-4999-8999-999999999999";

/// `index.json` with `next_asset_id` and entries `(id, uuid, root, included)`, one a line.
pub(crate) fn registry(next: u64, entries: &[(u64, &str, &str, bool)]) -> String {
    let lines: Vec<String> = entries
        .iter()
        .map(|(id, uuid, root, included)| {
            format!(
                r#"{{ "asset_id": {id}, "asset_uuid": "{uuid}", "root": "{root}", "included_in_build": {included} }}"#
            )
        })
        .collect();
    format!(
        "{{ \"schema_version\": 1, \"next_asset_id\": {next}, \"assets\": [\n{}\n] }}\n",
        lines.join(",\n")
    )
}

/// An `asset.json` of kind `blob` with the one input `input`, on one line.
pub(crate) fn declaration(uuid: &str, name: &str, input: &str) -> String {
    format!(
        r#"{{ "schema_version": 1, "asset_uuid": "{uuid}", "name": "{name}", "kind": "blob", "inputs": ["{input}"] }}"#
    ) + "\n"
}
