"""An archive's media, made with PyAV (FFmpeg in its wheels): what was published, in the shape
the archive asked for.

A composed archive is one MP4 (H.264 + AAC) of its streams laid out on a canvas of its
resolution; an individual archive has one WebM (VP8 + Opus) per stream. A stream whose page sent
its media (`RecordedTrack.source`, the WebM its MediaRecorder made) shows what was published; one
that sent nothing (a connection of an API-only test) is black and silent for its time, so every
archive is a real file of the time recorded.

Times here are real seconds from the start of the archive's recording. The emulator's clock may
run faster than real time (lifecycle.OpenTokClock): the caller scales OpenTok seconds down first,
so an hour recorded by a fast test is a few seconds of media, not an hour of encoding.
"""

from __future__ import annotations

import dataclasses
import io
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.stream import VideoStream

# The emulator's choices, not OpenTok's: OpenTok documents neither its archives' frame rate nor
# their audio layout. Low and mono keep a recorded minute cheap on a laptop.
FRAME_RATE = 15
SAMPLE_RATE = 48_000
MIX_WINDOW = 10 * SAMPLE_RATE  # the sound is mixed and encoded ten seconds at a time
STREAM_SIZE = (640, 480)  # an individual stream that sent no video of its own
# One thread per codec: the pages' browsers share the machine, and FFmpeg's default of a thread
# per core spends more CPU waiting on them than it saves.
THREADS = 1
_X264 = {"preset": "ultrafast", "tune": "zerolatency"}
_VP8 = {"deadline": "realtime", "cpu-used": "16"}


@dataclass(frozen=True)
class RecordedTrack:
    """One stream as an archive recorded it."""

    stream_id: str
    start: float  # seconds from the archive's start
    stop: float
    has_audio: bool
    has_video: bool
    source: Path | None = None  # the WebM its page recorded, if it sent one
    source_start: float = 0.0  # when the source's time 0 falls on the archive's timeline


def composed_mp4(
    duration: float,
    resolution: str,
    layout_type: str,
    tracks: list[RecordedTrack],
    *,
    has_audio: bool,
    has_video: bool,
) -> bytes:
    """The MP4 of a composed archive: `duration` seconds, video in `resolution` ("WxH")."""
    width, height = (int(side) for side in resolution.split("x"))
    frames = _frame_count(duration)
    # faststart (the index before the media, so a player starts before it has it all) rewrites
    # the file once written, which takes a real file rather than a buffer.
    with tempfile.TemporaryDirectory(prefix="archive-") as folder:
        path = Path(folder) / "archive.mp4"
        with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as output:
            video = _video_stream(output, "libx264", width, height, _X264) if has_video else None
            audio = _audio_stream(output, "aac") if has_audio else None
            if video is not None:
                canvases = _composed_frames(frames, width, height, layout_type, tracks)
                _encode_video(output, video, canvases)
            if audio is not None:
                _encode_audio(output, audio, _mixed(frames / FRAME_RATE, tracks))
        return path.read_bytes()


def stream_webm(track: RecordedTrack, *, has_audio: bool, has_video: bool) -> bytes:
    """One stream of an individual archive, from its start to its stop: a WebM of its own.

    A stream with nothing the archive takes (no sound in an archive without video) is silence
    for its time, the emulator's choice: an empty file would be no WebM at all.
    """
    if not has_audio and not has_video:
        has_audio = True
    duration = max(track.stop - track.start, 0.0)
    frames = _frame_count(duration)
    # On the stream's own timeline: it starts at 0 in its file (the manifest has the offsets).
    own = dataclasses.replace(
        track, start=0.0, stop=duration, source_start=track.source_start - track.start
    )
    width, height = _source_size(own) or STREAM_SIZE
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as output:
        video = _video_stream(output, "libvpx", width, height, _VP8) if has_video else None
        audio = _audio_stream(output, "libopus") if has_audio else None
        if video is not None:
            canvases = _composed_frames(frames, width, height, "bestFit", [own])
            _encode_video(output, video, canvases)
        if audio is not None:
            _encode_audio(output, audio, _mixed(frames / FRAME_RATE, [own]))
    return buffer.getvalue()


def tiles(layout_type: str, count: int, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Where each of `count` streams goes on the canvas, as (x, y, width, height), in the order
    the streams joined: the emulator's own drawing of the layout types SPEC `Layout` names,
    not OpenTok's compositor. The stand-in has no layout classes to say which stream is the
    large one of pip and the presentations: the first to join is. pip shows two streams, any
    more are left out; `custom` layouts are CSS that only OpenTok renders, laid out as bestFit.
    """
    if count == 0:
        return []
    if layout_type == "pip" and count > 1:
        inset_w, inset_h = _even(width // 4), _even(height // 4)
        margin = _even(min(width, height) // 40)
        inset = (width - inset_w - margin, height - inset_h - margin, inset_w, inset_h)
        return [(0, 0, width, height), inset] + [(0, 0, 0, 0)] * (count - 2)
    if layout_type == "verticalPresentation" and count > 1:
        side = _even(width // 5)
        rest = _strip(width - side, 0, side, height, count - 1, vertical=True)
        return [(0, 0, width - side, height), *rest]
    if layout_type == "horizontalPresentation" and count > 1:
        side = _even(height // 5)
        rest = _strip(0, height - side, width, side, count - 1, vertical=False)
        return [(0, 0, width, height - side), *rest]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    tile_w, tile_h = _even(width // columns), _even(height // rows)
    return [
        (index % columns * tile_w, index // columns * tile_h, tile_w, tile_h)
        for index in range(count)
    ]


def _strip(
    x: int, y: int, width: int, height: int, count: int, *, vertical: bool
) -> list[tuple[int, int, int, int]]:
    if vertical:
        step = _even(height // count)
        return [(x, y + index * step, width, step) for index in range(count)]
    step = _even(width // count)
    return [(x + index * step, y, step, height) for index in range(count)]


def _even(value: int) -> int:
    # H.264 in 4:2:0 wants even sizes and offsets.
    return max(value - value % 2, 0)


def _frame_count(duration: float) -> int:
    # A recording stopped at once still holds a frame: a file with no media would not play.
    return max(round(duration * FRAME_RATE), 1)


def _video_stream(
    output: OutputContainer, codec: str, width: int, height: int, options: dict
) -> VideoStream:
    stream = output.add_stream(codec, rate=FRAME_RATE, options=options)
    stream.codec_context.thread_count = THREADS
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = Fraction(1, FRAME_RATE)
    return stream


def _audio_stream(output: OutputContainer, codec: str) -> AudioStream:
    stream = output.add_stream(codec, rate=SAMPLE_RATE, layout="mono")
    stream.codec_context.time_base = Fraction(1, SAMPLE_RATE)
    return stream


def _encode_video(
    output: OutputContainer, stream: VideoStream, canvases: Iterator[np.ndarray | None]
) -> None:
    black = None
    for index, canvas in enumerate(canvases):
        if canvas is None:
            # Nothing to show: one black frame, converted once, for as long as it lasts.
            if black is None:
                black = av.VideoFrame.from_ndarray(
                    np.zeros((stream.height, stream.width, 3), dtype=np.uint8), format="rgb24"
                ).reformat(format="yuv420p")
            frame = black
        else:
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
        frame.pts = index
        frame.time_base = Fraction(1, FRAME_RATE)
        output.mux(stream.encode(frame))
    output.mux(stream.encode(None))


def _encode_audio(
    output: OutputContainer, stream: AudioStream, windows: Iterator[np.ndarray]
) -> None:
    step = stream.codec_context.frame_size or 960
    start = 0
    left = np.zeros(0, dtype=np.float32)  # the end of a window short of a whole frame
    for window in windows:
        samples = np.concatenate([left, window])
        whole = len(samples) - len(samples) % step
        for offset in range(0, whole, step):
            _encode_samples(output, stream, samples[offset : offset + step], start)
            start += step
        left = samples[whole:]
    if len(left):
        _encode_samples(output, stream, np.pad(left, (0, step - len(left))), start)
    output.mux(stream.encode(None))


def _encode_samples(
    output: OutputContainer, stream: AudioStream, samples: np.ndarray, start: int
) -> None:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = start
    frame.time_base = Fraction(1, SAMPLE_RATE)
    output.mux(stream.encode(frame))


def _composed_frames(
    frames: int, width: int, height: int, layout_type: str, tracks: list[RecordedTrack]
) -> Iterator[np.ndarray | None]:
    """Each output frame: the canvas with every stream recording at that moment in its tile,
    or None when none of them has a picture (a black frame)."""
    feeds = [_VideoFeed(track) for track in tracks]
    try:
        for index in range(frames):
            moment = index / FRAME_RATE
            canvas = None
            showing = [feed for feed in feeds if feed.track.start <= moment < feed.track.stop]
            for feed, (x, y, tile_w, tile_h) in zip(
                showing, tiles(layout_type, len(showing), width, height), strict=True
            ):
                picture = feed.at(moment, tile_w, tile_h)
                if picture is None:
                    continue
                if canvas is None:
                    canvas = np.zeros((height, width, 3), dtype=np.uint8)
                top = y + (tile_h - picture.shape[0]) // 2
                left = x + (tile_w - picture.shape[1]) // 2
                canvas[top : top + picture.shape[0], left : left + picture.shape[1]] = picture
            yield canvas
    finally:
        for feed in feeds:
            feed.close()


class _VideoFeed:
    """A track's published video, read once from start to end as the output frames ask."""

    def __init__(self, track: RecordedTrack) -> None:
        self.track = track
        self._frames: Iterator | None = None
        self._current = None
        self._next = None
        self._container = _open(track.source) if track.has_video else None
        if self._container is not None and self._container.streams.video:
            self._container.streams.video[0].codec_context.thread_count = THREADS
            self._frames = self._container.decode(video=0)
            self._next = self._read()

    def _read(self):
        try:
            return next(self._frames)
        except (StopIteration, av.FFmpegError):
            # A capture cut short (the page went away mid-chunk) ends where it can be read.
            return None

    def at(self, moment: float, tile_w: int, tile_h: int) -> np.ndarray | None:
        """The picture shown at `moment`, fitted into the tile; None where no video was sent."""
        if self._frames is None or tile_w <= 0 or tile_h <= 0:
            return None
        source_moment = moment - self.track.source_start
        while (
            self._next is not None
            and self._next.time is not None
            and self._next.time <= source_moment
        ):
            self._current, self._next = self._next, self._read()
        if self._current is None:
            return None
        scale = min(tile_w / self._current.width, tile_h / self._current.height)
        fit_w = max(_even(round(self._current.width * scale)), 2)
        fit_h = max(_even(round(self._current.height * scale)), 2)
        return self._current.to_ndarray(width=fit_w, height=fit_h, format="rgb24")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()


def _open(source: Path | None) -> InputContainer | None:
    """The source opened for reading; None when there is none or it holds no media (a page
    that went away before its first chunk, or sent bytes that are no WebM): black and silent."""
    if source is None:
        return None
    try:
        return av.open(str(source))
    except (av.FFmpegError, OSError):
        return None


def _source_size(track: RecordedTrack) -> tuple[int, int] | None:
    """The size of the source's video, as its WebM header gives it."""
    container = _open(track.source) if track.has_video else None
    if container is None:
        return None
    with container:
        video = container.streams.video[0] if container.streams.video else None
        if video is None or not video.width or not video.height:
            return None
        return _even(video.width), _even(video.height)


class _AudioFeed:
    """A track's published sound, read once from start to end as the output asks for it."""

    def __init__(self, track: RecordedTrack) -> None:
        self.track = track
        self._chunks = _audio_of(track.source)
        self._pending: list[tuple[int, np.ndarray]] = []  # (first sample, samples), in order
        self._done = False

    def add_to(self, window: np.ndarray, first: int) -> None:
        """Adds what it published to `window`, which begins at sample `first` of the output."""
        end = first + len(window)
        while not self._done and (not self._pending or self._pending[-1][0] < end):
            moment, samples = next(self._chunks, (None, None))
            if moment is None:
                self._done = True
            else:
                self._pending.append(
                    (round((moment + self.track.source_start) * SAMPLE_RATE), samples)
                )
        # Only while the stream was in the archive.
        allowed = (round(self.track.start * SAMPLE_RATE), round(self.track.stop * SAMPLE_RATE))
        for at, samples in self._pending:
            low, high = max(at, first, allowed[0]), min(at + len(samples), end, allowed[1])
            if high > low:
                window[low - first : high - first] += samples[low - at : high - at]
        self._pending = [(at, samples) for at, samples in self._pending if at + len(samples) > end]


def _mixed(duration: float, tracks: list[RecordedTrack]) -> Iterator[np.ndarray]:
    """Every track's published sound where it was recorded, summed, a few seconds at a time
    (an hour held whole would be 0.7 GB); silence elsewhere."""
    feeds = [_AudioFeed(track) for track in tracks if track.source is not None and track.has_audio]
    total = round(duration * SAMPLE_RATE)
    for first in range(0, total, MIX_WINDOW):
        window = np.zeros(min(MIX_WINDOW, total - first), dtype=np.float32)
        for feed in feeds:
            feed.add_to(window, first)
        yield np.clip(window, -1.0, 1.0, out=window)


def _audio_of(source: Path | None) -> Iterator[tuple[float, np.ndarray]]:
    """(time, mono samples at SAMPLE_RATE) for each decoded stretch of a source's sound."""
    container = _open(source)
    if container is None:
        return
    with container:
        if not container.streams.audio:
            return
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        try:
            for frame in container.decode(audio=0):
                if frame.time is None:
                    continue
                moment = frame.time
                for converted in resampler.resample(frame):
                    samples = converted.to_ndarray().reshape(-1)
                    yield moment, samples
                    moment += len(samples) / SAMPLE_RATE
        except av.FFmpegError:
            return
