//! The Assets Workspace: the Studio service behind the page. It answers with the
//! runtime's own views (`packer_app::views`) and sends every action to the runtime as a
//! command; it decides nothing about the packer's semantics. It also keeps the event
//! journal — the recent packer events, fed by its own subscription to the container's
//! bus — so a page that opens late still sees what happened.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use packer_app::build::{BuildReport, BuildRequest};
use packer_app::error::{AppError, ErrorCode};
use packer_app::runtime::Runtime;
use packer_app::views::{DoctorView, GetView, ListView, StatusView, WriteView, require_registry};
use packer_domain::command::Command;
use packer_domain::declaration::AssetKind;
use packer_domain::reconcile::ReconcilePlan;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, DeclarationState};
use packer_fs::DiskOutput;

use crate::bus::{EventBus, Subscription};
use crate::container::BootedContainer;
use crate::error::StudioError;
use crate::packer::{PackerEvent, PackerHost};

/// Where Studio builds, relative to the project.
pub const BUILD_DIR: &str = "build";

/// How many recent events the journal keeps.
pub const JOURNAL_LENGTH: usize = 512;

/// The largest image a thumbnail serves: anything bigger is not worth a page's memory.
pub const THUMBNAIL_LIMIT: u64 = 16 << 20;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The Assets Workspace service.
///
/// It can only be built from a booted container and a running packer host; with
/// either missing there is nothing to pass:
///
/// ```compile_fail,E0061
/// use studio::container::{Container, ContainerConfig};
/// use studio::workspace::AssetsWorkspace;
///
/// let container = Container::new(ContainerConfig::default()).boot();
/// let workspace = AssetsWorkspace::new(&container);
/// ```
#[derive(Debug)]
pub struct AssetsWorkspace {
    runtime: Arc<Runtime>,
    bus: EventBus,
    queue_capacity: usize,
    journal: Arc<JournalFeed>,
    /// `<project>/build`: Studio builds nowhere else.
    build_dir: PathBuf,
    /// Held while a build runs: a second build at once would write the same files.
    building: Mutex<()>,
    /// Set when Studio stops: a running build stops at its next asset, with `build/` as
    /// it was, instead of holding up the shutdown until its end.
    stopping: Arc<AtomicBool>,
    /// Dropped to stop the journal thread.
    stop: Option<Sender<()>>,
    journal_thread: Option<JoinHandle<()>>,
}

/// The recent packer events, oldest first, and how many the journal itself missed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Journal {
    pub events: VecDeque<PackerEvent>,
    /// Events that never reached the journal because its queue was full.
    pub missed: u64,
}

impl AssetsWorkspace {
    /// Builds the service on `host`'s runtime and starts its journal on `container`'s
    /// bus.
    pub fn new(
        container: &BootedContainer,
        host: &PackerHost,
    ) -> Result<AssetsWorkspace, StudioError> {
        let bus = container.bus().clone();
        let queue_capacity = container.config().queue_capacity;
        let feed = host
            .take_first_events()
            .unwrap_or_else(|| bus.subscribe::<PackerEvent>("event journal", queue_capacity));
        let journal = Arc::new(JournalFeed {
            journal: Mutex::new(Journal::default()),
            feed,
        });
        let (stop, stopped) = crossbeam_channel::bounded(0);
        let thread_journal = Arc::clone(&journal);
        let journal_thread = std::thread::Builder::new()
            .name("studio-journal".to_owned())
            .spawn(move || keep_journal(&thread_journal, &stopped))
            .map_err(StudioError::Thread)?;
        Ok(AssetsWorkspace {
            runtime: host.shared_runtime(),
            build_dir: host.project().join(BUILD_DIR),
            building: Mutex::new(()),
            stopping: Arc::new(AtomicBool::new(false)),
            bus,
            queue_capacity,
            journal,
            stop: Some(stop),
            journal_thread: Some(journal_thread),
        })
    }

    /// A new subscription to the container's bus, sized as the container says.
    pub fn subscribe<T: Clone + Send + 'static>(&self, name: &str) -> Subscription<T> {
        self.bus.subscribe(name, self.queue_capacity)
    }

    /// The recent events after `seq` (all of them for 0), oldest first.
    ///
    /// Every event published before the call is in the answer (unless the journal's
    /// queue overflowed, which it counts): the events still queued for the journal are
    /// taken in first. So a subscriber that subscribed before calling this has, between
    /// its queue and the answer, every event.
    pub fn journal_after(&self, seq: u64) -> Vec<PackerEvent> {
        self.journal
            .drained()
            .events
            .iter()
            .filter(|e| e.seq > seq)
            .cloned()
            .collect()
    }

    /// The whole journal.
    pub fn journal(&self) -> Journal {
        self.journal.drained().clone()
    }

    pub fn status(&self) -> StatusView {
        StatusView::of_view(&self.runtime.view())
    }

    /// `check_divergence`: a full verification scan through the writer lane, then the
    /// status it left.
    pub fn check_divergence(&self) -> StatusView {
        StatusView::of_view(&self.runtime.check_divergence())
    }

    /// `list_assets`; `failed_state` when no generation holds a registry, as under
    /// `serve --stdio`: an empty list would say the project has no assets.
    pub fn list_assets(&self) -> Result<ListView, AppError> {
        ListView::of_view(&self.runtime.view())
    }

    pub fn get_asset(&self, query: &AssetQuery) -> Result<GetView, AppError> {
        GetView::of(&self.runtime.snapshot(), query)
    }

    pub fn doctor(&self) -> DoctorView {
        DoctorView::of_view(&self.runtime.view())
    }

    /// `set_included`: the runtime's command, through its writer lane.
    pub fn set_included(
        &self,
        asset: AssetQuery,
        included: bool,
        expected_generation: Option<u64>,
    ) -> Result<WriteView, AppError> {
        // Straight to the writer lane, as under `serve --stdio`: an asset that is not
        // there, or a failed project, is the lane's refusal, with its `write_rejected`
        // event and command id, not a refusal of Studio's own. The asset comes as the
        // write's own generation holds it, even if the observer published a later one.
        let command = Command::SetIncluded { asset, included };
        WriteView::submit(&self.runtime, command, expected_generation)
    }

    /// `reconcile_plan`: the runtime's plan for the current generation. Without a
    /// registry there is no plan, not an empty one (`failed_state`, as `serve --stdio`).
    pub fn reconcile_plan(&self) -> Result<ReconcilePlan, AppError> {
        require_registry(&self.runtime.snapshot())?;
        Ok(self.runtime.reconcile_plan())
    }

    /// `reconcile_apply`: the chosen actions of plan `plan_id`, applied by the runtime
    /// as one commit.
    pub fn reconcile_apply(&self, plan_id: u64, action_ids: &[u32]) -> Result<WriteView, AppError> {
        let outcome = self.runtime.reconcile_apply(plan_id, action_ids)?;
        Ok(WriteView::of_reconcile(&outcome))
    }

    /// `build`: the runtime packs every included asset of the current generation into
    /// `<project>/build`. Its progress goes out as events on the bus.
    pub fn build(&self) -> Result<BuildReport, AppError> {
        let Ok(_building) = self.building.try_lock() else {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "a build is already running; wait for its build_completed",
            ));
        };
        let output = DiskOutput::new(&self.build_dir).with_location(BUILD_DIR);
        let request = BuildRequest {
            stop: Some(Arc::clone(&self.stopping)),
            ..BuildRequest::new(Arc::new(output))
        };
        // Progress reaches the page as `build_progress` events through the bus; the
        // callback has nothing more to add.
        self.runtime.build(&request, &|_| {})
    }

    /// Stops the build that runs, if any, at its next asset, and refuses later ones:
    /// the first step of Studio's shutdown, so that Ctrl-C does not wait for a whole
    /// build. The build's request is answered with the runtime's refusal.
    pub fn stop_builds(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// The bytes of a registered image asset's first input, read through the runtime's
    /// confined workspace port: a thumbnail can show nothing that is not an input of an
    /// image asset of this project.
    pub fn thumbnail(&self, id: AssetId) -> Result<Vec<u8>, AppError> {
        let snapshot = self.runtime.snapshot();
        let record = snapshot.asset(id).ok_or_else(|| {
            AppError::new(
                ErrorCode::NotFound,
                format!("no registered asset has id {id}"),
            )
        })?;
        let declaration = record
            .own_declaration()
            .and_then(DeclarationState::declaration)
            .filter(|d| d.kind == AssetKind::Image)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::NotFound,
                    format!("asset {id} is not an image asset with a readable declaration"),
                )
            })?;
        let input = declaration.inputs.first().ok_or_else(|| {
            AppError::new(ErrorCode::NotFound, format!("asset {id} has no input"))
        })?;
        let path = record.entry.root.join(input);
        let read = self
            .runtime
            .ports()
            .workspace
            .read(path.as_ws(), THUMBNAIL_LIMIT)?;
        if !read.bytes.starts_with(PNG_SIGNATURE) {
            return Err(AppError::new(
                ErrorCode::Invalid,
                format!("{} is not a PNG file", path.as_ws().display_in_project()),
            ));
        }
        Ok(read.bytes)
    }

    /// Stops the journal and lets go of the runtime.
    pub fn shutdown(mut self) {
        self.stop_journal();
    }

    fn stop_journal(&mut self) {
        self.stop = None;
        if let Some(thread) = self.journal_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for AssetsWorkspace {
    fn drop(&mut self) {
        self.stop_journal();
    }
}

/// The journal and the bus subscription that feeds it. Events are taken off the queue
/// only with the journal locked, so an event is always in one place or the other.
#[derive(Debug)]
struct JournalFeed {
    journal: Mutex<Journal>,
    feed: Subscription<PackerEvent>,
}

impl JournalFeed {
    /// The journal with every queued event taken in.
    fn drained(&self) -> MutexGuard<'_, Journal> {
        self.drain().0
    }

    /// Takes every queued event in; also says whether more can come.
    fn drain(&self) -> (MutexGuard<'_, Journal>, bool) {
        // A push or pop cannot leave the ring half-changed, so a poisoned lock still
        // guards a whole journal.
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        let connected = loop {
            match self.feed.receiver().try_recv() {
                Ok(event) => {
                    if journal.events.len() == JOURNAL_LENGTH {
                        journal.events.pop_front();
                    }
                    journal.events.push_back(event);
                }
                Err(TryRecvError::Empty) => break true,
                Err(TryRecvError::Disconnected) => break false,
            }
        };
        journal.missed += self.feed.take_missed();
        (journal, connected)
    }
}

/// Takes events into the journal as they come, so its queue does not fill while no
/// page asks. Waits for readiness without taking anything: only `drain` takes.
fn keep_journal(journal: &JournalFeed, stopped: &Receiver<()>) {
    loop {
        let mut select = crossbeam_channel::Select::new();
        let events = select.recv(journal.feed.receiver());
        select.recv(stopped);
        if select.ready() != events {
            return;
        }
        // A disconnected queue would be ready forever; nothing more comes from it.
        if !journal.drain().1 {
            return;
        }
    }
}
