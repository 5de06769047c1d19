//! What the model test generates: the commands, batches and hand edits a scenario is made
//! of, and the proptest strategies that pick them.

use packer_domain::declaration::AssetKind;
use proptest::prelude::*;

/// The roots commands and edits pick from: pairs that nest, and some whose parents are
/// plain folders.
pub(super) const ROOTS: [&str; 11] = [
    "a", "a/x", "b", "b/y", "c", "d", "d/e", "f/g", "h", "i/j", "k",
];
/// Ids up to this one may be named directly; the fixture issues 1 and 2.
pub(super) const MAX_ID: u64 = 8;

/// How a command names an asset.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    Id(u64),
    Root(&'static str),
    /// The n-th registered asset (modulo their number), named by id; becomes `Id`
    /// before the command is run.
    Registered(usize),
    /// The id the n-th (from 0) create or adopt of this command will issue; becomes `Id`.
    Next(u64),
}

/// Where `adopt_asset` looks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place {
    Root(&'static str),
    /// The n-th unregistered root the snapshot saw (modulo their number); becomes `Root`
    /// before the command is run.
    Unregistered(usize),
}

/// One write command.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Create {
        root: &'static str,
        kind: AssetKind,
        inputs: &'static [&'static str],
        name: Option<&'static str>,
        included: bool,
    },
    Adopt {
        root: Place,
    },
    Move {
        asset: Target,
        to: &'static str,
    },
    Remove {
        asset: Target,
    },
    SetIncluded {
        asset: Target,
        included: bool,
    },
    Update {
        asset: Target,
        name: Option<&'static str>,
        kind: Option<AssetKind>,
        inputs: Option<&'static [&'static str]>,
    },
}

/// One step of a scenario. Hand edits that find nothing to edit do nothing.
#[derive(Debug, Clone)]
pub(super) enum Step {
    Run(Op),
    Batch(Vec<Op>),
    /// A person creates `root/asset.json`, valid, with a new uuid.
    HandCreate {
        root: &'static str,
    },
    /// A person copies the `asset.json` at `from` to `to`: a duplicate uuid.
    HandCopy {
        from: &'static str,
        to: &'static str,
    },
    HandDelete {
        root: &'static str,
    },
    /// A person edits `root/asset.json`: renames the asset, or breaks the JSON.
    HandEdit {
        root: &'static str,
        valid: bool,
    },
    /// A person renames an asset the snapshot knows, then the asset is updated through
    /// the runtime: always a conflict.
    EditThenUpdate {
        asset: u64,
    },
}

pub(super) fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => (0..8usize).prop_map(Target::Registered),
        1 => (1..=MAX_ID).prop_map(Target::Id),
        1 => root().prop_map(Target::Root),
        1 => (0..2u64).prop_map(Target::Next),
    ]
}

pub(super) fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        3 => (0..4usize).prop_map(Place::Unregistered),
        1 => root().prop_map(Place::Root),
    ]
}

pub(super) fn root() -> impl Strategy<Value = &'static str> {
    prop::sample::select(ROOTS.to_vec())
}

pub(super) fn kind() -> impl Strategy<Value = AssetKind> {
    prop::sample::select(AssetKind::ALL.to_vec())
}

/// Mostly valid; sometimes empty or with a duplicate.
pub(super) fn inputs() -> impl Strategy<Value = &'static [&'static str]> {
    prop_oneof![
        4 => Just(&["x.bin"][..]),
        2 => Just(&["x.bin", "y.png"][..]),
        1 => Just(&[][..]),
        1 => Just(&["x.bin", "x.bin"][..]),
    ]
}

/// Mostly valid; sometimes empty or only white space.
pub(super) fn name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just("hero"),
        3 => Just("villain"),
        1 => Just(""),
        1 => Just(" "),
    ]
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (root(), kind(), inputs(), prop::option::of(name()), any::<bool>()).prop_map(
            |(root, kind, inputs, name, included)| Op::Create { root, kind, inputs, name, included }
        ),
        1 => place().prop_map(|root| Op::Adopt { root }),
        2 => (target(), root()).prop_map(|(asset, to)| Op::Move { asset, to }),
        1 => target().prop_map(|asset| Op::Remove { asset }),
        1 => (target(), any::<bool>()).prop_map(|(asset, included)| Op::SetIncluded { asset, included }),
        2 => (target(), prop::option::of(name()), prop::option::of(kind()), prop::option::of(inputs()))
            .prop_map(|(asset, name, kind, inputs)| Op::Update { asset, name, kind, inputs }),
    ]
}

pub(super) fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => op().prop_map(Step::Run),
        2 => prop::collection::vec(op(), 2..=4).prop_map(Step::Batch),
        1 => root().prop_map(|root| Step::HandCreate { root }),
        1 => (root(), root()).prop_map(|(from, to)| Step::HandCopy { from, to }),
        1 => root().prop_map(|root| Step::HandDelete { root }),
        1 => (root(), any::<bool>()).prop_map(|(root, valid)| Step::HandEdit { root, valid }),
        1 => (1..=MAX_ID).prop_map(|asset| Step::EditThenUpdate { asset }),
    ]
}
