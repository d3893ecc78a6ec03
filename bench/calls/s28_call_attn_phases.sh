# Session 28, S28-2 (nvidia-h200, 1 GPU; timeout_s 600): issue 10.
# (1) attention (mist_ds.profile.compute.attention, the profiler's own timing) at seq 8192 and 16384 for the
#     Llama 3.2 1B/3B and llama shapes: b23's Llama 3.2 1B plan at seq 8192 ran 11.3% faster than priced, its
#     attention read from samples at 16 heads or seq 4096 (hw_lookup.attention_time_s nearest three).
# (2) one profiled step of that plan (traced): attention kernels in situ against the samples.
# (3) phases of the ratio-0.125 plan's twins at ratios 0 and 1 (bench/results/runtime/phases_S28/plans/;
#     predicted on h200-1gpu-node: ratio 0 1.411 s/iter, forward 43.4 ms, backward 129.1 ms a micro-batch;
#     ratio 1 2.658 s, 48.1 / 143.1 ms; S28-1 measured the ratio-0.125 plan at 65.5 / 154.6 ms against 48.1 / 143.1).
source bench/calls/prefix.sh
clocklog
prebuild
python3 - <<'PY' > $R/attention_long.log 2>&1
import json, types, torch
from mist_ds.profile.compute import attention
shapes = [(b, 32, 8, s, 64, True) for s in (8192, 16384) for b in (1, 2)] \
       + [(b, 24, 8, s, 128, True) for s in (8192, 16384) for b in (1, 2)] \
       + [(1, 32, 32, 16384, 128, True), (2, 32, 32, 8192, 128, True), (1, 16, 16, 16384, 64, True)]
g = types.SimpleNamespace(attention=shapes, warmup=5, repeats=20)
rows = attention(g, torch.device("cuda"), lambda: None)
for r in rows:
    per = r["batch"]
    print(f"b{r['batch']} h{r['num_heads']} kv{r['num_kv_heads']} s{r['seq_len']} d{r['head_dim']}: fwd {r['fwd_time_s']*1e3/per:.4f} ms/seq bwd {r['bwd_time_s']*1e3/per:.4f} ms/seq  {r['backend']}", flush=True)
print(json.dumps(rows))
print(torch.cuda.get_device_name(), torch.__version__)
PY
echo "rc $?" >> $R/attention_long.log
pack
traced l321b-s8192 bench/results/accuracy/auto-l321b-1g-c40-s8192-b16.plan.json 29921 150
pack
Q=bench/results/runtime/phases_S28/plans
phased() {  # NAME PORT LIMIT
  MIST_DS_PHASE_OUT=$R/phases/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan $Q/$1.plan.json --steps 6 \
    --warmup 2 --report $R/phases/$1/run.json --hardware h200 > $R/phases/$1.log 2>&1; echo "rc $?" >> $R/phases/$1.log
}
mkdir -p $R/phases
phased l321b-1g-c40-s4096-b16-z3-off0-mb2-rc15-blk 29922 90
phased l321b-1g-c40-s4096-b16-z3-off1-mb2-rc15-blk 29923 $((590 - SECONDS))
pack
