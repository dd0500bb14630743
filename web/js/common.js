/*
 * What the three pages share: calling the API (always with a timeout), the error banner,
 * and formatting. Exposed as window.Sample; no build step, so no modules.
 */
(function () {
  'use strict';

  const REQUEST_TIMEOUT_MS = 10000;

  // An empty base means "same origin as the page", which also works behind a proxy.
  const base = String(window.SAMPLE_SERVER_BASE_URL || '').replace(/\/+$/, '');

  class ApiError extends Error {
    /**
     * kind: 'network' (no answer at all), 'timeout', or 'http' (an answer with an error status).
     * status: the HTTP status, 0 when there was no answer.
     */
    constructor(message, kind, status) {
      super(message);
      this.name = 'ApiError';
      this.kind = kind;
      this.status = status || 0;
    }

    // Worth trying again later: nothing answered, or the server failed rather than refused.
    get transient() {
      return this.kind !== 'http' || this.status >= 500 || this.status === 429;
    }
  }

  function apiUrl(path) {
    return base + path;
  }

  function serverName() {
    return base || window.location.origin;
  }

  async function request(method, path, options) {
    const {body, headers, timeoutMs = REQUEST_TIMEOUT_MS} = options || {};
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const init = {
      method,
      headers: Object.assign({Accept: 'application/json'}, headers),
      cache: 'no-store',
      signal: controller.signal
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    try {
      let response;
      try {
        response = await fetch(apiUrl(path), init);
      } catch (error) {
        throw noAnswer(error, controller, timeoutMs);
      }
      let text;
      try {
        text = await response.text();
      } catch (error) {
        throw noAnswer(error, controller, timeoutMs);
      }
      let data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch (ignored) {
        data = null;
      }
      if (!response.ok) {
        const reason = data && typeof data.error === 'string' ? data.error
          : data && typeof data.message === 'string' ? data.message
            : response.statusText || 'request failed';
        throw new ApiError(`${reason} (HTTP ${response.status})`, 'http', response.status);
      }
      if (data === null) {
        throw new ApiError(`the server sent an unexpected answer (HTTP ${response.status})`,
          'http', response.status);
      }
      return data;
    } finally {
      clearTimeout(timer);
    }
  }

  function noAnswer(error, controller, timeoutMs) {
    if (controller.signal.aborted) {
      return new ApiError(`the server at ${serverName()} did not answer within ` +
        `${Math.round(timeoutMs / 1000)} seconds`, 'timeout');
    }
    // fetch says little on purpose (CORS, DNS, refused all look alike), so neither can we.
    return new ApiError(`can't reach the server at ${serverName()}`, 'network');
  }

  // --- The host key ----------------------------------------------------------------------
  // The host link carries it in the fragment (#host=...), which browsers never send to a
  // server. It is kept for this site (localStorage), so that the Recordings page or a
  // recording opened in another tab still knows the host, until the host forgets it
  // ("Forget host key" in the top bar, for a shared computer). It is taken out of the address
  // bar, so that copying the page's address to invite people does not hand them the key.

  const HOST_KEY_STORAGE = 'sample.hostKey';

  function readHostKey() {
    const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    const fromLink = fragment.get('host');
    if (fromLink) {
      try {
        window.localStorage.setItem(HOST_KEY_STORAGE, fromLink);
      } catch (ignored) {
        // Storage may be off; the key still works until the page is left.
      }
      fragment.delete('host');
      const rest = fragment.toString();
      window.history.replaceState(null, '',
        window.location.pathname + window.location.search + (rest ? `#${rest}` : ''));
      return fromLink;
    }
    try {
      return window.localStorage.getItem(HOST_KEY_STORAGE);
    } catch (ignored) {
      return null;
    }
  }

  let hostKey = readHostKey();

  const host = {
    key: () => hostKey,
    headers: () => (hostKey ? {'X-Host-Key': hostKey} : {}),
    forget() {
      hostKey = null;
      try {
        window.localStorage.removeItem(HOST_KEY_STORAGE);
      } catch (ignored) {
        // nothing kept, nothing to forget
      }
      renderHostBadge();
    }
  };

  // In the top bar of every page, while this browser holds the key: say so, and offer to
  // forget it. The page reloads as a participant's.
  function renderHostBadge() {
    const nav = document.querySelector('.topbar nav');
    if (!nav) return;
    let badge = document.getElementById('host-badge');
    if (!hostKey) {
      if (badge) badge.remove();
      return;
    }
    if (badge) return;
    badge = document.createElement('button');
    badge.type = 'button';
    badge.id = 'host-badge';
    badge.className = 'host-badge';
    badge.dataset.testid = 'forget-host-key';
    badge.title = 'This browser holds the host key. Forget it on a shared computer; the ' +
      'host link brings it back.';
    badge.textContent = 'Forget host key';
    badge.addEventListener('click', () => {
      host.forget();
      window.location.reload();
    });
    nav.append(badge);
  }

  // --- Who is sent to the Recordings page -------------------------------------------------
  // In `host` control the Recordings page refuses participants. Only the call page hears the
  // control mode (from /room), so it keeps it for this site: the other pages then do not send
  // a participant to that refusal either. It only hides links; the server decides who reads.

  const CONTROL_STORAGE = 'sample.archiveControl';

  function readControl() {
    try {
      return window.localStorage.getItem(CONTROL_STORAGE);
    } catch (ignored) {
      return null; // unknown: the links stay, as before the call page ever answered
    }
  }

  const recordings = {
    offered: () => Boolean(hostKey) || readControl() !== 'host',
    rememberControl(control) {
      try {
        window.localStorage.setItem(CONTROL_STORAGE, control);
      } catch (ignored) {
        // Storage may be off; the call page still hides its own link.
      }
      renderRecordingsLinks();
    }
  };

  function renderRecordingsLinks() {
    const offered = recordings.offered();
    document.querySelectorAll('[data-recordings-link]').forEach((link) => {
      link.hidden = !offered;
    });
  }

  // --- Running under make dev --------------------------------------------------------------

  // make dev's /js/config.js sets LOCAL_DEV: everything it holds is gone when it stops.
  function renderLocalNotice() {
    if (!window.LOCAL_DEV || document.getElementById('local-notice')) return;
    const notice = document.createElement('p');
    notice.id = 'local-notice';
    notice.className = 'local-notice';
    notice.dataset.testid = 'local-notice';
    notice.textContent = 'Local test stack (make dev): no OpenTok or AWS account is used, and ' +
      'restarting it forgets every room and recording.';
    const main = document.querySelector('main');
    if (main) main.prepend(notice);
  }

  const api = {
    base,
    url: apiUrl,
    request,
    get: (path, options) => request('GET', path, options),
    post: (path, body, options) => request('POST', path, Object.assign({body}, options)),
    put: (path, body, options) => request('PUT', path, Object.assign({body}, options)),
    delete: (path, options) => request('DELETE', path, options)
  };

  // --- The error banner: one message at a time, the newest wins --------------------------

  let retryAction = null;

  function banner() {
    return {
      root: document.getElementById('error'),
      message: document.getElementById('error-message'),
      retry: document.getElementById('error-retry'),
      dismiss: document.getElementById('error-dismiss')
    };
  }

  function showError(message, options) {
    const {retry, retryLabel = 'Retry'} = options || {};
    const parts = banner();
    if (!parts.root) {
      window.alert(message); // a page without a banner still must not fail silently
      return;
    }
    parts.message.textContent = message;
    retryAction = typeof retry === 'function' ? retry : null;
    parts.retry.hidden = !retryAction;
    parts.retry.textContent = retryLabel;
    parts.root.hidden = false;
  }

  function clearError() {
    const parts = banner();
    retryAction = null;
    if (parts.root) parts.root.hidden = true;
  }

  function wireBanner() {
    const parts = banner();
    if (!parts.root) return;
    parts.dismiss.addEventListener('click', clearError);
    parts.retry.addEventListener('click', () => {
      const action = retryAction;
      clearError();
      if (action) action();
    });
  }

  function wirePage() {
    wireBanner();
    renderHostBadge();
    renderRecordingsLinks();
    renderLocalNotice();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', wirePage);
  } else {
    wirePage();
  }

  // --- Formatting --------------------------------------------------------------------------

  function pad(number) {
    return String(number).padStart(2, '0');
  }

  // mm:ss, with minutes going past 59 rather than growing an hours field.
  function clock(totalSeconds) {
    const seconds = Math.max(0, Math.floor(totalSeconds || 0));
    return `${pad(Math.floor(seconds / 60))}:${pad(seconds % 60)}`;
  }

  function duration(totalSeconds) {
    if (totalSeconds === null || totalSeconds === undefined) return '—';
    const seconds = Math.max(0, Math.round(totalSeconds));
    const hours = Math.floor(seconds / 3600);
    const rest = clock(seconds % 3600);
    return hours ? `${hours}:${rest}` : rest;
  }

  function megabytes(bytes) {
    if (!bytes) return '—';
    const mb = bytes / 1e6;
    if (mb < 0.1) return '< 0.1 MB';
    return `${mb < 10 ? mb.toFixed(1) : Math.round(mb).toLocaleString()} MB`;
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'});

  function date(epochMs) {
    if (!epochMs) return '—';
    return dateFormat.format(new Date(epochMs));
  }

  // An archive's state in plain words, and a tone for its badge. A recording copied to our
  // bucket is ready whatever OpenTok did with its own copy since.
  const STATES = {
    started: ['Recording', 'live'],
    paused: ['Paused', 'live'],
    stopped: ['Processing', 'busy'],
    uploaded: ['Processing', 'busy'],
    available: ['Ready', 'ok'],
    failed: ['Failed', 'bad'],
    expired: ['Expired', 'bad'],
    deleted: ['Deleted', 'bad']
  };

  // OpenTok's reasons for a failed recording, where its own words say little.
  const FAILURE_REASONS = {
    failure: 'OpenTok could not produce or store the video'
  };

  // Why a failed recording failed, in plain words; '' when OpenTok gave no reason.
  function failureReason(archive) {
    if (archive.status !== 'failed' || archive.ready || !archive.reason) return '';
    return FAILURE_REASONS[archive.reason] || archive.reason;
  }

  function archiveState(archive) {
    if (archive.ready) return {label: 'Ready', tone: 'ok'};
    const [label, tone] = STATES[archive.status] || ['Processing', 'busy'];
    return {label, tone};
  }

  // Still changing: a list shows it again a little later.
  function settled(archive) {
    return archive.ready || ['available', 'failed', 'expired', 'deleted'].includes(archive.status);
  }

  // Our pages name a recording "<room> · <yyyy-mm-dd hh:mm>"; the date is shown on its own.
  function roomOf(name) {
    const match = /^(.*) · \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.exec(name || '');
    return match ? match[1] : (name || '');
  }

  function query(name) {
    return new URLSearchParams(window.location.search).get(name);
  }

  window.Sample = {
    api,
    ApiError,
    host,
    recordings,
    ui: {showError, clearError},
    format: {clock, duration, megabytes, date, archiveState, failureReason, roomOf},
    settled,
    query
  };
})();
