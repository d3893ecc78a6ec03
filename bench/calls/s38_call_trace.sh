# Session 38, S38-1 (nvidia-h200, 1 GPU; timeout_s ~590): issue 10. Where the ZeRO-3 plans with part of the
# optimizer offloaded lose their time: per micro-batch they run 10-19% over the model at every size committed
# (phases: gpt-1.3b 198 ms vs 172, llama-1.3b 171 vs 156, llama-2.7b 301 vs 267, Llama 3.2 1B 221 vs 197,
# Mistral-7B 1020 vs 860), and the Mistral-7B stock winner ran 11.24 / 11.48 s against 10.281.
# One profiled step each (bench/runtime/traced_train.py, step 4 of 5), digested on the device with the blocking
# runtime calls (trace_digest.py --min-sync-us 100: where the host waited for the GPU); the trace cap raised so
# a 7B step's trace is written at all (MIST_DS_TRACE_MAX_MB), the 7B step's without CPU ops
# (MIST_DS_TRACE_GPU_ONLY: kernels, copies and the CUDA runtime calls).
# Model now (h200-1gpu-node), per micro-batch forward / backward, step (with the boundary), iteration:
#   auto-mis7b-1g-c78-s4096-b16-ds     210.0 / 650.0 ms, 3400.9 ms, 10.281 s (runs 11.243, 11.475)
#   l27-1g-c40-s2048-z3-off05-mb2-blk   79.3 / 187.7 ms, 1302.7 ms,  2.371 s (run 2.457; phases S25-1 2.593)
source bench/calls/prefix.sh
prebuild
export MIST_DS_TRACE_MAX_MB=2000 DIGEST_LIMIT=150
P=bench/results/accuracy
export MIST_DS_TRACE_GPU_ONLY=1
traced mis7b $P/auto-mis7b-1g-c78-s4096-b16-ds.plan.json 29941 360
unset MIST_DS_TRACE_GPU_ONLY
pack
traced l27off05blk $P/l27-1g-c40-s2048-z3-off05-mb2-blk.plan.json 29942 $((575 - SECONDS))
pack
