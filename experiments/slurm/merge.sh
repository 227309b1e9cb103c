#!/usr/bin/env bash
# The last job of a sharded sweep: merges the stores OUT/shard-0 … OUT/shard-<SHARDS-1> into
# OUT (by content address; a job whose bytes differ between shards stops it) and draws the
# figure on OUT, which then only reads stored runs. Submit it after the shards' array:
#
#   sbatch --dependency=afterok:<ARRAY> --kill-on-invalid-dep=yes \
#     experiments/slurm/merge.sh FIGURE SCALE SHARDS OUT [FLAGS...]
#
# FLAGS go to the figure and must equal the shards' (the same config, the same runs).
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: sbatch --dependency=afterok:<ARRAY> experiments/slurm/merge.sh FIGURE SCALE SHARDS OUT [FLAGS...]" >&2
  exit 2
fi
figure=$1 scale=$2 shards=$3 out=$4
shift 4
deno_cmd=("${DENO:-deno}")
command -v "${deno_cmd[0]}" >/dev/null || deno_cmd=(npx -y deno@2.9.6)
sources=()
for ((i = 0; i < shards; i++)); do sources+=("$out/shard-$i"); done
"${deno_cmd[@]}" task merge --into "$out" "${sources[@]}"
exec "${deno_cmd[@]}" task "$figure" --scale "$scale" --out "$out" "$@"
