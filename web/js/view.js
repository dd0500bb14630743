/*
 * The waiting page: GET /archive/{id}/view sends the browser here while a recording is not
 * ready yet. It polls GET /archive/{id} until the video can be played, then plays it.
 *
 * Polling: the first request at once, then after 1 s, each wait 1.5 times the last, up to
 * 3.5 s. Whenever the recording moves to a new status the wait starts again at 1 s, since
 * the next step tends to follow quickly. Coming back to the tab or back online polls at once.
 * Failures to reach the server keep the backoff going; a terminal status (ready, failed,
 * expired, deleted, unknown id) ends it.
 *
 * An individual archive (outputMode individual) is a stream per participant: once each is
 * split out of the archive's ZIP, the page plays each in a player of its own, says who it is
 * (the connection's data) and when it was recorded (its offsets), and offers the ZIP.
 */
(function () {
  'use strict';

  const {api, host, recordings, ui, format} = window.Sample;

  // Measured by `make bench`: a ready recording is noticed 1.6 s after it lands (median),
  // with 20 requests over a 60-second wait. A lower ceiling polls more; a higher one notices later.
  const FIRST_DELAY_MS = 1000;
  const DELAY_GROWTH = 1.5;
  const MAX_DELAY_MS = 3500;
  // The API's links to the video live five minutes; renew before handing one out after four.
  const LINK_FRESH_MS = 4 * 60 * 1000;
  const MAX_PLAYER_RETRIES = 3;

  const STAGES = ['recording', 'processing', 'uploading', 'ready'];
  // An OpenTok archive id, as the API checks it; anything else is a broken link.
  const ARCHIVE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  // Links that lead nowhere: no id, a mangled one, or one the server does not know.
  const NO_RECORDING = {
    missing: ['No recording chosen', 'This page shows one recording, and this link does not ' +
      'say which. Open it from a “View recording” link, or pick one from the Recordings page.'],
    invalid: ['This link is broken', 'This link does not point to a recording: part of it ' +
      'is missing or was changed. Ask for the link again, or pick the recording from the ' +
      'Recordings page.'],
    unknown: ['Recording not found', 'There is no recording behind this link: it was ' +
      'mistyped, or the recording has been removed since.']
  };
  const el = {
    title: document.getElementById('title'),
    subtitle: document.getElementById('subtitle'),
    stage: document.getElementById('stage'),
    steps: Array.from(document.querySelectorAll('#stage .step')),
    statusLine: document.getElementById('status-line'),
    spinner: document.getElementById('spinner'),
    status: document.getElementById('status'),
    playerWrap: document.getElementById('player-wrap'),
    player: document.getElementById('player'),
    streams: document.getElementById('streams'),
    download: document.getElementById('download'),
    details: document.getElementById('details'),
    detailName: document.getElementById('detail-name'),
    detailDate: document.getElementById('detail-date'),
    detailDuration: document.getElementById('detail-duration'),
    detailSize: document.getElementById('detail-size'),
    detailId: document.getElementById('detail-id'),
    wayBack: document.getElementById('way-back'),
    wayBackRecordings: document.getElementById('way-back-recordings')
  };

  const archiveId = (Sample.query('archiveId') || '').trim();

  const poller = {
    delay: FIRST_DELAY_MS,
    timer: null,
    inFlight: false,
    done: false,
    lastStatus: null
  };

  const media = {
    url: null, // what the player and the download link use now
    fetchedAt: 0,
    renewable: true, // false when the link is our own view route, which never expires
    retries: 0
  };

  // --- Polling ---------------------------------------------------------------------------

  function start() {
    if (!archiveId) {
      noRecording('missing');
      return;
    }
    if (!ARCHIVE_ID_PATTERN.test(archiveId)) {
      noRecording('invalid');
      return;
    }
    el.detailId.textContent = archiveId;
    el.player.addEventListener('error', playerFailed);
    el.player.addEventListener('loadeddata', () => { media.retries = 0; });
    el.download.addEventListener('click', downloadClicked);
    // Coming back to the tab or back online: look now rather than after the current wait.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') pollNow();
    });
    window.addEventListener('online', pollNow);
    poll();
  }

  function pollNow() {
    if (poller.done || poller.inFlight || !poller.timer) return;
    clearTimeout(poller.timer);
    poller.timer = null;
    poll();
  }

  function scheduleNext() {
    if (poller.done) return;
    poller.timer = setTimeout(poll, poller.delay);
    poller.delay = Math.min(poller.delay * DELAY_GROWTH, MAX_DELAY_MS);
  }

  async function poll() {
    poller.timer = null;
    poller.inFlight = true;
    let archive;
    try {
      archive = await fetchArchive();
    } catch (error) {
      poller.inFlight = false;
      couldNotPoll(error);
      return;
    }
    poller.inFlight = false;
    show(archive);
  }

  function fetchArchive() {
    return api.get(`/archive/${encodeURIComponent(archiveId)}`);
  }

  function couldNotPoll(error) {
    if (error.status === 404 || error.status === 410) {
      noRecording('unknown');
      return;
    }
    if (error.status === 400) {
      noRecording('invalid');
      return;
    }
    if (!error.transient) {
      // The server's own words are for developers; the status is kept for them.
      finish('error', 'This recording can\'t be shown right now (the server refused, HTTP ' +
        `${error.status}). Try again later, or go back.`);
      return;
    }
    const wait = Math.max(1, Math.round(poller.delay / 1000));
    const problem = error.kind === 'http'
      ? `the server had a problem (HTTP ${error.status}), retrying`
      : 'can\'t reach the server, retrying';
    setStatus(`Connection problem: ${problem} in ${wait} s…`, 'warn', true);
    scheduleNext();
  }

  // --- What the archive says -------------------------------------------------------------

  function show(archive) {
    showDetails(archive);
    const statusKey = `${archive.status}/${Boolean(archive.ready)}`;
    if (poller.lastStatus !== statusKey) {
      poller.lastStatus = statusKey;
      poller.delay = FIRST_DELAY_MS;
    }

    if (archive.streamsFailure) {
      unsplittable(archive);
      return;
    }
    switch (archive.status) {
      case 'failed':
        finish('failed', `This recording failed${failureReason(archive)}. ` +
          'There is no video to watch.');
        return;
      case 'expired':
        if (!archive.ready) {
          finish('expired', 'This recording has expired and is no longer available.');
          return;
        }
        break;
      case 'deleted':
        if (!archive.ready) {
          finish('deleted', 'This recording was deleted.');
          return;
        }
        break;
      default:
        break;
    }

    const stage = stageOf(archive);
    setStage(stage);
    if (stage === 'ready') {
      ready(archive);
      return;
    }
    setStatus(waitingText(archive), 'info', true);
    scheduleNext();
  }

  function failureReason(archive) {
    const reason = format.failureReason(archive);
    return reason ? `: ${reason}` : '';
  }

  function stageOf(archive) {
    if (archive.ready) return 'ready';
    switch (archive.status) {
      case 'started':
      case 'paused':
        return 'recording';
      case 'uploaded':
        return 'uploading';
      case 'available':
        // OpenTok kept the file itself: ready, through its link or through our view route.
        return 'ready';
      default:
        return 'processing'; // stopped, or a status newer than this page
    }
  }

  function waitingText(archive) {
    switch (archive.status) {
      case 'started':
        return 'Still recording. Stop the recording on the call page, and this page will ' +
          'follow it until the video is ready.';
      case 'paused':
        return 'Recording is paused because everyone left the call. It resumes when someone ' +
          'rejoins, and stops on its own if nobody does.';
      case 'uploaded':
        if (isZip(archive)) {
          return 'OpenTok has uploaded the recording; each participant\'s stream is being ' +
            'prepared for playback…';
        }
        return 'OpenTok has uploaded the video to storage; it will be ready in a moment…';
      default:
        return 'The recording has stopped. OpenTok is processing the video; this usually ' +
          'takes a few seconds to a few minutes…';
    }
  }

  function ready(archive) {
    poller.done = true;
    const link = archive.url || viewRoute();
    media.url = link;
    media.fetchedAt = Date.now();
    media.renewable = Boolean(archive.url);

    el.playerWrap.hidden = false;
    el.download.href = link;
    el.download.hidden = false;
    el.download.setAttribute('download', `recording-${archive.id}.${isZip(archive) ? 'zip' : 'mp4'}`);

    if (isZip(archive)) {
      el.download.textContent = 'Download ZIP';
      showStreams(archive.streams || []);
      setStatus(`Your recording is ready: ${streamCount(archive.streams)}, one per ` +
        'participant. The ZIP holds them all.', 'ok', false);
      return;
    }
    el.download.textContent = 'Download MP4';
    el.player.hidden = false;
    el.player.src = link;
    setStatus(archive.url ? 'Your recording is ready.'
      : 'Your recording is ready. OpenTok stores this one, so it streams from OpenTok.', 'ok', false);
  }

  function isZip(archive) {
    return archive.outputMode === 'individual';
  }

  function streamCount(streams) {
    const count = (streams || []).length;
    return count === 1 ? '1 stream' : `${count} streams`;
  }

  // The ZIP could not be split into streams: it is kept, and offered as it is.
  function unsplittable(archive) {
    finish('failed', `This recording's streams couldn't be prepared for playback: ` +
      `${archive.streamsFailure}. Its ZIP file is kept: download it instead.`);
    if (!archive.url) return;
    media.url = archive.url;
    media.fetchedAt = Date.now();
    el.playerWrap.hidden = false;
    el.download.href = archive.url;
    el.download.hidden = false;
    el.download.textContent = 'Download ZIP';
    el.download.setAttribute('download', `recording-${archive.id}.zip`);
  }

  // --- One player per stream -------------------------------------------------------------

  function showStreams(streams) {
    el.streams.replaceChildren(...streams.map(streamItem));
    el.streams.hidden = streams.length === 0;
  }

  function streamItem(stream, index) {
    const item = document.createElement('li');
    item.className = 'stream';
    item.dataset.streamId = stream.streamId;
    const heading = document.createElement('div');
    heading.className = 'stream-head';
    const who = document.createElement('strong');
    who.className = 'stream-who';
    who.textContent = whoOf(stream, index);
    const when = document.createElement('span');
    when.className = 'stream-when';
    when.textContent = whenOf(stream);
    heading.append(who, when);
    const video = document.createElement('video');
    video.className = 'player stream-player';
    video.dataset.testid = 'stream-player';
    video.controls = true;
    video.playsInline = true;
    video.preload = 'metadata';
    video.setAttribute('aria-label', `${who.textContent}, ${when.textContent}`);
    video.src = stream.url;
    video.addEventListener('error', () => streamFailed(video, stream.streamId));
    item.append(heading, video);
    return item;
  }

  // Who published the stream: a name in the connection's data ("name=Ann", or JSON with a
  // name) if it has one, the data itself otherwise, and a number when there is none.
  function whoOf(stream, index) {
    const data = (stream.connectionData || '').trim();
    if (!data) return `Participant ${index + 1}`;
    try {
      const parsed = JSON.parse(data);
      if (parsed && typeof parsed.name === 'string' && parsed.name) return parsed.name;
    } catch (ignored) {
      // not JSON
    }
    const named = new URLSearchParams(data).get('name');
    return named || data;
  }

  function whenOf(stream) {
    const start = stream.startTimeOffset;
    const stop = stream.stopTimeOffset;
    if (start === null || start === undefined) return '';
    const from = format.clock(start / 1000);
    if (stop === null || stop === undefined || stop <= start) return `from ${from}`;
    return `${from} – ${format.clock(stop / 1000)} into the recording`;
  }

  // A stream's link expires like any other: renew it and resume where it was.
  async function streamFailed(video, streamId) {
    const tries = Number(video.dataset.retries || 0);
    if (tries >= MAX_PLAYER_RETRIES) return;
    video.dataset.retries = String(tries + 1);
    const resumeAt = video.currentTime || 0;
    let archive;
    try {
      archive = await fetchArchive();
    } catch (error) {
      ui.showError(`Couldn't renew the link to a stream: ${error.message}.`);
      return;
    }
    const fresh = (archive.streams || []).find((stream) => stream.streamId === streamId);
    if (!fresh || !fresh.url) return;
    video.src = fresh.url;
    video.addEventListener('loadedmetadata', () => {
      if (resumeAt) video.currentTime = resumeAt;
    }, {once: true});
  }

  function viewRoute() {
    return api.url(`/archive/${encodeURIComponent(archiveId)}/view`);
  }

  // Nothing to follow: no progress to show, a plain sentence and a way back.
  function noRecording(kind) {
    const [title, message] = NO_RECORDING[kind];
    el.title.textContent = title;
    document.title = `${title} · OpenTok archiving sample`;
    el.subtitle.hidden = true;
    el.stage.hidden = true;
    el.details.hidden = true;
    finish(kind, message);
  }

  function finish(stage, message) {
    el.wayBack.hidden = false;
    el.wayBackRecordings.hidden = !recordings.offered();
    poller.done = true;
    clearTimeout(poller.timer);
    poller.timer = null;
    el.stage.classList.add('is-ended');
    el.stage.dataset.stage = stage;
    const reached = el.steps.some((step) => step.dataset.state === 'current');
    if (stage === 'failed' && !reached) markSteps('processing');
    if (stage === 'expired' || stage === 'deleted') markSteps('ready');
    setStatus(message, 'error', false);
  }

  // --- The video and its link ------------------------------------------------------------

  // Links expire, so a video that played fine can fail later when it seeks: renew and resume.
  async function playerFailed() {
    if (!media.url) return;
    if (media.retries >= MAX_PLAYER_RETRIES) {
      setStatus('The video can\'t be played in this browser. Try downloading it instead.',
        'warn', false);
      return;
    }
    media.retries += 1;
    const resumeAt = el.player.currentTime || 0;
    const wasPlaying = !el.player.paused;
    let link;
    try {
      link = await freshLink();
    } catch (error) {
      setStatus(`The video stopped loading: ${error.message}.`, 'warn', false);
      ui.showError(`Couldn't renew the link to the video: ${error.message}.`, {retry: playerFailed});
      return;
    }
    el.player.src = link;
    el.player.addEventListener('loadedmetadata', () => {
      if (resumeAt) el.player.currentTime = resumeAt;
      if (wasPlaying) el.player.play().catch(() => {});
    }, {once: true});
  }

  async function downloadClicked(event) {
    if (!media.renewable || Date.now() - media.fetchedAt < LINK_FRESH_MS) return;
    event.preventDefault();
    try {
      window.location.assign(await freshLink());
    } catch (error) {
      ui.showError(`Couldn't get a fresh download link: ${error.message}.`,
        {retry: () => el.download.click()});
    }
  }

  async function freshLink() {
    if (!media.renewable) return media.url;
    const archive = await fetchArchive();
    if (!archive.url) throw new Error('the server no longer offers this video');
    media.url = archive.url;
    media.fetchedAt = Date.now();
    el.download.href = archive.url;
    return archive.url;
  }

  // --- Rendering -------------------------------------------------------------------------

  function setStage(stage) {
    el.stage.classList.remove('is-ended');
    el.stage.dataset.stage = stage;
    markSteps(stage);
  }

  function markSteps(stage) {
    const current = STAGES.indexOf(stage);
    el.steps.forEach((step, index) => {
      const state = index < current ? 'done' : index === current ? 'current' : 'todo';
      step.dataset.state = state;
      if (state === 'current') step.setAttribute('aria-current', 'step');
      else step.removeAttribute('aria-current');
    });
  }

  function setStatus(text, tone, busy) {
    el.status.textContent = text;
    el.statusLine.dataset.tone = tone;
    el.spinner.hidden = !busy;
  }

  function showDetails(archive) {
    el.details.hidden = false;
    const name = archive.name || 'Untitled recording';
    el.title.textContent = archive.name ? `Recording “${archive.name}”` : 'Your recording';
    document.title = `${name} · OpenTok archiving sample`;
    el.detailName.textContent = name;
    el.detailDate.textContent = format.date(archive.createdAt);
    const recording = archive.status === 'started' || archive.status === 'paused';
    el.detailDuration.textContent = recording ? 'still recording' : format.duration(archive.duration);
    el.detailSize.textContent = format.megabytes(archive.size);
    el.detailId.textContent = archive.id || archiveId;
  }

  start();
})();
