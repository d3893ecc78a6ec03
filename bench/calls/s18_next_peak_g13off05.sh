# Next session, nvidia-h200 (1 GPU, ~3 min; timeout_s 240): issue 10. The suite's largest allocated under-prediction
# (-4.1% / -4.4%): gpt-1.3b ZeRO-3 with half the optimizer states offloaded (g13-1g-c24-s2048-z3-off05-mb2). What is
# live at its allocated peak, by site (bench/engine/alloc_frag.py, with tracebacks), against cost/stage.py
# phase_parts (start of the backward, ZeRO-3's first bucket reduction, the optimizer step with its GPU sub-groups).
source bench/calls/prefix.sh
prebuild
peaksites g13-1g-c24-s2048-z3-off05-mb2 29888
pack
