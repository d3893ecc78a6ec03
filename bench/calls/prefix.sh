# Sourced by every GPU call script: the wheelhouse on PYTHONPATH, the op builder's arch, NVLink multicast off.
[ -d /tmp/site/deepspeed ] && [ -d /tmp/site/liger_kernel ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD TORCH_CUDA_ARCH_LIST=9.0 NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 PATH=/tmp/site/bin:$PATH
R=$OUT/r; mkdir -p $R
{ nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv; date -u; python3 -c "import torch, deepspeed; print('torch', torch.__version__, 'deepspeed', deepspeed.__version__)"; nproc; } > $R/machine.txt 2>&1
prebuild() { timeout 200 python3 -c "from deepspeed.ops.op_builder import CPUAdamBuilder, FusedAdamBuilder; CPUAdamBuilder().load(); FusedAdamBuilder().load()" > $R/build.log 2>&1; }
pack() { tar czf $OUT/results.tgz -C $OUT r; }
clocklog() { nvidia-smi --query-gpu=timestamp,index,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active --format=csv -lms 200 > $R/clocks.csv 2>&1 & }
