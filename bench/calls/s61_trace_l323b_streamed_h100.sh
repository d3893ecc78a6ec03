# Session 61 (nvidia-h100-x1; timeout_s ~410, LIMIT=400, carry .whl; a fresh machine spends ~130 s building the ops); ran
# as S61-3 with LIMIT=280 (the streamed plan alone), S61-4 the resident one by hand (bench/results/runtime/l323b_streamed_S61/);
# issue 10. Batch b60 (2026-12-06 19:31, H100 node) ran Llama 3.2 3B at 16 GiB: the three plans that stream the weights
# with CPU Adam (w1.0 o1.0) ran 7.2-10.7% faster than the model re-priced them with their copies (4.425 / 4.702 / 4.676
# s predicted, 3.998 / 4.374 / 4.360 measured), the one that keeps its weights resident (o1.0) ran as priced (4.474 /
# 4.472). Predicted, per micro-batch forward / backward and the step: fused weighed plan (mb 2 ga 8) 118.9 / 296.7 ms,
# step 1100 ms; nofhl plan (mb 1 ga 16) 51.7 / 144.5 ms, step 1336 ms. One profiled step (step 4 of 5) of each, GPU
# side and CUDA runtime calls only (MIST_DS_TRACE_GPU_ONLY=1) with every launch (MIST_DS_TRACE_LAUNCHES=1): the
# compute stream's busy time per micro-batch and the step's tail, to find the term that over-prices the first.
# After session 61's write-back change (cost/mistpipe_step.py write_back): the fused plan 4.323 s, step 998 ms; nofhl unchanged.
# HW=h200-1gpu-node runs it on an H200 node instead (the profile the runtime chooses its optimizer path with).
source bench/calls/prefix.sh
prebuild
# the resident twin only where LIMIT leaves it 120 s after the streamed run (LIMIT=280: the streamed run alone)
first=$(( ${LIMIT:-400} - SECONDS )); [ $first -gt 260 ] && first=$(( first / 2 ))
launchtrace l3streamed h100n-auto-l323b-1g-c16-s4096-b16 $first 29884
[ $(( ${LIMIT:-400} - 5 - SECONDS )) -ge 120 ] && launchtrace l3resident h100n-auto-l323b-1g-c16-s4096-b16-nofhl $(( ${LIMIT:-400} - 5 - SECONDS )) 29885
