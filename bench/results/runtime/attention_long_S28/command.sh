# S28-2 (bench/calls/s28_call_attn_phases.sh, part 1; kind nvidia-h200, carry .whl): the profiler's attention timing
# (mist_ds.profile.compute.attention) at seq 8192 and 16384 for the Llama 3.2 1B/3B and llama shapes. Merged into the
# h200 profiles with
# python bench/runtime/merge_attention_samples.py bench/results/runtime/attention_long_S28/attention_long.log \
#   mist_ds/profiles/h200.json mist_ds/profiles/h200-1gpu-node.json --note "..."
