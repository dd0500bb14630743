/*
 * The history page: GET /archive a page at a time, newest first, "Load more" following the
 * cursor. ?sessionId=... on this page's address narrows it to one session.
 */
(function () {
  'use strict';

  const {api, host, ui, format} = window.Sample;

  const PAGE_SIZE = 20;
  // Statuses where the view route has nothing to show; the waiting page explains them instead.
  const GONE = new Set(['failed', 'expired', 'deleted']);
  const TONES = {
    started: 'live',
    paused: 'live',
    stopped: 'busy',
    uploaded: 'busy',
    available: 'ok',
    failed: 'bad',
    expired: 'bad',
    deleted: 'bad'
  };

  const el = {
    table: document.getElementById('archives'),
    rows: document.getElementById('archive-rows'),
    empty: document.getElementById('archives-empty'),
    summary: document.getElementById('archives-summary'),
    loadMore: document.getElementById('load-more'),
    refresh: document.getElementById('refresh'),
    lead: document.getElementById('history-lead')
  };

  const sessionId = Sample.query('sessionId');
  const list = {cursor: null, loading: false, loaded: false, generation: 0};

  function start() {
    if (sessionId) el.lead.textContent = 'Recordings of one session, newest first.';
    el.loadMore.addEventListener('click', () => load(false));
    el.refresh.addEventListener('click', () => load(true));
    load(true);
  }

  async function load(fromStart) {
    if (list.loading && !fromStart) return;
    // A refresh overrides a page still loading; its late answer is then ignored.
    const generation = ++list.generation;
    list.loading = true;
    setBusy(true, fromStart);
    const params = new URLSearchParams({limit: String(PAGE_SIZE)});
    if (!fromStart && list.cursor) params.set('cursor', list.cursor);
    if (sessionId) params.set('sessionId', sessionId);

    let page;
    try {
      // The history is the host's (ArchiveControl `host`): it names every room's recordings.
      page = await api.get(`/archive?${params}`, {headers: host.headers()});
    } catch (error) {
      if (generation !== list.generation) return;
      list.loading = false;
      setBusy(false, fromStart);
      if (error.status === 401 || error.status === 403) {
        el.summary.textContent = 'Only the host can see the list of recordings.';
        ui.showError(host.key() ? 'This host link is no longer valid: ask for a new one.'
          : 'Only the host can see the list of recordings: open this page from the host ' +
            'link. Anyone in a room can still watch its recording from the call page.');
        return;
      }
      if (!el.rows.children.length) el.summary.textContent = 'The recordings could not be loaded.';
      ui.showError(`Couldn't load the recordings: ${error.message}.`, {retry: () => load(fromStart)});
      return;
    }
    if (generation !== list.generation) return;
    list.loading = false;
    list.loaded = true;
    ui.clearError();
    if (fromStart) el.rows.replaceChildren();
    (page.items || []).forEach(addRow);
    list.cursor = page.cursor || null;
    setBusy(false, fromStart);
  }

  function setBusy(busy, fromStart) {
    el.table.setAttribute('aria-busy', String(busy));
    el.refresh.disabled = busy && fromStart;
    el.loadMore.disabled = busy;
    el.loadMore.textContent = busy && !fromStart ? 'Loading…' : 'Load more';
    if (busy) {
      if (fromStart) el.summary.textContent = 'Loading recordings…';
      return;
    }
    const count = el.rows.children.length;
    el.loadMore.hidden = !list.cursor;
    // "No recordings yet" only once the server has said so, not after a failed first load.
    el.empty.hidden = count > 0 || !list.loaded;
    el.table.hidden = count === 0;
    el.summary.textContent = count === 0 ? '' : `Showing ${count} recording${count === 1 ? '' : 's'}` +
      (list.cursor ? '; there are more.' : '.');
  }

  function addRow(archive) {
    if (!archive || !archive.id) return;
    if (el.rows.querySelector(`[data-archive-id="${CSS.escape(archive.id)}"]`)) return;
    const row = document.createElement('tr');
    row.dataset.archiveId = archive.id;
    row.dataset.status = archive.status || '';

    const name = cell('cell-name');
    const title = document.createElement('span');
    title.className = 'archive-name';
    title.textContent = archive.name || 'Untitled recording';
    const id = document.createElement('span');
    id.className = 'archive-id';
    id.textContent = archive.id;
    name.append(title, id);

    const recording = archive.status === 'started' || archive.status === 'paused';
    const status = cell('', 'Status');
    status.append(badge(format.statusLabel(archive.status), TONES[archive.status]));
    const ready = cell('', 'Ready');
    ready.append(archive.ready ? badge('Yes', 'ok') : badge('No'));

    row.append(
      name,
      cell('', 'Date', format.date(archive.createdAt)),
      cell('num', 'Duration', recording ? '—' : format.duration(archive.duration)),
      cell('num', 'Size', format.megabytes(archive.size)),
      status,
      ready,
      actionCell(archive)
    );
    el.rows.append(row);
  }

  function actionCell(archive) {
    const td = cell('cell-action');
    const link = document.createElement('a');
    link.className = 'btn btn-small btn-secondary';
    const label = archive.name || 'untitled recording';
    // Our player page either way, never the bare file the API's /view route redirects to.
    link.href = `view.html?archiveId=${encodeURIComponent(archive.id)}`;
    if (GONE.has(archive.status) && !archive.ready) {
      link.textContent = 'Details';
      link.setAttribute('aria-label', `Details of ${label}`);
    } else {
      link.textContent = 'View';
      link.setAttribute('aria-label', `View ${label}`);
      link.dataset.testid = 'view';
    }
    td.append(link);
    return td;
  }

  function cell(className, label, text) {
    const td = document.createElement('td');
    if (className) td.className = className;
    if (label) td.dataset.label = label;
    if (text !== undefined) td.textContent = text;
    return td;
  }

  function badge(text, tone) {
    const span = document.createElement('span');
    span.className = 'badge';
    if (tone) span.dataset.tone = tone;
    span.textContent = text;
    return span;
  }

  start();
})();
