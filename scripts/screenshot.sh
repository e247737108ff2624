#!/usr/bin/env bash
# Takes the README's screenshot: the app in a virtual X display, captured after the demo
# pair has been embedded. Needs Debian's xvfb and imagemagick.
#   scripts/screenshot.sh [OUT.png]      (default assets/screenshot.png)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/assets/screenshot.png}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/stegnet-xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cargo build --release --manifest-path "$root/Cargo.toml"
Xvfb :97 -screen 0 1280x860x24 & xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true' EXIT
sleep 2
DISPLAY=:97 WINIT_UNIX_BACKEND=x11 "$root/target/release/stegnet" & app=$!
sleep "${WAIT_SECONDS:-40}"   # model load and the demo embed on the CPU
DISPLAY=:97 import -window root -crop 1280x860+0+0 +repage "$out"
echo "wrote $out"
