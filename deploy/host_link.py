"""`make host-link`: the deployed site's host link and participant link.

The host key stays in Secrets Manager; this prints it inside the link's fragment, which
browsers never send anywhere. Treat the host link like a password.
"""

from typing import Any
from urllib.parse import quote

import boto3

from deploy import stack

DEFAULT_ROOM = "session"


def links(outputs: dict[str, str], room: str = DEFAULT_ROOM, secrets: Any = None) -> dict[str, str]:
    """`{"host": ..., "participant": ...}` for a room of the stack whose outputs these are."""
    secrets = secrets or boto3.client("secretsmanager")
    key = secrets.get_secret_value(SecretId=outputs["HostKeySecretArn"])["SecretString"]
    return for_site(outputs["SiteUrl"], key, room)


def for_site(site_url: str, host_key: str, room: str = DEFAULT_ROOM) -> dict[str, str]:
    """The two links to a room of the site: with the host key in the fragment, and without."""
    participant = f"{site_url.rstrip('/')}/?room={room}"
    # Encoded: a key rotated by hand may hold characters a URL gives other meanings.
    return {"host": f"{participant}#host={quote(host_key, safe='')}", "participant": participant}


def main() -> None:
    found = links(stack.outputs())
    print(f"Host link (starts and stops recordings, sees them all): {found['host']}")
    print(f"Participant link (joins, watches):                      {found['participant']}")


if __name__ == "__main__":
    main()
