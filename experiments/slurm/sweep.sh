#!/usr/bin/env bash
# Runs a figure's sweep as a Slurm job array: one array task per shard of the plan, then a
# merge-and-draw job that starts when every shard succeeded.
#
#   experiments/slurm/sweep.sh FIGURE SCALE SHARDS OUT [extra sbatch options...]
#   e.g. experiments/slurm/sweep.sh fig3 paper 16 /scratch/late-sam --gres=gpu:1 --time=24:00:00
#
# Each shard writes OUT/shard-<i>/sweep; the final job merges them into OUT and writes
# OUT/<figure>/. Deno must be on PATH (or Node.js for `npx -y deno@2.9.6`).
set -euo pipefail
if [[ $# -lt 4 ]]; then
  sed -n '2,11p' "$0"
  exit 2
fi
figure=$1 scale=$2 shards=$3 out=$4
shift 4
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
deno_cmd=${DENO:-deno}
command -v "$deno_cmd" >/dev/null || deno_cmd="npx -y deno@2.9.6"

array=$(sbatch --parsable --job-name="late-sam-$figure" --array="0-$((shards - 1))" \
  --chdir="$repo" --output="$out/slurm-%A_%a.log" "$@" \
  --wrap="$deno_cmd task $figure --scale $scale --shard \$SLURM_ARRAY_TASK_ID/$shards --out $out/shard-\$SLURM_ARRAY_TASK_ID")
echo "shards: job array $array"

merge=$(sbatch --parsable --job-name="late-sam-$figure-merge" --dependency="afterok:$array" \
  --chdir="$repo" --output="$out/slurm-merge-%j.log" "$@" \
  --wrap="$deno_cmd task merge --into $out $out/shard-* && $deno_cmd task $figure --scale $scale --out $out")
echo "merge and draw: job $merge (after $array)"
