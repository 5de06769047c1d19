// The Assets Workspace page. It shows what the runtime's views say and sends every
// action to the runtime as a command; it decides nothing about assets, drift or plans
// itself. Live updates come from the server-sent event stream, which is fed from
// Studio's event bus: each packer event is logged and makes the page re-read the views.
'use strict';

const token = new URLSearchParams(location.search).get('token') || '';
const $ = (id) => document.getElementById(id);
const LOG_LENGTH = 300;

// The generation the page last rendered, sent with writes as `expected_generation` so
// that a click on an outdated row is refused instead of applied to something else.
let generation = null;
// Per asset: a counter bumped when an event says the asset changed, so its thumbnail
// is fetched again then, and only then.
const thumbVersion = new Map();

async function api(method, path, body) {
  const init = { method, headers: { 'X-Studio-Token': token } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(text.trim() || `${response.status} ${response.statusText}`);
  }
  if (!response.ok) {
    const error = data.error || {};
    throw new Error(`${error.code || response.status}: ${error.message || text}`);
  }
  return data;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children);
  return node;
}

function notice(message) {
  const box = $('notice');
  box.textContent = message || '';
  box.hidden = !message;
}

// Field values of a drift, an action or an event, as `key=value` text: the page shows
// the runtime's fields as they are, whatever their kind.
function fields(object, skip) {
  return Object.entries(object)
    .filter(([key]) => !skip.includes(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('  ');
}

function showState(state, atGeneration) {
  const banner = $('banner');
  banner.dataset.state = state;
  $('state').textContent = state;
  $('generation').textContent = atGeneration;
}

function renderStatus(status) {
  generation = status.generation;
  showState(status.state, status.generation);
  $('condition').textContent = status.condition || '';
  $('degraded').textContent = status.degraded ? `watching in part: ${status.degraded}` : '';
  $('degraded').hidden = !status.degraded;
  const list = $('drifts');
  list.replaceChildren(...status.drifts.map((drift) => element('li', { 'data-kind': drift.kind },
    element('span', { class: 'kind', text: drift.kind }), ' ', fields(drift, ['kind']))));
  $('drift-count').textContent = status.drifts.length ? `(${status.drifts.length})` : '';
  if (!status.drifts.length) list.replaceChildren(element('li', { class: 'empty', text: 'none: the registry and the disk agree' }));
}

function thumbnail(asset) {
  if (asset.kind !== 'image') return '';
  const version = thumbVersion.get(asset.asset_id) || 0;
  const src = `/api/thumbnail/${asset.asset_id}?token=${encodeURIComponent(token)}&v=${version}&root=${encodeURIComponent(asset.root)}`;
  return element('img', { src, alt: '', loading: 'lazy', onerror: (e) => { e.target.hidden = true; } });
}

function renderAssets(list) {
  if (list.unavailable) {
    // A project whose registry never read has no list: an empty table would say it
    // has no assets.
    $('assets').tBodies[0].replaceChildren(element('tr', {}, element('td', { colspan: 7, class: 'empty', text: `no assets can be listed: ${list.unavailable}` })));
    $('asset-count').textContent = '';
    return;
  }
  const rows = list.assets.map((asset) => element('tr', { 'data-asset-id': asset.asset_id, 'data-status': asset.status },
    element('td', { class: 'thumb' }, thumbnail(asset)),
    element('td', { text: asset.asset_id }),
    element('td', { class: 'name', text: asset.name ?? '—' }),
    element('td', { text: asset.kind ?? '—' }),
    element('td', { class: 'root', text: asset.root }),
    element('td', {}, element('input', {
      type: 'checkbox',
      class: 'included',
      'data-asset-id': asset.asset_id,
      'aria-label': `include ${asset.root} in builds`,
      checked: asset.included_in_build,
      onchange: (e) => setIncluded(asset.asset_id, e.target),
    })),
    element('td', {}, element('span', { class: 'status', 'data-status': asset.status, text: asset.status }))));
  $('assets').tBodies[0].replaceChildren(...rows);
  $('asset-count').textContent = `(${list.assets.length})`;
}

function renderPlan(plan) {
  const body = $('plan').tBodies[0];
  $('plan-id').textContent = plan ? `(plan ${plan.plan_id}, generation ${plan.generation})` : '';
  const unresolved = plan ? plan.unresolved || [] : [];
  $('unresolved').replaceChildren(...unresolved.map((item) => element('li', { 'data-kind': item.drift.kind },
    element('span', { class: 'kind', text: item.drift.kind }), ' ', fields(item.drift, ['kind']), ' — ', item.reason)));
  if (!plan || !plan.actions.length) {
    body.replaceChildren();
    $('plan-empty').textContent = plan && !unresolved.length ? 'nothing to reconcile' : '';
    return;
  }
  $('plan-empty').textContent = '';
  body.replaceChildren(...plan.actions.map((action) => element('tr', { 'data-action-id': action.action_id, 'data-kind': action.kind },
    element('td', { text: action.action_id }),
    element('td', { class: 'kind', text: action.kind }),
    element('td', { class: 'details', text: fields(action, ['action_id', 'kind', 'drift']) }),
    element('td', { class: 'drift', text: `resolves ${action.drift.kind}` }),
    element('td', {}, element('button', {
      type: 'button',
      class: 'apply',
      'data-kind': action.kind,
      text: 'Apply',
      onclick: (e) => apply(plan.plan_id, action.action_id, e.target),
    })))));
}

// Re-reads every view; calls that come while one runs are folded into one more run.
let refreshing = null;
let refreshAgain = false;
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      const [status, list, plan] = await Promise.all([
        api('GET', '/api/status'),
        api('GET', '/api/list_assets').catch((e) => ({ unavailable: e.message })),
        api('GET', '/api/reconcile_plan').catch((e) => ({ unavailable: e.message })),
      ]);
      renderStatus(status);
      renderAssets(list);
      renderPlan(plan.unavailable ? null : plan);
      if (plan.unavailable) $('plan-empty').textContent = `no plan: ${plan.unavailable}`;
    } catch (e) {
      notice(`cannot read the project: ${e.message}`);
    }
  })().finally(() => {
    refreshing = null;
    if (refreshAgain) {
      refreshAgain = false;
      refresh();
    }
  });
  return refreshing;
}

async function act(button, work) {
  if (button) button.disabled = true;
  notice('');
  try {
    return await work();
  } catch (e) {
    notice(e.message);
    return null;
  } finally {
    if (button) button.disabled = false;
    refresh();
  }
}

function setIncluded(assetId, box) {
  const wanted = box.checked;
  act(box, () => api('POST', '/api/set_included', { asset: assetId, included: wanted, expected_generation: generation }))
    .then((result) => { if (!result) box.checked = !wanted; });
}

function apply(planId, actionId, button) {
  act(button, () => api('POST', '/api/reconcile_apply', { plan_id: planId, action_ids: [actionId] }));
}

function build() {
  const progress = $('build-progress');
  progress.hidden = false;
  progress.removeAttribute('value');
  $('build-result').textContent = 'building…';
  act($('build'), async () => {
    try {
      const report = await api('POST', '/api/build', {});
      $('build-result').textContent = `${report.assets} assets (${report.reused} reused), ${report.bytes} bytes → ${report.pack}`;
      return report;
    } catch (e) {
      // No build runs any more: a bar left spinning would say one does.
      progress.hidden = true;
      $('build-result').textContent = 'build failed';
      throw e;
    }
  });
}

function log(seq, name, event) {
  const row = element('tr', { 'data-event': name },
    element('td', { text: seq ?? '' }),
    element('td', { class: 'kind', text: name }),
    element('td', { text: event.generation ?? '' }),
    element('td', { text: event.command_id ?? '—' }),
    element('td', { class: 'details', text: fields(event, ['event', 'generation', 'command_id']) }));
  const body = $('log').tBodies[0];
  body.prepend(row);
  while (body.rows.length > LOG_LENGTH) body.lastElementChild.remove();
}

function onPacker(message) {
  const event = JSON.parse(message.data);
  log(message.lastEventId, event.event, event);
  if (event.changed) {
    for (const id of event.changed) thumbVersion.set(id, (thumbVersion.get(id) || 0) + 1);
  }
  switch (event.event) {
    case 'state_changed':
      // Shown at once: `stale` and `reconciling` may be over before a re-read.
      showState(event.to, event.generation);
      break;
    case 'build_started':
      $('build-progress').hidden = false;
      $('build-progress').max = Math.max(event.assets, 1);
      $('build-progress').value = 0;
      break;
    case 'build_progress':
      $('build-progress').max = Math.max(event.total, 1);
      $('build-progress').value = event.done;
      break;
    case 'build_completed':
      $('build-progress').value = $('build-progress').max;
      break;
    default:
      break;
  }
  refresh();
}

function connect() {
  const stream = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  stream.addEventListener('open', () => {
    $('live').dataset.live = 'yes';
    $('live').textContent = 'live';
    refresh();
  });
  stream.addEventListener('error', () => {
    $('live').dataset.live = 'no';
    $('live').textContent = 'reconnecting';
    if (stream.readyState !== EventSource.CLOSED) return;
    // The stream was answered with an error (a Studio restarted with a new token
    // refuses this page; a busy one answers 503), and the browser gives up on it. Try
    // again a little later; reading the views now puts the reason in the notice.
    stream.close();
    refresh();
    setTimeout(connect, 2000);
  });
  stream.addEventListener('packer', onPacker);
  stream.addEventListener('lagged', (message) => {
    log('', 'lagged', JSON.parse(message.data));
    refresh();
  });
  stream.addEventListener('subscriber_lagged', (message) => log('', 'subscriber_lagged', JSON.parse(message.data)));
}

$('check').addEventListener('click', (e) => act(e.target, () => api('POST', '/api/check_divergence', {})));
$('build').addEventListener('click', build);
connect();
refresh();
