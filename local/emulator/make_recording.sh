#!/bin/sh
# Regenerates recording.mp4, the fixture the emulator hands out as every archive's file.
# Not run by the tests: the output is committed. Needs ffmpeg with libx264 (Debian's package).
set -eu
out="$(dirname "$0")/recording.mp4"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=320x240:rate=15:duration=3" \
  -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=3" \
  -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -crf 32 -preset veryslow \
  -c:a aac -b:a 32k -ac 1 \
  -shortest -movflags +faststart "$out"
ffprobe -v error -show_entries stream=codec_name,width,height,duration -of compact "$out"
