# engine5 check (nvidia-h200-x2, ~7 min): mistpipe GPU tests (now at hidden 4096, each asserting its
# run was device-bound) with digests of their traces, and the offload variants of
# bench/engine/mistpipe_offload.py one process each: the optimizer step without its host norm/clip,
# by the new default path (gpu_swap: 'optimizer', 'all') and by CPU Adam ('optimizer_cpu', 'all_cpu').
source bench/calls/prefix.sh
prebuild & BUILD=$!
timeout 120 python3 -m pytest -q -m gpu tests/runtime/test_mistpipe_gpu.py --basetemp=/tmp/ptgpu > $R/gpu_tests.log 2>&1; echo "rc $?" >> $R/gpu_tests.log
for t in /tmp/ptgpu/*/trace.json; do
  [ -f "$t" ] && python3 bench/engine/trace_digest.py "$t" --out $R/$(basename $(dirname $t)).digest.json.gz >> $R/gpu_tests.log 2>&1
done
wait $BUILD
pack
port=29611
variant() {  # variant NAME [ENV=VALUE ...]: one mistpipe_offload.py process (both ranks) for NAME
  local name=$1 tag=$1; shift
  [ $# -gt 0 ] && tag=${name}_$(echo "$*" | tr -c 'A-Za-z0-9\n' '_' | tr 'A-Z' 'a-z')
  port=$((port + 1))
  env "$@" timeout 110 python3 -m deepspeed.launcher.runner --num_gpus 2 --no_ssh_check --master_addr 127.0.0.1 \
    --master_port $port bench/engine/mistpipe_offload.py --out $R/offload_$tag.json --model gpt-1.3b \
    --hardware h200 --variants $name --digest-dir $R/digests/$tag > $R/offload_$tag.log 2>&1
  echo "rc $?" >> $R/offload_$tag.log
  grep "^\[bench\]" $R/offload_$tag.log
  pack
}
variant none
variant optimizer
variant optimizer_cpu
variant activations
variant all
variant all_cpu
variant all_deferred
variant deferred
