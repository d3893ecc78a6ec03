# Weight offload + partial optimizer offload check (nvidia-h200-x2, <= 9 min; bench/accuracy/WEIGHT_OFFLOAD.md).
# Hypothesis: with offload_param AND offload_optimizer.ratio < 1, DeepSpeed 0.19.8's step writes each GPU-resident
# fp32 sub-group back to the pinned bf16 CPU partition by a blocking cross-device, cross-dtype copy_ that torch
# converts on the CPU through a fresh pageable fp32 temporary (stage3.py _reassign_or_swap_out_partitioned_parameters,
# aten Copy.cu copy_kernel_cuda) - a per-step cost proportional to the GPU share the cost model leaves out.
# 1. copybench: that copy's rate per element (and its parts) on two GPUs at once (one GPU alone at the end if time
#    is left), 100M-element sub-groups (sub_group_size 1e8).
# 2. llama-7b (2 GPUs, 40 GiB cap, seq 4096, gb 4, mb 1, ZeRO-3, 32 recomputed), plans in bench/results/woffload/:
#    weights offloaded + optimizer ratio 0.5 (traced step), ratio 1.0, then the control without weight offload
#    (ratio 0.5), then ratio 0.75 (dose-response; cut first). Prediction: the w1-off05 run exceeds its prediction
#    by about (its GPU share of elements per rank) x (copybench ds_path s/element, 2 GPUs), the other two do not.
# Score afterwards: PYTHONPATH=$PWD python -m mist_ds.compare bench/results/woffload/NAME.plan.json RUN.json
# and bench/accuracy/trace_compare.py TRACE bench/results/woffload/l7-2g-c40-b4-z3-w1-off05-rc32.plan.json --run RUN.
source bench/calls/prefix.sh
prebuild
cat > $R/copybench.py <<'EOF'
"""Seconds per element of the step's write-back copies (one process per GPU; rank = LOCAL_GPU)."""
import json, os, sys, time
import torch
n, reps = 100_000_000, 4
dev = torch.device("cuda", 0)
src = torch.randn(n, device=dev)                         # a GPU sub-group's fp32 master partition
pinned16 = torch.empty(n, dtype=torch.bfloat16).pin_memory()   # the offload_param flat bf16 partition (pinned)
pinned32 = torch.empty(n).pin_memory()
paged32 = torch.zeros(n)                                 # pageable, pages already touched
cpu32 = torch.randn(n)                                   # an unpinned fp32 CPU master (ZeRO-3 w0 write-back)
gpu16 = torch.empty(n, dtype=torch.bfloat16, device=dev)
def timed(fn):
    fn(); torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps / n
opt = torch.optim.AdamW([torch.nn.Parameter(src)], lr=1e-4)
opt.param_groups[0]["params"][0].grad = torch.randn(n, device=dev)
out = {
    "ds_path_d2h_fp32_to_pinned_bf16": timed(lambda: pinned16.copy_(src)),
    "pinned_d2h_fp32": timed(lambda: pinned32.copy_(src)),
    "pageable_touched_d2h_fp32": timed(lambda: paged32.copy_(src)),
    "pageable_fresh_d2h_fp32": timed(lambda: torch.empty(n).copy_(src)),
    "cpu_convert_fp32_to_bf16": timed(lambda: pinned16.copy_(paged32)),
    "nonblocking_gpu_convert_d2h": timed(lambda: pinned16.copy_(src, non_blocking=True)),
    "w0_path_h2d_cpu_fp32_to_gpu_bf16": timed(lambda: gpu16.copy_(cpu32)),
    "gpu_adamw_step": timed(opt.step),
}
out.update(elements=n, threads=torch.get_num_threads(), gpus=int(os.environ.get("NGPU", "1")))
json.dump(out, open(sys.argv[1], "w"), indent=1)
EOF
( for g in 0 1; do CUDA_VISIBLE_DEVICES=$g NGPU=2 timeout 60 python3 $R/copybench.py $R/copybench.2gpu.g$g.json > $R/copybench.2gpu.g$g.log 2>&1 & done; wait )
pack
P=bench/results/woffload
run_plan() {  # NAME PORT LIMIT [traced]; skipped when it could end past 530 s of the call
  if [ $((SECONDS + $3)) -gt 530 ]; then echo "skipped $1 at ${SECONDS}s" >> $R/skipped.txt; return; fi
  if [ -n "$4" ]; then export MIST_DS_TRACE_DIR=$R/$1.trace MIST_DS_TRACE_STEP=2 MIST_DS_TRACE_NAME=$1; steps="--steps 4 --warmup 2"
  else unset MIST_DS_TRACE_DIR MIST_DS_TRACE_STEP MIST_DS_TRACE_NAME; steps="--steps 3 --warmup 1"; fi
  timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 --master_port $2 \
    bench/runtime/traced_train.py --plan $P/$1.plan.json $steps --report $R/$1.run.json --hardware h200 \
    > $R/$1.train.log 2>&1; echo "rc $?" >> $R/$1.train.log
  free -b > $R/$1.free.txt; pack
}
run_plan l7-2g-c40-b4-z3-w1-off05-rc32 29801 130 traced
run_plan l7-2g-c40-b4-z3-w1-off1-rc32 29802 110
run_plan l7-2g-c40-b4-z3-off05-rc32 29803 100
run_plan l7-2g-c40-b4-z3-w1-off075-rc32 29804 100
# what is left: the same copies on one GPU alone (is the node's copy rate shared?)
[ $SECONDS -lt 500 ] && { CUDA_VISIBLE_DEVICES=0 NGPU=1 timeout 50 python3 $R/copybench.py $R/copybench.1gpu.json > $R/copybench.1gpu.log 2>&1; pack; }
