"""An individual archive's zip in the bucket, read by byte ranges and copied out entry by entry.

Nothing here holds the zip: its end (the central directory's locator) and its central
directory are read with ranged GETs, and each entry becomes an object of its own:

- stored (OpenTok's media entries are; contract §8) and small: one ranged GET, one PUT,
  checked against the entry's CRC-32. Two requests, and memory holds the entry (at most
  SMALL_ENTRY_BYTES);
- stored and larger: a multipart upload whose parts are UploadPartCopy with CopySourceRange,
  so S3 copies the bytes inside itself and none pass through the function;
- deflated: streamed through a decompressor into a multipart upload, a part in memory.

Why the 8 MiB line, measured by make bench's streams section (against moto, not S3): the
two ways took about as long at every size tried (1 to 64 MiB), but a GET and a PUT hold the
entry (with a 64 MiB one that process peaked at 131 MB), while a split by part copies peaked
1 to 2 MB above the function's 54 MB after its imports (a 403 MB zip; a 1.26 GB one grew by
as little in an earlier run). So below 8 MiB the two
requests of a GET and a PUT, with a CRC check for free; above it, memory that does not grow.

Copies resume: an object already there with the entry's size is done, and a multipart upload
left open by an earlier invocation keeps its parts (backend.multipart; parts are numbered by
their place in the entry, so what is missing is known from ListParts). Every read names the
zip's version, so a zip replaced meanwhile is never mixed with the one being read.
"""

import struct
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from botocore.config import Config

from backend import config, multipart

s3 = boto3.client(
    "s3",
    config=Config(
        signature_version="s3v4",
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=16,
    ),
)

STORED, DEFLATED = 0, 8
END_SIGNATURE = b"PK\x05\x06"
# The end of central directory record (22 bytes and a comment of up to 65,535), and before it
# the zip64 locator (20): the last ranged GET that must find them.
TAIL_BYTES = 22 + 0xFFFF + 20
# OpenTok zips hold at most 50 streams and a manifest: a directory this large is not one.
MAX_DIRECTORY_BYTES = 4 * 1024 * 1024
# The fixed part of a central directory header, and of an entry's local header.
DIRECTORY_HEADER_BYTES, LOCAL_HEADER_BYTES = 46, 30
# OpenTok stores its media entries (contract §8), so its streams add up to less than the
# zip; video and audio are compressed already, so a zip another tool deflated gains little on
# them. Four times the zip leaves room for that, and holds a zip bomb (deflate reaches 1,032
# to 1, and entries may share their bytes) to four times what was uploaded.
MAX_EXPANSION = 4
SMALL_ENTRY_BYTES = 8 * 1024 * 1024
INFLATED_PART_BYTES = 8 * 1024 * 1024  # S3's least part is 5 MiB
READ_CHUNK_BYTES = 1024 * 1024
# Part copies run side by side: S3 copies each at its own pace, so several at once take
# little longer than one.
PART_COPIES_AT_ONCE = 8
FINISHING_MS = 10_000


class Unreadable(Exception):
    """The object is not a zip we can read; the message says why in plain words."""


@dataclass(frozen=True)
class Entry:
    name: str
    method: int
    compressed_size: int
    size: int
    crc: int
    header_offset: int


@dataclass(frozen=True)
class Zip:
    bucket: str
    key: str
    version_id: str | None
    size: int
    entries: dict[str, Entry]

    def _version(self) -> dict[str, str]:
        return {"VersionId": self.version_id} if self.version_id else {}

    def read(self, first: int, last: int) -> bytes:
        """Bytes `first` to `last` (inclusive) of the zip."""
        self._check_range(first, last)
        answer = s3.get_object(
            Bucket=self.bucket, Key=self.key, Range=f"bytes={first}-{last}", **self._version()
        )
        return answer["Body"].read()

    def stream(self, first: int, last: int) -> Iterator[bytes]:
        self._check_range(first, last)
        answer = s3.get_object(
            Bucket=self.bucket, Key=self.key, Range=f"bytes={first}-{last}", **self._version()
        )
        body = answer["Body"]
        try:
            yield from body.iter_chunks(READ_CHUNK_BYTES)
        finally:
            body.close()

    def _check_range(self, first: int, last: int) -> None:
        # The zip's sizes and offsets are its uploader's word: S3 answers a range of no bytes
        # (`bytes=n-(n-1)`) with the whole object, and one past the end with InvalidRange.
        if not 0 <= first <= last < self.size:
            raise Unreadable("the zip is damaged: it points outside itself")

    def copy_source(self) -> dict[str, str]:
        return {"Bucket": self.bucket, "Key": self.key, **self._version()}


def open_zip(bucket: str, key: str) -> Zip:
    """The zip at `key`, its entries read from its central directory."""
    head = s3.head_object(Bucket=bucket, Key=key)
    found = Zip(bucket, key, head.get("VersionId"), head["ContentLength"], {})
    if found.size < 22:
        raise Unreadable("the upload is not a zip file (it is too short to be one)")
    tail_start = max(0, found.size - TAIL_BYTES)
    tail = found.read(tail_start, found.size - 1)
    at = _end_record_at(tail)
    (_, _, _, count, directory_size, directory_offset, _) = struct.unpack(
        "<HHHHIIH", tail[at + 4 : at + 22]
    )
    if count == 0xFFFF or 0xFFFFFFFF in (directory_size, directory_offset):
        count, directory_size, directory_offset = _zip64_end(found, tail, at, tail_start)
    if (
        directory_size > MAX_DIRECTORY_BYTES
        or directory_offset + directory_size > found.size
        or count * DIRECTORY_HEADER_BYTES > directory_size
    ):
        raise Unreadable("the zip's table of contents is damaged")
    directory = (
        found.read(directory_offset, directory_offset + directory_size - 1)
        if directory_size
        else b""  # an empty zip
    )
    entries = _entries(directory, count)
    for entry in entries:
        if entry.header_offset + LOCAL_HEADER_BYTES + entry.compressed_size > found.size:
            raise Unreadable(
                f"the zip's table of contents is damaged: {entry.name} is past its end"
            )
    return Zip(bucket, key, found.version_id, found.size, {e.name: e for e in entries})


def _end_record_at(tail: bytes) -> int:
    """Where the end of central directory record begins: the last signature whose comment
    length reaches the end exactly, as the comment may hold the signature's bytes too."""
    at = tail.rfind(END_SIGNATURE)
    while at >= 0:
        comment_length = int.from_bytes(tail[at + 20 : at + 22], "little")
        if len(tail) - at >= 22 and at + 22 + comment_length == len(tail):
            return at
        at = tail.rfind(END_SIGNATURE, 0, at)
    raise Unreadable("the upload is not a zip file, or it was cut short")


def check_expansion(found: Zip, entries: Iterable[Entry]) -> None:
    """Unreadable if the entries add up to more than MAX_EXPANSION times the zip. Inflating
    stops once past an entry's size (_inflated), so what they inflate to stays under it too."""
    total = sum(entry.size for entry in entries)
    if total > MAX_EXPANSION * found.size:
        raise Unreadable(
            f"the zip's streams would be {total} bytes, more than {MAX_EXPANSION} times"
            f" the zip itself ({found.size} bytes)"
        )


def _zip64_end(found: Zip, tail: bytes, at: int, tail_start: int) -> tuple[int, int, int]:
    """Entries, directory size and offset from the zip64 end record (zips over 4 GiB)."""
    locator = tail[at - 20 : at] if at >= 20 else b""
    if not locator.startswith(b"PK\x06\x07"):
        raise Unreadable("the zip's table of contents is damaged (no zip64 locator)")
    (end_offset,) = struct.unpack("<Q", locator[8:16])
    if end_offset + 56 > found.size:
        raise Unreadable("the zip's table of contents is damaged (no zip64 record)")
    record = found.read(end_offset, end_offset + 55)
    if not record.startswith(b"PK\x06\x06"):
        raise Unreadable("the zip's table of contents is damaged (no zip64 record)")
    count, directory_size, directory_offset = struct.unpack("<QQQ", record[32:56])
    return count, directory_size, directory_offset


def _entries(directory: bytes, count: int) -> list[Entry]:
    entries = []
    at = 0
    for _ in range(count):
        if directory[at : at + 4] != b"PK\x01\x02" or len(directory) < at + 46:
            raise Unreadable("the zip's table of contents is damaged")
        (method, _, _, crc, compressed, size, name_length, extra_length, comment_length) = (
            struct.unpack("<HHHIIIHHH", directory[at + 10 : at + 34])
        )
        (offset,) = struct.unpack("<I", directory[at + 42 : at + 46])
        name = directory[at + 46 : at + 46 + name_length].decode("utf-8", "replace")
        extra = directory[at + 46 + name_length : at + 46 + name_length + extra_length]
        size, compressed, offset = _zip64_sizes(extra, size, compressed, offset)
        entries.append(Entry(name, method, compressed, size, crc, offset))
        at += 46 + name_length + extra_length + comment_length
    return entries


def _zip64_sizes(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    """The zip64 extra field's values replace those saturated at 0xFFFFFFFF, in its order."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[at : at + 4])
        if tag == 0x0001:
            field = extra[at + 4 : at + 4 + length]  # cut short in a damaged zip
            values = iter(struct.unpack_from(f"<{len(field) // 8}Q", field))
            size = next(values, size) if size == 0xFFFFFFFF else size
            compressed = next(values, compressed) if compressed == 0xFFFFFFFF else compressed
            offset = next(values, offset) if offset == 0xFFFFFFFF else offset
        at += 4 + length
    return size, compressed, offset


def _data_offset(found: Zip, entry: Entry) -> int:
    """Where the entry's bytes begin: after its local header, whose lengths may differ from
    the central directory's."""
    header = found.read(entry.header_offset, entry.header_offset + 29)
    if not header.startswith(b"PK\x03\x04") or len(header) < 30:
        raise Unreadable(f"the zip is damaged: {entry.name} is not where it says")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = entry.header_offset + 30 + name_length + extra_length
    if start + entry.compressed_size > found.size:
        raise Unreadable(f"the zip is damaged: {entry.name} runs past its end")
    return start


def read_entry(found: Zip, entry: Entry, limit: int) -> bytes:
    """A small entry's bytes (the manifest), checked; Unreadable above `limit` bytes."""
    if entry.size > limit or entry.compressed_size > limit:
        raise Unreadable(f"{entry.name} is larger than expected ({entry.size} bytes)")
    body = b"".join(_entry_bytes(found, entry, _data_offset(found, entry)))
    _check(entry, len(body), zlib.crc32(body))
    return body


def _entry_bytes(found: Zip, entry: Entry, start: int) -> Iterator[bytes]:
    if entry.compressed_size == 0:
        return
    chunks = found.stream(start, start + entry.compressed_size - 1)
    if entry.method == STORED:
        yield from chunks
    elif entry.method == DEFLATED:
        yield from _inflated(chunks, entry)
    else:
        raise Unreadable(f"{entry.name} is compressed in a way we cannot read ({entry.method})")


def _inflated(chunks: Iterator[bytes], entry: Entry) -> Iterator[bytes]:
    # Output is asked for a chunk at a time: a small entry that inflates to gigabytes (a zip
    # bomb) never sits in memory whole, and stops once past the size the zip gives.
    inflater = zlib.decompressobj(-15)
    produced = 0
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out = inflater.decompress(data, READ_CHUNK_BYTES)
                data = inflater.unconsumed_tail
                produced += len(out)
                if produced > entry.size:
                    raise Unreadable(f"the zip is damaged: {entry.name} inflates past its size")
                yield out
        rest = inflater.flush()
    except zlib.error:
        raise Unreadable(f"the zip is damaged: {entry.name} does not inflate") from None
    if rest:
        yield rest


def _check(entry: Entry, size: int, crc: int) -> None:
    if size != entry.size or crc != entry.crc:
        raise Unreadable(f"the zip is damaged: {entry.name} does not match its checksum")


def copy_entry(
    found: Zip, entry: Entry, key: str, content_type: str, remaining_ms: Callable[[], int]
) -> bool:
    """Makes `key` a copy of the entry; True once it is in the bucket, False when the time
    left ran short first (what is done stays for the next invocation)."""
    if _already_copied(found.bucket, key, entry.size):
        return True
    if entry.method == STORED and entry.compressed_size != entry.size:
        raise Unreadable(f"the zip is damaged: {entry.name} has two sizes")
    start = _data_offset(found, entry)
    if entry.size == 0:  # nothing to copy, and a multipart upload needs a part
        s3.put_object(Bucket=found.bucket, Key=key, Body=b"", ContentType=content_type)
        return True
    if entry.method == STORED and entry.size <= SMALL_ENTRY_BYTES:
        body = found.read(start, start + entry.size - 1)
        _check(entry, len(body), zlib.crc32(body))
        s3.put_object(Bucket=found.bucket, Key=key, Body=body, ContentType=content_type)
        return True
    if entry.method == STORED:
        return _copy_parts(found, entry, start, key, content_type, remaining_ms)
    return _inflate_parts(found, entry, start, key, content_type, remaining_ms)


def _already_copied(bucket: str, key: str, size: int) -> bool:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return head["ContentLength"] == size


def _copy_parts(
    found: Zip,
    entry: Entry,
    start: int,
    key: str,
    content_type: str,
    remaining_ms: Callable[[], int],
) -> bool:
    part_bytes = config.STREAM_PART_BYTES
    count = -(-entry.size // part_bytes)
    upload_id = multipart.open_upload(s3, found.bucket, key, content_type)
    done = {
        part["PartNumber"]: part["ETag"]
        for part in multipart.uploaded_parts(s3, found.bucket, key, upload_id)
        if part["Size"] == min(part_bytes, entry.size - (part["PartNumber"] - 1) * part_bytes)
    }
    todo = [number for number in range(1, count + 1) if number not in done]

    def copy_part(number: int) -> tuple[int, str]:
        first = start + (number - 1) * part_bytes
        last = min(first + part_bytes, start + entry.size) - 1
        answer = s3.upload_part_copy(
            Bucket=found.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource=found.copy_source(),
            CopySourceRange=f"bytes={first}-{last}",
        )
        return number, answer["CopyPartResult"]["ETag"]

    slowest_ms = 0.0
    with ThreadPoolExecutor(PART_COPIES_AT_ONCE) as pool:
        for at in range(0, len(todo), PART_COPIES_AT_ONCE):
            if remaining_ms() < FINISHING_MS + 2 * slowest_ms:
                return False
            began = time.monotonic()
            done.update(pool.map(copy_part, todo[at : at + PART_COPIES_AT_ONCE]))
            slowest_ms = max(slowest_ms, (time.monotonic() - began) * 1000)
    multipart.complete(s3, found.bucket, key, upload_id, done)
    return True


def _inflate_parts(
    found: Zip,
    entry: Entry,
    start: int,
    key: str,
    content_type: str,
    remaining_ms: Callable[[], int],
) -> bool:
    # Inflating cannot start halfway: a resumed copy inflates from the start again and skips
    # what its uploaded parts already hold (reading is cheap next to uploading).
    upload_id = multipart.open_upload(s3, found.bucket, key, content_type)
    done: dict[int, str] = {}
    for part in multipart.uploaded_parts(s3, found.bucket, key, upload_id):
        if part["PartNumber"] == len(done) + 1 and part["Size"] == INFLATED_PART_BYTES:
            done[part["PartNumber"]] = part["ETag"]
    skip = len(done) * INFLATED_PART_BYTES
    produced = 0
    crc = 0
    part = bytearray()
    slowest_ms = 0.0
    began = time.monotonic()

    def upload(body: bytes) -> None:
        answer = s3.upload_part(
            Bucket=found.bucket, Key=key, UploadId=upload_id, PartNumber=len(done) + 1, Body=body
        )
        done[len(done) + 1] = answer["ETag"]

    for out in _entry_bytes(found, entry, start):
        crc = zlib.crc32(out, crc)
        produced += len(out)
        if produced <= skip:
            continue
        already = max(0, skip - (produced - len(out)))
        part += out[already:]
        while len(part) >= INFLATED_PART_BYTES:
            if remaining_ms() < FINISHING_MS + 2 * slowest_ms:
                return False
            upload(bytes(part[:INFLATED_PART_BYTES]))
            del part[:INFLATED_PART_BYTES]
            slowest_ms = max(slowest_ms, (time.monotonic() - began) * 1000)
            began = time.monotonic()
    _check(entry, produced, crc)
    if part:
        upload(bytes(part))
    multipart.complete(s3, found.bucket, key, upload_id, done)
    return True
