# Session 41 prepared this for the next 1-GPU session (nvidia-h200; timeout_s ~590, carry .whl); issue 10.
# Stock ZeRO-3 weight offload with the optimizer on the GPU ran 26.58 s/iter against 12.20 predicted
# (auto-q3-4b-1g-c78-s16384-b8-ds, S41-3); config/plan_kind.py optimizer_text names the suspect: DeepSpeed's
# write-back of each GPU sub-group's fp32 update into the host-side 16-bit partition (stage3.py
# _reassign_or_swap_out_partitioned_parameters, a blocking copy_ that torch runs through a pageable fp32 host tensor
# and converts on the CPU). If so the extra time is in engine.step and grows with the GPU-resident elements.
#   A: batch b45 (twins differing only in the optimizer's place, Llama 3.2 1B, and the workload's new stock winner)
#   B: the slow plan phased (forward, backward, engine.step apart; 3 steps) and the opt-on-GPU twin phased.
# Model at commit time (h200-1gpu-node), iteration; per micro-batch forward / backward; step; host:
#   l321b-1g-c78-s4096-b16-z3-w1-mb4          1.105 s  86.4 / 182.3 ms, step   29.9 ms, host  8.2 GiB (optimizer on GPU)
#   l321b-1g-c78-s4096-b16-z3-w1-off05-mb4    2.206 s  97.4 / 205.5 ms, step  994.7 ms, host 20.9 GiB
#   l321b-1g-c78-s4096-b16-z3-w1-off1-mb4     1.799 s  97.4 / 205.5 ms, step  587.4 ms, host 31.1 GiB
#   auto-q3-4b-1g-c78-s16384-b8-ds-s41       12.040 s 385.0 / 914.3 ms, step 1646.0 ms, host 92.8 GiB (optimizer offloaded)
#   auto-q3-4b-1g-c78-s16384-b8-ds           12.200 s 366.2 / 1146.7 ms, step  97.2 ms (ran 26.58 s in S41-3)
# If the suspect holds, the step of the optimizer-on-GPU plans runs seconds where 30-100 ms are predicted (Qwen3-4B:
# ~14 s over 4.0B GPU-resident elements). Afterwards: unpack A; the phases under bench/results/runtime/w1_opt_S42/.
# Session 42 (no GPU) priced the write-back at every ratio below 1 (cost/work.py pageable_d2h_bytes, step_serial) at
# pageable_d2h_bandwidth_gbps 1.196 GB/s per rank, fitted on the four llama-13b 2-GPU runs (Qwen3-4B's S41-3 run, held
# out: -3.5%). Its predictions for this call, iterations (h200-1gpu-node): w1-mb4 5.238 s, w1-off05-mb4 3.913 s,
# w1-off1-mb4 1.799 s (unchanged), auto-q3-4b-...-ds-s41 12.040 s (unchanged), auto-q3-4b-...-ds 25.653 s. A run of the
# w1-mb4 twin near 1.1 s would refute the mechanism; near 5.2 s confirms the rate on a second model and node. Host
# peaks now include the write-back's pageable fp32 buffer of the largest GPU sub-group (the 263M-element embedding:
# 0.98 GiB): w1-mb4 9.2 GiB (8.2 before), w1-off05-mb4 21.9 (20.9), w1-off1-mb4 31.1, Qwen3-4B -ds 21.3 (19.8).
source bench/calls/prefix.sh
prebuild
hostmemlog
case ${1:-A} in
  A) python3 bench/accuracy/run_batch.py --batch b45-1gpu-weight-offload-optimizer --skip-existing --out $R/b45 --gpus 1 \
       --budget-s $((${LIMIT:-585} - SECONDS)) --no-build > $R/b45.log 2>&1; echo "rc $?" >> $R/b45.log; pack;;
  B) phased auto-q3-4b-1g-c78-s16384-b8-ds 29631 330 3
     phased l321b-1g-c78-s4096-b16-z3-w1-mb4 29632 150 5;;
  *) echo "part A or B" >&2; exit 2;;
esac
