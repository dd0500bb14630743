"""An individual archive's zip read by byte ranges from the bucket
(functions/shared/backend/archive_zip.py): its end record and central directory, zip64's
too, each entry's bytes checked against its CRC-32, and a zip that is not one we can read
refused as Unreadable with a reason in plain words.

The format is PKWARE's APPNOTE.TXT (end of central directory 4.3.16, central directory header
4.3.12, zip64 end record and locator 4.3.14-15, zip64 extended information 4.5.3); zips are
made by Python's zipfile, and the zip64 one by hand (below), which zipfile reads back. OpenTok's
media entries are stored (contract §8). The bucket is moto's, versioned as the template's.
"""

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator

import boto3
import pytest

from local.aws.template import Template

BUCKET = "archives"
KEY = "47000000/b40ef09b-3811-4726-b508-e41a0f96c68f/archive.zip"
MEDIA = {"alice.webm": b"alice" * 1000, "bob.webm": bytes(range(256)) * 40, "empty.webm": b""}


@pytest.fixture
def archive_zip(aws: None):
    from backend import archive_zip

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    versioning = Template().resources["ArchiveBucket"]["Properties"]["VersioningConfiguration"]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration=versioning)
    return archive_zip


@pytest.fixture
def answered(archive_zip) -> Iterator[list[int]]:
    """How many bytes S3 sent in answer to each of the module's GETs."""
    sizes: list[int] = []

    def record(parsed: dict, **_: object) -> None:
        sizes.append(parsed["ContentLength"])

    archive_zip.s3.meta.events.register("after-call.s3.GetObject", record)
    yield sizes
    archive_zip.s3.meta.events.unregister("after-call.s3.GetObject", record)


def _upload(body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key=KEY, Body=body)


def _zip(media: dict[str, bytes], method: int = zipfile.ZIP_STORED, comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as bundle:
        for name, body in media.items():
            bundle.writestr(name, body)
        bundle.comment = comment
    return buffer.getvalue()


def _zip64(media: dict[str, bytes]) -> bytes:
    """A stored zip whose sizes, offsets and count are in zip64 fields only, saturated in
    the classic ones, as a zip over 4 GiB has them."""
    out, directory = bytearray(), bytearray()
    for name, body in media.items():
        encoded, crc, offset = name.encode(), zlib.crc32(body), len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, len(body), len(body))
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
            len(encoded), len(local_extra),
        )  # fmt: skip
        out += encoded + local_extra + body
        extra = struct.pack("<HHQQQ", 1, 24, len(body), len(body), offset)
        directory += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF,
            0xFFFFFFFF, len(encoded), len(extra), 0, 0, 0, 0, 0xFFFFFFFF,
        )  # fmt: skip
        directory += encoded + extra
    directory_offset = len(out)
    out += directory
    end_offset = len(out)
    out += struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, len(media), len(media), len(directory),
        directory_offset,
    )  # fmt: skip
    out += struct.pack("<4sIQI", b"PK\x06\x07", 0, end_offset, 1)
    out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return bytes(out)


def _read_all(archive_zip, body: bytes) -> dict[str, bytes]:
    _upload(body)
    found = archive_zip.open_zip(BUCKET, KEY)
    return {
        name: archive_zip.read_entry(found, entry, 1 << 20) for name, entry in found.entries.items()
    }


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"]
)
def test_each_entry_is_read_from_the_central_directory(archive_zip, method: int) -> None:
    body = _zip(MEDIA, method)
    _upload(body)

    found = archive_zip.open_zip(BUCKET, KEY)

    assert found.size == len(body)
    assert found.version_id  # every read names the version
    expected = zipfile.ZipFile(io.BytesIO(body))
    for info in expected.infolist():
        entry = found.entries[info.filename]
        assert (entry.method, entry.size, entry.compressed_size, entry.crc) == (
            info.compress_type,
            info.file_size,
            info.compress_size,
            info.CRC,
        )
        assert entry.header_offset == info.header_offset
    assert {
        name: archive_zip.read_entry(found, entry, 1 << 20) for name, entry in found.entries.items()
    } == MEDIA


def test_a_zip64_zip_is_read_from_its_zip64_fields(archive_zip) -> None:
    body = _zip64(MEDIA)
    written = zipfile.ZipFile(io.BytesIO(body))
    assert {info.filename: written.read(info) for info in written.infolist()} == MEDIA
    assert _read_all(archive_zip, body) == MEDIA


def test_a_zip_with_a_comment_is_read_from_its_end_record(archive_zip) -> None:
    assert _read_all(archive_zip, _zip(MEDIA, comment=b"recorded by OpenTok " * 100)) == MEDIA


def test_an_end_record_signature_inside_the_comment_is_not_taken_for_the_end_record(
    archive_zip,
) -> None:
    """Only the record whose comment length reaches the zip's end is the end record."""
    comment = b"recorded by OpenTok; the bytes PK\x05\x06 end a zip, and this comment goes on"
    assert _read_all(archive_zip, _zip(MEDIA, comment=comment)) == MEDIA


def test_an_entry_s_name_in_utf_8_is_its_name(archive_zip) -> None:
    assert _read_all(archive_zip, _zip({"ünïcode.json": b"{}"})) == {"ünïcode.json": b"{}"}


def _damage(body: bytes, old: bytes, new: bytes) -> bytes:
    assert body.count(old) == 1
    return body.replace(old, new)


def _with_directory_bytes(body: bytes, name: str, at: int, new: bytes) -> bytes:
    """The zip with the bytes from `at` of `name`'s central directory header replaced."""
    header = body.rindex(b"PK\x01\x02", 0, body.rindex(name.encode()))
    return body[: header + at] + new + body[header + at + len(new) :]


def _with_end_record_bytes(body: bytes, at: int, new: bytes) -> bytes:
    """The zip with the end record's bytes from `at` (past its signature) replaced."""
    end = body.rindex(b"PK\x05\x06")
    return body[: end + at] + new + body[end + at + len(new) :]


def _zip_with_extra(extra: bytes) -> bytes:
    """A zip of one entry whose extra field, in both its headers, is `extra`."""
    info = zipfile.ZipInfo("only.webm")
    info.extra = extra
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(info, b"x")
    return buffer.getvalue()


UNREADABLE_ZIPS = {
    "too short": (lambda: b"PK\x05\x06", "too short to be one"),
    "no end record": (lambda: b"not a zip " * 100, "not a zip file, or it was cut short"),
    "cut short in its end record": (
        lambda: _zip(MEDIA)[:-5],
        "not a zip file, or it was cut short",
    ),
    "bytes missing before its directory": (
        lambda: _zip(MEDIA)[:100] + _zip(MEDIA)[110:],
        "table of contents is damaged",
    ),
    "a directory past the end": (
        lambda: _with_end_record_bytes(_zip(MEDIA), 16, struct.pack("<I", len(_zip(MEDIA)))),
        "table of contents is damaged",
    ),
    "an entry past the end": (
        lambda: _with_directory_bytes(_zip(MEDIA), "bob.webm", 42, struct.pack("<I", 1 << 30)),
        "table of contents is damaged: bob.webm is past its end",
    ),
    "sizes for a zip64 field cut short": (
        lambda: _with_directory_bytes(
            _zip_with_extra(struct.pack("<HH", 1, 24) + b"\0" * 6), "only.webm", 20, b"\xff" * 8
        ),
        "table of contents is damaged: only.webm is past its end",
    ),
    "a broken directory header": (
        lambda: _damage(_zip({"only.webm": b"x"}), b"PK\x01\x02", b"PK\x01\x03"),
        "table of contents is damaged",
    ),
    "zip64 marks without a locator": (
        lambda: _with_end_record_bytes(_zip(MEDIA), 10, b"\xff\xff"),
        "no zip64 locator",
    ),
    "a zip64 locator past the end": (
        lambda: _with_end_record_bytes(_zip64(MEDIA), -12, struct.pack("<Q", 1 << 40)),
        "no zip64 record",
    ),
    "a zip64 locator to no record": (
        lambda: _damage(_zip64(MEDIA), b"PK\x06\x06", b"PK\x06\x00"),
        "no zip64 record",
    ),
}


@pytest.mark.parametrize(("make", "reason"), UNREADABLE_ZIPS.values(), ids=UNREADABLE_ZIPS.keys())
def test_a_zip_we_cannot_read_is_unreadable_saying_why(archive_zip, make, reason: str) -> None:
    _upload(make())
    with pytest.raises(archive_zip.Unreadable, match=reason):
        archive_zip.open_zip(BUCKET, KEY)


NO_BYTES = {
    "a directory of no bytes for its entry": (
        lambda: _with_end_record_bytes(
            _zip({"big.webm": os.urandom(1 << 20)}), 12, struct.pack("<I", 0)
        ),
        "table of contents is damaged",
    ),
    "an empty zip after a megabyte of other bytes": (
        lambda: bytes(1 << 20) + _zip({}),
        None,
    ),
}


@pytest.mark.parametrize(("make", "reason"), NO_BYTES.values(), ids=NO_BYTES.keys())
def test_a_directory_said_to_be_0_bytes_long_does_not_have_the_whole_zip_read(
    archive_zip, answered: list[int], make, reason: str | None
) -> None:
    """S3 answers the range of no bytes it would make (`bytes=n-(n-1)`) with the whole object."""
    body = make()
    _upload(body)
    if reason:
        with pytest.raises(archive_zip.Unreadable, match=reason):
            archive_zip.open_zip(BUCKET, KEY)
    else:
        assert archive_zip.open_zip(BUCKET, KEY).entries == {}
    assert len(body) > archive_zip.TAIL_BYTES
    assert max(answered) <= archive_zip.TAIL_BYTES


def _entry_damaged(archive_zip, body: bytes, name: str):
    _upload(body)
    found = archive_zip.open_zip(BUCKET, KEY)
    return found, found.entries[name]


def test_a_stored_entry_whose_bytes_changed_fails_its_checksum(archive_zip) -> None:
    body = _damage(_zip({"alice.webm": b"alice" * 100}), b"alice" * 100, b"alicE" + b"alice" * 99)
    found, entry = _entry_damaged(archive_zip, body, "alice.webm")
    with pytest.raises(archive_zip.Unreadable, match=r"alice\.webm does not match its checksum"):
        archive_zip.read_entry(found, entry, 1 << 20)


def test_a_deflated_entry_that_does_not_inflate_is_unreadable(archive_zip) -> None:
    body = _zip({"m.json": b"manifest " * 200}, zipfile.ZIP_DEFLATED)
    info = zipfile.ZipFile(io.BytesIO(body)).getinfo("m.json")
    start = info.header_offset + 30 + len(b"m.json")
    body = body[:start] + b"\xff" * info.compress_size + body[start + info.compress_size :]
    found, entry = _entry_damaged(archive_zip, body, "m.json")
    with pytest.raises(archive_zip.Unreadable, match=r"m\.json does not inflate"):
        archive_zip.read_entry(found, entry, 1 << 20)


def test_an_entry_that_inflates_past_its_size_is_stopped(archive_zip) -> None:
    """A zip bomb's entry says it is small: inflating stops once past what it says."""
    body = _zip({"m.json": b"0" * 100_000}, zipfile.ZIP_DEFLATED)
    directory = body.rindex(b"PK\x01\x02")
    size_at = directory + 24  # the central directory's uncompressed size
    body = body[:size_at] + struct.pack("<I", 10) + body[size_at + 4 :]
    found, entry = _entry_damaged(archive_zip, body, "m.json")
    with pytest.raises(archive_zip.Unreadable, match=r"m\.json inflates past its size"):
        archive_zip.read_entry(found, entry, 1 << 20)


def test_an_entry_larger_than_expected_is_not_read(archive_zip) -> None:
    found, entry = _entry_damaged(archive_zip, _zip({"m.json": b"{}" * 600}), "m.json")
    with pytest.raises(archive_zip.Unreadable, match=r"m\.json is larger than expected \(1200"):
        archive_zip.read_entry(found, entry, 1000)


def test_an_entry_compressed_otherwise_is_unreadable_naming_the_method(archive_zip) -> None:
    found, entry = _entry_damaged(
        archive_zip, _zip({"m.json": b"{}" * 100}, zipfile.ZIP_BZIP2), "m.json"
    )
    with pytest.raises(archive_zip.Unreadable, match=r"compressed in a way we cannot read \(12\)"):
        archive_zip.read_entry(found, entry, 1 << 20)


def test_an_entry_that_is_not_where_the_directory_says_is_unreadable(archive_zip) -> None:
    body = _zip({"a.webm": b"a" * 100, "b.webm": b"b" * 100})
    second = zipfile.ZipFile(io.BytesIO(body)).getinfo("b.webm").header_offset
    directory = body.rindex(b"PK\x01\x02")  # b.webm's header, the last one
    body = body[: directory + 42] + struct.pack("<I", second + 7) + body[directory + 46 :]
    found, entry = _entry_damaged(archive_zip, body, "b.webm")
    with pytest.raises(archive_zip.Unreadable, match=r"b\.webm is not where it says"):
        archive_zip.read_entry(found, entry, 1 << 20)


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"]
)
def test_an_entry_is_copied_to_an_object_of_its_own(archive_zip, method: int) -> None:
    media = {"alice.webm": bytes(range(256)) * 400}
    found, entry = _entry_damaged(archive_zip, _zip(media, method), "alice.webm")
    key = f"{KEY.rsplit('/', 1)[0]}/streams/alice.webm"

    assert archive_zip.copy_entry(found, entry, key, "video/webm", lambda: 900_000)

    copied = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)
    assert copied["Body"].read() == media["alice.webm"]
    assert copied["ContentType"] == "video/webm"


def test_a_stored_entry_over_8_mib_is_copied_by_parts_and_resumes(archive_zip) -> None:
    """Above SMALL_ENTRY_BYTES S3 copies the parts itself; out of time, the copy stops with
    nothing in the bucket under the key, and a later invocation finishes it."""
    media = {"big.webm": bytes(range(251)) * (9 * 1024 * 1024 // 251)}
    found, entry = _entry_damaged(archive_zip, _zip(media), "big.webm")
    assert entry.size > archive_zip.SMALL_ENTRY_BYTES
    key = f"{KEY.rsplit('/', 1)[0]}/streams/big.webm"
    s3 = boto3.client("s3")

    assert not archive_zip.copy_entry(found, entry, key, "video/webm", lambda: 0)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix=key)["KeyCount"] == 0
    assert archive_zip.copy_entry(found, entry, key, "video/webm", lambda: 900_000)

    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == media["big.webm"]
