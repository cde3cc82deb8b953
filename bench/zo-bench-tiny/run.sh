#!/usr/bin/env bash
# ZO-Bench's table on the example models (docs/sweep.md#measured): the eight optimizers × full,
# LoRA, prefix and prompt tuning on
#   1. whetstone-tiny-mlm (masked LM), SST-2 template on assets/datasets/sentiment.jsonl;
#   2. whetstone-tiny (decoder), the same SST-2 data;
#   3. whetstone-tiny, COPA template on assets/datasets/cause-effect.jsonl.
# Usage: npm run build && bash bench/zo-bench-tiny/run.sh OUT_DIR [mlm|sst2|copa ...]
# The zeroth-order rates were picked by 200-step probes of each update rule on the masked LM (the
# papers' rates are for models a thousand times larger); backprop methods keep their defaults.
set -euo pipefail
out=${1:?usage: bash bench/zo-bench-tiny/run.sh OUT_DIR [mlm|sst2|copa ...]}
shift
tasks=("${@:-mlm sst2 copa}")
root=$(cd "$(dirname "$0")/../.." && pwd)
# ZO-SGD, ZO-Cons and forward-grad share a rate per scheme; ZO-MMT takes a tenth (its momentum
# sums about ten steps); ZO-Sign and ZO-Adam step by the rate itself, whatever the gradient's size.
lr="zo-sgd=1e-4,zo-sgd/lora=5e-4,zo-sgd/prefix=1,zo-sgd/prompt=1e-1"
lr+=",zo-cons=1e-4,zo-cons/lora=5e-4,zo-cons/prefix=1,zo-cons/prompt=1e-1"
lr+=",forward-grad=1e-4,forward-grad/lora=5e-4,forward-grad/prefix=1,forward-grad/prompt=1e-1"
lr+=",zo-mmt=1e-5,zo-mmt/lora=5e-5,zo-mmt/prefix=1e-1,zo-mmt/prompt=1e-2"
lr+=",zo-sign=1e-3,zo-sign/prefix=1e-2,zo-sign/prompt=1e-2"
lr+=",zo-adam=1e-3,zo-adam/prefix=1e-2,zo-adam/prompt=1e-2"
sweep() { node "$root/bin/whetstone.js" sweep --batch 8 --backend native --lr "$lr" "$@"; }
for task in ${tasks[*]}; do
  case $task in
    mlm) sweep --model "$root/assets/models/whetstone-tiny-mlm" --template sst2 --seq 32 \
      --data "$root/assets/datasets/sentiment.jsonl" --out "$out/mlm-sst2" ;;
    sst2) sweep --model "$root/assets/models/whetstone-tiny" --template sst2 --seq 32 \
      --data "$root/assets/datasets/sentiment.jsonl" --out "$out/decoder-sst2" ;;
    copa) sweep --model "$root/assets/models/whetstone-tiny" --template copa --seq 48 \
      --data "$root/assets/datasets/cause-effect.jsonl" --out "$out/decoder-copa" ;;
    *) echo "unknown task $task (mlm, sst2 or copa)" >&2; exit 2 ;;
  esac
done
