#!/usr/bin/env bash
# Joint training on a lent GPU machine (a remote x86-64 box with an NVIDIA GPU, no Rust
# toolchain, and a 64 MiB limit on what travels with the working tree). Three commands:
#
#   scripts/gpu-train.sh pack    # here, after `cargo build --release` and
#                                # scripts/fetch-photos.sh: writes .dev/stegnet.xz (the
#                                # stripped release binary, compressed) and .dev/photos/
#                                # (the photos with their long side reduced to 512, as the
#                                # trainer's cache reduces them anyway; needs python3-pil)
#   scripts/gpu-train.sh bench   # there: `stegnet bench` (training step of 32 pairs of 64x64,
#                                # embed + reveal of 1024x1024) on the CPU and the GPU, with
#                                # the default network, --plain and --depthwise shifted;
#                                # printed, and kept for the logs of a `run` that follows
#                                # ($BENCH replaces those bench arguments)
#   scripts/gpu-train.sh run     # there, with .dev/ (and a Vulkan loader) carried: the runs
#                                # below side by side on the one GPU, each stopped with
#                                # SIGINT after $T seconds (default 300) so that it writes
#                                # its checkpoint and averaged weights; then each run's
#                                # decoder tuned alone for $D seconds (default 150: a new
#                                # process compiles its GPU kernels again). Into
#                                # $OUT (default /tmp/out): NAME.bpk (joint), NAME-dec.bpk
#                                # (decoder tuned: the one to evaluate), run.log, and
#                                # results.tgz (the joint checkpoints and every log).
#
# Each run starts from the shipped weights with a constant learning rate (the time, not the
# step count, ends it) and the default moving average. Joint training changes the embedder
# and trains the decoder on training-mode stego images, so each run's average then gets the
# decoder-only pass that made the shipped model (session 5); without it, session 6's three
# GPU runs scored worse than the shipped model. If wgpu finds no hardware adapter, one CPU
# run takes the GPU runs' place. Session 6 ran these three runs on an H200 (see
# assets/MODEL.md): about 33, 57 and 90 pairs/s, side by side.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pack="$root/.dev"
# name, then its own arguments
runs=("a --batch 32 --lr 1e-4 --seed 61"
      "b --batch 64 --lr 2e-4 --seed 62"
      "c --batch 128 --lr 3e-4 --seed 63")

pack() {
  mkdir -p "$pack"
  strip -o "$pack/stegnet" "$root/target/release/stegnet"
  xz -T0 -6 -f "$pack/stegnet"
  python3 - "$root/data/photos" "$pack/photos" <<'EOF'
import pathlib, sys
from PIL import Image
source, target = map(pathlib.Path, sys.argv[1:])
for path in sorted(source.rglob("*")):
    if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp", ".bmp"):
        continue
    image = Image.open(path).convert("RGB")
    scale = 512 / max(image.size)
    if scale < 1:
        image = image.resize([max(1, round(side * scale)) for side in image.size], Image.BILINEAR)
    out = (target / path.relative_to(source)).with_suffix(".jpg")
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, quality=95)
EOF
  du -sh "$pack"/*
}

out="${OUT:-/tmp/out}"
logs=/tmp/stegnet-logs

# The binary unpacked, and only the NVIDIA Vulkan driver visible (never a software adapter).
prepare() {
  mkdir -p "$out" "$logs" "${XDG_RUNTIME_DIR:=/tmp/xdg}"
  export XDG_RUNTIME_DIR
  date
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  local icd
  icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
    /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1 || true)
  [ -n "$icd" ] && export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
  xz -dc "$pack/stegnet.xz" > /tmp/stegnet && chmod +x /tmp/stegnet
}

bench() {
  prepare
  local variant
  for variant in "" "--plain" "--depthwise shifted"; do
    echo "== stegnet bench ${variant:-(default network)}"
    # shellcheck disable=SC2086  # a variant is zero, one or two arguments
    timeout 300 /tmp/stegnet bench ${BENCH:---runs 5 --batch 32 --crop 64 --side 1024} $variant 2>&1 \
      | grep -v '^measuring' || true
  done | tee -a "$logs/bench.txt"
}

run() {
  local seconds="${T:-300}" device=gpu
  mkdir -p "$out"
  exec > >(tee -a "$out/run.log") 2>&1
  prepare

  # name, seconds, then the run's own arguments; checkpoints stay out of $OUT, which
  # brings back at most eight files
  timed() {
    local name=$1 limit=$2; shift 2
    timeout -k 40 -s INT "$limit" /tmp/stegnet train --data "$pack/photos/train" \
      --val "$pack/photos/val" --schedule constant --steps 1000000 --crop 64 \
      --every 500 --device "$device" --out "$out/$name.bpk" --checkpoint "$logs/$name.ckpt" \
      "$@" > "$logs/$name.log" 2>&1 || true
    echo "run $name stopped at $(date +%T)"
  }
  train() { # name, then its own arguments
    local name=$1; shift
    timed "$name" "$seconds" --init "$root/assets/stegnet.bpk" --warmup 100 "$@"
  }
  tune_decoder() { # name of a joint run
    timed "$1-dec" "${D:-150}" --init "$out/$1.bpk" --tuning decoder-only --batch 32 \
      --lr 1e-4 --warmup 20 --seed 71
  }

  rm -f "$logs"/*.log "$logs"/*.ckpt  # a warm machine keeps /tmp; bench.txt stays
  local pids="" first=${runs[0]%% *} names=""
  # shellcheck disable=SC2086  # each run's arguments are split on purpose
  train ${runs[0]} & pids=$!
  for _ in $(seq 60); do grep -q '^device:' "$logs/$first.log" 2>/dev/null && break; sleep 1; done
  if ! grep -q '^device: GPU' "$logs/$first.log" || grep -q 'software' "$logs/$first.log"; then
    echo "no hardware GPU: one run on the CPU instead"
    pkill -KILL -f "/tmp/stegnet train" || true
    wait $pids || true
    rm -f "$out/$first".* "$logs/$first".*
    device=cpu
    train cpu --batch 16 --lr 1e-4 --seed 61 & pids=$!
    names=cpu
  else
    names=$first
    for spec in "${runs[@]:1}"; do
      names="$names ${spec%% *}"
      sleep 1
      # shellcheck disable=SC2086
      train $spec & pids="$pids $!"
    done
  fi
  # shellcheck disable=SC2086  # one process id per word
  monitor $pids
  pids=""
  for name in $names; do
    tune_decoder "$name" & pids="$pids $!"
  done
  # shellcheck disable=SC2086
  monitor $pids
  for log in "$logs"/*.log; do echo "== $log"; grep -v '^step' "$log" | tail -8; done
  # The joint checkpoints can be resumed; the decoder-only ones are not worth a file's
  # 16 MiB limit (three joint checkpoints pack to about 7 MB).
  rm -f "$logs"/*-dec.ckpt
  tar czf "$out/results.tgz" -C "$(dirname "$logs")" "$(basename "$logs")"
  ls -la "$out"
}

# Every 10 s the GPU's load and each run's last step, until the given processes end.
monitor() {
  while pgrep -f "/tmp/stegnet train" > /dev/null; do
    sleep 10
    echo "== $(date +%T) GPU $(nvidia-smi --query-gpu=utilization.gpu,memory.used \
      --format=csv,noheader 2>/dev/null || echo -)"
    for log in "$logs"/*.log; do echo "$(basename "$log" .log): $(grep '^step' "$log" | tail -1)"; done
  done
  wait "$@"
}

case "${1:-}" in
  pack) pack ;;
  bench) bench ;;
  run) run ;;
  *) echo "usage: $0 pack|bench|run" >&2; exit 2 ;;
esac
