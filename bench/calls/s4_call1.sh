# Session 4 call 1 (nvidia-h200-x2): mistpipe engine checks (issue 13), then a profiled ZeRO-3 + recompute
# parity pair (issue 10: ZeRO-3 is the worst time family; bench/accuracy/trace_compare.py reads the trace).
source bench/calls/prefix.sh
prebuild
[ -f bench/calls/engine_check_body.sh ] && source bench/calls/engine_check_body.sh
pack
python3 bench/runtime/parity.py run --out $R/parity --budget-s 200 --configs zero3-rc --trace --no-build > $R/parity.log 2>&1
pack
