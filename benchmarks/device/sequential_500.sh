#!/usr/bin/env bash
# After setup_and_unit_tests.sh on the same (still warm) machine: join the GGUF halves, convert
# the default model once, then run the 500-edit sequential stream for AlphaEdit, ROME and MEMIT
# side by side on the GPU (tf convention, checkpoints every 100 edits, written as they come).
set -u
export PYTHONPATH=/tmp/pkg:/tmp/site EDITMIND_HOME=/tmp/emhome PYTHONUNBUFFERED=1
mkdir -p "$EDITMIND_HOME/downloads"
cat /tmp/keep/part00 .gguf_b/part01 > "$EDITMIND_HOME/downloads/SmolLM2-135M-Instruct.Q4_1.gguf"
python3 -c "from editmind.editors.model import load_model; print(load_model('default', device='cuda').describe()['device'])" || exit 1
for m in alphaedit rome memit; do
  timeout "${STREAM_SECONDS:-480}" python3 benchmarks/knowedit_bench.py sequential --methods "$m" --n 500 --threads 4 \
    --device cuda --conventions tf --no-fluency --checkpoints 100,200,300,400 \
    --out "$OUT/knowedit_sequential_${m}_gpu_n500.json" > "$OUT/$m.log" 2>&1 &
done
wait
for m in alphaedit rome memit; do echo "== $m"; tail -c 1500 "$OUT/$m.log"; done
