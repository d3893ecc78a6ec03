# S27-3 (run exactly as sent to the device tool, kind nvidia-h200, carry .whl): F.linear against the profiler's
# torch.mm(..., out=) at the Llama 3.2 1B / 3B block and head shapes, 4096 tokens.
source bench/calls/prefix.sh; python3 - <<'PY' > $R/linear_vs_mm.log 2>&1; cat $R/linear_vs_mm.log
import torch, torch.nn.functional as F
d=torch.device('cuda'); torch.manual_seed(0)
def t(fn, n=200):
    for _ in range(20): fn()
    s=torch.cuda.Event(enable_timing=True); e=torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(); s.record()
    for _ in range(n): fn()
    e.record(); torch.cuda.synchronize(); return s.elapsed_time(e)/n
for (o,i) in [(3072,2048),(16384,2048),(2048,2048),(2048,8192),(128256,2048),(5120,3072),(16384,3072)]:
    x=torch.randn(4096,i,device=d,dtype=torch.bfloat16); w=torch.randn(o,i,device=d,dtype=torch.bfloat16); y=torch.empty(4096,o,device=d,dtype=torch.bfloat16)
    g=torch.randn(4096,o,device=d,dtype=torch.bfloat16)
    a=t(lambda: F.linear(x,w)); b=t(lambda: torch.mm(x,w.t(),out=y)); c=t(lambda: g@w); dd=t(lambda: g.t()@x)
    print(f"{o}x{i} linear {a:.4f} ms  mm_out {b:.4f}  dgrad {c:.4f}  wgrad {dd:.4f}  linear/mm_out {a/b:.3f}", flush=True)
print(torch.cuda.get_device_name(), torch.__version__)
PY
