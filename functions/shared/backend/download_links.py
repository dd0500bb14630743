"""OpenTok's download links, believed only where OpenTok serves archives from.

A recording OpenTok keeps in its cloud (`available`) comes with a `url`: the view sends
browsers there and the copy downloads it. Whoever shapes that answer (a doctored or mistaken
one) must not make the view redirect to `javascript:` or the copy fetch an address inside
AWS, so a link is used only when it is https on OpenTok's archive host, or on the OpenTok API's
own origin when OPENTOK_API_URL names one (the emulator serves its downloads there). The copy
follows no redirect.
"""

from typing import Any
from urllib.parse import urlsplit

from backend import config

# The host of OpenTok's download links in the SDKs' tests: recorded from the live API
# (OpenTok-Ruby-SDK spec/cassettes/OpenTok_Archives/should_find_archives_by_id.yml, 2014, then
# over http) and in the current SDKs' fixtures over https (vonage-kotlin-sdk
# VideoTest.kt's archiveVideoUrl; opentok-node test/archiving-test.js).
OPENTOK_ARCHIVE_HOST = "tokbox.com.archive2.s3.amazonaws.com"


def trusted(url: Any) -> str | None:
    """The link, if it leads where OpenTok serves archives from; None otherwise."""
    # Python's URL parser and those that fetch (urllib3, browsers) may not read a backslash,
    # an `@` or a control character alike, and each reading names another host: none of them.
    if not isinstance(url, str) or any(c in url for c in "\\@ ") or not url.isprintable():
        return None
    link = urlsplit(url)
    if link.scheme == "https" and link.netloc.lower() in (
        OPENTOK_ARCHIVE_HOST,
        f"{OPENTOK_ARCHIVE_HOST}:443",
    ):
        return url
    if config.OPENTOK_API_URL:
        api = urlsplit(config.OPENTOK_API_URL)
        if (link.scheme, link.netloc.lower()) == (api.scheme, api.netloc.lower()):
            return url
    return None
