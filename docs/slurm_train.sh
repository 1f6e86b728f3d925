#!/bin/bash
# Train a monai-lite bundle on several GPU nodes under SLURM: one torchrun per node, one process per GPU.
#
#   sbatch docs/slurm_train.sh                        # medlitenet on the synthetic default data
#   BUNDLE=medlitenet_hippocampus sbatch docs/slurm_train.sh --dataset_dir /data/Task04 \
#       --datalist data_manifests/hippocampus.json --epochs 200
#
# Extra arguments are bundle config overrides. Run it from the repository root on a filesystem that every node
# sees (bundles/<name>/models and eval are written by rank 0 only). batch_size is per GPU: see README.md,
# "Training on several GPUs or machines", for how batch size and learning rate scale with the number of GPUs.
#SBATCH --job-name=monai-lite-ddp
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --output=%x-%j.out

set -euo pipefail

BUNDLE="${BUNDLE:-medlitenet}"
GPUS_PER_NODE="${GPUS_PER_NODE:-4}"          # keep equal to --gpus-per-node above
RDZV_PORT="${RDZV_PORT:-29500}"
HEAD_NODE="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
# Data-loading threads per process: the CPUs of the task shared by its GPUs.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(( ${SLURM_CPUS_PER_TASK:-16} / GPUS_PER_NODE ))}"

# srun starts one torchrun per node; torchrun's c10d rendezvous on the head node numbers the nodes and ranks.
srun torchrun \
    --nnodes "$SLURM_NNODES" --nproc_per_node "$GPUS_PER_NODE" \
    --rdzv-id "$SLURM_JOB_ID" --rdzv-backend c10d --rdzv-endpoint "$HEAD_NODE:$RDZV_PORT" \
    -m monai.bundle run training \
    --config_file "['bundles/$BUNDLE/configs/train.json','bundles/$BUNDLE/configs/multi_gpu_train.json']" \
    "$@"
