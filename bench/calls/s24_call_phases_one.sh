# Session 24, S24-4 (nvidia-h200, 1 GPU; timeout_s 230, the session's last ~330 s of device time): the first plan of
# s24_next_phases.sh alone: forward, backward and engine.step of unprofiled steps of the ratio-1 block plan.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
N=g13-1g-c24-s2048-z3-off1-mb2-blk
MIST_DS_PHASE_OUT=$R/$N timeout 100 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
  --master_addr 127.0.0.1 --master_port 29895 bench/runtime/phase_train.py --plan $P/$N.plan.json --steps 6 \
  --warmup 2 --report $R/$N/run.json --hardware h200 > $R/$N.log 2>&1; echo "rc $?" >> $R/$N.log
pack
