#!/usr/bin/env bash
# Runs a figure's sweep as a Slurm job array: one array task per shard of the plan
# (`shard.sh`), then a merge-and-draw job (`merge.sh`) that starts when every shard succeeded
# and is cancelled by Slurm when one fails.
#
#   experiments/slurm/sweep.sh FIGURE SCALE SHARDS OUT [SBATCH OPTIONS...] [-- FLAGS...]
#   e.g. experiments/slurm/sweep.sh fig3 paper 16 /scratch/late-sam --gres=gpu:1 --time=24:00:00
#
# OUT must be on a file system every node sees. Each shard writes OUT/shard-<i>/; the last job
# merges them into OUT and writes OUT/<figure>/. SBATCH OPTIONS go to every job; FLAGS (after
# --) to the figure in every job. Prints the two job ids ("shards: job array A", "merge and
# draw: job M (after A)"). Deno: $DENO, else deno on PATH, else `npx -y deno@2.9.6`.
set -euo pipefail
if [[ $# -lt 4 || $1 == -h || $1 == --help ]]; then
  sed -n '2,12p' "$0"
  [[ $# -ge 1 && ($1 == -h || $1 == --help) ]] && exit 0
  exit 2
fi
figure=$1 scale=$2 shards=$3 out=$4
shift 4
sbatch_options=()
while [[ $# -gt 0 && $1 != -- ]]; do sbatch_options+=("$1") && shift; done
[[ $# -gt 0 ]] && shift
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

array=$(sbatch --parsable --job-name="late-sam-$figure" --array="0-$((shards - 1))" \
  --chdir="$repo" --output="$out/slurm-%A_%a.log" "${sbatch_options[@]}" \
  "$here/shard.sh" "$figure" "$scale" "$shards" "$out" "$@")
echo "shards: job array $array"

merge=$(sbatch --parsable --job-name="late-sam-$figure-merge" --dependency="afterok:$array" \
  --kill-on-invalid-dep=yes --chdir="$repo" --output="$out/slurm-merge-%j.log" \
  "${sbatch_options[@]}" "$here/merge.sh" "$figure" "$scale" "$shards" "$out" "$@")
echo "merge and draw: job $merge (after $array)"
