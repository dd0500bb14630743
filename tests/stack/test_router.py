"""One request's headers never reach another's route: a host's credential stays the host's.

In Lambda (and in the local harness, a worker process per environment) an environment serves
one event at a time, and events at the same time are served by environments of their own.
"""

import json
import threading

import jwt

from backend import api
from tests.support.stack import Stack


def _echo_event(name: str | None) -> dict:
    return {
        "rawPath": "/echo",
        "headers": {"x-name": name} if name else {},
        "requestContext": {"http": {"method": "GET"}},
    }


def test_a_request_leaves_nothing_of_itself_for_the_next() -> None:
    app = api.resolver()

    @app.get("/echo")
    def echo() -> dict[str, str | None]:
        return {"name": app.current_event.headers.get("x-name")}

    assert json.loads(app.resolve(_echo_event("host"), None)["body"]) == {"name": "host"}
    assert app.current_event.headers == {}
    assert json.loads(app.resolve(_echo_event(None), None)["body"]) == {"name": None}


def test_hosts_and_participants_joining_at_once_each_get_their_own_role(stack: Stack) -> None:
    host_key = stack.host_key
    invite = stack.participant_name("crowded")
    roles: list[tuple[bool, str]] = []
    gate = threading.Barrier(8)

    def join(as_host: bool) -> None:
        headers = {"x-host-key": host_key} if as_host else {}
        name = "crowded" if as_host else invite
        gate.wait(timeout=10)
        for _ in range(3):
            answer = stack.api.request("GET", f"/room/{name}", headers=headers)
            token = answer.json()["token"]
            claims = jwt.decode(token, stack.opentok.api_secret, algorithms=["HS256"])
            roles.append((as_host, claims["role"]))

    threads = [threading.Thread(target=join, args=(i % 2 == 0,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(roles) == 24
    assert all(role == ("moderator" if as_host else "publisher") for as_host, role in roles)
