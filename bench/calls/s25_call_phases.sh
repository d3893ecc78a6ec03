# Session 25, S25-1 (nvidia-h200, 1 GPU; timeout_s 600): s24_next_phases.sh as written in session 24 (issue 10):
# forward, backward and engine.step of unprofiled steps, timed apart (bench/runtime/phase_train.py), for the ZeRO-3
# optimizer-offload plans without weight offload (ratio 1 / 0.5, fetching blocks and per submodule, llama-2.7b at 0.5)
# and a weight-offload block plan as the copy chain's control.
source bench/calls/prefix.sh
prebuild
P=bench/results/accuracy
phased() {  # NAME PORT LIMIT
  MIST_DS_PHASE_OUT=$R/$1 timeout $3 python3 -m deepspeed.launcher.runner --num_gpus 1 --no_ssh_check \
    --master_addr 127.0.0.1 --master_port $2 bench/runtime/phase_train.py --plan $P/$1.plan.json --steps 6 \
    --warmup 2 --report $R/$1/run.json --hardware h200 > $R/$1.log 2>&1; echo "rc $?" >> $R/$1.log
}
phased g13-1g-c24-s2048-z3-off1-mb2-blk 29895 100
phased g13-1g-c24-s2048-z3-off05-mb2-blk 29896 90
phased l27-1g-c40-s2048-z3-off05-mb2-blk 29897 110
phased g13-1g-c24-s2048-z3-off1-mb2 29898 110
phased g13-1g-c24-s2048-z3-off05-mb2 29899 100
phased g13-1g-c24-s2048-z3-w1-off1-mb2-live-blk 29900 90
pack
