#!/usr/bin/env bash
# On a lent GPU machine (see benchmarks/README or the closing notes): make the checkout importable
# as `editmind` without installing it, stash the first half of the default GGUF (a call carries
# at most 64 MiB), and run the parametric editors' unit tests with the tiny models on CUDA.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
mkdir -p /tmp/pkg/editmind /tmp/keep
for d in agent memory editors apps; do ln -sfn "$PWD/$d" "/tmp/pkg/editmind/$d"; done
cp .gguf_a/part00 /tmp/keep/part00
export PYTHONPATH=/tmp/pkg:/tmp/site PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, torch.cuda.get_device_name(0))"
EDITMIND_TEST_DEVICE=cuda timeout 200 python3 -m pytest -q -p no:cacheprovider -x \
  tests/unit/test_parametric_editors.py tests/unit/test_parametric_pieces.py tests/unit/test_journal.py \
  tests/unit/test_eval_knowedit.py 2>&1 | tail -30
