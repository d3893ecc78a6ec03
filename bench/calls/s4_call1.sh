# Session 4 call 1 (nvidia-h200-x2): mistpipe engine checks (issue 13), then the llama-13b stock winner's profiled
# step (issue 10). About 9 minutes.
source bench/calls/prefix.sh
mkdir -p $R/l13_trace
prebuild
[ -f bench/calls/engine_check_body.sh ] && source bench/calls/engine_check_body.sh
pack
source bench/calls/l13_trace.sh
pack
