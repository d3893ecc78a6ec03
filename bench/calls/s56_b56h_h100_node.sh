# Session 56 (nvidia-h100-x1; timeout_s ~590, LIMIT=580, carry .whl); issue 10. Batch b56h-1gpu-h100-node
# (bench/accuracy/cases.py B56H): the search's winners on h100-1gpu-node for four 7-8B workloads at the 78 GiB cap,
# held out of every fit; run_batch skips what the budget cannot hold. Predicted in session 56 before any run (s/iter,
# predicted peak GiB; all mistpipe mb 1 ga 16, ZeRO-0, nothing recomputed):
#   h100n-auto-l7-1g-c78-s4096-b16     6.108  68.9   optimizer 0.75 offloaded
#   h100n-auto-l38b-1g-c78-s4096-b16   7.573  56.2   optimizer 1.0 offloaded
#   h100n-auto-qw7b-1g-c78-s4096-b16   7.039  55.2   optimizer 1.0 offloaded
#   h100n-auto-q3-8b-1g-c78-s4096-b16  7.859  60.4   optimizer 1.0 offloaded
# Then: python bench/accuracy/unpack.py $R/b56h/accuracy_b56h-1gpu-h100-node.json, `make accuracy`, the constraint tests.
# Ran: S56-3 (LIMIT=575) the first three; S56-5 (LIMIT=400) the fourth, when the batch still held all four (it was
# split afterwards into b56h and b56hb, since four do not fit one call's budget).
source bench/calls/prefix.sh
hostmemlog
prebuild
python3 bench/accuracy/run_batch.py --batch b56h-1gpu-h100-node --skip-existing --out $R/b56h --gpus 1 \
  --budget-s $((${LIMIT:-580} - 5 - SECONDS)) --no-build > $R/b56h.log 2>&1; echo "rc $?" >> $R/b56h.log
pack
