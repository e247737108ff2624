#!/usr/bin/env bash
# Fetches real photographs for training and evaluation from Debian packages (all
# DFSG-free; some CC-BY, see data/photos/ATTRIBUTION.md) into data/photos/{train,val}.
# Idempotent: a second run reuses what is there. Nothing here goes into git (data/ is
# ignored). Needs apt-get (no root needed for `apt-get download`), dpkg-deb and python3.
#
#   scripts/fetch-photos.sh            # -> data/photos/train (~280) and data/photos/val (~30)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/data"
debs="$data/debs"
tree="$data/extracted"
photos="$data/photos"
packages=(gcompris-qt-data lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds
          plasma-workspace-wallpapers palapeli-data opencv-doc)

if [ -f "$photos/.complete" ]; then
  echo "photos already fetched: $(ls "$photos/train" | wc -l) train, $(ls "$photos/val" | wc -l) val in $photos"
  exit 0
fi

mkdir -p "$debs" "$tree"
(cd "$debs" && for p in "${packages[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p"
done)
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$tree"; done

staging="$data/staging"
rm -rf "$staging" && mkdir -p "$staging"
take() { # take SOURCE NAME: copy one photo under a unique name
  cp "$1" "$staging/$2"
}

# GCompris: photos inside Qt resource bundles (skip the letter and number drawings).
for bundle in categorization explore_monuments explore_world_animals explore_farm_animals erase; do
  python3 "$root/scripts/rcc_extract.py" "$tree/usr/share/gcompris-qt/rcc/$bundle.rcc" "$data/rcc/$bundle" >/dev/null
done
while IFS= read -r f; do
  case "$f" in */alphabets/*|*/numbers/*) continue ;; esac
  rel="${f#"$data"/rcc/}"
  take "$f" "gcompris-$(echo "$rel" | sed 's#/gcompris/src/activities/[^/]*/resource/#-#; s#/#-#g')"
done < <(find "$data/rcc" -name '*.webp' | sort)

# Plasma wallpapers: the photographic ones, largest size of each.
for w in BytheWater ColdRipple DarkestHour EveningGlow FallenLeaf Kite MilkyWay OneStandsOut Path summer_1am; do
  f=$(ls -S "$tree/usr/share/wallpapers/$w/contents/images/"* | head -1)
  take "$f" "plasma-$w.${f##*.}"
done
# Lomiri wallpapers (photographs only).
for w in Bridge_by_Sander_Klootwijk Dragonfly_by_Bolly Infinite-Sea_by_Aury88 Kleiber_by_Lukas_Baubkus \
         Picture_0B_by_freespace Picture_1A_by_freespace Wine_by_Jakkub_Mede aitzgorri_by_Aitzol_Berasategi \
         analogpattern_by_Peter_Nerlich free_by_Peter_Nerlich friends_by_Aitzol_Berasategi \
         greentock_by_Peter_Nerlich life_by_Aitzol_Berasategi picosdeeuropa_by_Aitzol_Berasategi \
         seeding_by_Clements_Engelhardt sunset_by_Aitzol_Berasategi; do
  take "$tree/usr/share/backgrounds/$w.jpg" "lomiri-$w.jpg"
done
# MATE nature backgrounds, Palapeli puzzles, OpenCV sample photos.
for f in "$tree"/usr/share/backgrounds/mate/nature/*.jpg; do take "$f" "mate-$(basename "$f")"; done
for f in "$tree"/usr/share/palapeli/collection/*.jpg; do take "$f" "palapeli-$(basename "$f")"; done
for n in fruits.jpg baboon.jpg squirrel_cls.jpg home.jpg orange.jpg chicky_512.png butterfly.jpg \
         building.jpg apple.jpg messi5.jpg aero1.jpg board.jpg basketball1.png graf1.png leuvenA.jpg \
         stuff.jpg box_in_scene.png rubberwhale1.png aloeL.jpg; do
  take "$tree/usr/share/doc/opencv-doc/examples/data/$n" "opencv-$n"
done

# Fixed split: in name order, every tenth photo is for validation.
rm -rf "$photos" && mkdir -p "$photos/train" "$photos/val" "$photos/licenses"
i=0
while IFS= read -r f; do
  if [ $((i % 10)) -eq 9 ]; then mv "$f" "$photos/val/"; else mv "$f" "$photos/train/"; fi
  i=$((i + 1))
done < <(find "$staging" -type f | sort)
rmdir "$staging"

# Attribution: each package's copyright file, and GCompris' per-image credits.
for p in "${packages[@]}"; do
  cp "$tree/usr/share/doc/$p/copyright" "$photos/licenses/$p.copyright" 2>/dev/null || true
done
{
  echo "# Where the training photos come from"
  echo
  echo "Debian packages (see licenses/ for each package's copyright file):"
  for p in "${packages[@]}"; do echo "- $p"; done
  echo
  echo "GCompris image credits (from the resource bundles' README files):"
  find "$data/rcc" -name README | sort | while read -r r; do echo; echo "## ${r#"$data"/rcc/}"; cat "$r"; done
} > "$photos/ATTRIBUTION.md"
touch "$photos/.complete"
echo "fetched $(ls "$photos/train" | wc -l) train and $(ls "$photos/val" | wc -l) validation photos into $photos"
