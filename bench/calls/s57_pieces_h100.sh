# Session 57 (nvidia-h100-x1; timeout_s ~570, LIMIT=560, carry .whl); issue 10. The gradient norm without whole-unit
# temporaries (runtime/mistpipe/optimizer.py _add_kept_square, RunReport.norm_in_pieces): S57-1's alloc_frag
# (bench/results/runtime/frag_growth_S57/) named the request behind the last 3.2 GB of Llama-3-8B's reserved memory, the
# 4.2 GB fp32 upcast of the kept tail of the unit holding both vocabulary matrices. First alloc_frag again on that plan
# (reserved_growth with the norm in pieces), then b56h's three untied-head winners as repeats (repeats.py add BUNDLE
# S57-2). Predicted reserved GiB (cost model at this commit; unchanged by the step-transient change, whose phase
# is not their peak), measured in b56h with the whole-unit upcast in brackets:
#   h100n-auto-qw7b-1g-c78-s4096-b16   57.64  (60.43)
#   h100n-auto-q3-8b-1g-c78-s4096-b16  63.21  (66.67)
#   h100n-auto-l38b-1g-c78-s4096-b16   58.60  (61.89)
source bench/calls/prefix.sh
P=h100n-auto-l38b-1g-c78-s4096-b16
timeout 150 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 \
  --master_port 29893 bench/engine/alloc_frag.py --out $R/$P --history-from-build \
  --plan bench/results/accuracy/$P.plan.json --steps 2 --warmup 1 --report $R/$P/run.json \
  --hardware h100-1gpu-node > $R/$P.log 2>&1; echo "rc $?" >> $R/$P.log
pack
prebuild
python3 bench/accuracy/run_batch.py --jobs bench/calls/s57_pieces_repeat.json --out $R/rep --gpus 1 \
  --budget-s $((${LIMIT:-560} - 5 - SECONDS)) --no-build > $R/rep.log 2>&1; echo "rc $?" >> $R/rep.log
pack
