#!/usr/bin/env bash
# Fine-tuning on a lent GPU machine (a remote x86-64 box with an NVIDIA GPU and 16 CPU cores,
# no Rust toolchain, and a 64 MiB limit on what travels with the working tree). Three
# commands:
#
#   scripts/gpu-train.sh pack    # here, after `cargo build --release` and
#                                # scripts/fetch-photos.sh: writes .dev/stegnet.xz (the
#                                # stripped release binary, compressed) and .dev/photos/
#                                # (the photos with their long side reduced to 512, as the
#                                # trainer's cache reduces them anyway; needs Pillow:
#                                # $PYTHON names the interpreter, default python3)
#   scripts/gpu-train.sh bench   # there: `stegnet bench` (training step of 32 pairs of 64x64,
#                                # embed + reveal of 1024x1024) on the CPU and the GPU, with
#                                # the default network, --plain and --depthwise shifted
#                                # ($BENCH replaces those bench arguments)
#   scripts/gpu-train.sh run     # there, with .dev/ (and a Vulkan loader) carried: two
#                                # phases, each run stopped with SIGINT after its time so
#                                # that it writes its checkpoint and weights.
#
# Phase 1 ($T seconds, default 280): the runs below side by side, two on the GPU and one on
# the machine's CPU cores, all `--tuning inference-mode` (both networks learning while they
# run as users run them) at a low constant rate, the recipe that moved the model past its
# frontier on the 2-core CPU in session 8. Phase 2 ($D seconds, default 140): each run's best
# validated weights get a decoder-only pass on the CPU cores (as sessions 5 and 8 finished
# their models), while the GPU, free again, times `embed --refine` on the demo pair.
# Into $OUT (default /tmp/out): run.log, and results.tgz with every run's weights
# (NAME-best.bpk, NAME-dec-best.bpk: the one to evaluate), logs and phase-1 checkpoints.
# Without a hardware GPU the GPU runs go to the CPU too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pack="$root/.dev"
# name, where it trains (gpu or cpu), then its own arguments
runs=("a gpu --init assets/training/tfinit-line-session8.bpk --batch 64 --lr 3e-5 --warmup 10 --every 40 --seed 91"
      "b gpu --init assets/stegnet.bpk --batch 64 --lr 3e-5 --warmup 10 --every 40 --seed 92"
      "c cpu --init assets/training/tfinit-line-session8.bpk --batch 8 --lr 2e-5 --warmup 50 --every 250 --seed 93")

pack() {
  mkdir -p "$pack"
  strip -o "$pack/stegnet" "$root/target/release/stegnet"
  xz -T0 -6 -f "$pack/stegnet"
  "${PYTHON:-python3}" - "$root/data/photos" "$pack/photos" <<'EOF'
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
  mkdir -p "$out"
  exec > >(tee -a "$out/run.log") 2>&1
  prepare
  cd "$root"
  local gpu=gpu
  if ! nvidia-smi -L; then
    echo "no NVIDIA GPU: every run on the CPU"
    gpu=cpu
  fi

  # name, seconds, CPU threads, then the run's own arguments; checkpoints stay out of $OUT,
  # which brings back at most eight files
  timed() {
    local name=$1 limit=$2 threads=$3; shift 3
    RAYON_NUM_THREADS=$threads timeout -k 40 -s INT "$limit" /tmp/stegnet train \
      --data "$pack/photos/train" --val "$pack/photos/val" --schedule constant \
      --steps 1000000 --crop 64 --out "$logs/$name.bpk" --checkpoint "$logs/$name.ckpt" \
      "$@" > "$logs/$name.log" 2>&1 || true
    echo "run $name stopped at $(date +%T)"
  }
  best() { # the best validated weights of a run, or its last if it never validated
    if [ -f "$logs/$1-best.bpk" ]; then echo "$logs/$1-best.bpk"; else echo "$logs/$1.bpk"; fi
  }

  rm -rf "$logs" && mkdir -p "$logs"  # a warm machine keeps /tmp
  local pids="" names="" spec name where
  for spec in "${runs[@]}"; do
    read -r name where _ <<< "$spec"
    names="$names $name"
    [ "$where" = gpu ] && where=$gpu
    # shellcheck disable=SC2086  # each run's arguments are split on purpose
    timed "$name" "${T:-280}" "$([ "$where" = gpu ] && echo 2 || echo 12)" \
      --tuning inference-mode --device "$where" ${spec#* * } &
    pids="$pids $!"
    sleep 1
  done
  # shellcheck disable=SC2086  # one process id per word
  monitor $pids

  pids=""
  for name in $names; do
    timed "$name-dec" "${D:-140}" 4 --init "$(best "$name")" --tuning decoder-only \
      --batch 8 --lr 1e-4 --warmup 20 --every 200 --device cpu --seed 71 &
    pids="$pids $!"
  done
  refine_timing
  # shellcheck disable=SC2086
  monitor $pids

  for log in "$logs"/*.log; do echo "== $log"; grep -v '^step' "$log" | tail -12; done
  rm -f "$logs"/*-dec.ckpt  # the decoder-only passes are not resumed
  tar czf "$out/results.tgz" -C "$(dirname "$logs")" "$(basename "$logs")"
  ls -la "$out"
}

# The demo pair (512x512, four tiles) refined on the GPU by 5 and 20 steps: `embed` says how
# long refining took, so the difference of the two is 15 steps without kernel compilation.
refine_timing() {
  local steps
  for steps in 5 20; do
    echo "embed --refine $steps on $gpu:"
    timeout 120 /tmp/stegnet embed --device "$gpu" --cover assets/demo-cover.png \
      --hidden assets/demo-secret.png -o "$logs/refined-$steps.png" -f --refine "$steps" 2>&1 \
      | grep -E '^(device|embedded|refined)' || true
  done
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
