"""Contract §9, archive status callbacks: their body, their retries, their signature.

Sources: CB (https://tokbox.com/developer/callbacks/, "Archive status" example), SUP 6646236108700
and 11703629696412 (retries of the TokBox sender and of the Vonage callback service), SEC
(https://developer.vonage.com/en/video/guides/secure-callbacks: a JWT in the Authorization
header signed with the signature secret) and Vonage's announcement of secure callbacks
(https://developer.vonage.com/en/blog/vonage-video-api-secure-callbacks-general-availability-announcement:
header `alg: HS256, typ: JWT`; claims `iat`, `jti`, `iss: "Vonage"`, `payload_hash` (SHA-256
of the payload), `api_key`, `application_id`), the same scheme as the Messages API's signed
webhooks (Nexmo/station `_documentation/en/messages/concepts/signed-webhooks.md`).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator

import jwt
import opentok
import pytest

from local.opentok import OpenTokEmulator
from local.opentok.jobs import LEGACY_RETRIES, VONAGE_RETRIES
from tests.support.credentials import APPLICATION_ID, PRIVATE_KEY
from tests.support.opentok import (
    KEY,
    SECRET,
    CallbackReceiver,
    join,
    join_publishing,
    routed_session,
)

SIGNATURE_SECRET = "callback-signature-secret-0123456789abcdef"
# §9's list of body fields: CB's example plus `event` (VPY archive.json).
CALLBACK_FIELDS = {
    "id",
    "status",
    "name",
    "reason",
    "sessionId",
    "projectId",
    "createdAt",
    "size",
    "duration",
    "outputMode",
    "hasAudio",
    "hasVideo",
    "certificate",
    "sha256sum",
    "password",
    "updatedAt",
    "event",
}


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


def emulator(receiver: CallbackReceiver, **options) -> OpenTokEmulator:
    settings = {"processing_delay": 0.05, "time_scale": 300, **options}
    return OpenTokEmulator(KEY, SECRET, callback_url=receiver.url, **settings)


def start_archive(emu: OpenTokEmulator) -> str:
    ot = opentok.Client(KEY, SECRET, api_url=emu.url)
    session_id = routed_session(ot)
    join_publishing(emu, ot, session_id)  # else OpenTok stops it a minute on (§6)
    return ot.start_archive(session_id).id


def record_and_stop(emu: OpenTokEmulator) -> str:
    ot = opentok.Client(KEY, SECRET, api_url=emu.url)
    session_id = routed_session(ot)
    join(emu, ot, session_id)
    archive_id = ot.start_archive(session_id).id
    ot.stop_archive(archive_id)
    return archive_id


# Body


def test_every_status_change_posts_the_archive_with_event_archive(receiver):
    """§9 "when" and "body": one POST per status change; CB's fields plus `event: archive`."""
    with emulator(receiver) as emu:
        archive_id = record_and_stop(emu)
        emu.wait_for(lambda: receiver.statuses(archive_id) == ["started", "stopped", "available"])

    for body in receiver.bodies:
        assert set(body) == CALLBACK_FIELDS
        assert body["event"] == "archive"
        assert body["projectId"] == int(KEY)
        assert (body["certificate"], body["password"]) == ("", "")
    started, stopped, available = receiver.bodies
    assert started["reason"] == "" and stopped["reason"] == "user initiated"
    assert started["sha256sum"] == stopped["sha256sum"] == ""  # no file yet (§3)
    assert available["size"] > 0 and len(available["sha256sum"]) == 64
    assert receiver.deliveries[0].headers["Content-Type"] == "application/json"


# Retries


def test_vonage_service_backs_off_from_5_seconds_to_15_minutes_for_24_hours():
    """§9 (SUP 6646236108700): initial_back_off 5 s, doubling, max_back_off 15 min, 24 h."""
    delays = list(VONAGE_RETRIES.delays())

    assert delays[:9] == [5, 10, 20, 40, 80, 160, 320, 640, 900]
    assert set(delays[9:]) == {900}
    assert sum(delays) <= 24 * 3600 < sum(delays) + 900


def test_legacy_sender_retries_four_times_unverified():
    """§9 (SUP 6646236108700): 4 retries per event; their spacing is undocumented, taken as
    the Vonage service's doubling from 5 s."""
    assert list(LEGACY_RETRIES.delays()) == [5, 10, 20, 40]


def test_a_failed_callback_is_retried_after_5_then_10_then_20_seconds(receiver):
    """§9: a non-2xx answer is a failed delivery; retried with doubling waits (scaled 100x)."""
    receiver.fail_next(3, status=500)
    with emulator(receiver, callback_time_scale=100) as emu:
        archive_id = start_archive(emu)
        attempts = emu.wait_for(
            lambda: len(a := receiver.attempts(archive_id, "started")) == 4 and a
        )

    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert [a.answered for a in attempts] == [500, 500, 500, 200]
    for gap, delay in zip(gaps, (5, 10, 20), strict=True):
        assert gap >= delay / 100 * 0.9
    assert receiver.statuses(archive_id) == ["started"]  # delivered once it was answered


def test_vonage_service_gives_up_after_24_hours_of_failures(receiver):
    """§9: "for up to 24 h", then the event is no longer sent (a day in half a second)."""
    receiver.fail_next(1000)
    with emulator(receiver, callback_time_scale=24 * 3600 / 0.5) as emu:
        archive_id = start_archive(emu)
        emu.wait_for(emu.callbacks_idle, timeout=20)
        attempts = receiver.attempts(archive_id, "started")

    assert len(attempts) == 1 + len(list(VONAGE_RETRIES.delays()))


def test_legacy_sender_gives_up_after_four_retries(receiver):
    """§9 (SUP 6646236108700): the TokBox sender retries 4 times per failed event."""
    receiver.fail_next(100, status=404)
    with emulator(receiver, callback_retries="legacy", callback_time_scale=1000) as emu:
        archive_id = start_archive(emu)
        emu.wait_for(emu.callbacks_idle)
        attempts = receiver.attempts(archive_id, "started")

    assert [a.answered for a in attempts] == [404] * 5


def test_a_callback_waiting_for_its_retry_holds_up_no_other(receiver):
    """§11.10: callbacks may arrive late and out of order; a failing one blocks nothing."""
    receiver.fail_next(1)
    with emulator(receiver, callback_time_scale=1) as emu:  # the retry comes 5 s later
        archive_id = record_and_stop(emu)
        emu.wait_for(lambda: receiver.statuses(archive_id) == ["stopped", "available"])
        began = time.monotonic()

    assert time.monotonic() - began < 2.5  # stopping does not wait for the retry
    assert len(receiver.attempts(archive_id, "started")) == 1


def test_an_unreachable_receiver_is_retried_without_stopping_the_archive():
    """§9: unreachable is a failed delivery too; the archive's life goes on regardless."""
    with OpenTokEmulator(
        KEY, SECRET, processing_delay=0.05, callback_url="http://127.0.0.1:9/nowhere"
    ) as emu:
        ot = opentok.Client(KEY, SECRET, api_url=emu.url)
        archive_id = record_and_stop(emu)
        emu.wait_for(lambda: ot.get_archive(archive_id).status == "available")
        assert not emu.callbacks_idle()  # retries are waiting


# Signature


def decode(delivery, secret: str = SIGNATURE_SECRET) -> dict:
    scheme, _, token = delivery.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    return jwt.decode(token, secret, algorithms=["HS256"])


def test_with_a_signature_secret_every_callback_carries_a_signed_jwt(receiver):
    """§9 signature (SEC; the secure-callbacks announcement): HS256 with the signature secret,
    `iat`, `jti`, `iss`, `api_key`, and `payload_hash`, the SHA-256 of the body."""
    with emulator(receiver, callback_signature_secret=SIGNATURE_SECRET) as emu:
        archive_id = record_and_stop(emu)
        emu.wait_for(lambda: len(receiver.statuses(archive_id)) == 3)

    for delivery in receiver.deliveries:
        claims = decode(delivery)
        assert claims["payload_hash"] == hashlib.sha256(delivery.body).hexdigest()
        assert claims["iss"] == "Vonage"
        assert claims["api_key"] == KEY
        assert abs(claims["iat"] - time.time()) < 60
        assert "application_id" not in claims
    assert len({decode(d)["jti"] for d in receiver.deliveries}) == 3
    with pytest.raises(jwt.InvalidSignatureError):
        decode(receiver.deliveries[0], secret="another-secret-of-the-same-length-000000")


def test_a_vonage_application_s_callbacks_name_it(receiver, tmp_path):
    """The announcement's `application_id` claim, for Vonage application credentials."""
    with OpenTokEmulator(
        APPLICATION_ID,
        PRIVATE_KEY,
        callback_url=receiver.url,
        callback_signature_secret=SIGNATURE_SECRET,
    ) as emu:
        key_file = tmp_path / "private.key"  # the SDK takes a Vonage key as a file
        key_file.write_text(PRIVATE_KEY)
        ot = opentok.Client(APPLICATION_ID, str(key_file))
        ot.endpoints = opentok.endpoints.Endpoints(emu.url, APPLICATION_ID)
        session_id = ot.create_session(media_mode=opentok.MediaModes.routed).session_id
        emu.connect(session_id, ot.generate_token(session_id))
        ot.start_archive(session_id)
        emu.wait_for(lambda: receiver.deliveries)

    assert decode(receiver.deliveries[0])["application_id"] == APPLICATION_ID


def test_each_attempt_is_signed_afresh_unverified(receiver):
    """Undocumented: whether a retry is signed again. Taken so (a new `iat` and `jti`), as a
    signature is made when a request is sent."""
    receiver.fail_next(1)
    with emulator(
        receiver, callback_signature_secret=SIGNATURE_SECRET, callback_time_scale=100
    ) as emu:
        archive_id = start_archive(emu)
        attempts = emu.wait_for(
            lambda: len(a := receiver.attempts(archive_id, "started")) == 2 and a
        )

    first, retry = (decode(attempt) for attempt in attempts)
    assert first["jti"] != retry["jti"]
    assert first["payload_hash"] == retry["payload_hash"]


def test_signed_callbacks_follow_the_vonage_service_s_retries():
    """§9: the Vonage callback service sends every signed callback (SUP 11703629696412)."""
    emu = OpenTokEmulator(KEY, SECRET, callback_retries="legacy", callback_signature_secret="s")
    assert emu.callback_retries == "vonage"


def test_without_a_signature_secret_callbacks_are_unsigned(receiver):
    with emulator(receiver) as emu:
        start_archive(emu)
        emu.wait_for(lambda: receiver.deliveries)

    assert "Authorization" not in receiver.deliveries[0].headers
