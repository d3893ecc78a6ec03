# Session 5 call 1 (nvidia-h200-x2, ~8 min): the mistpipe engine checks (issue 13), engine_check.sh.
bash bench/calls/engine_check.sh
