# Session 51 (issue 10): a shorter form of bench/calls/s50_next_either.sh for a call with ~5 minutes of device budget
# (timeout_s ~330, carry .whl). H100 node: the ratio-0.5 GPT-1.3B plan and the ratio-1 Llama 3.2 1B plan, both mb 1,
# traced with host buckets (s50_next_h100.sh's first question: more host work per forward at ratio 0.5, or the same
# against less GPU time?). H200 node: one host-step profile and three interference runs (s48_next_h200_node.sh, the
# host step once instead of twice). Each names what to run after in its source script.
source bench/calls/prefix.sh
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  lscpu > $R/lscpu.txt 2>&1
  timeout 150 python3 -m mist_ds.profile --sections cpu_adam --out $R/cpu_step_1.json --raw-out $R/cpu_step_1.raw.json \
    --fallback h200-1gpu-node > $R/cpu_step_1.log 2>&1; echo "rc $?" >> $R/cpu_step_1.log
  pack
  for i in 1 2 3; do
    timeout 50 python3 -m mist_ds.profile --sections interference --out $R/intf_$i.json --raw-out $R/intf_$i.raw.json \
      --fallback h200-1gpu-node > $R/intf_$i.log 2>&1; echo "rc $?" >> $R/intf_$i.log
  done
  pack
else
  prebuild
  DIGEST_LIMIT=90 traced g13half bench/results/accuracy/h100-auto-g13-1g-c24-s2048-b32.plan.json 29875 130 h100-1gpu-node
  pack
  DIGEST_LIMIT=90 traced l321bswap bench/results/accuracy/h100n-auto-l321b-1g-c16-s4096-b16.plan.json 29876 130 h100-1gpu-node
  pack
fi
