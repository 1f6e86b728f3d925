#!/bin/bash
# The planned accuracy runs behind docs/results.md, then the page itself. Resumable: run it again after an
# interruption (same settings) and every finished (model, seed) unit is kept; only the rest trains.
#
#   bash docs/results_run.sh                                  # both datasets, then docs/results.md
#   ONLY=kvasir bash docs/results_run.sh                      # one dataset (kvasir or hippocampus)
#   PYTHON=.venv/bin/python PIN="taskset -c 0,1" bash docs/results_run.sh
#   # two cores, one dataset per core (how docs/results.md was run: every unit on one thread, none waiting):
#   ONLY=kvasir THREADS=1 PIN="taskset -c 0" bash docs/results_run.sh &
#   ONLY=hippocampus THREADS=1 PIN="taskset -c 1" bash docs/results_run.sh
#
# What it runs (docs/benchmarks.md, "Accuracy over seeds under a CPU-time budget", explains the method):
# - Kvasir-SEG fold 0 (798 training / 200 validation images), 256 x 256, preset endoscopy, 10 CPU-minutes per
#   model and seed;
# - MSD Hippocampus fold 0 (208 / 52 volumes), 3D patches of 32 x 48 x 32 (the medlitenet_hippocampus bundle),
#   15 CPU-minutes per model and seed;
# - models: medlitenet, lightawnet, lacnet, msaunet-w0.5, segresnet, unet, basicunet, attentionunet; three seeds
#   (0, 1, 2) for MedLiteNet and SegResNet, seed 0 for the others: 12 units per dataset. MSAUNet runs at half
#   width: at full width it costs 16.4 GMACs per 256 x 256 image (14.1 per 3D patch), about 16 times SegResNet,
#   and would not finish one epoch in the budget (the benchmark's own substitution rule asks for three);
# - one common recipe (AdamW 1e-3, 0.5 CE + 0.5 Dice, clipping 0.5, no EMA), the learning rate schedule laid over
#   1000 epochs (so it stays near 1e-3 within the budget for every model), THREADS torch threads for training and
#   for the latency, WORKERS data-loading workers (default 0: below 4 cores a worker takes a core from the network
#   for augmentation worth about 7 % of a step, monai_lite/engine/cpu_plan.py).
#
# Time (estimated from short runs on the 2-core Xeon, see docs/benchmarks.md): the budgets are 12 x 10 + 12 x 15 =
# 300 CPU-minutes of training; caching, the final validation, the held-out evaluation and the latency add about
# 1 CPU-minute per unit on Kvasir and 1.5 on Hippocampus, about 330 CPU-minutes in all. That is about 3 hours of
# wall-clock time with both cores free for it (2 threads), about 5.5 hours pinned to one core; other load on the
# machine lengthens the wall-clock time, not the results (the budget counts this run's own CPU time only).
#
# Environment: PYTHON (default python), OUT (default bench/results), DATA (default ../shared/data, relative to the
# repository root), THREADS (default: the cores this shell may use), WORKERS (default 0), ONLY (default
# "kvasir hippocampus"), PIN (a command prefix such as "taskset -c 0,1"; the affinity is recorded either way).
set -uo pipefail

cd "$(dirname "$0")/.."  # the repository root: datalists and the default DATA are relative to it
PYTHON="${PYTHON:-python}"
OUT="${OUT:-bench/results}"
DATA="${DATA:-../shared/data}"
THREADS="${THREADS:-$(nproc)}"
WORKERS="${WORKERS:-0}"
ONLY="${ONLY:-kvasir hippocampus}"
read -r -a PIN_CMD <<< "${PIN:-}"
MODELS="medlitenet:3,lightawnet,lacnet,msaunet-w0.5,segresnet:3,unet,basicunet,attentionunet"
COMMON=(--models "$MODELS" --fold 0 --recipe common --seed 0 --train-threads "$THREADS" --threads "$THREADS"
        --num-workers "$WORKERS" --resume)

status=0
for dataset in $ONLY; do
    case "$dataset" in
        kvasir)
            "${PIN_CMD[@]}" "$PYTHON" -m monai_lite.cli benchmark accuracy -o "$OUT/kvasir" \
                --datalist data_manifests/kvasir_seg.json --dataset-dir "$DATA/kvasir-seg" \
                --preset endoscopy --image-size 256x256 --budget-cpu-minutes 10 "${COMMON[@]}" || status=1 ;;
        hippocampus)
            "${PIN_CMD[@]}" "$PYTHON" -m monai_lite.cli benchmark accuracy -o "$OUT/hippocampus" \
                --bundle medlitenet_hippocampus \
                --datalist data_manifests/hippocampus.json --dataset-dir "$DATA/hippocampus" \
                --image-size 32x48x32 --budget-cpu-minutes 15 "${COMMON[@]}" || status=1 ;;
        *)
            echo "results_run.sh: unknown dataset '$dataset' in ONLY (kvasir, hippocampus)" >&2
            exit 2 ;;
    esac
    # Each unit timed its model right after training it, under whatever else ran then; time them all again together.
    if [ -f "$OUT/$dataset/accuracy.json" ]; then
        "${PIN_CMD[@]}" "$PYTHON" -m monai_lite.cli benchmark accuracy -o "$OUT/$dataset" --remeasure-latency \
            --threads "$THREADS" || status=1
    fi
done

runs=()
for dataset in kvasir hippocampus; do
    [ -f "$OUT/$dataset/accuracy.json" ] && runs+=("$OUT/$dataset")
done
if [ "${#runs[@]}" -gt 0 ]; then
    "$PYTHON" -m monai_lite.cli benchmark report "${runs[@]}" -o docs/results.md || status=1
fi
[ "$status" -eq 0 ] || echo "results_run.sh: a unit failed or a step stopped; see the accuracy.md files, then run again" >&2
exit "$status"
