/*
 * A stand-in for OpenTok.js, for running the sample page with no OpenTok account.
 *
 * It speaks to the local emulator's /_emulator/ routes instead of OpenTok's servers and keeps
 * the client API's names and callback conventions, so the page written for the real
 * OpenTok.js runs unchanged: only the script URL differs (config.js's OPENTOK_JS_URL).
 *
 * Media travels between the pages themselves, by WebRTC (the browser's RTCPeerConnection): a
 * subscriber asks the stream's publishing page for it, and the emulator only relays what the
 * two say to each other (offer, answer, ICE candidates) through its /rtc route. There is no
 * media server, so each subscriber has a peer connection of its own to the publishing page;
 * and no STUN or TURN server, so pages reach each other only by their host candidates (one
 * machine, or one network).
 *
 * While an archive of the session records, each publisher records its own camera and
 * microphone (MediaRecorder) and posts the chunks to the emulator, which makes the archive of
 * them: the recording you watch is what was published.
 */
(function (global) {
  'use strict';

  var VERSION = 'local-emulator';
  var REQUEST_TIMEOUT_MS = 15000;
  // How long a dropped event stream may try to come back before we call the session lost;
  // EventSource alone would retry forever against a server that is gone.
  var RECONNECT_GIVE_UP_MS = 30000;
  // After the event stream reopens, the emulator replays what the session holds right away.
  // Anything we knew of that it does not replay within this window has gone meanwhile.
  var RESYNC_WINDOW_MS = 1500;
  // A publisher's recording for the archive goes to the emulator a chunk at a time, so what
  // was recorded when the page goes away is not lost with it.
  var CAPTURE_CHUNK_MS = 1000;
  var CAPTURE_VIDEO_BITS = 600000;
  // fetch keepalive (a request that outlives the page) carries at most 64 KiB.
  var KEEPALIVE_MAX_BYTES = 60000;
  var CAPTURE_ATTEMPTS = 3;
  var CAPTURE_RETRY_MS = 500;

  // The emulator lives on the origin this script was served from, which for the dev server
  // is also the page's origin. The page may be elsewhere, hence not location.origin.
  var script = document.currentScript;
  var EMULATOR_ORIGIN = script && script.src ? new URL(script.src, location.href).origin
    : location.origin;
  var EMULATOR_BASE = EMULATOR_ORIGIN + '/_emulator';

  var liveSessions = new Set();
  var idCounter = 0;

  function nextId(prefix) {
    idCounter += 1;
    return prefix + '_' + Date.now().toString(36) + '_' + idCounter;
  }

  function later(fn) {
    // OpenTok calls back asynchronously even when it could answer at once; pages may rely
    // on their code after the call running first.
    setTimeout(fn, 0);
  }

  function OTError(name, message, code) {
    var error = new Error(message);
    error.name = name;
    error.code = code;
    return error;
  }

  var ERRORS = {
    AUTHENTICATION: ['OT_AUTHENTICATION_ERROR', 1004],
    INVALID_SESSION_ID: ['OT_INVALID_SESSION_ID', 1005],
    CONNECT_FAILED: ['OT_CONNECT_FAILED', 1006],
    NOT_CONNECTED: ['OT_NOT_CONNECTED', 1010],
    INVALID_PARAMETER: ['OT_INVALID_PARAMETER', 1011],
    UNABLE_TO_PUBLISH: ['OT_UNABLE_TO_PUBLISH', 1500],
    ACCESS_DENIED: ['OT_USER_MEDIA_ACCESS_DENIED', 1500],
    NO_DEVICES: ['OT_NO_DEVICES_FOUND', 1500],
    HARDWARE_UNAVAILABLE: ['OT_HARDWARE_UNAVAILABLE', 1500],
    NOT_SUPPORTED: ['OT_NOT_SUPPORTED', 1500],
    STREAM_NOT_FOUND: ['OT_STREAM_NOT_FOUND', 1600]
  };

  function makeError(kind, message) {
    return OTError(ERRORS[kind][0], message, ERRORS[kind][1]);
  }

  function lastFunction(args) {
    for (var i = args.length - 1; i >= 0; i -= 1) {
      if (typeof args[i] === 'function') return args[i];
    }
    return null;
  }

  function callback(fn, error) {
    later(function () { invoke(fn, error); });
  }

  // For when we are already past the caller's turn (inside a network or stream event).
  function invoke(fn, error) {
    if (!fn) {
      if (error) console.error('[OT local]', error.name + ':', error.message);
      return;
    }
    try {
      fn(error || undefined);
    } catch (thrown) {
      console.error('[OT local] a completion handler threw', thrown);
    }
  }

  // --- HTTP to the emulator ---------------------------------------------------------------

  function emulatorRequest(method, path, body, options) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    var init = {
      method: method,
      signal: controller.signal,
      keepalive: Boolean(options && options.keepalive),
      headers: {Accept: 'application/json'}
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(EMULATOR_BASE + path, init).then(function (response) {
      return response.text().then(function (text) {
        clearTimeout(timer);
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (ignored) { data = null; }
        if (!response.ok) {
          var failure = new Error((data && data.message) || ('HTTP ' + response.status));
          failure.status = response.status;
          throw failure;
        }
        return data;
      });
    }, function (error) {
      clearTimeout(timer);
      var failure = new Error(error.name === 'AbortError'
        ? 'the local OpenTok emulator did not answer in time'
        : 'cannot reach the local OpenTok emulator at ' + EMULATOR_ORIGIN);
      failure.status = 0;
      throw failure;
    });
  }

  // --- Events -----------------------------------------------------------------------------

  function OTEvent(type, target, fields, cancelable) {
    if (fields) Object.keys(fields).forEach(function (key) { this[key] = fields[key]; }, this);
    this.type = type;
    this.target = target;
    this.cancelable = Boolean(cancelable);
    this._defaultPrevented = false;
  }
  OTEvent.prototype.preventDefault = function () {
    if (this.cancelable) this._defaultPrevented = true;
  };
  OTEvent.prototype.isDefaultPrevented = function () { return this._defaultPrevented; };

  // Session, Publisher, Subscriber and OT itself share OpenTok's on/once/off conventions.
  var EventEmitter = {
    on: function (type, handler, context) {
      if (type && typeof type === 'object') {
        Object.keys(type).forEach(function (name) { this.on(name, type[name], handler); }, this);
        return this;
      }
      if (typeof handler !== 'function') return this;
      var handlers = this._handlers || (this._handlers = {});
      (handlers[type] || (handlers[type] = [])).push({fn: handler, context: context, once: false});
      return this;
    },
    once: function (type, handler, context) {
      if (type && typeof type === 'object') {
        Object.keys(type).forEach(function (name) { this.once(name, type[name], handler); }, this);
        return this;
      }
      this.on(type, handler, context);
      var list = this._handlers[type];
      if (list && list.length) list[list.length - 1].once = true;
      return this;
    },
    off: function (type, handler, context) {
      if (!this._handlers) return this;
      if (type === undefined) {
        this._handlers = {};
        return this;
      }
      if (type && typeof type === 'object') {
        Object.keys(type).forEach(function (name) { this.off(name, type[name], handler); }, this);
        return this;
      }
      if (!handler) {
        delete this._handlers[type];
        return this;
      }
      this._handlers[type] = (this._handlers[type] || []).filter(function (entry) {
        return entry.fn !== handler || (context !== undefined && entry.context !== context);
      });
      return this;
    },
    // `name`: the handlers to call, when not those of event.type (a signal event goes to
    // 'signal' handlers as well as to those of its own 'signal:<type>').
    _dispatch: function (event, defaultAction, name) {
      var type = name || event.type;
      var list = ((this._handlers && this._handlers[type]) || []).slice();
      list.forEach(function (entry) {
        if (entry.once) this.off(type, entry.fn, entry.context);
        try {
          entry.fn.call(entry.context || this, event);
        } catch (error) {
          // One faulty handler must not keep the others, or the default action, from running.
          console.error('[OT local] an event handler for ' + event.type + ' threw', error);
        }
      }, this);
      if (defaultAction && !event.isDefaultPrevented()) defaultAction();
      return event;
    }
  };

  function mixEvents(proto) {
    Object.keys(EventEmitter).forEach(function (key) { proto[key] = EventEmitter[key]; });
  }

  // --- DOM helpers ------------------------------------------------------------------------

  function cssSize(value, fallback) {
    if (value === undefined || value === null || value === '') return fallback;
    return typeof value === 'number' ? value + 'px' : String(value);
  }

  function resolveTarget(target) {
    if (!target) return null;
    if (typeof target === 'string') return document.getElementById(target);
    return target.nodeType === 1 ? target : null;
  }

  // Mirrors OpenTok's insertMode: the default replaces the target element.
  function place(element, target, insertMode) {
    if (!target) {
      document.body.appendChild(element);
      return;
    }
    switch (insertMode || 'replace') {
      case 'append': target.appendChild(element); break;
      case 'before': target.parentNode.insertBefore(element, target); break;
      case 'after': target.parentNode.insertBefore(element, target.nextSibling); break;
      default:
        element.id = element.id || target.id;
        target.parentNode.replaceChild(element, target);
    }
  }

  function sizeElement(element, properties) {
    element.style.width = cssSize(properties.width, '264px');
    element.style.height = cssSize(properties.height, '198px');
    element.style.position = element.style.position || 'relative';
    element.style.overflow = 'hidden';
  }

  function removeElement(element) {
    if (element && element.parentNode) element.parentNode.removeChild(element);
  }

  // --- Streams and connections ------------------------------------------------------------

  function makeConnection(data) {
    return {
      connectionId: data.connectionId,
      id: data.connectionId,
      creationTime: data.creationTime || Date.now(),
      data: data.data === undefined ? null : data.data
    };
  }

  function makeStream(data, connection) {
    return {
      streamId: data.streamId,
      id: data.streamId,
      connection: connection,
      name: data.name || '',
      hasAudio: data.hasAudio !== false,
      hasVideo: data.hasVideo !== false,
      videoType: data.hasVideo === false ? null : 'camera',
      creationTime: data.createdAt || Date.now()
    };
  }

  // --- Peer connections -------------------------------------------------------------------

  // One RTCPeerConnection between a publisher and one subscriber on another page. Every
  // message of theirs names the stream and the subscriber, which tells the receiving page
  // whether it is for one of its publishers (the stream is its own) or for a subscriber.
  function PeerLink(session, peerId, names) {
    var self = this;
    this.session = session;
    this.peerId = peerId; // the other page's connectionId
    this.names = names; // {streamId, subscriberId}
    this.closed = false;
    this._described = false;
    this._early = []; // candidates that came before the offer or answer they belong to
    // Everything is on one machine or network: host candidates are enough, no STUN.
    this.pc = new RTCPeerConnection({iceServers: []});
    this.pc.onicecandidate = function (event) {
      if (event.candidate) self.send('candidate', {candidate: event.candidate.toJSON()});
    };
    this.pc.oniceconnectionstatechange = function () {
      if (self.pc.iceConnectionState === 'failed') {
        console.warn('[OT local] no media path to the other page (ICE failed)', self.names);
      }
    };
  }

  PeerLink.prototype.send = function (type, fields) {
    if (this.closed && type !== 'bye') return;
    var message = Object.assign({type: type}, this.names, fields || {});
    this.session._sendRtc(this.peerId, message);
  };

  PeerLink.prototype.describe = function (description) {
    var self = this;
    return this.pc.setRemoteDescription(description).then(function () {
      self._described = true;
      self._early.splice(0).forEach(function (candidate) { self.addCandidate(candidate); });
    });
  };

  // The relay may deliver a candidate before the description sent ahead of it (each message
  // is a request of its own), and addIceCandidate refuses one with no remote description.
  PeerLink.prototype.addCandidate = function (candidate) {
    if (this.closed || !candidate) return;
    if (!this._described) {
      this._early.push(candidate);
      return;
    }
    var self = this;
    this.pc.addIceCandidate(candidate).catch(function (error) { self.failed('a candidate', error); });
  };

  // `tell`: say bye to the other page, which would otherwise keep its end open until it
  // hears that the stream or the connection is gone.
  PeerLink.prototype.close = function (tell) {
    if (this.closed) return;
    this.closed = true;
    if (tell) this.send('bye');
    this.pc.close();
  };

  PeerLink.prototype.failed = function (what, error) {
    if (!this.closed) console.error('[OT local] could not set up media (' + what + ')', error);
  };

  // --- Publisher --------------------------------------------------------------------------

  function Publisher(target, properties, setupError) {
    this.id = nextId('OT_publisher');
    this.properties = properties;
    this.session = null;
    this.stream = null;
    this.streamId = null;
    this.accessAllowed = false;
    this._destroyed = false;
    this._media = null;
    this._capture = null; // the recording for the session's archives, while they record
    this._links = new Map(); // 'connectionId subscriberId' -> PeerLink, one per subscriber

    this.element = document.createElement('div');
    this.element.className = 'OT_root OT_publisher';
    this.element.setAttribute('data-ot-local', 'publisher');
    sizeElement(this.element, properties);

    this.videoElement = document.createElement('video');
    this.videoElement.autoplay = true;
    this.videoElement.muted = true; // hearing yourself would feed back
    this.videoElement.playsInline = true;
    this.videoElement.setAttribute('autoplay', '');
    this.videoElement.setAttribute('muted', '');
    this.videoElement.setAttribute('playsinline', '');
    this.videoElement.style.cssText =
      'width:100%;height:100%;object-fit:cover;display:block;background:#000;' +
      (properties.mirror === false ? '' : 'transform:scaleX(-1);');
    this.element.appendChild(this.videoElement);
    if (setupError) {
      this._ready = Promise.reject(setupError);
      return;
    }
    place(this.element, target, properties.insertMode);
    this._ready = this._startMedia();
  }
  mixEvents(Publisher.prototype);

  Publisher.prototype._startMedia = function () {
    var self = this;
    var wantsAudio = this.properties.audioSource !== null && this.properties.audioSource !== false;
    var wantsVideo = this.properties.videoSource !== null && this.properties.videoSource !== false;
    if (!wantsAudio && !wantsVideo) return Promise.resolve(null);
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject(makeError('NOT_SUPPORTED',
        'This browser cannot use the camera here (it needs a secure context: https or localhost).'));
    }
    return navigator.mediaDevices.getUserMedia({audio: wantsAudio, video: wantsVideo})
      .then(function (media) {
        if (self._destroyed) {
          media.getTracks().forEach(function (track) { track.stop(); });
          return null;
        }
        self._media = media;
        self.accessAllowed = true;
        self.videoElement.srcObject = media;
        var playing = self.videoElement.play();
        if (playing && playing.catch) playing.catch(function () { /* autoplay policy; muted plays */ });
        self._applyPublishFlags();
        self._dispatch(new OTEvent('accessAllowed', self));
        self._dispatch(new OTEvent('videoElementCreated', self, {element: self.videoElement}));
        return media;
      }, function (error) {
        var otError = mediaError(error);
        if (otError.name === ERRORS.ACCESS_DENIED[0]) {
          self._dispatch(new OTEvent('accessDenied', self, {message: otError.message}));
        }
        throw otError;
      });
  };

  function mediaError(error) {
    var name = error && error.name;
    if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
      return makeError('ACCESS_DENIED', 'Access to the camera and microphone was denied.');
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError') {
      return makeError('NO_DEVICES', 'No camera or microphone was found.');
    }
    if (name === 'NotReadableError' || name === 'AbortError') {
      return makeError('HARDWARE_UNAVAILABLE',
        'The camera or microphone is in use by another application.');
    }
    return makeError('ACCESS_DENIED',
      'Could not use the camera and microphone: ' + ((error && error.message) || name || 'unknown error'));
  }

  Publisher.prototype._applyPublishFlags = function () {
    if (!this._media) return;
    var audio = this.properties.publishAudio !== false;
    var video = this.properties.publishVideo !== false;
    this._media.getAudioTracks().forEach(function (track) { track.enabled = audio; });
    this._media.getVideoTracks().forEach(function (track) { track.enabled = video; });
  };

  Publisher.prototype.publishAudio = function (value) {
    this.properties.publishAudio = Boolean(value);
    this._applyPublishFlags();
    return this;
  };

  Publisher.prototype.publishVideo = function (value) {
    this.properties.publishVideo = Boolean(value);
    this._applyPublishFlags();
    return this;
  };

  Publisher.prototype.hasAudio = function () {
    return Boolean(this._media && this._media.getAudioTracks().length);
  };

  Publisher.prototype.hasVideo = function () {
    return Boolean(this._media && this._media.getVideoTracks().length);
  };

  // WebRTC signalling from a subscriber of our stream on another page.
  Publisher.prototype._onRtc = function (session, from, message) {
    var key = from + ' ' + message.subscriberId;
    var link = this._links.get(key);
    if (message.type === 'subscribe') {
      if (link) link.close(false); // asked again: start afresh
      this._offer(session, from, message.subscriberId);
    } else if (link && message.type === 'answer') {
      link.describe(message.description).catch(function (error) { link.failed('the answer', error); });
    } else if (link && message.type === 'candidate') {
      link.addCandidate(message.candidate);
    } else if (link && message.type === 'bye') {
      link.close(false);
      this._links.delete(key);
    }
  };

  // A peer connection of the subscriber's own, with our tracks on it: the same objects that
  // publishAudio and publishVideo switch, so what they do reaches every subscriber. With no
  // camera or microphone (audioSource and videoSource false) the offer simply has no media.
  Publisher.prototype._offer = function (session, connectionId, subscriberId) {
    var link = new PeerLink(session, connectionId,
      {streamId: this.streamId, subscriberId: subscriberId});
    this._links.set(connectionId + ' ' + subscriberId, link);
    var media = this._media;
    if (media) media.getTracks().forEach(function (track) { link.pc.addTrack(track, media); });
    link.pc.createOffer().then(function (offer) {
      return link.pc.setLocalDescription(offer);
    }).then(function () {
      link.send('offer', {description: link.pc.localDescription.toJSON()});
    }).catch(function (error) { link.failed('the offer', error); });
  };

  // Every subscriber's peer connection, or those to one page (`connectionId`).
  Publisher.prototype._closeLinks = function (tell, connectionId) {
    this._links.forEach(function (link, key) {
      if (connectionId && link.peerId !== connectionId) return;
      link.close(tell);
      this._links.delete(key);
    }, this);
  };

  Publisher.prototype.destroy = function () {
    if (this._destroyed) return this;
    // Marked first: unpublishing dispatches an event whose default action destroys us again.
    this._destroyed = true;
    if (this.session && this.stream) this.session.unpublish(this);
    this._stopCapture();
    if (this._media) this._media.getTracks().forEach(function (track) { track.stop(); });
    this._media = null;
    removeElement(this.element);
    this._dispatch(new OTEvent('destroyed', this, {reason: 'clientDestroyed'}));
    return this;
  };

  // --- Recording for the archive ----------------------------------------------------------

  function captureType(media) {
    if (typeof MediaRecorder === 'undefined') return null;
    var types = media.getVideoTracks().length
      ? ['video/webm;codecs=vp8,opus', 'video/webm']
      : ['audio/webm;codecs=opus', 'audio/webm'];
    return types.find(function (type) { return MediaRecorder.isTypeSupported(type); }) || null;
  }

  // Records while this publisher's stream is in a session that an archive records.
  Publisher.prototype._syncCapture = function () {
    var wanted = Boolean(this.session && this.stream && this._media && this.session._archives.size);
    if (wanted && !this._capture) this._startCapture();
    if (!wanted) this._stopCapture();
  };

  Publisher.prototype._startCapture = function () {
    var type = captureType(this._media);
    if (!type || !this._media.getTracks().length) return; // the archive has this stream black
    var recorder;
    try {
      recorder = new MediaRecorder(this._media,
        {mimeType: type, videoBitsPerSecond: CAPTURE_VIDEO_BITS});
    } catch (error) {
      console.warn('[OT local] this stream cannot be recorded for the archive', error);
      return;
    }
    var capture = {
      recorder: recorder,
      take: Date.now().toString(36) + Math.random().toString(36).slice(2, 10),
      parts: 0,
      url: EMULATOR_BASE + '/connections/' +
        encodeURIComponent(this.session.connection.connectionId) + '/streams/' +
        encodeURIComponent(this.stream.streamId) + '/media'
    };
    function send(chunk, last) {
      var part = capture.parts;
      capture.parts += 1;
      var url = capture.url + '?take=' + capture.take + '&part=' + part + (last ? '&last=1' : '');
      // Untyped, so the request needs no preflight (keepalive requests may not have one).
      // keepalive (to outlive a closing page) only once recording is over: the browser allows
      // 64 KiB in flight across all of them, which running chunks would use up.
      var body = new Blob([chunk]);
      var ending = recorder.state === 'inactive' && body.size <= KEEPALIVE_MAX_BYTES;
      postPart(url, body, ending, CAPTURE_ATTEMPTS);
    }
    // An empty first part says when the recording began, and an empty last one that it has
    // ended, after every chunk (the final chunk comes just before the stop event).
    recorder.addEventListener('start', function () { send(new Blob([]), false); });
    recorder.addEventListener('dataavailable', function (event) { send(event.data, false); });
    recorder.addEventListener('stop', function () { send(new Blob([]), true); });
    this._capture = capture;
    recorder.start(CAPTURE_CHUNK_MS);
  };

  // A part the emulator did not get is tried again: it joins the parts up to the first gap.
  function postPart(url, body, keepalive, attempts) {
    fetch(url, {method: 'POST', body: body, keepalive: keepalive}).then(function (response) {
      if (response.status >= 500 && attempts > 1) retry();
    }, function () {
      if (attempts > 1) retry();
    });
    function retry() {
      setTimeout(function () { postPart(url, body, keepalive, attempts - 1); }, CAPTURE_RETRY_MS);
    }
  }

  Publisher.prototype._stopCapture = function () {
    var capture = this._capture;
    this._capture = null;
    // Its last chunk follows, then the empty part that marks the end.
    if (capture && capture.recorder.state !== 'inactive') capture.recorder.stop();
  };

  // --- Subscriber -------------------------------------------------------------------------

  function Subscriber(session, stream, target, properties) {
    this.id = nextId('OT_subscriber');
    this.session = session;
    this.stream = stream;
    this.streamId = stream.streamId;
    this._destroyed = false;
    this._link = null;
    this._wants = {
      audio: properties.subscribeToAudio !== false,
      video: properties.subscribeToVideo !== false
    };

    this.element = document.createElement('div');
    this.element.className = 'OT_root OT_subscriber';
    this.element.setAttribute('data-ot-local', 'subscriber');
    sizeElement(this.element, properties);
    this.element.style.background = '#000';

    // Not muted: this element plays the other participant's voice.
    this.videoElement = document.createElement('video');
    this.videoElement.autoplay = true;
    this.videoElement.playsInline = true;
    this.videoElement.setAttribute('autoplay', '');
    this.videoElement.setAttribute('playsinline', '');
    this.videoElement.style.cssText =
      'width:100%;height:100%;object-fit:cover;display:block;background:#000;';
    this.setAudioVolume(properties.audioVolume === undefined ? 100 : properties.audioVolume);
    this.element.appendChild(this.videoElement);
    place(this.element, target, properties.insertMode);
    this._askForMedia();
  }
  mixEvents(Subscriber.prototype);

  // The stream's publishing page offers its media on a peer connection of our own; we answer.
  Subscriber.prototype._askForMedia = function () {
    var self = this;
    var link = new PeerLink(this.session, this.stream.connection.connectionId,
      {streamId: this.streamId, subscriberId: this.id});
    link.pc.ontrack = function (event) { self._onTrack(event); };
    this._link = link;
    link.send('subscribe');
  };

  // WebRTC signalling from the stream's publishing page.
  Subscriber.prototype._onRtc = function (from, message) {
    var link = this._link;
    if (!link || link.closed || from !== link.peerId) return;
    if (message.type === 'offer') {
      link.describe(message.description).then(function () {
        return link.pc.createAnswer();
      }).then(function (answer) {
        return link.pc.setLocalDescription(answer);
      }).then(function () {
        link.send('answer', {description: link.pc.localDescription.toJSON()});
      }).catch(function (error) { link.failed('the answer', error); });
    } else if (message.type === 'candidate') {
      link.addCandidate(message.candidate);
    } else if (message.type === 'bye') {
      link.close(false);
    }
  };

  Subscriber.prototype._onTrack = function (event) {
    if (this._destroyed) return;
    this._applySubscribeFlags();
    // The publisher sends its tracks as one stream; the element plays it as the tracks come.
    var media = event.streams[0] || this.videoElement.srcObject || new MediaStream();
    if (media.getTracks().indexOf(event.track) < 0) media.addTrack(event.track);
    if (this.videoElement.srcObject === media) return;
    this.videoElement.srcObject = media;
    this._play();
    this._dispatch(new OTEvent('videoElementCreated', this, {element: this.videoElement}));
  };

  // A browser may refuse to play sound before the person has used the page (autoplay
  // policy): then the video plays muted, and the sound comes at their first click or key,
  // with OpenTok.js's audioBlocked and audioUnblocked events.
  Subscriber.prototype._play = function () {
    var self = this;
    var video = this.videoElement;
    var playing = video.play();
    if (!playing || !playing.catch) return;
    playing.catch(function (error) {
      if (self._destroyed || video.muted || !error || error.name !== 'NotAllowedError') return;
      video.muted = true;
      video.play().catch(function () { /* not even muted: nothing more to try */ });
      self._dispatch(new OTEvent('audioBlocked', self));
      var unblock = function () {
        document.removeEventListener('pointerdown', unblock, true);
        document.removeEventListener('keydown', unblock, true);
        if (self._destroyed) return;
        video.muted = false;
        self._dispatch(new OTEvent('audioUnblocked', self));
      };
      document.addEventListener('pointerdown', unblock, true);
      document.addEventListener('keydown', unblock, true);
    });
  };

  Subscriber.prototype._receivedTracks = function () {
    if (!this._link) return [];
    return this._link.pc.getReceivers().map(function (receiver) { return receiver.track; })
      .filter(Boolean);
  };

  Subscriber.prototype._applySubscribeFlags = function () {
    var wants = this._wants;
    this._receivedTracks().forEach(function (track) {
      track.enabled = track.kind === 'audio' ? wants.audio : wants.video;
    });
  };

  // Ends our peer connection; `tell`: say bye, so that the publishing page closes its end.
  Subscriber.prototype._hangUp = function (tell) {
    if (this._link) this._link.close(tell);
  };

  Subscriber.prototype.destroy = function (reason) {
    if (this._destroyed) return this;
    this._destroyed = true;
    // When the stream has gone, its page has closed its end already, or left the session.
    this._hangUp(reason !== 'streamDestroyed');
    removeElement(this.element);
    if (this.session) this.session._forgetSubscriber(this);
    this._dispatch(new OTEvent('destroyed', this, {reason: reason || 'clientDestroyed'}));
    return this;
  };

  Subscriber.prototype.subscribeToAudio = function (value) {
    this._wants.audio = value !== false;
    this._applySubscribeFlags();
    return this;
  };

  Subscriber.prototype.subscribeToVideo = function (value) {
    this._wants.video = value !== false;
    this._applySubscribeFlags();
    return this;
  };

  // 0 to 100, as OpenTok.js; the element's volume is 0 to 1.
  Subscriber.prototype.setAudioVolume = function (value) {
    var volume = Math.min(100, Math.max(0, Number(value) || 0));
    this.videoElement.volume = volume / 100;
    return this;
  };

  Subscriber.prototype.getAudioVolume = function () {
    return Math.round(this.videoElement.volume * 100);
  };

  // --- Session ----------------------------------------------------------------------------

  function Session(apiKey, sessionId) {
    this.apiKey = apiKey == null ? '' : String(apiKey);
    this.sessionId = sessionId;
    this.id = sessionId;
    this.connection = null;
    this.capabilities = {publish: 0, subscribe: 0, forceDisconnect: 0, forceUnpublish: 0};
    this._state = 'disconnected';
    this._events = null;
    this._connections = new Map(); // connectionId -> connection (others only)
    this._streams = new Map(); // streamId -> stream (others only)
    this._archives = new Set(); // ids of archives recording now
    this._subscribers = new Set();
    this._publishers = new Set();
    this._unclaimed = new Set(); // requests for media from a stream we have not heard is ours
    this._reconnectTimer = null;
    this._resync = null;
    this._pending = null; // the connect() in progress: its callback and timer
  }
  mixEvents(Session.prototype);

  Session.prototype.isConnected = function () {
    return this._state === 'connected';
  };

  Session.prototype.connect = function (token) {
    var done = lastFunction(Array.prototype.slice.call(arguments, 1));
    var self = this;
    if (this._state === 'connected') {
      callback(done);
      return this;
    }
    if (this._state === 'connecting') {
      callback(done, makeError('CONNECT_FAILED', 'This session is already connecting.'));
      return this;
    }
    if (typeof token !== 'string' || !token) {
      callback(done, makeError('AUTHENTICATION', 'A token is required to connect.'));
      return this;
    }
    this._state = 'connecting';
    this._pending = {done: done, timer: null};
    var pending = this._pending;
    var path = '/sessions/' + encodeURIComponent(this.sessionId) + '/connections';
    emulatorRequest('POST', path, {token: token}).then(function (answer) {
      self.connection = makeConnection(answer);
      if (self._pending !== pending) {
        // disconnect() was called while the request was out: undo what it created.
        self._forgetOnServer(false);
        return;
      }
      self.capabilities.publish = answer.role === 'subscriber' ? 0 : 1;
      self.capabilities.subscribe = 1;
      self.capabilities.forceDisconnect = answer.role === 'moderator' ? 1 : 0;
      self.capabilities.forceUnpublish = self.capabilities.forceDisconnect;
      liveSessions.add(self);
      self._openEvents();
    }, function (error) {
      if (self._pending !== pending) return;
      var kind = error.status === 403 ? 'AUTHENTICATION'
        : error.status === 404 || error.status === 400 ? 'INVALID_SESSION_ID' : 'CONNECT_FAILED';
      self._failConnect(makeError(kind, 'Could not connect to the session: ' + error.message));
    });
    return this;
  };

  Session.prototype._failConnect = function (error) {
    var pending = this._pending;
    this._teardown();
    this._forgetOnServer(false);
    this.connection = null;
    if (pending) callback(pending.done, error);
  };

  Session.prototype._openEvents = function () {
    var self = this;
    var url = EMULATOR_BASE + '/connections/' +
      encodeURIComponent(this.connection.connectionId) + '/events';
    var source = new EventSource(url);
    this._events = source;

    this._pending.timer = setTimeout(function () {
      self._failConnect(makeError('CONNECT_FAILED', 'The session\'s event stream did not open in time.'));
    }, REQUEST_TIMEOUT_MS);

    source.addEventListener('open', function () {
      if (self._events !== source) return;
      if (self._state === 'connecting') {
        var pending = self._pending;
        clearTimeout(pending.timer);
        self._pending = null;
        self._state = 'connected';
        // Before any replayed streamCreated is handled, as with OpenTok.
        invoke(pending.done);
        self._dispatch(new OTEvent('sessionConnected', self, {connections: [], streams: []}));
        return;
      }
      // The stream came back after a drop: the emulator replays the session's state now.
      self._endReconnecting();
      self._beginResync();
      self._dispatch(new OTEvent('sessionReconnected', self));
    });

    source.addEventListener('error', function () {
      if (self._events !== source) return;
      if (self._state === 'connecting') {
        self._failConnect(makeError('CONNECT_FAILED', 'Could not open the session\'s event stream.'));
        return;
      }
      if (source.readyState === EventSource.CLOSED) {
        // The emulator refused the stream: it no longer knows this connection.
        self._lose('networkDisconnected');
        return;
      }
      self._startReconnecting();
    });

    var handlers = {
      connectionCreated: this._onConnectionCreated,
      connectionDestroyed: this._onConnectionDestroyed,
      streamCreated: this._onStreamCreated,
      streamDestroyed: this._onStreamDestroyed,
      archiveStarted: this._onArchiveStarted,
      archiveStopped: this._onArchiveStopped,
      signal: this._onSignal,
      rtc: this._onRtc,
      sessionDisconnected: this._onSessionDisconnected
    };
    Object.keys(handlers).forEach(function (type) {
      source.addEventListener(type, function (message) {
        if (self._events !== source) return;
        var data;
        try { data = JSON.parse(message.data || '{}'); } catch (ignored) { return; }
        handlers[type].call(self, data || {});
      });
    });
  };

  Session.prototype._startReconnecting = function () {
    var self = this;
    if (this._reconnectTimer) return;
    this._dispatch(new OTEvent('sessionReconnecting', this));
    this._reconnectTimer = setTimeout(function () {
      self._reconnectTimer = null;
      self._lose('networkDisconnected');
    }, RECONNECT_GIVE_UP_MS);
  };

  Session.prototype._endReconnecting = function () {
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
  };

  Session.prototype._beginResync = function () {
    var self = this;
    if (this._resync) clearTimeout(this._resync.timer);
    var resync = {
      connections: new Set(this._connections.keys()),
      streams: new Set(this._streams.keys()),
      archives: new Set(this._archives)
    };
    resync.timer = setTimeout(function () {
      if (self._resync !== resync) return;
      self._resync = null;
      resync.streams.forEach(function (id) {
        var stream = self._streams.get(id);
        if (stream) self._onStreamDestroyed({stream: {streamId: id}}, 'networkDisconnected');
      });
      resync.connections.forEach(function (id) {
        if (self._connections.has(id)) {
          self._onConnectionDestroyed({connection: {connectionId: id}}, 'networkDisconnected');
        }
      });
      resync.archives.forEach(function (id) {
        if (self._archives.has(id)) self._onArchiveStopped({id: id, name: null});
      });
    }, RESYNC_WINDOW_MS);
    this._resync = resync;
  };

  Session.prototype._onConnectionCreated = function (data) {
    var raw = data.connection || {};
    if (!raw.connectionId) return;
    if (this._resync) this._resync.connections.delete(raw.connectionId);
    if (this._connections.has(raw.connectionId)) return; // a replay after a reconnect
    if (this.connection && raw.connectionId === this.connection.connectionId) return;
    var connection = makeConnection(raw);
    this._connections.set(connection.connectionId, connection);
    this._dispatch(new OTEvent('connectionCreated', this, {connection: connection}));
  };

  Session.prototype._onConnectionDestroyed = function (data, reason) {
    var raw = data.connection || {};
    var connection = this._connections.get(raw.connectionId);
    if (!connection) return;
    this._connections.delete(raw.connectionId);
    // Its page is gone, and with it the far end of our publishers' peer connections to it.
    this._publishers.forEach(function (publisher) { publisher._closeLinks(false, raw.connectionId); });
    this._dispatch(new OTEvent('connectionDestroyed', this, {
      connection: connection, reason: reason || 'clientDisconnected'
    }));
  };

  Session.prototype._connectionFor = function (connectionId) {
    var known = this._connections.get(connectionId);
    if (known) return known;
    // A stream can be announced before its connection; OpenTok never shows one without it.
    var connection = makeConnection({connectionId: connectionId});
    this._connections.set(connectionId, connection);
    return connection;
  };

  Session.prototype._onStreamCreated = function (data) {
    var raw = data.stream || {};
    if (!raw.streamId) return;
    if (this._resync) this._resync.streams.delete(raw.streamId);
    if (this._streams.has(raw.streamId)) return;
    var stream = makeStream(raw, this._connectionFor(raw.connectionId));
    this._streams.set(stream.streamId, stream);
    this._dispatch(new OTEvent('streamCreated', this, {stream: stream}, true));
  };

  Session.prototype._onStreamDestroyed = function (data, reason) {
    var raw = data.stream || {};
    var stream = this._streams.get(raw.streamId);
    if (!stream) return;
    this._streams.delete(raw.streamId);
    var self = this;
    var event = new OTEvent('streamDestroyed', this, {
      stream: stream, reason: reason || 'clientDisconnected'
    }, true);
    // OpenTok's default: the stream's subscribers go, elements and all.
    this._dispatch(event, function () {
      self.getSubscribersForStream(stream).forEach(function (subscriber) {
        subscriber.destroy('streamDestroyed');
      });
    });
  };

  Session.prototype._onArchiveStarted = function (data) {
    if (!data.id) return;
    if (this._resync) this._resync.archives.delete(data.id);
    if (this._archives.has(data.id)) return;
    this._archives.add(data.id);
    this._syncCaptures();
    this._dispatch(new OTEvent('archiveStarted', this, {id: data.id, name: data.name || ''}));
  };

  Session.prototype._onArchiveStopped = function (data) {
    if (!data.id) return;
    this._archives.delete(data.id);
    this._syncCaptures();
    this._dispatch(new OTEvent('archiveStopped', this, {id: data.id, name: data.name || ''}));
  };

  // Our publishers record for the archive while one of the session records.
  Session.prototype._syncCaptures = function () {
    this._publishers.forEach(function (publisher) { publisher._syncCapture(); });
  };

  // As OpenTok.js: one event, of type 'signal:<type>' ('signal' when untyped), with `data`
  // and `from`, the sender's Connection, null for a signal sent by a server (REST API). It
  // goes to the 'signal' handlers, then to those of 'signal:<type>'.
  Session.prototype._onSignal = function (data) {
    var type = typeof data.type === 'string' ? data.type : '';
    var from = null;
    if (data.from) {
      from = this.connection && data.from === this.connection.connectionId ? this.connection
        : this._connectionFor(data.from);
    }
    var event = new OTEvent(type ? 'signal:' + type : 'signal', this, {
      data: typeof data.data === 'string' ? data.data : '',
      from: from
    });
    this._dispatch(event, null, 'signal');
    if (type) this._dispatch(event);
  };

  // WebRTC signalling from another page: for one of our publishers when it names one of our
  // streams, else for one of our subscribers.
  Session.prototype._onRtc = function (data) {
    var message = data.data;
    if (typeof data.from !== 'string' || !message || typeof message.streamId !== 'string') return;
    var publisher = this.getPublisherForStream(message);
    if (publisher) {
      publisher._onRtc(this, data.from, message);
    } else if (message.type === 'subscribe') {
      this._awaitPublisher(data.from, message);
    } else {
      this._subscribers.forEach(function (subscriber) {
        if (subscriber.id === message.subscriberId && subscriber.streamId === message.streamId) {
          subscriber._onRtc(data.from, message);
        }
      });
    }
  };

  // The emulator tells the others of our stream while its ID is still on its way to us in the
  // answer to publish, so a request for its media may come first: it waits for that answer,
  // and a stream that never turns out to be ours gets a bye.
  Session.prototype._awaitPublisher = function (from, message) {
    var self = this;
    var waiting = {from: from, message: message};
    waiting.timer = setTimeout(function () {
      self._unclaimed.delete(waiting);
      self._sendRtc(from, {type: 'bye', streamId: message.streamId, subscriberId: message.subscriberId});
    }, REQUEST_TIMEOUT_MS);
    this._unclaimed.add(waiting);
  };

  Session.prototype._claimRequests = function (publisher) {
    this._unclaimed.forEach(function (waiting) {
      if (waiting.message.streamId !== publisher.streamId) return;
      clearTimeout(waiting.timer);
      this._unclaimed.delete(waiting);
      publisher._onRtc(this, waiting.from, waiting.message);
    }, this);
  };

  Session.prototype._sendRtc = function (to, message) {
    if (this._state !== 'connected' || !this.connection) return;
    var path = '/connections/' + encodeURIComponent(this.connection.connectionId) + '/rtc';
    emulatorRequest('POST', path, {to: to, data: message}).catch(function () {
      // The other page has left: news of its stream or connection going is on its way.
    });
  };

  Session.prototype._onSessionDisconnected = function (data) {
    this._lose(data.reason || 'networkDisconnected');
  };

  // Closes the event stream and forgets the session's state, without telling anyone.
  Session.prototype._teardown = function () {
    if (this._events) this._events.close();
    this._events = null;
    if (this._pending) clearTimeout(this._pending.timer);
    this._pending = null;
    this._endReconnecting();
    if (this._resync) clearTimeout(this._resync.timer);
    this._resync = null;
    this._unclaimed.forEach(function (waiting) { clearTimeout(waiting.timer); });
    this._unclaimed.clear();
    // No media without the session; the other pages hear that we left from the emulator.
    this._publishers.forEach(function (publisher) {
      publisher._closeLinks(false);
      publisher._stopCapture();
    });
    this._subscribers.forEach(function (subscriber) { subscriber._hangUp(false); });
    this._state = 'disconnected';
    this._streams.clear();
    this._connections.clear();
    this._archives.clear();
    liveSessions.delete(this);
  };

  Session.prototype._forgetOnServer = function (keepalive) {
    if (!this.connection) return;
    var path = '/connections/' + encodeURIComponent(this.connection.connectionId);
    emulatorRequest('DELETE', path, undefined, {keepalive: keepalive}).catch(function () {
      // Gone already, or the emulator is down: either way there is nothing left to end.
    });
  };

  // The session ended without our asking (the emulator said so, or the stream is lost).
  Session.prototype._lose = function (reason) {
    if (this._state !== 'connected') return;
    this._teardown();
    this._announceEnd(reason);
  };

  // Tell publishers, subscribers and the page that the session is over, in that order.
  Session.prototype._announceEnd = function (reason) {
    var self = this;
    this._publishers.forEach(function (publisher) {
      var stream = publisher.stream;
      publisher.stream = null;
      publisher.streamId = null;
      publisher.session = null;
      self._publishers.delete(publisher);
      if (!stream) return;
      var event = new OTEvent('streamDestroyed', publisher, {stream: stream, reason: reason}, true);
      publisher._dispatch(event, function () { publisher.destroy(); });
    });
    var event = new OTEvent('sessionDisconnected', this, {reason: reason}, true);
    this._dispatch(event, function () {
      self._subscribers.forEach(function (subscriber) { subscriber.destroy('sessionDisconnected'); });
    });
  };

  Session.prototype.disconnect = function () {
    var state = this._state;
    if (state === 'disconnected') return this;
    var pending = this._pending;
    this._forgetOnServer(true);
    this._teardown();
    var self = this;
    later(function () {
      if (state === 'connected') {
        self._announceEnd('clientDisconnected');
      } else if (pending) {
        callback(pending.done, makeError('CONNECT_FAILED', 'disconnect() was called while connecting.'));
      }
    });
    return this;
  };

  Session.prototype.publish = function (publisher, properties) {
    var done = lastFunction(Array.prototype.slice.call(arguments, 1));
    if (!(publisher instanceof Publisher)) {
      // OpenTok also takes publish(targetElement, properties, handler) and makes the publisher.
      publisher = OT.initPublisher(publisher,
        properties && typeof properties === 'object' ? properties : {});
    }
    var self = this;
    if (!this.isConnected()) {
      callback(done, makeError('NOT_CONNECTED', 'Connect to the session before publishing.'));
      return publisher;
    }
    if (!this.capabilities.publish) {
      callback(done, makeError('UNABLE_TO_PUBLISH', 'This token does not allow publishing.'));
      return publisher;
    }
    if (publisher.stream) {
      callback(done);
      return publisher;
    }
    publisher._ready.then(function () {
      if (!self.isConnected()) throw makeError('NOT_CONNECTED', 'The session disconnected.');
      if (publisher._destroyed) throw makeError('UNABLE_TO_PUBLISH', 'The publisher was destroyed.');
      var body = {
        name: publisher.properties.name || '',
        hasAudio: publisher.hasAudio(),
        hasVideo: publisher.hasVideo()
      };
      var path = '/connections/' + encodeURIComponent(self.connection.connectionId) + '/streams';
      return emulatorRequest('POST', path, body).then(function (answer) {
        var stream = makeStream({
          streamId: answer.streamId,
          name: body.name,
          hasAudio: body.hasAudio,
          hasVideo: body.hasVideo
        }, self.connection);
        publisher.stream = stream;
        publisher.streamId = stream.streamId;
        publisher.session = self;
        self._publishers.add(publisher);
        self._claimRequests(publisher);
        publisher._syncCapture(); // an archive may be recording already
        publisher._dispatch(new OTEvent('streamCreated', publisher, {stream: stream}));
        callback(done);
      }, function (error) {
        throw makeError('UNABLE_TO_PUBLISH', 'Could not publish: ' + error.message);
      });
    }).catch(function (error) {
      callback(done, error && error.name && error.name.indexOf('OT_') === 0 ? error
        : makeError('UNABLE_TO_PUBLISH', 'Could not publish: ' + (error && error.message)));
    });
    return publisher;
  };

  Session.prototype.unpublish = function (publisher) {
    if (!publisher || !publisher.stream || publisher.session !== this) return this;
    var stream = publisher.stream;
    publisher._stopCapture();
    publisher.stream = null;
    publisher.streamId = null;
    publisher.session = null;
    this._publishers.delete(publisher);
    publisher._closeLinks(true);
    if (this.connection) {
      var path = '/connections/' + encodeURIComponent(this.connection.connectionId) +
        '/streams/' + encodeURIComponent(stream.streamId);
      emulatorRequest('DELETE', path).catch(function () { /* the stream is gone either way */ });
    }
    var event = new OTEvent('streamDestroyed', publisher, {stream: stream, reason: 'unpublished'}, true);
    publisher._dispatch(event, function () { publisher.destroy(); });
    return this;
  };

  Session.prototype.subscribe = function (stream, target, properties) {
    var done = lastFunction(Array.prototype.slice.call(arguments, 1));
    if (typeof target === 'function') target = undefined;
    if (!properties || typeof properties !== 'object') properties = {};
    if (target && typeof target === 'object' && target.nodeType !== 1 && !properties.insertMode) {
      // subscribe(stream, properties, handler): no target given.
      properties = target;
      target = undefined;
    }
    if (!this.isConnected()) {
      callback(done, makeError('NOT_CONNECTED', 'Connect to the session before subscribing.'));
      return null;
    }
    if (!stream || !this._streams.has(stream.streamId)) {
      callback(done, makeError('STREAM_NOT_FOUND', 'That stream is not in this session.'));
      return null;
    }
    var element = resolveTarget(target);
    if (target && !element) {
      callback(done, makeError('INVALID_PARAMETER', 'The target element was not found.'));
      return null;
    }
    var subscriber = new Subscriber(this, stream, element, properties);
    this._subscribers.add(subscriber);
    callback(done);
    return subscriber;
  };

  Session.prototype.unsubscribe = function (subscriber) {
    if (subscriber && subscriber.session === this) subscriber.destroy('unsubscribed');
    return this;
  };

  Session.prototype._forgetSubscriber = function (subscriber) {
    this._subscribers.delete(subscriber);
  };

  Session.prototype.getSubscribersForStream = function (stream) {
    var id = stream && stream.streamId;
    return Array.from(this._subscribers).filter(function (s) { return s.streamId === id; });
  };

  Session.prototype.getPublisherForStream = function (stream) {
    var id = stream && stream.streamId;
    return Array.from(this._publishers).find(function (p) { return p.streamId === id; }) || null;
  };

  // As OpenTok.js: session.signal({type, data}, completionHandler) reaches every client of
  // the session, the sender too, `from` the sender's connection (`to` is not emulated).
  Session.prototype.signal = function (signal, completionHandler) {
    if (!this.connection) {
      callback(completionHandler, makeError('NOT_CONNECTED', 'Connect before signalling.'));
      return;
    }
    var body = {type: (signal && signal.type) || '', data: (signal && signal.data) || ''};
    var path = '/connections/' + encodeURIComponent(this.connection.connectionId) +
      '/signal';
    emulatorRequest('POST', path, body).then(function () {
      callback(completionHandler, null);
    }, function (error) {
      callback(completionHandler, makeError('SIGNAL_FAILED', error.message));
    });
  };

  // --- OT ---------------------------------------------------------------------------------

  var OT = {
    version: VERSION,
    NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5,

    initSession: function (apiKey, sessionId) {
      if (sessionId === undefined) {
        // Older pages call initSession(sessionId).
        sessionId = apiKey;
        apiKey = '';
      }
      return new Session(apiKey, sessionId);
    },

    initPublisher: function (target, properties) {
      var done = lastFunction(Array.prototype.slice.call(arguments));
      if (typeof target === 'function') target = undefined;
      if (typeof properties !== 'object' || properties === null) properties = {};
      if (target && typeof target === 'object' && target.nodeType !== 1) {
        properties = target; // initPublisher(properties, handler)
        target = undefined;
      }
      var element = resolveTarget(target);
      var setupError = target && !element
        ? makeError('INVALID_PARAMETER', 'The publisher\'s target element was not found.') : null;
      var publisher = new Publisher(element, Object.assign({}, properties), setupError);
      publisher._ready.then(function () { callback(done); }, function (error) { callback(done, error); });
      return publisher;
    },

    checkSystemRequirements: function () { return 1; },
    upgradeSystemRequirements: function () {},
    setLogLevel: function () {},
    getLogLevel: function () { return OT.ERROR; },

    getDevices: function (done) {
      if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
        callback(done, makeError('NOT_SUPPORTED', 'This browser cannot list media devices.'));
        return;
      }
      navigator.mediaDevices.enumerateDevices().then(function (devices) {
        var list = devices.filter(function (d) { return d.kind !== 'audiooutput'; })
          .map(function (d) {
            return {deviceId: d.deviceId, label: d.label,
              kind: d.kind === 'videoinput' ? 'videoInput' : 'audioInput'};
          });
        later(function () { done(undefined, list); });
      }, function (error) { callback(done, mediaError(error)); });
    }
  };
  mixEvents(OT);

  // Leaving the page ends the connection at once, so others see this participant go and an
  // emptied session pauses its archive; keepalive lets the request outlive the page.
  var leftOnHide = [];
  global.addEventListener('pagehide', function () {
    liveSessions.forEach(function (session) {
      var wasConnected = session._state === 'connected';
      session._forgetOnServer(true);
      session._teardown();
      if (wasConnected) leftOnHide.push(session);
    });
  });
  // Back from the back/forward cache: the page is alive again but its sessions are not.
  global.addEventListener('pageshow', function (event) {
    if (!event.persisted) return;
    leftOnHide.splice(0).forEach(function (session) { session._announceEnd('networkDisconnected'); });
  });

  global.OT = OT;
})(window);
