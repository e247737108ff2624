#!/usr/bin/env bash
# The steganalysis experiment of the closing notes, end to end with the command line:
# centre crops of the training and validation photos (scripts/fetch-photos.sh), stego sets
# made with StegNet (the built-in model, or MODEL=FILE), with StegNet refined for the decoder
# (REFINE=STEPS per image, default 100; validation photos only) and with LSB-1 and LSB-3
# (photo i hides photo i + 1), the classic detectors on the validation sets, and a SPAM
# detector trained on the training photos' one-pass StegNet pairs and tested on the
# validation pairs it never saw, refined or not. Everything goes to data/steganalysis/
# (git-ignored); AUCs print at the end.
#   scripts/steganalysis.sh [SIZE]      (crop side, default 256)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
size="${1:-256}"
photos="$root/data/photos"
work="$root/data/steganalysis/$size"
[ -d "$photos/train" ] || { echo "run scripts/fetch-photos.sh first" >&2; exit 1; }
cargo build --release --manifest-path "$root/Cargo.toml"
stegnet="$root/target/release/stegnet"
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")

mkdir -p "$work"
for set in train val; do
  [ -d "$work/$set-clean" ] || "$stegnet" crops --images "$photos/$set" --size "$size" --out "$work/$set-clean"
done
[ -d "$work/train-stegnet" ] || "$stegnet" make-stego --method stegnet "${model[@]}" --device cpu \
  --covers "$work/train-clean" --secrets "$work/train-clean" --out "$work/train-stegnet"
for set in stegnet stegnet-refined lsb1 lsb3; do
  method=${set%-refined}
  extra=()
  [ "$method" = stegnet ] && extra=("${model[@]}" --device cpu)
  [ "$set" = stegnet-refined ] && extra+=(--refine "${REFINE:-100}")
  [ -d "$work/val-$set" ] || "$stegnet" make-stego --method "$method" "${extra[@]}" \
    --covers "$work/val-clean" --secrets "$work/val-clean" --out "$work/val-$set"
done
"$stegnet" detector train --clean "$work/train-clean" --stego "$work/train-stegnet" \
  --out "$work/spam-stegnet.json" --force

for set in stegnet stegnet-refined lsb1 lsb3; do
  detectors=classic
  [ "${set%-refined}" = stegnet ] && detectors="classic,trained:$work/spam-stegnet.json"
  echo "== validation photos: clean vs $set"
  "$stegnet" analyze --clean "$work/val-clean" --stego "$work/val-$set" \
    --detectors "$detectors" --plot "$work/roc-$set.png" --csv "$work/scores-$set.csv" --force \
    | sed -n '/ROC AUC/,$p'
done
