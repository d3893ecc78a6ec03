# Session 37, call 3 (nvidia-h200, 1 GPU; timeout_s ~480): where two stock-DeepSpeed winners lose their time
# (held out; S36-1 / S37-2 / S37-1 measured against the model): Phi-3-mini-4k's ZeRO-1 with optimizer and gradients
# offloaded, mb1 ga32 (5.624 s/iter against 5.239: per micro-batch forward 30.9 ms, backward 72.4 ms, step 1932 ms
# predicted) and Mistral-7B's ZeRO-3 block fetch with half the optimizer offloaded, mb2 ga8, 28 recomputed (11.24 /
# 11.48 against 10.281: forward 210.0 ms, backward 650.0 ms, step 3400.9 ms predicted). bench/runtime/phase_train.py
# (device synchronised after each engine call; forward, backward and engine.step of every micro-batch timed apart),
# profile h200-1gpu-node. Medians: python bench/runtime/phase_train.py --summary $X/r/<plan>/rank0.phases.json
source bench/calls/prefix.sh
prebuild
phased auto-phi3m-1g-c24-s2047-b32-ds 29931 150 6
phased auto-mis7b-1g-c78-s4096-b16-ds 29932 $((470 - SECONDS)) 4
pack
