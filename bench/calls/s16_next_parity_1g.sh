# Next session, nvidia-h200 (1 GPU, ~8 min; timeout_s 560): issue 14. Same-configuration parity on one GPU with
# today's runtime (fused kernels, Liger's loss without host syncs, fp64 step norm), llama-2.7b at seq 4096, global
# batch 8: ZeRO-3 + full recompute (mb 2), ZeRO-2 and ZeRO-1 (mb 1), each mist_ds then the HF + DeepSpeed baseline
# (bench/baseline/train_hf.py). A 7B-class model needs 2 GPUs for the target; this proxy checks that no
# ZeRO stage lost ground since the 1-GPU ZeRO-1 row of 2026-11-30 (1.247x). Unpack:
# python bench/runtime/parity.py unpack $FILES_AT/r/parity/parity.json --label=-l27-1g-S17
source bench/calls/prefix.sh
prebuild
clocklog
timeout 520 python3 bench/runtime/parity.py run --out $R/parity --budget-s 470 --configs zero3-rc,zero2,zero1 --no-build \
  --model llama-2.7b --num-gpus 1 --seq-len 4096 --global-batch 8 > $R/parity.log 2>&1
echo "rc $?" >> $R/parity.log
kill %1 2>/dev/null
pack
