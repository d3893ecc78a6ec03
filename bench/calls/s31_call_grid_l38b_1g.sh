# Session 31, call 3 (nvidia-h200, 1 GPU; timeout_s 560): can the plain DeepSpeed user train Llama-3-8B on one 78 GiB
# card of this node (128 GiB host)? Its model states (16 bytes a parameter, 128 GB) do not fit the GPU, so only
# ZeRO-Offload points can run; llama-7b's ZeRO-3 + CPU Adam runs peaked at 128.7 GB used of ~131 (S30-1) and its
# ZeRO-2 offload point was killed by signal 9. Here ZeRO-3 + CPU Adam at micro-batch 8 (llama-7b's best), host memory
# logged every 5 s. mist_ds's winner for the workload ran 7.432 s/iter with 92 GiB of host state (S30-2).
# Unpack: python bench/baseline/grid.py unpack $X/r/baseline_llama3-8b-1g-c78-s4096-b16.json
source bench/calls/prefix.sh
hostmemlog
prebuild
python3 bench/baseline/grid.py run --workload llama3-8b-1g-c78-s4096-b16 --out $R --budget-s $((540 - SECONDS)) --no-build --steps 4 --warmup 1 --zero-stages 3 --micro-batches 8 > $R/grid.log 2>&1
echo "rc $?" >> $R/grid.log
kill $(jobs -p) 2>/dev/null; pack
