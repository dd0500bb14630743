"""The sample's whole story: join, Start Archive, Stop Archive, View Archive."""

import jwt

from tests.support.stack import API_KEY, Stack


def test_recording_is_viewable_once_opentok_uploads_it_to_our_bucket(stack: Stack) -> None:
    session = stack.join("standup")
    started = stack.post("/archive/start", {"sessionId": session["sessionId"], "name": "Standup"})
    assert started.status == 200
    archive = started.json()
    assert archive["status"] == "started"
    assert archive["name"] == "Standup"
    assert archive["ready"] is False

    stopped = stack.post(f"/archive/{archive['id']}/stop")
    assert stopped.status == 200
    assert stopped.json()["status"] == "stopped"

    stack.wait_until_uploaded(archive["id"])
    assert stack.deliver_s3_events() == 1

    view = stack.get(f"/archive/{archive['id']}/view")
    assert view.status == 302
    location = view.headers["location"]
    assert f"/{API_KEY}/{archive['id']}/archive.mp4" in location
    assert "X-Amz-Signature=" in location
    shown = stack.get(f"/archive/{archive['id']}").json()
    assert shown["ready"] is True
    assert shown["status"] == "uploaded"
    assert shown["size"] > 0


def test_room_hands_out_a_publisher_token_for_its_session(stack: Stack) -> None:
    joined = stack.api.request("GET", f"/room/{stack.participant_name()}").json()
    assert joined["apiKey"] == API_KEY
    claims = jwt.decode(joined["token"], stack.opentok.api_secret, algorithms=["HS256"])
    assert claims["session_id"] == joined["sessionId"]
    assert claims["role"] == "publisher"
