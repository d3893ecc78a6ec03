# Session 60 (nvidia-h100-x1; timeout_s ~200, LIMIT=190, carry .whl; a fresh machine spends ~130 s building the ops);
# issue 10. Where the host time of a weight-streamed block goes (S60-2, bench/results/runtime/streamed_trace_S60/: in
# b58b's Qwen3-1.7B re-win at 24 GiB the forward is host-paced, a block spanning 1.7-2.5 ms of the profiled step for
# 0.88 ms of GPU work, its fill hidden behind it; the resident sibling's blocks span 0.93-1.5 ms). One profiled step
# (step 4 of 5) with the GPU side and the CUDA runtime calls only (MIST_DS_TRACE_GPU_ONLY=1: no host-op profiling to
# slow the host) and every launch with its correlation id (MIST_DS_TRACE_LAUNCHES=1, trace_summary.launch_rows): per
# block, how long the host takes between its first and last launch, which runtime calls take the time (event
# create/record/wait, the fill's cudaMemcpyAsync), and how far the host runs ahead of the GPU.
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
