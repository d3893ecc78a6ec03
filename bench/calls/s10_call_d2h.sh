# Next session (nvidia-h200-x2, ~7 min): issue 13, the mistpipe d2h bound now on by default (4 offloaded blocks,
# MistpipeConstants.d2h_queue_blocks; cost model: mistpipe_windows.bounded_queue). The S8-3 plan at a 24 GiB cap
# (predicted 3.826 s/iter, stage 0 24.94 GB) and uncapped, with the default bound, through launch/train.py (RunReport
# records d2h_queue_blocks and alloc_retries); then the bound off (alloc_frag.py --d2h-queue-blocks 0) capped, same
# call, for the ratio. No prebuild (torch AdamW, gpu_swap path). Unpack: copy run.json files to
# bench/results/engine/l7c24_ga8/mistpipe_ga8_q4{,_nocap}.run.json beside copies of their plans; make accuracy.
source bench/calls/prefix.sh
clocklog
P=bench/results/engine/l7c24_ga8/mistpipe_ga8.plan.json
NOCAP=bench/results/engine/l7c24_ga8/mistpipe_ga8_nocap.plan.json
RUN="python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1"
timeout 130 $RUN --master_port 29851 launch/train.py --plan $P --steps 4 --warmup 1 \
  --report $R/q4/run.json --hardware h200 > $R/q4.log 2>&1; echo "rc $?" >> $R/q4.log
pack
timeout 110 $RUN --master_port 29852 launch/train.py --plan $NOCAP --steps 4 --warmup 1 \
  --report $R/q4_nocap/run.json --hardware h200 > $R/q4_nocap.log 2>&1; echo "rc $?" >> $R/q4_nocap.log
pack
timeout 140 $RUN --master_port 29853 bench/engine/alloc_frag.py --out $R/frag_q0 --d2h-queue-blocks 0 --plan $P \
  --steps 3 --warmup 1 --report $R/frag_q0/run.json --hardware h200 > $R/frag_q0.log 2>&1; echo "rc $?" >> $R/frag_q0.log
pack
