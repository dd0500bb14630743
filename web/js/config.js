/*
 * Where the page finds its backend and OpenTok.js. Loaded before every other script.
 *
 * SAMPLE_SERVER_BASE_URL: the API's base URL, without a trailing slash. For a deployment, set
 * it to the stack's API endpoint (the ApiUrl output). The local dev server (`make dev`) does
 * not use this file: it serves its own /js/config.js pointing at itself, so this committed
 * value is only a placeholder for serving web/ some other way next to a local API.
 *
 * OPENTOK_JS_URL: the OpenTok.js client library. The dev server swaps in its local stand-in
 * (/local/opentok.js), which talks to the OpenTok emulator instead of OpenTok.
 *
 * OPENTOK_JS_INTEGRITY: optional, the Subresource Integrity of that file ("sha384-..."): the
 * browser then runs it only if it is exactly that file. Only for a URL whose file never changes
 * (one version of OpenTok.js, e.g. a copy served with the site): the default URL follows the
 * latest 2.x and changes under it, so it has none. docs/security.md says how to pin one; make
 * dev pins its stand-in.
 */
window.SAMPLE_SERVER_BASE_URL = 'http://127.0.0.1:3000';
window.OPENTOK_JS_URL = 'https://static.opentok.com/v2/js/opentok.min.js';
window.OPENTOK_JS_INTEGRITY = '';
