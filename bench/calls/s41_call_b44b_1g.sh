# Session 41, S41-3 (nvidia-h200, 1 GPU; timeout_s ~595, carry .whl): issue 10, after S41-2 (b44: the four
# seq-16384 winners ran +0.4 / -3.1 / -0.5 / -2.3% off). Does mistpipe's predicted lead hold at long context? Each
# mistpipe winner of b44 again, beside its workload's stock DeepSpeed winner (batch b44b, held out), then Llama 3.2 1B
# at seq 32768. Model at commit time (h200-1gpu-node):
#   auto-l323b-1g-c78-s16384-b8        7.403 s (mistpipe: mb1 Z0 w1 opt0.75 rc1; S41-2 7.639)
#   auto-l323b-1g-c78-s16384-b8-ds     7.899 s, peak 74.3 GiB, host  8 GiB (stock: mb1 Z3 whole-block rc15)
#   auto-q3-4b-1g-c78-s16384-b8-ds    12.200 s, peak 73.5 GiB, host 20 GiB (stock: mb1 Z3 w1 rc30)
#   auto-q3-4b-1g-c78-s16384-b8       11.577 s (mistpipe: mb1 Z0 w1 opt1 rc11; S41-2 11.853)
#   auto-l321b-1g-c78-s32768-b4        4.061 s, peak 67.4 GiB (stock: mb1 Z0 rc0)
# Afterwards: the mistpipe runs as repeats (repeats.py add, label S41-3), the rest unpacked; make accuracy.
source bench/calls/prefix.sh
prebuild
hostmemlog
j() { printf '{"name": "%s", "plan": "bench/results/accuracy/%s.plan.json"}' $1 $1; }
echo "[$(j auto-l323b-1g-c78-s16384-b8), $(j auto-l323b-1g-c78-s16384-b8-ds), $(j auto-q3-4b-1g-c78-s16384-b8-ds),\
 $(j auto-q3-4b-1g-c78-s16384-b8), $(j auto-l321b-1g-c78-s32768-b4)]" > $R/jobs.json
python3 bench/accuracy/run_batch.py --jobs $R/jobs.json --out $R/b44b --gpus 1 --budget-s $((585 - SECONDS)) --no-build \
  > $R/b44b.log 2>&1
echo "rc $?" >> $R/b44b.log
pack
