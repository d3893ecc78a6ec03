# Session 34, call 3 (nvidia-h200, 1 GPU; timeout_s 420): are streaming pinned copies slower than the profile's
# hot-buffer rates? The S34-2 traces ran the swap's copies at 53-55 GB/s alone and 49-51 beside each other, against
# the profile's 56.3 / 57.1 alone (mist_ds.profile copies one hot buffer). bench/runtime/copy_streaming.py measures
# both ways on one 16 GiB pinned region (64 and 256 MiB pieces). Then a repeat of the Mistral-7B b30 winner
# (launch/train.py, 5 timed steps): it ran 6.907 s/iter in S34-1 and 6.655 (unprofiled steps) in S34-2.
source bench/calls/prefix.sh
clocklog
timeout 150 python3 bench/runtime/copy_streaming.py --region-gib 16 --out $R/copy_streaming.json > $R/copy_streaming.log 2>&1
echo "rc $?" >> $R/copy_streaming.log
pack
P=bench/results/accuracy/auto-mis7b-1g-c78-s4096-b16.plan.json
timeout 240 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check --master_addr 127.0.0.1 --master_port 29951 \
  launch/train.py --plan $P --steps 7 --warmup 2 --report $R/mis7b-c78.S34-3.run.json --hardware h200-1gpu-node > $R/mis7b-repeat.log 2>&1
echo "rc $?" >> $R/mis7b-repeat.log
kill $(jobs -p) 2>/dev/null; pack
