#!/usr/bin/env bash
# One shard of a figure's sweep, as a Slurm array task: array index i runs `--shard i/SHARDS`
# into OUT/shard-<i>/ (its own sweep store on the shared file system). Submit it from the
# repository root (or with --chdir=REPO); `sweep.sh` does this for every shard at once.
#
#   sbatch --array=0-<SHARDS-1> experiments/slurm/shard.sh FIGURE SCALE SHARDS OUT [FLAGS...]
#   e.g. resubmit shard 1 of 3 alone: sbatch --array=1 experiments/slurm/shard.sh fig3 small 3 out
#
# FLAGS go to the figure (config fields, --workers, --data-dir); give the merge job the same.
# Deno: $DENO, else deno on PATH, else `npx -y deno@2.9.6` (Node.js).
set -euo pipefail
if [[ $# -lt 4 || -z ${SLURM_ARRAY_TASK_ID:-} ]]; then
  echo "usage: sbatch --array=0-<SHARDS-1> experiments/slurm/shard.sh FIGURE SCALE SHARDS OUT [FLAGS...]" >&2
  exit 2
fi
figure=$1 scale=$2 shards=$3 out=$4
shift 4
index=$SLURM_ARRAY_TASK_ID
deno_cmd=("${DENO:-deno}")
command -v "${deno_cmd[0]}" >/dev/null || deno_cmd=(npx -y deno@2.9.6)
echo "late-sam: $figure $scale shard $index/$shards on $(hostname) into $out/shard-$index" >&2
exec "${deno_cmd[@]}" task "$figure" --scale "$scale" --shard "$index/$shards" \
  --out "$out/shard-$index" "$@"
