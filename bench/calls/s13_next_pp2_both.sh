# Next session with nvidia-h200-x2 (~9 min): issues 13 and 14. The two 7B plan-quality winners (PP 2, micro-batch 1,
# grad accumulation 32, ZeRO-1, nothing offloaded; 53.9% and 56.2% MFU through DeepSpeed's PipelineEngine in S8-1)
# through both executors, back to back in one call (bench/engine/same_plan_both.py). mistpipe ran a gpt-1.3b PP 2
# plan 1.07x faster than the PipelineEngine (session 2, call C); the cost model predicts it 3% slower here
# (llama-7b: 5.373 vs 5.196 s/iter). If mistpipe wins, it is the next step towards 60% MFU
# (bench/results/runtime/MFU_GAP.md) and the model's executor comparison needs fixing.
source bench/calls/prefix.sh
prebuild
clocklog
for w in llama7b-2g-c78-s4096-b32 gpt6.7b-2g-c78-s4096-b32; do
  python3 bench/engine/same_plan_both.py bench/results/plan_quality/$w.plan.json --out $R/$w --steps 4 --warmup 1 > $R/$w.gen.log 2>&1
done
python3 bench/accuracy/run_batch.py --jobs $R/llama7b-2g-c78-s4096-b32/jobs.json --out $R/l7 --gpus 2 --budget-s 230 --no-build > $R/l7.log 2>&1
echo "rc $?" >> $R/l7.log
pack
python3 bench/accuracy/run_batch.py --jobs $R/gpt6.7b-2g-c78-s4096-b32/jobs.json --out $R/g67 --gpus 2 --budget-s 230 --no-build > $R/g67.log 2>&1
echo "rc $?" >> $R/g67.log
kill %1 2>/dev/null
pack
