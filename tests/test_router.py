"""backend/api.py: one request's headers never reach another's route, even at the same time.

In Lambda an environment serves one event at a time; the local stack serves many at once
through one loaded function, and a host's Authorization header must stay the host's.
"""

import threading
import time

from backend import api


def test_concurrent_requests_each_see_their_own_headers() -> None:
    app = api.resolver()
    seen_wrong: list[str] = []

    @app.get("/echo/<name>")
    def echo(name: str) -> dict[str, str]:
        time.sleep(0.001)  # let the other threads' requests interleave with this one
        if app.current_event.headers.get("x-name") != name:
            seen_wrong.append(name)
        return {"name": name}

    def client(name: str) -> None:
        for _ in range(40):
            event = {
                "rawPath": f"/echo/{name}",
                "headers": {"x-name": name},
                "requestContext": {"http": {"method": "GET"}},
            }
            assert app.resolve(event, None)["statusCode"] == 200

    threads = [threading.Thread(target=client, args=(f"n{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen_wrong == []
    assert app.current_event.headers == {}  # and nothing is left behind after a request
