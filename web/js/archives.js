/*
 * The history page: GET /archive a page at a time, newest first, "Load more" following the
 * cursor. ?sessionId=... on this page's address narrows it to one session.
 *
 * Rows still recording or processing are looked at again (GET /archive/{id}) every few
 * seconds, and only those, until they settle; the host may delete a recording. The parts of a
 * recording that OpenTok's 4-hour limit split (ContinueAfterLimit) are listed together,
 * newest part first, each labelled "Part 2 of 3".
 */
(function () {
  'use strict';

  const {api, host, ui, format} = window.Sample;

  const PAGE_SIZE = 20;
  // Statuses where the view route has nothing to show; the waiting page explains them instead.
  const GONE = new Set(['failed', 'expired', 'deleted']);
  // How often rows still changing are looked at again: processing takes seconds to minutes,
  // so the first looks come quickly and later ones slow down, to one a minute at most; a row
  // that has just changed (a recording stopped, say) is soon to change again: quick again.
  const REFRESH_FIRST_MS = 3000;
  const REFRESH_GROWTH = 1.5;
  const REFRESH_MAX_MS = 60000;
  // OpenTok refuses to delete a recording under way.
  const DELETABLE_AFTER = new Set(['started', 'paused', 'deleted']);

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
  const list = {
    cursor: null, loading: false, loaded: false, generation: 0,
    timer: null, refreshDelay: REFRESH_FIRST_MS
  };

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
    list.refreshDelay = REFRESH_FIRST_MS;
    followUnsettled();
  }

  // Cheap: one GET per row still changing, none once all have settled.
  function followUnsettled() {
    clearTimeout(list.timer);
    list.timer = null;
    if (!el.rows.querySelector('tr[data-settled="false"]')) return;
    list.timer = setTimeout(refreshUnsettled, list.refreshDelay);
    list.refreshDelay = Math.min(list.refreshDelay * REFRESH_GROWTH, REFRESH_MAX_MS);
  }

  async function refreshUnsettled() {
    const ids = Array.from(el.rows.querySelectorAll('tr[data-settled="false"]'),
      (row) => row.dataset.archiveId);
    let changed = false;
    await Promise.all(ids.map(async (id) => {
      try {
        changed = replaceRow(await api.get(`/archive/${encodeURIComponent(id)}`)) || changed;
      } catch (ignored) {
        // Tried again at the next round; the row keeps what it last said.
      }
    }));
    if (changed) list.refreshDelay = REFRESH_FIRST_MS;
    followUnsettled();
  }

  // Shows the archive in its row; true when that changed its status.
  function replaceRow(archive) {
    const old = rowOf(archive.id);
    if (!old) return false;
    const row = buildRow(archive);
    // A keyboard user on the row's link or button stays there.
    const focused = old.contains(document.activeElement) && document.activeElement.dataset.role;
    old.replaceWith(row);
    labelParts(row.dataset.seriesId);
    if (focused) {
      const again = row.querySelector(`[data-role="${focused}"]`);
      if (again) again.focus();
    }
    return row.dataset.status !== old.dataset.status;
  }

  function rowOf(id) {
    return el.rows.querySelector(`[data-archive-id="${CSS.escape(id)}"]`);
  }

  async function deleteArchive(archive, button) {
    const name = title(archive);
    if (!window.confirm(`Delete the recording “${name}”? The video is removed for everyone ` +
        'and cannot be brought back.')) return;
    button.disabled = true;
    button.textContent = 'Deleting…';
    try {
      const deleted = await api.delete(`/archive/${encodeURIComponent(archive.id)}`,
        {headers: host.headers()});
      replaceRow(deleted);
      el.summary.textContent = `Deleted “${name}”.`;
      const row = rowOf(archive.id);
      const link = row && row.querySelector('[data-role="open"]');
      if (link) link.focus(); // the button is gone with the old row
      ui.clearError();
    } catch (error) {
      button.disabled = false;
      button.textContent = 'Delete';
      ui.showError(`Couldn't delete “${name}”: ${error.message}.`);
    }
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
    if (!archive || !archive.id || rowOf(archive.id)) return;
    placeRow(buildRow(archive));
  }

  // The room the recording was made in, from the name our call page gives it.
  function title(archive) {
    return format.roomOf(archive.name) || 'Untitled recording';
  }

  function buildRow(archive) {
    const row = document.createElement('tr');
    row.dataset.archiveId = archive.id;
    row.dataset.status = archive.status || '';
    row.dataset.settled = String(Sample.settled(archive));

    const name = cell('cell-name');
    const room = document.createElement('span');
    room.className = 'archive-name';
    room.textContent = title(archive);
    const id = document.createElement('span');
    id.className = 'archive-id';
    id.textContent = archive.id;
    name.append(room, id);
    if (archive.seriesId && archive.part) name.append(partLabel(row, archive));

    const recording = archive.status === 'started' || archive.status === 'paused';
    const status = cell('', 'Status');
    const state = format.archiveState(archive);
    status.append(badge(state.label, state.tone));
    const why = format.failureReason(archive);
    if (why) {
      const reason = document.createElement('span');
      reason.className = 'archive-reason';
      reason.dataset.testid = 'archive-reason';
      reason.textContent = why;
      status.append(reason);
    }

    row.append(
      name,
      cell('', 'Recorded', format.date(archive.createdAt)),
      cell('num', 'Duration', recording ? 'still recording' : format.duration(archive.duration)),
      cell('num', 'Size', format.megabytes(archive.size)),
      status,
      actionCell(archive)
    );
    return row;
  }

  function partLabel(row, archive) {
    row.dataset.seriesId = archive.seriesId;
    row.dataset.part = String(archive.part);
    const label = document.createElement('span');
    label.className = 'archive-part';
    label.dataset.testid = 'archive-part';
    return label;
  }

  // A part goes after the parts of its series already listed, wherever the list has got to
  // (other rooms' recordings may fall between them in time, or on another page). The count
  // is of the parts listed: the newest is listed first, so the last part is always among them.
  function placeRow(row) {
    const series = partsOf(row.dataset.seriesId);
    if (series.length) series[series.length - 1].after(row);
    else el.rows.append(row);
    labelParts(row.dataset.seriesId);
  }

  function labelParts(seriesId) {
    const series = partsOf(seriesId);
    const parts = Math.max(...series.map((part) => Number(part.dataset.part)));
    for (const part of series) {
      part.querySelector('.archive-part').textContent = `Part ${part.dataset.part} of ${parts}`;
    }
  }

  function partsOf(seriesId) {
    if (!seriesId) return [];
    return [...el.rows.querySelectorAll(`tr[data-series-id="${CSS.escape(seriesId)}"]`)];
  }

  function actionCell(archive) {
    const td = cell('cell-action');
    const link = document.createElement('a');
    link.className = 'btn btn-small btn-secondary';
    link.dataset.role = 'open';
    const label = `${title(archive)}, ${format.date(archive.createdAt)}`;
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
    if (host.key() && !DELETABLE_AFTER.has(archive.status)) {
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'btn btn-small btn-quiet-danger';
      remove.dataset.role = 'delete';
      remove.dataset.testid = 'delete';
      remove.textContent = 'Delete';
      remove.setAttribute('aria-label', `Delete ${label}`);
      remove.addEventListener('click', () => deleteArchive(archive, remove));
      td.append(remove);
    }
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
