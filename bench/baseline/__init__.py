"""The independent baseline: what a DeepSpeed user runs (Hugging Face model + ZeRO config). Shares no
code with mist_ds/runtime."""
