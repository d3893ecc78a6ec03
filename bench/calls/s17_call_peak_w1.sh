# Session 17, nvidia-h200 (1 GPU, ~3 min; timeout_s 240): issue 10. s16_next_peak_sites.sh's first run again (S17-2
# recorded the allocator history without tracebacks: context None), now with context "alloc": what is live at the
# allocated peak of gpt-1.3b ZeRO-3 with weights and optimizer offloaded (0.86 GiB over the model), by site.
source bench/calls/prefix.sh
prebuild
peaksites g13-1g-c24-s2048-z3-w1-off1-mb2 29881
pack
