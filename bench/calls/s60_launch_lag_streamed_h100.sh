# Session 60 (nvidia-h100-x1; timeout_s ~200, LIMIT=190, carry .whl); issue 10. Why a weight-streamed block's fill
# does not overlap the previous block's forward (S60 trace of b58b's Qwen3-1.7B re-win at 24 GiB, bench/results/runtime/
# streamed_trace_S60/: each block's 50 MB host-to-device copy starts as the previous block's kernels end, so a
# forward block takes compute + copy, 1.75 ms, where the backward hides its copies). One profiled step (step 4 of 5)
# with the GPU side and the CUDA runtime calls only (MIST_DS_TRACE_GPU_ONLY=1: no host-op profiling to slow the
# host) and every launch with its correlation id (MIST_DS_TRACE_LAUNCHES=1, trace_summary.launch_rows): when the host
# issued each fill against when it ran, and how far the host ran ahead of the GPU.
source bench/calls/prefix.sh
prebuild
mkdir -p $R/traces
MIST_DS_TRACE_GPU_ONLY=1 MIST_DS_TRACE_LAUNCHES=1 MIST_DS_TRACE_DIR=$R/traces MIST_DS_TRACE_STEP=4 \
  MIST_DS_TRACE_NAME=q17launch timeout $(( ${LIMIT:-190} - 10 - SECONDS )) python3 -m deepspeed.launcher.runner \
  --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29883 bench/runtime/traced_train.py \
  --plan bench/results/accuracy/h100n-auto-q3-17b-1g-c24-s4096-b16-s58.plan.json --steps 5 --warmup 2 \
  --report $R/q17launch.profiled-run.json --hardware h100-1gpu-node > $R/q17launch.log 2>&1; echo "rc $?" >> $R/q17launch.log
mv $R/traces/* $R/ 2>/dev/null
pack
