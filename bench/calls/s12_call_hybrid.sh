# Session 12, call 3 (nvidia-h200, 1 GPU, ~3 min): issue 13. Can the offloaded optimizer share be updated by both paths
# at once? bench/engine/adam_paths.py: cpu_adam alone, gpu_swap alone, and hybrids (gpu_swap queued on the device's
# streams for a share, CPU Adam on the host for the rest, overlapped), 268M fp32 elements, chunk 32M.
source bench/calls/prefix.sh
prebuild
python3 -c "from mist_ds.runtime.host_clock import host_probe_s; print('host_probe_s', host_probe_s())" >> $R/machine.txt 2>&1
for rep in a b; do
  timeout 150 python3 bench/engine/adam_paths.py --out $R/adam_paths_$rep.json --repeats 5 \
    --swap-shares 0.375,0.5,0.625,0.75 > $R/adam_paths_$rep.log 2>&1; echo "rc $?" >> $R/adam_paths_$rep.log
done
pack
