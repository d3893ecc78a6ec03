# S27-4 (run exactly as sent to the device tool, kind nvidia-h200, carry .whl): the profiler's attention timing
# (mist_ds.profile.compute.attention) at batches the profile had not sampled. Merged into the h200 profiles with
# python bench/runtime/merge_attention_samples.py bench/results/runtime/attention_batch_S27/attention_batch.log \
#   mist_ds/profiles/h200.json mist_ds/profiles/h200-1gpu-node.json --note "..."
source bench/calls/prefix.sh; python3 - <<'PY' > $R/attention_batch.log 2>&1; cat $R/attention_batch.log
import json, types, torch
from mist_ds.profile.compute import attention
shapes = [(b, 32, 8, 4096, 64, True) for b in (1, 2, 4, 8)] + [(b, 24, 8, 4096, 128, True) for b in (1, 2, 4, 8)] \
       + [(b, 32, 32, 4096, 128, True) for b in (1, 2, 4)] + [(b, 16, 16, 2048, 128, True) for b in (4, 8, 16)]
g = types.SimpleNamespace(attention=shapes, warmup=5, repeats=20)
rows = attention(g, torch.device("cuda"), lambda: None)
for r in rows:
    per = r["batch"]
    print(f"b{r['batch']} h{r['num_heads']} kv{r['num_kv_heads']} s{r['seq_len']} d{r['head_dim']}: fwd {r['fwd_time_s']*1e3/per:.4f} ms/seq bwd {r['bwd_time_s']*1e3/per:.4f} ms/seq  {r['backend']}", flush=True)
print(json.dumps(rows))
print(torch.cuda.get_device_name(), torch.__version__)
PY
