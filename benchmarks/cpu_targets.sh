#!/usr/bin/env bash
# The CPU targets of issue 17, one curvature_speed.py run per workload (float64, 1 thread, CPU-time ratios,
# stages interleaved in one process; each run prints the CPU model and the load average at its start and end):
#   smallconv (k = 10 on 10 classes: the head's 10th direction lies beyond the gradient's rank),
#   ResNet-18 (CIFAR stem, width 8), GPT-2 d_model 32 and 64 (whole: >= 2.5x), HuggingFace GPT-2 (tiny config),
#   single non-piecewise layers (tanh MLP 256x256 and 256x784, B 512, k 20; GPT-2 d64 mlp.up, attn.qkv: >= 1.2x);
#   every run: engine peak memory <= 2x the paper's loop (peak tensor bytes; the resident set printed beside);
#   then each kind under a --max-memory budget of about twice the paper's peak (peak <= budget): the small conv
#   net (12 MiB), ResNet-18 (100 MiB), GPT-2 d32 (14 MiB), HF GPT-2 (8 MiB), the tanh layer and GPT-2 d64
#   (24 MiB); and the tanh layer and GPT-2 d64 with --compile (the torch.compile-d fused kernels).
#
#   bash benchmarks/cpu_targets.sh [--out DIR] [--only NAME[,NAME...]]
#
# Results: DIR/NAME.json (all numbers) and DIR/NAME.txt (the printed report); a summary table at the end.
# Exit status: 0 when every run agreed with the paper's protocol (targets met or not: printed, not the exit
# status), 1 when a run failed or disagreed, 2 on bad arguments.
set -u
cd "$(dirname "$0")/.."
OUT=benchmarks/results/cpu
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
    --only) ONLY="${2:?--only needs names}"; shift 2 ;;
    *) echo "cpu_targets.sh: unknown argument $1 (use --out DIR, --only NAMES)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT" || { echo "cpu_targets.sh: cannot create $OUT" >&2; exit 2; }
PY=${PYTHON:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
COMMON=(--threads 1 --dtype float64 --target-memory-ratio 2)
NAMES=()

status=0
run() {  # run NAME ARGS... : one curvature_speed.py run
  local name=$1; shift
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$name,"* ]]; then return; fi
  NAMES+=("$name")
  echo "== $name: python benchmarks/curvature_speed.py $* ${COMMON[*]}" >&2
  nice "$PY" benchmarks/curvature_speed.py "$@" "${COMMON[@]}" --json "$OUT/$name.json" > "$OUT/$name.txt" 2>&1
  local rc=$?
  cat "$OUT/$name.txt"
  [ $rc -ne 0 ] && { echo "== $name: exit status $rc" >&2; status=1; }
}

run smallconv_b64_k10 --model smallconv --batch 64 --k 10 --repeats 7
run resnet18_w8_b16_k10 --model resnet18_cifar --width 8 --layers conv+fc --batch 16 --k 10 --repeats 3 --skip-paper-whole
run gpt2_d32 --model gpt2 --width 32 --context 16 --batch 4 --k 8 --repeats 5 --target-speedup 2.5
run gpt2_d64 --model gpt2 --width 64 --context 16 --batch 4 --k 8 --repeats 5 --target-speedup 2.5
run hf_gpt2_tiny --model hf_gpt2 --batch 4 --k 8 --repeats 5
run tanh_256x256 --model tanh_mlp --batch 512 --k 20 --only 3 --repeats 7 --target-speedup 1.2
run tanh_256x784 --model tanh_mlp --batch 512 --k 20 --only 1 --repeats 7 --target-speedup 1.2
run gpt2_d64_mlp_up --model gpt2 --width 64 --context 16 --batch 4 --k 8 --only blocks.2.mlp.up --repeats 7 --target-speedup 1.2
run gpt2_d64_attn_qkv --model gpt2 --width 64 --context 16 --batch 4 --k 8 --only blocks.2.attn.qkv --repeats 7 --target-speedup 1.2
# options: the memory budget (chunked pass 2) and the torch.compile-d fused kernels
run tanh_256x256_budget24M --model tanh_mlp --batch 512 --k 20 --only 3 --repeats 7 --target-speedup 1.2 --max-memory 24M
run smallconv_budget12M --model smallconv --batch 64 --k 10 --repeats 7 --max-memory 12M
run resnet18_budget100M --model resnet18_cifar --width 8 --layers conv+fc --batch 16 --k 10 --repeats 3 --skip-paper-whole --max-memory 100M
run gpt2_d32_budget14M --model gpt2 --width 32 --context 16 --batch 4 --k 8 --repeats 5 --target-speedup 2.5 --max-memory 14M
run hf_gpt2_budget8M --model hf_gpt2 --batch 4 --k 8 --repeats 5 --max-memory 8M
run gpt2_d64_budget24M --model gpt2 --width 64 --context 16 --batch 4 --k 8 --repeats 5 --target-speedup 2.5 --max-memory 24M
run tanh_256x256_compile --model tanh_mlp --batch 512 --k 20 --only 3 --repeats 7 --target-speedup 1.2 --compile
run gpt2_d64_compile --model gpt2 --width 64 --context 16 --batch 4 --k 8 --repeats 5 --target-speedup 2.5 --compile

"$PY" benchmarks/speed_table.py "$OUT" "${NAMES[@]}" || status=1
exit $status
