# Session 7, issues 14 and 10 (nvidia-h200-x2, timeouts sum to 545 s, prebuild's 200 included): the stock
# activation-offload run l7-2g-c78-z3-mb1-rc16-act16 (llama-7b, ZeRO-3, 16 blocks recomputed, 16 offloaded)
# after OffloadedBlock moved to our own saved-tensor hooks (mist_ds/runtime/host_saves.py: pinned buffer,
# copy_(non_blocking=True)). Committed: 5.389 s/iter under torch 2.11's blocking save_on_cpu; the cost model
# predicts 5.300 s for that blocking pack and 4.439 s for the non-blocking one (bench/accuracy/ACT_OFFLOAD.md;
# the same with the kernels and ZeRO-3 start-up the runtime uses now). 1. the hooks on a GPU (pinned, the same gradients as
# torch's save_on_cpu); 2. the plan with the non-blocking pack -> $R/act16_nb.run.json (activation_offload_copy
# 'non_blocking'); 3. the same runtime forced back to a blocking pack (sed below; the report records 'blocking'),
# so the two packs compare within one call. Original run: 76.6 s wall (bundle b10-host-memory).
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy/l7-2g-c78-z3-mb1-rc16-act16.plan.json
RUN="python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1"
timeout 45 python3 -m pytest -q -m gpu tests/runtime/test_host_saves.py --basetemp=/tmp/pthost > $R/host_saves_gpu.log 2>&1; echo "rc $?" >> $R/host_saves_gpu.log
timeout 150 $RUN --master_port 29851 launch/train.py --plan $P --steps 5 --warmup 2 --report $R/act16_nb.run.json \
  --hardware h200 > $R/act16_nb.log 2>&1; echo "rc $?" >> $R/act16_nb.log
pack
# the blocking pack of torch < 2.13's save_on_cpu (packed.copy_(tensor)), recorded as such
sed -i 's/^COPY_MODE = "non_blocking"/COPY_MODE = "blocking"/; s/packed.copy_(tensor, non_blocking=pinned)/packed.copy_(tensor)/' \
  mist_ds/runtime/host_saves.py
grep -c 'COPY_MODE = "blocking"\|packed.copy_(tensor)$' mist_ds/runtime/host_saves.py > $R/act16_blocking.log 2>&1
timeout 150 $RUN --master_port 29852 launch/train.py --plan $P --steps 5 --warmup 2 --report $R/act16_blocking.run.json \
  --hardware h200 >> $R/act16_blocking.log 2>&1; echo "rc $?" >> $R/act16_blocking.log
pack
