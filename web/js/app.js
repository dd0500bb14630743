/*
 * The call page: join a room, publish your camera, see the others, and start or stop
 * recording the session.
 *
 * The recording state shown here follows the session's archiveStarted / archiveStopped
 * events, never our own clicks, so everyone in the room sees the same thing whoever pressed
 * the button. A click only asks the server and waits for the event.
 *
 * Who may press them is the server's to say: with ArchiveControl `host`, only the host (who
 * opened the host link) gets a moderator token and sees the controls; in `open`, everyone.
 * With ArchiveMode `always` nobody does: the room records by itself, and the page says so.
 *
 * When OpenTok stops a recording itself (too long, nobody publishing, everyone gone), the
 * page reads the archive's reason and says it in plain words. While recording, it counts down
 * the time left before OpenTok's 4-hour limit, and warns in the last 10 minutes; a next part
 * that the server started after that limit (ContinueAfterLimit) is named as such.
 *
 * What becomes of a recording afterwards (ready, failed, deleted) the server tells the whole
 * room as an OpenTok signal of type `archive`: the page shows it when it arrives and never
 * asks. Visitors outside the room have the waiting page (view.html), which polls.
 */
(function () {
  'use strict';

  const {api, host, recordings, ui, format} = window.Sample;

  // A room's name, or a participant's invite to it: the name, a dot, a code (22 characters).
  const ROOM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,86}$/;
  const OPENTOK_LOAD_TIMEOUT_MS = 20000;
  // After the server accepted a start or stop, how long to wait for the session's event
  // before trusting the server's answer instead.
  const EVENT_GRACE_MS = 8000;
  const MAX_ARCHIVE_NAME = 80;
  // A late joiner asks the server when the recording began; clocks differ by a little.
  const CLOCK_SKEW_TOLERANCE_MS = 3000;
  // Why OpenTok stopped a recording nobody here stopped: its `reason`, in plain words.
  const STOP_REASONS = {
    'maximum duration exceeded': 'it reached OpenTok\'s 4-hour limit.',
    'maximum idle time exceeded': 'nobody shared a camera or microphone for too long.',
    'session ended': 'everyone left the call.'
  };
  // OpenTok stops a recording once it has recorded 4 hours (contract §6); warn 10 minutes ahead.
  const RECORDING_LIMIT_MS = 4 * 3600 * 1000;
  const LIMIT_WARNING_MS = 10 * 60 * 1000;
  // The archive's reason arrives with its status; look a few times, a second apart.
  const STOP_REASON_TRIES = 5;
  const STOP_REASON_WAIT_MS = 1000;
  // The room hears of a stop from OpenTok, our table from the stop route or the callback, maybe
  // later: an answer that still says it records uses no try, for this long at most.
  const STOP_REASON_PATIENCE_MS = 30000;
  // The server's signal about a recording: {"archiveId", "state"}, in these states.
  const ARCHIVE_SIGNAL = 'signal:archive';
  const ARCHIVE_ID_PATTERN = /^[0-9a-fA-F-]{36}$/;
  const NEWS = {
    processing: 'Recording stopped — processing…', // ours, until the server's word comes
    ready: 'Recording ready.',
    failed: 'The recording failed: OpenTok could not produce or store it.',
    deleted: 'The recording was deleted.'
  };

  const el = {
    roomName: document.getElementById('room-name'),
    connection: document.getElementById('connection-status'),
    publisher: document.getElementById('publisher'),
    publisherPlaceholder: document.getElementById('publisher-placeholder'),
    tileRecording: document.getElementById('tile-recording'),
    newRoom: document.getElementById('new-room'),
    nobodyYet: document.getElementById('nobody-yet'),
    panel: document.getElementById('recording'),
    subscribers: document.getElementById('subscribers'),
    subscribersEmpty: document.getElementById('subscribers-empty'),
    othersCount: document.getElementById('others-count'),
    start: document.getElementById('start'),
    stop: document.getElementById('stop'),
    indicator: document.getElementById('recording-indicator'),
    elapsed: document.getElementById('recording-elapsed'),
    recordingLabel: document.getElementById('recording-label'),
    left: document.getElementById('recording-left'),
    limitWarning: document.getElementById('limit-warning'),
    limitContinues: document.getElementById('limit-continues'),
    viewLink: document.getElementById('view-link'),
    hostOnly: document.getElementById('host-only-note'),
    automatic: document.getElementById('automatic-note'),
    stopReason: document.getElementById('stop-reason'),
    news: document.getElementById('recording-news'),
    newsText: document.getElementById('recording-news-text'),
    watchLink: document.getElementById('watch-link'),
    invite: document.getElementById('invite'),
    historyLink: document.getElementById('history-link'),
    recordingHint: document.getElementById('recording-hint'),
    inviteLink: document.getElementById('invite-link'),
    announcer: document.getElementById('announcer'),
    options: document.getElementById('recording-options'),
    optionLayout: document.getElementById('option-layout'),
    optionResolution: document.getElementById('option-resolution'),
    optionMedia: document.getElementById('option-media'),
    optionStreamMode: document.getElementById('option-stream-mode'),
    optionOutput: document.getElementById('option-output'),
    layoutChange: document.getElementById('layout-change'),
    recordingLayout: document.getElementById('recording-layout'),
    applyLayout: document.getElementById('apply-layout'),
    recordedStreams: document.getElementById('recorded-streams'),
    recordedStreamsList: document.getElementById('recorded-streams-list')
  };

  const state = {
    room: Sample.query('room') || 'session', // as the link names it: maybe an invite
    roomName: null, // the room's name, as the server says it; to show
    invite: null, // the room's invite, for a host in `host` control
    session: null,
    sessionId: null,
    token: null,
    role: null, // 'moderator' for the host, 'publisher' for everyone else
    control: null, // 'host' or 'open', as the server says
    mode: null, // 'manual' or 'always' (the room records by itself), as the server says
    created: false, // this join made the room: nobody else can be in it yet
    connected: false,
    publisher: null,
    publisherReady: false,
    published: false,
    participantName: `Guest ${Math.floor(100 + Math.random() * 900)}`,
    // {id, name, since} while the session records, with {createdAt} once the API has said it;
    // for hosts also {layout, outputMode, streamMode, streams} once the server has told them.
    recording: null,
    started: {}, // archive id -> what start answered, for the recording's event to pick up
    changing: false, // a layout or stream change waits for the server
    choosing: null, // {streamId, include} of a stream change waiting for the server
    lastStopped: null, // {id, name} of the latest recording that ended
    news: null, // {id, state} of the latest recording the server told the room about
    focusOnControls: false, // the keyboard's focus was on Start, Stop or their panel
    pending: null, // 'start' | 'stop' while a click waits for its event
    pendingTimer: null,
    ticker: null
  };

  // --- Boot ------------------------------------------------------------------------------

  function boot() {
    // The name to show, not an invite's code (someone may be sharing their screen).
    state.roomName = state.room.replace(/\.[A-Za-z0-9_-]{22}$/, '');
    el.roomName.textContent = state.roomName;
    el.start.addEventListener('click', startRecording);
    el.stop.addEventListener('click', stopRecording);
    el.layoutChange.addEventListener('submit', changeLayout);
    el.optionOutput.addEventListener('change', render);
    document.addEventListener('visibilitychange', renderElapsed);
    render();

    if (!ROOM_PATTERN.test(state.room)) {
      setConnection('disconnected', 'Not connected');
      el.publisherPlaceholder.textContent = 'Not joined: the room name is invalid';
      ui.showError('This room name is invalid. A room name has 1 to 64 letters, digits, dots, ' +
        'dashes or underscores, and starts with a letter or digit: fix it after ?room= in the ' +
        'address (for example ?room=team-standup), or open the default room.', {
        retry: () => window.location.assign(participantLinkTo('session')),
        retryLabel: 'Open the default room'
      });
      return;
    }
    loadOpenTokAndJoin();
  }

  async function loadOpenTokAndJoin() {
    setConnection('connecting', 'Loading OpenTok…');
    try {
      await loadOpenTok();
    } catch (error) {
      setConnection('disconnected', 'Not connected');
      ui.showError(error.message, {retry: loadOpenTokAndJoin});
      return;
    }
    if (OT.checkSystemRequirements() !== 1) {
      setConnection('disconnected', 'Not supported');
      ui.showError('This browser does not support OpenTok video calls. Try a current ' +
        'version of Chrome, Firefox, Safari or Edge.');
      return;
    }
    startPublisher();
    join();
  }

  function loadOpenTok() {
    if (window.OT && typeof window.OT.initSession === 'function') return Promise.resolve();
    const url = window.OPENTOK_JS_URL || 'https://static.opentok.com/v2/js/opentok.min.js';
    const integrity = window.OPENTOK_JS_INTEGRITY || '';
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      const fail = (why) => {
        clearTimeout(timer);
        script.remove(); // a retry inserts a fresh tag; a late load of this one is harmless
        reject(new Error(`Couldn't load OpenTok.js from ${url} (${why}). Check your ` +
          `connection, or ${integrity ? 'OPENTOK_JS_URL and OPENTOK_JS_INTEGRITY' : 'OPENTOK_JS_URL'} ` +
          'in js/config.js.'));
      };
      const timer = setTimeout(() => fail('it took too long'), OPENTOK_LOAD_TIMEOUT_MS);
      if (integrity) {
        // The browser refuses a file whose digest is not this one; SRI needs a CORS request.
        script.integrity = integrity;
        script.crossOrigin = 'anonymous';
      }
      script.src = url;
      script.async = true;
      script.onload = () => {
        clearTimeout(timer);
        if (window.OT && typeof window.OT.initSession === 'function') resolve();
        else fail('the script did not define OT');
      };
      // The browser says the same of a file that fails its integrity check as of a failed request.
      script.onerror = () => fail(integrity
        ? 'the request failed, or the file is not the one OPENTOK_JS_INTEGRITY pins'
        : 'the request failed');
      document.head.appendChild(script);
    });
  }

  // --- Joining the room ------------------------------------------------------------------

  async function join() {
    leaveSession();
    setConnection('connecting', 'Connecting…');
    let credentials;
    try {
      credentials = await api.get(roomPath(),
        {headers: host.headers()});
    } catch (error) {
      setConnection('disconnected', 'Not connected');
      if (error.status === 403 && host.key()) {
        ui.showError('This host link is no longer valid (the host key changed). Ask for a ' +
          'new one, or join as a participant.', {
          retry: () => {
            host.forget();
            join();
          },
          retryLabel: 'Join as a participant'
        });
        return;
      }
      if (error.status === 404) {
        // In `host` control a room opens by its participant link only, and says no more.
        ui.showError('There is no such room, or this is not its participant link. Ask the ' +
          'host for the room\'s participant link.');
        return;
      }
      ui.showError(`Couldn't join the room: ${error.message}.`, {retry: join});
      return;
    }
    state.token = credentials.token;
    state.invite = credentials.invite || null;
    state.roomName = credentials.room || state.room;
    el.roomName.textContent = state.roomName;
    state.role = credentials.role || 'publisher';
    state.control = credentials.archiveControl || 'open';
    recordings.rememberControl(state.control);
    state.mode = credentials.archiveMode || 'manual';
    state.created = credentials.created === true;
    // The server starts the next part after OpenTok's 4-hour limit (ContinueAfterLimit).
    el.limitContinues.hidden = credentials.continueAfterLimit !== true;

    const session = OT.initSession(credentials.apiKey, credentials.sessionId);
    state.session = session;
    state.sessionId = credentials.sessionId;
    session.on({
      streamCreated: (event) => subscribe(event.stream),
      streamDestroyed: (event) => removeSubscriberTile(event.stream.streamId),
      archiveStarted: (event) => recordingStarted(event.id, event.name),
      archiveStopped: (event) => recordingStopped(event.id, event.name),
      // Only the server's word (no sender): any page in the room may signal `archive` too.
      [ARCHIVE_SIGNAL]: (event) => { if (!event.from) archiveNews(event.data); },
      sessionReconnecting: () => setConnection('reconnecting', 'Reconnecting…'),
      sessionReconnected: () => setConnection('connected', 'Connected'),
      sessionDisconnected: (event) => disconnected(session, event.reason)
    });
    session.connect(credentials.token, (error) => {
      if (state.session !== session) return;
      if (error) {
        setConnection('disconnected', 'Not connected');
        ui.showError(`Couldn't connect to the session: ${describeOpenTokError(error)}`, {retry: join});
        return;
      }
      state.connected = true;
      setConnection('connected', 'Connected');
      render();
      publish();
    });
  }

  function leaveSession() {
    const old = state.session;
    if (!old) return;
    state.session = null;
    state.connected = false;
    state.published = false;
    settlePending();
    old.off();
    old.disconnect();
    clearSubscribers();
    setRecording(null);
  }

  function disconnected(session, reason) {
    if (state.session !== session) return;
    state.connected = false;
    state.published = false;
    clearSubscribers();
    settlePending();
    // Nobody can tell us any more whether the session records, so stop claiming either way.
    setRecording(null);
    setConnection('disconnected', 'Disconnected');
    // Our own disconnects unhook the handlers first (leaveSession), so this one came to us.
    const why = reason === 'forceDisconnected' ? 'you were removed from the session'
      : reason === 'networkDisconnected' ? 'the connection was lost'
        : 'the session ended this connection';
    ui.showError(`You are no longer in the room: ${why}.`, {retry: join, retryLabel: 'Rejoin'});
  }

  // --- Your camera -----------------------------------------------------------------------

  function startPublisher() {
    if (state.publisher) {
      state.publisher.off();
      state.publisher.destroy();
    }
    state.publisherReady = false;
    state.published = false;
    el.publisherPlaceholder.textContent = 'Starting your camera…';
    const publisher = OT.initPublisher(el.publisher, {
      insertMode: 'append',
      width: '100%',
      height: '100%',
      name: state.participantName,
      style: {nameDisplayMode: 'off'}
    }, (error) => {
      if (state.publisher !== publisher) return;
      if (error) {
        el.publisherPlaceholder.textContent = 'Camera unavailable';
        ui.showError(`Couldn't start your camera: ${describeOpenTokError(error)}`,
          {retry: startPublisher});
        return;
      }
      state.publisherReady = true;
      el.publisherPlaceholder.textContent = '';
      publish();
    });
    // Keep the preview when the session ends, so a rejoin can publish it again.
    publisher.on('streamDestroyed', (event) => {
      event.preventDefault();
      if (state.publisher === publisher) state.published = false;
    });
    publisher.on('destroyed', () => {
      if (state.publisher !== publisher) return;
      state.publisher = null;
      state.publisherReady = false;
      state.published = false;
    });
    state.publisher = publisher;
  }

  function publish() {
    const {session, publisher} = state;
    if (!state.connected || !publisher || !state.publisherReady || state.published) return;
    state.published = true;
    session.publish(publisher, (error) => {
      if (state.session !== session) return;
      if (!error) {
        render(); // the camera's stream now exists: a manual recording may take it in
      } else {
        state.published = false;
        ui.showError(`Couldn't share your camera with the room: ${describeOpenTokError(error)}`,
          {retry: publish});
      }
    });
  }

  // --- The others ------------------------------------------------------------------------

  function subscribe(stream) {
    const {session} = state;
    if (!session || el.subscribers.querySelector(tileSelector(stream.streamId))) return;
    const tile = document.createElement('figure');
    tile.className = 'tile subscriber-tile';
    tile.dataset.streamId = stream.streamId;
    const slot = document.createElement('div');
    slot.className = 'video-slot';
    const caption = document.createElement('figcaption');
    caption.className = 'tile-caption';
    caption.textContent = stream.name || 'Guest';
    tile.append(slot, caption);
    el.subscribers.append(tile);
    updateOthers();

    session.subscribe(stream, slot, {
      insertMode: 'append',
      width: '100%',
      height: '100%',
      style: {nameDisplayMode: 'off'}
    }, (error) => {
      if (!error || state.session !== session) return;
      ui.showError(`Couldn't show ${stream.name || 'a participant'}: ${describeOpenTokError(error)}`, {
        retry: () => {
          removeSubscriberTile(stream.streamId);
          subscribe(stream);
        }
      });
    });
  }

  function tileSelector(streamId) {
    return `[data-stream-id="${CSS.escape(streamId)}"]`;
  }

  function removeSubscriberTile(streamId) {
    const tile = el.subscribers.querySelector(tileSelector(streamId));
    if (tile) tile.remove();
    updateOthers();
  }

  function clearSubscribers() {
    el.subscribers.replaceChildren();
    updateOthers();
  }

  function updateOthers() {
    if (state.recording) renderHostOptions(); // a manual recording's choices follow who is here
    const count = el.subscribers.children.length;
    el.othersCount.textContent = String(count);
    el.subscribersEmpty.hidden = count > 0;
  }

  // --- Recording -------------------------------------------------------------------------

  async function startRecording() {
    if (!state.connected || state.recording || state.pending) return;
    const sessionId = state.sessionId;
    setPending('start');
    let archive;
    try {
      const body = Object.assign({sessionId, name: archiveName()}, recordingOptions());
      archive = await asHost(() => api.post('/archive/start', body,
        {headers: hostAuthorization()}));
      state.started[archive.id] = archive;
      applyDetails(archive); // its event may have come first, before the record existed
    } catch (error) {
      if (state.pending !== 'start') return; // the event came meanwhile: it started after all
      settlePending();
      ui.showError(`Couldn't start recording: ${error.message}.`, {retry: startRecording});
      return;
    }
    if (state.pending !== 'start') return;
    ui.clearError();
    waitForEvent(() => {
      // The server says it records; the session never told us. Believe the server.
      if (archive.status === 'started' || archive.status === 'paused') {
        recordingStarted(archive.id, archive.name, archive.createdAt);
      } else {
        settlePending();
      }
    });
  }

  async function stopRecording() {
    const recording = state.recording;
    if (!state.connected || !recording || state.pending) return;
    setPending('stop');
    try {
      await asHost(() => api.post(`/archive/${encodeURIComponent(recording.id)}/stop`, undefined,
        {headers: hostAuthorization()}));
    } catch (error) {
      if (state.pending !== 'stop') return; // it stopped meanwhile, by us or someone else
      if (error.status === 409 && await stoppedAlready(recording.id)) {
        recordingStopped(recording.id, recording.name);
        return;
      }
      settlePending();
      ui.showError(`Couldn't stop recording: ${error.message}.`, {retry: stopRecording});
      return;
    }
    if (state.pending !== 'stop') return;
    ui.clearError();
    waitForEvent(() => recordingStopped(recording.id, recording.name));
  }

  // What the host chose before Start; each is a field of the start route.
  function recordingOptions() {
    const media = el.optionMedia.value;
    const options = {
      outputMode: el.optionOutput.value,
      hasAudio: media !== 'video',
      hasVideo: media !== 'audio',
      streamMode: el.optionStreamMode.value
    };
    // A video per person has no layout and keeps each stream's own resolution.
    if (options.outputMode === 'composed') {
      options.layout = el.optionLayout.value;
      options.resolution = el.optionResolution.value;
    }
    return options;
  }

  async function changeLayout(event) {
    event.preventDefault();
    const recording = state.recording;
    if (!recording || state.changing) return;
    const layout = el.recordingLayout.value;
    state.changing = true;
    render();
    try {
      const archive = await asHost(() => api.put(
        `/archive/${encodeURIComponent(recording.id)}/layout`, {layout},
        {headers: hostAuthorization()}));
      if (state.recording === recording) recording.layout = archive.layout;
      ui.clearError();
      announce(`Layout changed to ${el.recordingLayout.selectedOptions[0].textContent}.`);
    } catch (error) {
      ui.showError(`Couldn't change the layout: ${error.message}.`);
    } finally {
      state.changing = false;
      render();
    }
  }

  // A manual recording records the streams the host ticks; the server says which it has.
  async function chooseStream(streamId, include) {
    const recording = state.recording;
    if (!recording || state.changing) return;
    state.changing = true;
    // The box shows what was asked while the server answers, not what it said before.
    state.choosing = {streamId, include};
    render();
    const body = include ? {addStream: streamId} : {removeStream: streamId};
    try {
      const archive = await asHost(() => api.post(
        `/archive/${encodeURIComponent(recording.id)}/streams`, body,
        {headers: hostAuthorization()}));
      if (state.recording === recording) recording.streams = archive.streams || [];
      ui.clearError();
      announce(include ? 'Stream added to the recording.' : 'Stream taken out of the recording.');
    } catch (error) {
      ui.showError(`Couldn't change the recording's streams: ${error.message}.`);
    } finally {
      state.changing = false;
      state.choosing = null;
      render();
    }
  }

  // Hosts show what a recording they did not start here was made with.
  async function fetchDetails(id) {
    try {
      applyDetails(await api.get(`/archive/${encodeURIComponent(id)}`));
    } catch (ignored) {
      // The layout control still works; it only cannot show the current layout.
    }
  }

  function applyDetails(archive) {
    const recording = state.recording;
    if (!recording || recording.id !== archive.id) return;
    Object.assign(recording, {
      layout: archive.layout, outputMode: archive.outputMode, streamMode: archive.streamMode
    });
    learnCreatedAt(recording, archive.createdAt);
    showLayout(recording);
    render();
  }

  // Only when the recording's layout is learnt, never on a mere render: a choice the host
  // is about to apply stays as they left it.
  function showLayout(recording) {
    if (recording.layout) el.recordingLayout.value = recording.layout.type;
  }

  // The moderator token the room route gave the host: what start and stop want in `host` mode.
  function hostAuthorization() {
    return state.role === 'moderator' ? {Authorization: `Bearer ${state.token}`} : {};
  }

  // A moderator token lives hours; a meeting may outlast it. Refused as expired, the host's
  // page asks the room for a new one with the host key, and tries once more.
  async function asHost(call) {
    try {
      return await call();
    } catch (error) {
      if (error.status !== 401 || state.role !== 'moderator' || !host.key()) throw error;
      const credentials = await api.get(roomPath(),
        {headers: host.headers()});
      state.token = credentials.token;
      return call();
    }
  }

  function canControl() {
    return state.control === 'open' || state.role === 'moderator';
  }

  function recordsItself() {
    return state.mode === 'always';
  }

  async function stoppedAlready(archiveId) {
    try {
      const archive = await api.get(`/archive/${encodeURIComponent(archiveId)}`);
      return archive.status !== 'started' && archive.status !== 'paused';
    } catch (ignored) {
      return false;
    }
  }

  function archiveName() {
    const now = new Date();
    const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ` +
      `${pad(now.getHours())}:${pad(now.getMinutes())}`;
    return `${state.roomName.slice(0, MAX_ARCHIVE_NAME - stamp.length - 3)} · ${stamp}`;
  }

  function pad(number) {
    return String(number).padStart(2, '0');
  }

  function setPending(action) {
    state.pending = action;
    clearTimeout(state.pendingTimer);
    state.pendingTimer = null;
    render();
  }

  function settlePending() {
    setPending(null);
  }

  function waitForEvent(fallback) {
    const action = state.pending;
    clearTimeout(state.pendingTimer);
    state.pendingTimer = setTimeout(() => {
      if (state.pending !== action) return;
      console.warn(`no ${action === 'start' ? 'archiveStarted' : 'archiveStopped'} event ` +
        `within ${EVENT_GRACE_MS} ms; showing the server's answer instead`);
      fallback();
    }, EVENT_GRACE_MS);
  }

  function recordingStarted(id, name, createdAt) {
    if (state.recording && state.recording.id === id) return;
    const startedByUs = state.pending === 'start';
    if (state.pending === 'start') settlePending();
    const started = state.started[id];
    const recording = {id, name: name || '', since: Date.now()};
    if (started) {
      Object.assign(recording, {layout: started.layout, outputMode: started.outputMode,
        streamMode: started.streamMode, streams: []});
      learnCreatedAt(recording, started.createdAt);
    } else if (startedByUs) {
      recording.streams = []; // ours, just started: no stream is chosen yet
    }
    setRecording(recording);
    showLayout(recording);
    if (!started && canControl()) fetchDetails(id);
    el.stopReason.hidden = true;
    state.news = null; // about the previous recording, which the Recordings page still lists
    render();
    announce('Recording started.');
    if (createdAt) {
      adjustStart(id, createdAt);
    } else if (!startedByUs) {
      fetchStart(id);
    }
  }

  function recordingStopped(id, name) {
    if (state.recording && state.recording.id !== id) return; // not the one we show
    const stoppedHere = state.pending === 'stop';
    if (state.pending) settlePending();
    setRecording(null);
    state.lastStopped = {id, name: name || ''};
    // Said to everyone, not only to screen readers; the server's signal replaces it.
    if (!state.news || state.news.id !== id) state.news = {id, state: 'processing'};
    announce('Recording stopped. It is being processed; use View recording to watch it.');
    render();
    if (!stoppedHere) explainStop(id);
  }

  // The server's word on a recording of this room: shown as it comes, whoever is here.
  function archiveNews(data) {
    let news;
    try {
      news = JSON.parse(data);
    } catch (ignored) {
      return;
    }
    if (!news || !ARCHIVE_ID_PATTERN.test(news.archiveId)) return;
    if (!Object.hasOwn(NEWS, news.state)) return;
    state.news = {id: news.archiveId, state: news.state};
    announce(NEWS[news.state]);
    render();
  }

  // Somebody pressed Stop, or OpenTok stopped it: only the archive's reason tells which.
  async function explainStop(id) {
    const giveUpAt = Date.now() + STOP_REASON_PATIENCE_MS;
    let tries = 0;
    while (tries < STOP_REASON_TRIES && Date.now() < giveUpAt) {
      let archive;
      try {
        archive = await api.get(`/archive/${encodeURIComponent(id)}`);
      } catch (ignored) {
        return; // a nicety: the View link works all the same
      }
      if (!state.lastStopped || state.lastStopped.id !== id || state.recording) return;
      const words = STOP_REASONS[archive.reason];
      if (words) {
        el.stopReason.textContent = `The recording stopped on its own: ${words}`;
        el.stopReason.hidden = false;
        return;
      }
      if (archive.reason) return; // stopped by a person ("user initiated")
      if (archive.status !== 'started' && archive.status !== 'paused') tries += 1;
      await new Promise((resolve) => setTimeout(resolve, STOP_REASON_WAIT_MS));
    }
  }

  // Someone else started it, perhaps long before we joined: ask when, to show the true time.
  async function fetchStart(id) {
    try {
      const archive = await api.get(`/archive/${encodeURIComponent(id)}`);
      adjustStart(id, archive.createdAt);
      notePart(archive);
    } catch (ignored) {
      // The local clock is a fine approximation; nothing for the person to do about this.
    }
  }

  function adjustStart(id, createdAt) {
    const recording = state.recording;
    if (!recording || recording.id !== id || typeof createdAt !== 'number') return;
    learnCreatedAt(recording, createdAt);
    const shownSince = Date.now() - recording.since;
    const serverSince = Date.now() - createdAt;
    if (serverSince > shownSince + CLOCK_SKEW_TOLERANCE_MS && serverSince < 86400000) {
      recording.since = createdAt;
      renderElapsed();
    }
  }

  function learnCreatedAt(recording, createdAt) {
    if (typeof createdAt === 'number' && createdAt > 0) {
      recording.createdAt = createdAt;
      renderElapsed();
    }
  }

  // A part the server started after OpenTok's 4-hour limit stopped the one before.
  function notePart(archive) {
    const recording = state.recording;
    if (!recording || recording.id !== archive.id || !(archive.part > 1)) return;
    el.stopReason.textContent = `OpenTok stopped part ${archive.part - 1} at its 4-hour ` +
      `limit; the recording goes on in part ${archive.part}.`;
    el.stopReason.hidden = false;
    announce(el.stopReason.textContent);
  }

  function setRecording(recording) {
    state.recording = recording;
    clearInterval(state.ticker);
    state.ticker = recording ? setInterval(renderElapsed, 1000) : null;
    render();
  }

  // --- Rendering -------------------------------------------------------------------------

  function render() {
    // Focus may already have dropped to the page since the last render.
    const hadFocus = controlsHaveFocus() ||
      (state.focusOnControls && document.activeElement === document.body);
    const {connected, recording, pending} = state;
    const known = state.control !== null; // until the room answers, nothing is shown either way
    // Participants still see the indicator and the View link, only not the buttons.
    el.start.hidden = el.stop.hidden = known && (!canControl() || recordsItself());
    el.hostOnly.hidden = !known || canControl() || recordsItself();
    el.automatic.hidden = !known || !recordsItself();
    // The history is the host's in `host` mode: participants are not sent to a refusal.
    el.historyLink.hidden = el.recordingHint.hidden = known && !canControl();
    el.invite.hidden = !(state.role === 'moderator' && state.control === 'host');
    if (!el.invite.hidden) {
      el.inviteLink.href = el.inviteLink.textContent = participantLink();
    }
    el.start.disabled = !connected || Boolean(recording) || Boolean(pending);
    el.stop.disabled = !connected || !recording || Boolean(pending);
    el.start.setAttribute('aria-busy', String(pending === 'start'));
    el.stop.setAttribute('aria-busy', String(pending === 'stop'));
    el.start.querySelector('.btn-label').textContent =
      pending === 'start' ? 'Starting…' : 'Start recording';
    el.stop.querySelector('.btn-label').textContent =
      pending === 'stop' ? 'Stopping…' : 'Stop recording';

    el.indicator.hidden = el.tileRecording.hidden = !recording;
    // "Only those I add" records nothing until a stream is in: the host is not told otherwise.
    const waitsForStreams = Boolean(recording && canControl() &&
      recording.streamMode === 'manual' && Array.isArray(recording.streams) &&
      !recording.streams.length);
    el.recordingLabel.textContent = waitsForStreams ? 'No stream added yet' : 'Recording';
    document.title = `${recording ? '● Recording — ' : ''}Room ${state.roomName} · ` +
      'OpenTok archiving sample';
    el.newRoom.hidden = !state.created;
    el.nobodyYet.hidden = state.created;
    renderElapsed();
    renderHostOptions();

    // While a new recording runs, nothing of the previous one is offered beside it: a link
    // next to "Recording 00:03" would be taken for this one's. It comes back at its end.
    const stopped = recording ? null : state.lastStopped;
    const news = recording && state.news && state.news.id !== recording.id ? null : state.news;
    // Once the server has said what became of it, its word replaces the View link.
    el.viewLink.hidden = !stopped ||
      Boolean(news && news.id === stopped.id && news.state !== 'processing');
    el.news.hidden = !news;
    el.watchLink.hidden = !news || news.state !== 'ready';
    el.newsText.hidden = !news || news.state === 'ready';
    if (news) {
      el.newsText.textContent = NEWS[news.state];
      el.news.dataset.state = news.state;
      el.news.dataset.archiveId = news.id;
      el.watchLink.href = `view.html?${new URLSearchParams({archiveId: news.id})}`;
    }
    if (stopped) {
      // Our player page, ready or not: the API's /view route redirects a ready recording to
      // the bare file (the original sample's behaviour), which has no name and no way back.
      el.viewLink.href = `view.html?archiveId=${encodeURIComponent(stopped.id)}`;
      el.viewLink.dataset.archiveId = stopped.id;
      el.viewLink.title = stopped.name ? `Watch “${stopped.name}” (opens a new tab)`
        : 'Watch the recording (opens a new tab)';
    }
    if (hadFocus) keepFocus();
    state.focusOnControls = controlsHaveFocus();
  }

  // Start and Stop are disabled while they wait, which drops the keyboard's focus to the
  // page; it goes instead to the control that now matters, or the panel while none does.
  function controlsHaveFocus() {
    const active = document.activeElement;
    return active === el.start || active === el.stop || active === el.panel;
  }

  function keepFocus() {
    const usable = (control) => !control.hidden && !control.disabled;
    const target = [el.stop, el.start, el.watchLink, el.viewLink].find(usable) || el.panel;
    const active = document.activeElement;
    const lost = active === el.panel || active === document.body || !usable(active);
    // The panel takes focus only to keep it near the controls: never a jump of the page.
    if (active !== target && lost) target.focus({preventScroll: target === el.panel});
  }

  // Hosts only: the choices before Start, the layout while recording, a manual one's streams.
  function renderHostOptions() {
    const {recording, pending, changing} = state;
    const known = state.control !== null;
    const hosting = known && canControl();
    el.options.hidden = !hosting || recordsItself() || Boolean(recording);
    el.options.disabled = Boolean(pending);
    // A video per person: no layout, and each stream keeps its own resolution.
    el.optionLayout.disabled = el.optionResolution.disabled =
      el.optionOutput.value === 'individual';
    el.layoutChange.hidden = !hosting || !recording ||
      (recording && recording.outputMode === 'individual');
    // Not disabled while a change is under way: that would take the keyboard's focus away.
    el.layoutChange.setAttribute('aria-busy', String(Boolean(changing)));
    const manual = hosting && recording && recording.streamMode === 'manual';
    el.recordedStreams.hidden = !manual;
    if (manual) renderStreamChoices(recording);
  }

  // Updated in place, not rebuilt: a keyboard user's focus stays on the box they ticked.
  function renderStreamChoices(recording) {
    const chosen = new Set((recording.streams || []).map((stream) => stream.streamId));
    const streams = [];
    const own = state.publisher && state.publisher.stream;
    if (own && own.streamId) streams.push({id: own.streamId, label: 'your camera'});
    for (const tile of el.subscribers.children) {
      const caption = tile.querySelector('.tile-caption');
      streams.push({id: tile.dataset.streamId, label: caption ? caption.textContent : 'Guest'});
    }
    const wanted = new Set(streams.map((stream) => stream.id));
    for (const item of [...el.recordedStreamsList.children]) {
      if (!wanted.has(item.dataset.streamId)) item.remove();
    }
    for (const {id, label} of streams) {
      let item = el.recordedStreamsList.querySelector(`li[data-stream-id="${CSS.escape(id)}"]`);
      if (!item) {
        item = streamChoice(id, label);
        el.recordedStreamsList.append(item);
      }
      const asked = state.choosing && state.choosing.streamId === id;
      item.querySelector('input').checked = asked ? state.choosing.include : chosen.has(id);
    }
    el.recordedStreams.setAttribute('aria-busy', String(Boolean(state.changing)));
    if (!streams.length) {
      const item = document.createElement('li');
      item.className = 'hint';
      item.dataset.streamId = '';
      item.textContent = 'Nobody shares a camera yet.';
      el.recordedStreamsList.append(item);
    }
  }

  function streamChoice(id, label) {
    const item = document.createElement('li');
    item.dataset.streamId = id;
    const choice = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.addEventListener('change', () => {
      if (state.changing) { // one change at a time: this one waits for none
        box.checked = !box.checked;
        return;
      }
      chooseStream(id, box.checked);
    });
    choice.append(box, document.createTextNode(`Record ${label}`));
    item.append(choice);
    return item;
  }

  // The room's route, with the name this page shows for its person: OpenTok keeps it with
  // their stream, so that a recording of each stream names them as the call did.
  function roomPath() {
    const query = new URLSearchParams({name: state.participantName});
    return `/room/${encodeURIComponent(state.room)}?${query}`;
  }

  // The page's own address, which no longer holds the host key (common.js took it out),
  // naming the room's invite where the room has one (`host` control).
  function participantLink() {
    return participantLinkTo(state.invite || state.room);
  }

  function participantLinkTo(room) {
    const url = new URL(window.location.href);
    url.hash = '';
    url.searchParams.set('room', room);
    return url.toString();
  }

  function renderElapsed() {
    const recording = state.recording;
    // h:mm:ss past the first hour, beside the time left before the 4-hour limit.
    const elapsedMs = recording ? Date.now() - recording.since : 0;
    el.elapsed.textContent = format.duration(Math.floor(elapsedMs / 1000));
    renderTimeLeft(recording);
  }

  // Time left before OpenTok's 4-hour limit, from the archive's createdAt as the API gives it
  // (and this device's clock): shown only once the API has said when it began. OpenTok counts
  // recorded time only, and the API says that a recording is paused but not for how long, so
  // this assumes it recorded all along: the limit may come later than shown, never sooner.
  function renderTimeLeft(recording) {
    const known = Boolean(recording && recording.createdAt);
    const left = known ? RECORDING_LIMIT_MS - (Date.now() - recording.createdAt) : Infinity;
    const warn = known && left < LIMIT_WARNING_MS;
    el.left.hidden = !known;
    if (known) {
      el.left.textContent = `${format.duration(Math.floor(Math.max(0, left) / 1000))} left`;
    }
    el.indicator.toggleAttribute('data-warning', warn);
    if (el.limitWarning.hidden === warn) {
      el.limitWarning.hidden = !warn; // shown once as it crosses: a status, read out once
    }
  }

  function setConnection(kind, text) {
    el.connection.dataset.state = kind;
    el.connection.textContent = text;
  }

  function announce(text) {
    el.announcer.textContent = text;
  }

  function describeOpenTokError(error) {
    const name = error && error.name;
    switch (name) {
      case 'OT_USER_MEDIA_ACCESS_DENIED':
        return 'access to the camera and microphone was denied. Allow it in your browser\'s ' +
          'site settings, then retry.';
      case 'OT_NO_DEVICES_FOUND':
        return 'no camera or microphone was found.';
      case 'OT_HARDWARE_UNAVAILABLE':
        return 'the camera or microphone is in use by another application.';
      case 'OT_AUTHENTICATION_ERROR':
        return 'OpenTok refused the token (check the API key and secret the server uses).';
      case 'OT_INVALID_SESSION_ID':
        return 'OpenTok does not know this session.';
      case 'OT_CONNECT_FAILED':
        return 'OpenTok could not be reached. Check your connection.';
      default: {
        const message = (error && error.message) || 'unknown error';
        return name ? `${message} (${name})` : message;
      }
    }
  }

  boot();
})();
