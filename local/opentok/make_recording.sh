#!/bin/sh
# Regenerates the fixtures the emulator hands out as archive files; not run by the tests, the
# output is committed. Needs ffmpeg with libx264, libvpx and libopus (Debian's package).
#   recording.mp4:  every composed archive (H.264 + AAC, as OpenTok composes).
#   recording.webm: every stream of an individual archive (VP8 + Opus, as OpenTok records them).
set -eu
here="$(dirname "$0")"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=320x240:rate=15:duration=3" \
  -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=3" \
  -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -crf 32 -preset veryslow \
  -c:a aac -b:a 32k -ac 1 \
  -shortest -movflags +faststart "$here/recording.mp4"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=320x240:rate=15:duration=3" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=3" \
  -c:v libvpx -b:v 60k -deadline good -cpu-used 0 \
  -c:a libopus -b:a 24k -ac 1 \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -shortest "$here/recording.webm"
for file in "$here/recording.mp4" "$here/recording.webm"; do
  ffprobe -v error -show_entries stream=codec_name,width,height,duration -of compact "$file"
done
