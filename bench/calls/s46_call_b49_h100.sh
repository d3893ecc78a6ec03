# Session 46 (nvidia-h100-x1; timeout_s ~595, carry .whl); issue 10.
# 1. One repeat of h100-auto-l321b-1g-c24-s4096-b16-ds (as bench/calls/s45_call_h100_repeat.sh; predicted 1.620 s/iter
#    on h100-1gpu-node, 2.240 measured in S43-1).
# 2. Batches b49-1gpu-h100-node and b49b-1gpu-h100-node-stock (what the budget leaves; the rest in a second call,
#    REPEAT=0, after the first call's runs are unpacked: --skip-existing): the search's winners planned on h100-1gpu-node as shipped in session 45, held out of
#    its fit. Predicted before the call (s/iter, peak GiB / cap):
#      h100n-auto-q3-17b-1g-c40-s4096-b16     mistpipe ZeRO-0 mb1 ga16, 3 recomputed, optimizer 0.25 offloaded  1.76  38.1/40
#      h100n-auto-q3-4b-1g-c40-s4096-b16      mistpipe ZeRO-0 mb1 ga16, optimizer offloaded                      4.51  37.4/40
#      h100n-auto-phi3m-1g-c78-s2047-b32      mistpipe ZeRO-0 mb2 ga16, optimizer 0.25 offloaded                 3.03  70.9/78
#      h100n-auto-l321b-1g-c40-s8192-b8       mistpipe ZeRO-0 mb1 ga8, weights offloaded, 1 recomputed           1.34  38.3/40
#      h100n-auto-g27-1g-c24-s2048-b16        mistpipe ZeRO-0 mb2 ga8, optimizer offloaded                       1.72  21.9/24
#      h100n-auto-q3-4b-1g-c24-s4096-b16-ds   stock ZeRO-3 mb4 ga4, optimizer+gradients offloaded, 33 recomputed 6.02  21.8/24
#      h100n-auto-l323b-1g-c24-s4096-b16-ds   stock ZeRO-3 mb8 ga2, optimizer+gradients offloaded, all recomputed 4.43 20.8/24
source bench/calls/prefix.sh
prebuild
hostmemlog
[ "${REPEAT:-1}" = 1 ] && timeout 110 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
  --master_port 29651 launch/train.py --plan bench/results/accuracy/h100-auto-l321b-1g-c24-s4096-b16-ds.plan.json \
  --steps 7 --warmup 2 --report $R/repeat.run.json --hardware h100-1gpu-node > $R/repeat.log 2>&1; echo "rc $?" >> $R/repeat.log
pack
for b in b49-1gpu-h100-node b49b-1gpu-h100-node-stock; do
  python3 bench/accuracy/run_batch.py --batch $b --skip-existing --out $R/$b --gpus 1 \
    --budget-s $((${LIMIT:-585} - 10 - SECONDS)) --no-build > $R/$b.log 2>&1; echo "rc $?" >> $R/$b.log
  pack
done
