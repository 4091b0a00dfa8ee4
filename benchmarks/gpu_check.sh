#!/usr/bin/env bash
# The GPU checks of the fast-start work as one prepared script (about 8 minutes at most on
# one NVIDIA GPU): the suite's GPU tests, then benchmarks/compare_speed.py on CUDA (the
# eleven activations x 10 seeds fused against --no-fuse, and stacks of 1, 11, 33 and 110
# models against the GPU's matmul limit), its tables written to docs/bench/compare_speed_cuda.md.
#   bash benchmarks/gpu_check.sh            (ACTCLI_DATA_DIR: the Fashion-MNIST files)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ACTCLI_DATA_DIR:?set ACTCLI_DATA_DIR to the Fashion-MNIST files}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name(0))"
# the tests that need a GPU (they skip, saying why, elsewhere), and the precision tests
timeout 200 python -m pytest -q -rs tests/test_stack.py tests/test_stack_resume.py \
  tests/test_precision.py -k "cuda or precision or bf16 or tf32"
timeout 300 python benchmarks/compare_speed.py --device cuda --fmnist-epochs 1 \
  --fmnist-seeds 10 --stacks 1,11,33,110 --docs
