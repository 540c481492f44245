#!/usr/bin/env bash
# Whole processes, three builds of every TestAssemblies program in one invocation: unwoven, woven by another checkout
# (BEFORE, e.g. the last commit before a runtime change, built with `dotnet build Weaving.sln -c Release`) and woven by
# this one. Each program: one untimed run of each build, then RUNS rounds of the three, the order rotating, so that a
# burst of load on a shared machine hits them alike. Medians of wall time, CPU (user + system) and peak memory (GNU time);
# ratios against unwoven. Prints a Markdown table. Needs perf and GNU time.
#
#   benchmarks/runtime-ab.sh /path/to/before-checkout [runs]
set -euo pipefail
cd "$(dirname "$0")/.."

readonly BEFORE=${1:?usage: benchmarks/runtime-ab.sh BEFORE_CHECKOUT [runs]}
readonly RUNS=${2:-5}
readonly OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# One run: "wall cpu peakKiB" of `dotnet DLL`, started in the DLL's folder, its stdout kept beside: wall and CPU (the
# task clock: user + system, to the microsecond; GNU time's are to the centisecond) from perf stat, the peak from GNU time.
measure() {
  local dll=$1 tag=$2
  (cd "$(dirname "$dll")" && /usr/bin/time -f "%M" -o "$OUT/time" perf stat -e task-clock -o "$OUT/perf" \
    dotnet "$(basename "$dll")" >"$OUT/$tag.out" 2>/dev/null) || true
  local wall cpu
  wall=$(awk '/seconds time elapsed/ { print $1 }' "$OUT/perf")
  cpu=$(awk '/task-clock/ { gsub(",", "", $1); print $1 / 1000 }' "$OUT/perf")
  echo "$wall $cpu $(tail -1 "$OUT/time")" >>"$OUT/$tag.runs"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column_median() { awk -v c="$2" '{ print $c }' "$1" | median; }

echo "load average (1 min) before: $(cut -d' ' -f1 /proc/loadavg); $RUNS rounds; $(date -u '+%Y-%m-%d %H:%M') UTC"
echo
echo "| program | unwoven wall (s) | before: wall | after: wall | before: CPU | after: CPU | before: peak | after: peak | same output |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
for dir in TestAssemblies/*/; do
  name=$(basename "$dir")
  out="$dir/bin/Release/net10.0"
  after="$out/$name.dll" unwoven="$out/unwoven/$name.dll" before="$BEFORE/TestAssemblies/$name/bin/Release/net10.0/$name.dll"
  [[ -f $after && -f $unwoven && -f $before ]] || continue
  rm -f "$OUT"/*.runs
  builds=(unwoven before after)
  for tag in "${builds[@]}"; do measure "${!tag}" "$tag"; done
  rm -f "$OUT"/*.runs
  for ((round = 0; round < RUNS; round++)); do
    for ((i = 0; i < 3; i++)); do
      tag=${builds[$(((i + round) % 3))]}
      measure "${!tag}" "$tag"
    done
  done
  uw=$(column_median "$OUT/unwoven.runs" 1) uc=$(column_median "$OUT/unwoven.runs" 2) up=$(column_median "$OUT/unwoven.runs" 3)
  row="| $name | $(awk -v w="$uw" 'BEGIN { printf "%.3f", w }')"
  for part in wall cpu peak; do
    for tag in before after; do
      case $part in
        wall) row+=" | $(awk -v a="$(column_median "$OUT/$tag.runs" 1)" -v b="$uw" 'BEGIN { printf "%.2fx", a / b }')" ;;
        cpu) row+=" | $(awk -v a="$(column_median "$OUT/$tag.runs" 2)" -v b="$uc" 'BEGIN { printf "%.2fx", a / b }')" ;;
        peak) row+=" | $(awk -v a="$(column_median "$OUT/$tag.runs" 3)" -v b="$up" 'BEGIN { printf "%+.1f MiB", (a - b) / 1024 }')" ;;
      esac
    done
  done
  cmp -s "$OUT/unwoven.out" "$OUT/after.out" && same=yes || same="**no**"
  echo "$row | $same |"
done
echo
echo "load average (1 min) after: $(cut -d' ' -f1 /proc/loadavg)"
