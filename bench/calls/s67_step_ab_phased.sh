# Session 67, call 4 (nvidia-h100-x1; timeout_s 420, carry .whl); issue 10.
# Call 3's phased device-way run of the Llama 3.2 3B optimizer-1 plan (40 GiB, mb2 ga8) spent 1.467 s in engine.step
# where the model prices CPU Adam + the staged upload at 1.004 s, while its micro-batches ran 8-13% under the model.
# Same machine, same plan, both write-back ways phased (bench/runtime/phase_train.py, 5 steps after 2 warm-up),
# with the upload probe and the process's torch thread count first: does the staged upload reach its probe rate
# inside the run, and how much of the step does each way take?
source bench/calls/prefix.sh
export HWP=h100-1gpu-node; echo "profile $HWP" >> $R/machine.txt
python3 -c "import torch; print('torch threads', torch.get_num_threads(), 'interop', torch.get_num_interop_threads())" >> $R/machine.txt 2>&1
prebuild; echo "build done $SECONDS s" >> $R/machine.txt; pack
timeout 60 python3 bench/runtime/upload_cast_probe.py --elements 1e9 --out $R/probe.json > $R/probe.log 2>&1; pack
C=h100-l323b-1g-c40-s4096-b16-z3-off1-mb2-rc28-blk
for way in host device; do
  MIST_DS_PHASE_OUT=$R/$way/$C timeout 110 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port 2978$([ $way = host ] && echo 1 || echo 2) bench/runtime/phase_train.py \
    --plan bench/results/accuracy/$C.plan.json --steps 7 --warmup 2 --writeback-cast $way --report $R/$way/$C/run.json \
    --hardware $HWP > $R/$way.log 2>&1; echo "rc $?" >> $R/$way.log; pack
done
echo "done $SECONDS s" >> $R/machine.txt; pack
