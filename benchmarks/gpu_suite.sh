#!/usr/bin/env bash
# The GPU benchmark suite of issue 17, in one run (budget: under 8 minutes on one H100/H200):
#   1. ResNet-18 (CIFAR stem, width 64), B = 2048, k = 20, every conv+fc layer, float32:
#      target >= 10x over the paper's protocol and <= 1 gradient-equivalent per direction;
#   2. ResNet-50 (ImageNet stem, 224x224, 1000 classes), B = 256, k = 20, every conv+fc layer, float32:
#      memory check (must fit in 80 GB: the engine alone, all layers) and agreement with the paper's
#      protocol on three layers (the whole paper loop at this size would not fit the time budget);
#   3. GPT-2 at the paper's size (6 blocks, d_model 384, context 256), B = 32, k = 20, float32.
# Each step is benchmarks/curvature_speed.py (interleaved stages, warm-up excluded, CUDA-synchronised wall
# times, torch.cuda.max_memory_allocated); its JSON lands in OUT and a summary table is printed at the end.
#
#   bash benchmarks/gpu_suite.sh [--out DIR] [--toy]
#
# --toy runs the same steps at toy sizes on the CPU (the end-to-end test of this script,
# tests/benchmarks/test_gpu_suite.py). Exit status: 0 when every step ran and agreed, 1 when a step
# failed or disagreed, 2 on bad arguments.
set -u
cd "$(dirname "$0")/.."
OUT=gpu_suite_out
TOY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --toy) TOY=1; shift ;;
    *) echo "gpu_suite.sh: unknown argument $1 (use --out DIR, --toy)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT" || { echo "gpu_suite.sh: cannot create $OUT" >&2; exit 2; }
PY=${PYTHON:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [ "$TOY" = 1 ]; then
  DEV=(--device cpu --dtype float64 --threads 1 --no-memory)
  R18=(--model resnet18_cifar --width 4 --batch 8 --k 3 --repeats 1)
  R50=(--model resnet50_imagenet --width 2 --image-size 32 --num-classes 12 --batch 2 --k 2 --repeats 1)
  R50_ONLY="conv1,layer1.0.conv2,fc"
  GPT=(--model gpt2_6l --width 12 --context 8 --batch 2 --k 2 --repeats 1)
  LIMIT=600
else
  DEV=(--device cuda --dtype float32)
  R18=(--model resnet18_cifar --width 64 --batch 2048 --k 20 --repeats 3)
  R50=(--model resnet50_imagenet --image-size 224 --num-classes 1000 --batch 256 --k 20 --repeats 1)
  R50_ONLY="conv1,layer2.0.conv2,fc"
  GPT=(--model gpt2_6l --batch 32 --k 20 --repeats 2)
  LIMIT=300
fi

status=0
step() {  # step NAME ARGS... : one curvature_speed.py run with a time limit
  local name=$1; shift
  echo "== $name: curvature_speed.py $*" >&2
  timeout "$LIMIT" "$PY" benchmarks/curvature_speed.py "$@" --json "$OUT/$name.json" > "$OUT/$name.txt" 2>&1
  local rc=$?
  cat "$OUT/$name.txt"
  if [ $rc -ne 0 ]; then
    echo "== $name: exit status $rc$([ $rc = 124 ] && echo ' (time limit)')" >&2
    status=1
  fi
}

step resnet18_b2048 "${R18[@]}" --layers conv+fc "${DEV[@]}" --skip-paper-whole --target-speedup 10
step resnet50_224_memory "${R50[@]}" --layers conv+fc "${DEV[@]}" --skip-whole --skip-paper
step resnet50_224_agree "${R50[@]}" --layers conv+fc --only "$R50_ONLY" "${DEV[@]}" --skip-whole --no-memory
step gpt2_paper_size "${GPT[@]}" "${DEV[@]}" --skip-paper-whole

"$PY" - "$OUT" <<'EOF' || status=1
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
rows, bad = [], 0
for name in ("resnet18_b2048", "resnet50_224_memory", "resnet50_224_agree", "gpt2_paper_size"):
    p = out / f"{name}.json"
    if not p.exists():
        rows.append(f"{name:<22} (no result)")
        bad += 1
        continue
    r = json.loads(p.read_text())
    q, g, mem = r["ratios"], r["agreement"], r["memory"]
    sp = q.get("speedup_curvature")
    peak = mem.get("engine", {}).get("peak_extra_bytes")
    paper = mem.get("paper", {}).get("peak_extra_bytes")
    agree = "not checked" if g is None else ("PASS" if g["pass"] else "FAIL") + f" {g['max_rel_to_layer_scale']:.1e}"
    bad += g is not None and not g["pass"]
    rows.append(
        f"{name:<22} {r['n_directions']:>5} dirs  speed-up {'-' if sp is None else f'{sp:.2f}x':>8}  "
        f"engine {q['engine_grad_eq_per_direction']:.3f} grad-eq/dir  "
        f"peak engine {'-' if peak is None else f'{peak / 2**30:.2f} GiB'}"
        f"{'' if paper is None else f', paper {paper / 2**30:.2f} GiB'}  agreement {agree}"
    )
m = json.loads((out / "resnet18_b2048.json").read_text())["machine"] if (out / "resnet18_b2048.json").exists() else {}
print(f"\nsummary ({m.get('device_name', '?')}, torch {m.get('torch', '?')}):")
print("\n".join(rows))
sys.exit(1 if bad else 0)
EOF
exit $status
