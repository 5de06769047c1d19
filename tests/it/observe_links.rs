//! The observer's first verification of a workspace whose `asset.json` files are
//! symbolic links: it agrees with the load, so starting `watch`, `serve` or Studio
//! publishes no `stale` and back when nothing changed.

use packer_domain::event::Event;
use packer_domain::snapshot::ProjectState;

use crate::fixture_text::{U1, U2, declaration, registry};
use crate::observe::{config, start_with};

/// Starts the observer on `fixture` and expects it in `state`, with no state change
/// published by its first verification.
fn check(fixture: &str, state: ProjectState) {
    let o = start_with(fixture, config());
    let view = o.runtime.check_divergence();
    assert_eq!(view.state, state, "{:#?}", view.drifts());
    let changes: Vec<Event> = o
        .events
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::StateChanged { .. }))
        .collect();
    assert_eq!(changes, Vec::<Event>::new(), "nothing changed on disk");
    o.runtime.shutdown();
}

#[test]
fn a_linked_declaration_is_no_change_at_start() {
    // Asset 1's asset.json is a link to a file inside the workspace, read through it.
    check(
        &format!(
            "//- .prometeu/index.json\n{}//- shared/a.txt\n{}//- a/asset.json -> ../shared/a.txt\n//- a/x.bin\nx\n",
            registry(2, &[(1, U1, "a", true)]),
            declaration(U1, "a", "x.bin"),
        ),
        ProjectState::Ready,
    );
    // An unregistered asset.json that links out of the workspace cannot be read, at
    // load or after: no change either.
    check(
        &format!(
            "//- .prometeu/index.json\n{}//- b/asset.json -> ../../outside.json\n//- c/asset.json\n{}//- c/y.bin\ny\n",
            registry(1, &[]),
            declaration(U2, "c", "y.bin"),
        ),
        ProjectState::Diverged,
    );
}
