"""`make host-link`: the deployed site's host link and participant link.

The host key stays in Secrets Manager; this prints it inside the link's fragment, which
browsers never send anywhere. Treat the host link like a password. The participant link
names the room's invite (ArchiveControl `host`): the room route gives it to the host, and
asking for it makes the room, as the host's page would.
"""

from typing import Any
from urllib.parse import quote

import boto3
import requests

from deploy import stack

DEFAULT_ROOM = "session"


def host_key(outputs: dict[str, str], secrets: Any = None) -> str:
    secrets = secrets or boto3.client("secretsmanager")
    return secrets.get_secret_value(SecretId=outputs["HostKeySecretArn"])["SecretString"]


def invite(api_url: str, key: str, room: str = DEFAULT_ROOM) -> str:
    """What the room's participant link names: its invite, or its name in `open` control."""
    answer = requests.get(
        f"{api_url.rstrip('/')}/room/{quote(room, safe='')}",
        headers={"X-Host-Key": key},
        timeout=15,
    )
    answer.raise_for_status()
    return answer.json().get("invite", room)


def for_site(site_url: str, key: str, room: str, invited: str) -> dict[str, str]:
    """`{"host": ..., "participant": ...}`: the room with the host key in the fragment, and
    the room's invite without it."""
    site = site_url.rstrip("/")
    # Encoded: a key rotated by hand may hold characters a URL gives other meanings.
    return {
        "host": f"{site}/?room={room}#host={quote(key, safe='')}",
        "participant": f"{site}/?room={invited}",
    }


def links(outputs: dict[str, str], room: str = DEFAULT_ROOM) -> dict[str, str]:
    """The two links to a room of the stack whose outputs these are."""
    key = host_key(outputs)
    return for_site(outputs["SiteUrl"], key, room, invite(outputs["ApiUrl"], key, room))


def main() -> None:
    found = links(stack.outputs())
    print(f"Host link (starts and stops recordings, sees them all): {found['host']}")
    print(f"Participant link (joins, watches):                      {found['participant']}")


if __name__ == "__main__":
    main()
