# Session 11, call 4 (nvidia-h200, 1 GPU; the session's last ~250 s of device time): the 1-GPU baseline grid's
# ZeRO-1 mb 2 point without checkpointing (DeepSpeed builds its fused Adam inside the run).
source bench/calls/prefix.sh
timeout 200 python3 bench/baseline/grid.py run --workload llama2.7b-1g-c78-s4096-b16 --out $R/grid --budget-s 190 \
  --zero-stages 1 --micro-batches 2 --checkpointing off --steps 4 --warmup 1 > $R/grid.log 2>&1
pack
