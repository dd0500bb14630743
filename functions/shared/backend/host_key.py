"""The host key: whoever holds it is a host. A secret the stack generates in Secrets Manager.

The key travels in the `X-Host-Key` header only: pages keep it in the URL fragment, which
browsers never send, so it reaches neither query-string logs nor referrers.
"""

import hmac

from backend import api, config, secret_store
from backend.errors import Forbidden, Unauthorized

HEADER = "x-host-key"


def control_is_open() -> bool:
    """True when anyone may start and stop recordings (ArchiveControl `open`)."""
    return config.ARCHIVE_CONTROL == "open"


def presented_key(request: api.Request) -> str | None:
    return request.headers.get(HEADER) or None


def matches(presented: str) -> bool:
    if not config.HOST_KEY_SECRET_ARN:
        raise RuntimeError("HOST_KEY_SECRET_ARN is not set for this function")
    expected = secret_store.text_secret(config.HOST_KEY_SECRET_ARN)
    # Constant time: how long a refusal takes says nothing of how close a guess came.
    # A header may hold what UTF-8 cannot encode; the key is plain ASCII, so "?" never matches.
    return hmac.compare_digest(presented.encode(errors="replace"), expected.encode())


def require_host(request: api.Request, action: str) -> None:
    """Refuses `action` unless the request presents the host key (or control is open)."""
    if control_is_open():
        return
    presented = presented_key(request)
    if presented is None:
        raise Unauthorized(f"only hosts may {action}: send the host key in X-Host-Key")
    if not matches(presented):
        raise Forbidden(f"only hosts may {action}, and that is not the host key")
