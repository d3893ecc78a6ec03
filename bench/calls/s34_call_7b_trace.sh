# Session 34, call 2 (nvidia-h200, 1 GPU; timeout_s 560): the two held-out Mistral-7B mistpipe plans of b30 ran
# -7.2% / -6.2% against their predictions (6.409 -> 6.907, 7.719 -> 8.231 s/iter), and every 1-GPU 7B mistpipe run
# is short (llama-7b -2.3..-4.1%). One profiled step of the Mistral c78 plan and of its llama-7b twin
# (auto-l7-1g-c78-s4096-b16: mistpipe mb1 ga16, optimizer partly offloaded), digested, to compare part by part
# (bench/engine/mistpipe_compare.py): which part of a micro-batch or of the step the model prices short.
source bench/calls/prefix.sh
clocklog
prebuild
traced mis7b-c78 bench/results/accuracy/auto-mis7b-1g-c78-s4096-b16.plan.json 29941 200
pack
traced l7-c78 bench/results/accuracy/auto-l7-1g-c78-s4096-b16.plan.json 29942 200
kill $(jobs -p) 2>/dev/null; pack
