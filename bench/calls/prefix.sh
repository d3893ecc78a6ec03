# Sourced by every GPU call script: the wheelhouse on PYTHONPATH, the op builder's arch, NVLink multicast off.
[ -d /tmp/site/deepspeed ] && [ -d /tmp/site/liger_kernel ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD TORCH_CUDA_ARCH_LIST=9.0 NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 PATH=/tmp/site/bin:$PATH
R=$OUT/r; mkdir -p $R
{ nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv; date -u; lscpu | grep -E "Model name|^L3|NUMA node|Socket"; numactl -s 2>/dev/null | head -3; python3 -c "import torch, deepspeed; print('torch', torch.__version__, 'deepspeed', deepspeed.__version__)"; nproc; } > $R/machine.txt 2>&1
prebuild() { timeout 200 python3 -c "from deepspeed.ops.op_builder import CPUAdamBuilder, FusedAdamBuilder; CPUAdamBuilder().load(); FusedAdamBuilder().load()" > $R/build.log 2>&1; }
pack() { tar czf $OUT/results.tgz -C $OUT r; }
# hostmemlog: the node's host memory (used and available MiB, `free -m`) every 5 s into $R/free.log, in the background.
hostmemlog() { (while true; do echo "$(date -u +%T) $(free -m | awk '/Mem:/{print $3, $7}')"; sleep 5; done) > $R/free.log 2>&1 & }
clocklog() { nvidia-smi --query-gpu=timestamp,index,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv -lms 200 > $R/clocks.csv 2>&1 & }
# trainrun NAME PLAN PORT LIMIT [CORES]: one 1-GPU launch/train.py run of PLAN (10 steps, 2 warm-up, profile
# h200-1gpu-node), pinned to CORES (taskset -c) when given, its start and end (unix time) in $R/windows.log; packs $OUT
# after the run, so a call that overruns later keeps it (S30-4 lost its pinned runs that way). A 1.3B ZeRO-3 plan took
# ~40 s to its first step there: give LIMIT >= 90.
trainrun() {
  local pin=(); [ -n "${5:-}" ] && pin=(taskset -c "$5")
  echo "$1 start $(date +%s.%N)" >> $R/windows.log
  timeout $4 "${pin[@]}" python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
    --master_port $3 launch/train.py --plan $2 --steps 10 --warmup 2 --report $R/$1.run.json --hardware h200-1gpu-node \
    > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  echo "$1 end $(date +%s.%N)" >> $R/windows.log
  pack
}
# traced NAME PLAN PORT LIMIT [HARDWARE]: one 1-GPU run of PLAN, 5 steps with step 4 profiled (bench/runtime/traced_train.py;
# its MFU on HARDWARE's peak, default h200), its report in $R/NAME.profiled-run.json and its trace digested
# (bench/engine/trace_digest.py) into $R/traces/.
traced() {
  mkdir -p $R/traces
  MIST_DS_TRACE_DIR=$R/traces MIST_DS_TRACE_STEP=4 MIST_DS_TRACE_NAME=$1 timeout $4 python3 -m deepspeed.launcher.runner \
    --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port $3 bench/runtime/traced_train.py --plan $2 \
    --steps 5 --warmup 2 --report $R/$1.profiled-run.json --hardware ${5:-h200} > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  for t in $R/traces/*.trace.json.gz; do [ -f "$t" ] && zcat "$t" > /tmp/tr.json && timeout ${DIGEST_LIMIT:-60} python3 \
    bench/engine/trace_digest.py /tmp/tr.json --out ${t%.trace.json.gz}.digest.json.gz >> $R/$1.log 2>&1; rm -f "$t"; done
}
# peaksites PLAN PORT [LIMIT] [HARDWARE]: bench/engine/alloc_frag.py on bench/results/accuracy/PLAN.plan.json (1 GPU, 2
# steps after 1 warm-up; LIMIT seconds, default 130; profile HARDWARE, default h200): what is live at the allocated
# peak by allocation site and which requests grew reserved memory, into $R/PLAN/ (its RunReport: $R/PLAN/run.json).
peaksites() {
  timeout ${3:-130} python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
    --master_port $2 bench/engine/alloc_frag.py --out $R/$1 --history-from-build \
    --plan bench/results/accuracy/$1.plan.json --steps 2 --warmup 1 --report $R/$1/run.json --hardware ${4:-h200} \
    > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
}
# phased NAME PORT LIMIT STEPS: bench/runtime/phase_train.py (the device synchronised after each engine call; forward,
# backward and engine.step of every micro-batch timed apart) on bench/results/accuracy/NAME.plan.json, 1 GPU, STEPS
# steps after 2 warm-up, profile ${HWP:-h200-1gpu-node}, into $R/NAME/ (rank0.phases.json, run.json); packs $OUT after
# it. Skipped (logged in $R/windows.log) when CALL_LIMIT is set and less than LIMIT of its seconds is left.
phased() {
  local left=$(( ${CALL_LIMIT:-100000} - 5 - SECONDS ))
  if [ $left -lt $3 ]; then echo "$1 skipped: $left s left" >> $R/windows.log; return; fi
  MIST_DS_PHASE_OUT=$R/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan bench/results/accuracy/$1.plan.json \
    --steps $4 --warmup 2 --report $R/$1/run.json --hardware ${HWP:-h200-1gpu-node} > $R/$1.log 2>&1
  echo "rc $?" >> $R/$1.log; pack
}
# launchtrace NAME PLAN LIMIT PORT: one 1-GPU run of bench/results/accuracy/PLAN.plan.json, 5 steps with step 4 profiled,
# GPU side and runtime calls only with every launch (bench/runtime/traced_train.py, MIST_DS_TRACE_GPU_ONLY=1,
# MIST_DS_TRACE_LAUNCHES=1; read with bench/runtime/launch_timeline.py), profile ${HW:-h100-1gpu-node}; its report
# in $R/NAME.profiled-run.json, the trace files in $R; packs $OUT after it.
launchtrace() {
  mkdir -p $R/traces
  MIST_DS_TRACE_GPU_ONLY=1 MIST_DS_TRACE_LAUNCHES=1 MIST_DS_TRACE_DIR=$R/traces MIST_DS_TRACE_STEP=4 \
    MIST_DS_TRACE_NAME=$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $4 bench/runtime/traced_train.py \
    --plan bench/results/accuracy/$2.plan.json --steps 5 --warmup 2 \
    --report $R/$1.profiled-run.json --hardware ${HW:-h100-1gpu-node} > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  mv $R/traces/* $R/ 2>/dev/null; pack
}
# abrun NAME CASE WAY LIMIT PORT: one launch/train.py run of bench/results/accuracy/CASE.plan.json on ${NGPU:-1} GPUs, 6
# steps after 2 warm-up, with `--writeback-cast WAY` (profile ${HWP:-h100-1gpu-node}), into $R/NAME.run.json and
# $R/NAME.log; skipped (logged in $R/windows.log) when less than LIMIT of the call's ${LIMIT:-590} s is left; packs $OUT.
abrun() {
  local left=$(( ${LIMIT:-590} - 5 - SECONDS ))
  if [ $left -lt $4 ]; then echo "$1 skipped: $left s left" >> $R/windows.log; return; fi
  echo "$1 start $(date +%s.%N)" >> $R/windows.log
  timeout $4 python3 -m deepspeed.launcher.runner --num_gpus ${NGPU:-1} --no_ssh_check --master_addr 127.0.0.1 \
    --master_port $5 launch/train.py --plan bench/results/accuracy/$2.plan.json --steps 6 --warmup 2 \
    --writeback-cast $3 --report $R/$1.run.json --hardware ${HWP:-h100-1gpu-node} > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
  echo "$1 end $(date +%s.%N)" >> $R/windows.log
  pack
}
# wbsection: the profiler's writeback section (quick, fallback profile $HWP) into $R/wb/ and its gpu-marked test into
# $R/gpu_test.log (session 68: 25.2 GB/s per 100M sub-group on the H100 node); packs $OUT.
wbsection() {
  timeout 90 python3 -m mist_ds.profile --sections writeback --quick --fallback $HWP --out $R/wb/wb.json \
    > $R/profile_wb.log 2>&1; echo "rc $?" >> $R/profile_wb.log
  timeout 90 python3 -m pytest -q -p no:cacheprovider tests/profile/test_profile_gpu.py -k writeback > $R/gpu_test.log 2>&1
  echo "profile done $SECONDS s" >> $R/machine.txt; pack
}
