"""What a recording holds, read back with PyAV: the tracks, their codecs, size and length."""

from __future__ import annotations

import io
import json
import wave
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


@dataclass(frozen=True)
class Probe:
    container: str
    video: str | None  # the codec, None without a video track
    audio: str | None
    width: int
    height: int
    seconds: float  # as long as its longest track


def probe(body: bytes) -> Probe:
    """Decodes every frame, so a file that only looks right (a header, no media) fails here."""
    with av.open(io.BytesIO(body)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        end = 0.0
        width = height = 0
        for frame in container.decode(*container.streams):
            if frame.time is None:
                continue
            if isinstance(frame, av.VideoFrame):
                width, height = frame.width, frame.height
                length = 1 / float(video.average_rate or 15)
            else:
                length = frame.samples / frame.sample_rate
            end = max(end, frame.time + length)
        return Probe(
            container.format.name,
            video.codec_context.name if video else None,
            audio.codec_context.name if audio else None,
            width,
            height,
            end,
        )


def individual_streams(body: bytes) -> tuple[dict, dict[str, bytes]]:
    """An individual archive's manifest and its media, by stream id."""
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        names = [name for name in bundle.namelist() if not name.endswith(".json")]
        (manifest_name,) = (name for name in bundle.namelist() if name.endswith(".json"))
        manifest = json.loads(bundle.read(manifest_name))
        media = {name.rsplit(".", 1)[0]: bundle.read(name) for name in names}
    return manifest, media


# Published media a test can tell apart: a solid colour and a steady tone, made with PyAV.

RED = (200, 30, 30)
BLUE = (30, 60, 200)


def clip(
    color: tuple[int, int, int],
    seconds: float,
    tone_hz: float | None = 440.0,
    then: tuple[int, int, int] | None = None,
) -> bytes:
    """A WebM (VP8 + Opus) as a page's MediaRecorder would send it: `color` for `seconds`
    (its first half only when `then` is the colour of the second), with a tone (or silence when
    `tone_hz` is None)."""
    rate, width, height, fps = 48_000, 320, 240, 15
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm") as output:
        video = output.add_stream("libvpx", rate=fps, options={"deadline": "realtime"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = output.add_stream("libopus", rate=rate, layout="mono")
        frames = round(seconds * fps)
        for index in range(frames):
            shown = then if then is not None and index >= frames // 2 else color
            picture = np.full((height, width, 3), shown, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        step = 960
        for start in range(0, round(seconds * rate), step):
            moments = (start + np.arange(step)) / rate
            sound = 0.3 * np.sin(2 * np.pi * tone_hz * moments) if tone_hz else 0 * moments
            frame = av.AudioFrame.from_ndarray(
                sound.astype(np.float32).reshape(1, -1), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            output.mux(audio.encode(frame))
        output.mux(audio.encode(None))
    return buffer.getvalue()


def colours(body: bytes, region: tuple[float, float, float, float] = (0, 0, 1, 1)) -> list:
    """The mean colour (r, g, b) of `region` (x, y, width, height as fractions) of each frame."""
    found = []
    with av.open(io.BytesIO(body)) as container:
        for frame in container.decode(video=0):
            picture = frame.to_ndarray(format="rgb24")
            height, width = picture.shape[:2]
            x, y, w, h = region
            part = picture[
                round(y * height) : round((y + h) * height),
                round(x * width) : round((x + w) * width),
            ]
            found.append(tuple(part.reshape(-1, 3).mean(axis=0)))
    return found


def loudness(body: bytes) -> float:
    """The root mean square of all the sound in a file (0 for silence or no sound)."""
    with av.open(io.BytesIO(body)) as container:
        if not container.streams.audio:
            return 0.0
        samples = [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
    joined = np.concatenate(samples) if samples else np.zeros(1)
    return float(np.sqrt(np.mean(np.square(joined.astype(np.float64)))))


def near(found: tuple, expected: tuple[int, int, int], tolerance: float = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(found, expected, strict=True))


def fake_camera(folder: Path, color: tuple[int, int, int], tone_hz: float | None) -> list[str]:
    """Chromium's flags to capture `color` as the camera and a tone (or silence) as the
    microphone: files it loops, a Y4M (raw I420) and a WAV, written into `folder`."""
    name = f"{color[0]}-{color[1]}-{color[2]}-{tone_hz}"
    video, sound = folder / f"{name}.y4m", folder / f"{name}.wav"
    width, height, fps, rate = 320, 240, 15, 48_000
    with av.open(str(video), "w", format="yuv4mpegpipe") as output:
        stream = output.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        picture = np.full((height, width, 3), color, dtype=np.uint8)
        for index in range(fps):  # a second, looped
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    moments = np.arange(rate) / rate
    samples = 0.3 * np.sin(2 * np.pi * tone_hz * moments) if tone_hz else 0 * moments
    with wave.open(str(sound), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return [
        f"--use-file-for-fake-video-capture={video}",
        f"--use-file-for-fake-audio-capture={sound}",
    ]
