# mist_ds — the two set-up commands are `make tune` and `make test`; both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU-only machines get the CPU build pinned here (it lies on disk; unpinned torch pulls CUDA wheels).
TORCH_SPEC ?= $(if $(shell command -v nvidia-smi 2>/dev/null),torch,torch==2.13.0)
OUT ?= runs/example
MODEL ?= llama-7b
PYTEST_ARGS ?=

.PHONY: install tune test test-fast test-install predict examples smoke profile bench accuracy wheelhouse clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev,hf]"
	touch $@

tune: install  ## tune the default example (no GPU needed) and write runs/example/
	$(PY) -m mist_ds.autotune --model $(MODEL) --nodes 1 --gpus-per-node 4 --global-batch 64 \
	    --seq-len 4096 --hardware h100-sxm-80gb --out $(OUT)

TEST_WORKERS ?= 2
test: install  ## the whole suite (GPU tests skip without CUDA), files spread over TEST_WORKERS workers
	@start=$$(date +%s); $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25 $(PYTEST_ARGS); \
	code=$$?; echo "make test: $$(( $$(date +%s) - start )) s (exit $$code)"; exit $$code

test-fast: install  ## pure tests only (no multi-process DeepSpeed runs)
	$(PY) -m pytest -m "not distributed" $(PYTEST_ARGS)

# Slow (1-3 min: a wheel build and a 2-rank CPU run), so not part of `make test`: a fresh environment with a
# non-editable pip install, outside the checkout, tunes a tiny model, moves the folder and runs its launch.sh.
test-install: install  ## pip-installed mist_ds (not editable) tunes, and the moved folder runs (tests/test_install.py)
	MIST_DS_TEST_INSTALL=1 $(PY) -m pytest tests/test_install.py $(PYTEST_ARGS)

examples: install  ## regenerate ds_configs/ (tests/emit/test_examples.py fails when they drift)
	$(PY) ds_configs/generate.py

predict: install  ## predict the plan written by `make tune`
	$(PY) -m mist_ds.predict $(OUT)/plan.json

# CPU end-to-end (no GPU), 2 ranks through the deepspeed launcher (gloo, fp32):
# 1. autotune a tiny GPT (launch/examples/tiny-gpt-hf) for 2 GPUs and run its launch.sh;
# 2. run a hand-written plan of the same size with pipeline 2 (uneven 1|3 split) + per-stage recompute.
SMOKE_PLAN ?= launch/examples/tiny-gpt-pp2.json
SMOKE_ENV := DS_ACCELERATOR=cpu OMP_NUM_THREADS=1 PATH=$(abspath $(VENV))/bin:$$PATH
smoke: install  ## tune + train a tiny GPT on 2 CPU ranks through deepspeed; writes runs/smoke/*.json
	rm -rf runs/smoke && mkdir -p runs/smoke
	$(PY) -m mist_ds.autotune --model launch/examples/tiny-gpt-hf/config.json --gpus-per-node 2 \
	    --global-batch 8 --seq-len 64 --hardware h100-sxm-80gb --no-offload --out runs/smoke/tuned
	$(SMOKE_ENV) runs/smoke/tuned/launch.sh --steps 4 --warmup 1 --lr 1e-2 --report runs/smoke/tuned_run.json
	cp runs/smoke/tuned/hostfile runs/smoke/hostfile
	$(SMOKE_ENV) deepspeed --hostfile runs/smoke/hostfile --no_ssh_check --master_addr 127.0.0.1 \
	    --master_port 29650 launch/train.py --plan $(SMOKE_PLAN) --steps 6 --warmup 2 --lr 1e-2 \
	    --report runs/smoke/run.json
	$(PY) -m mist_ds.compare $(SMOKE_PLAN) runs/smoke/run.json
	$(PY) -c "from mist_ds.config import RunReport as R; rs = [R.load('runs/smoke/' + f) for f in \
	    ('tuned_run.json', 'run.json')]; bad = [r.error_message for r in rs if r.status != 'ok']; \
	    assert not bad, bad; print('smoke ok: losses', [r.losses for r in rs])"

bench: install  ## CPU benchmarks: tuning time and cost-model speed (tables under bench/results/)
	$(PY) bench/tuning_time.py
	$(PY) bench/cost_speed.py

# Cost-model regression suite (CPU only): re-predict every committed GPU run (bench/results/accuracy/,
# runs_h200x2_*) with the current cost model; writes bench/results/accuracy.{md,json}. GPU side:
# bench/accuracy/README.md.
accuracy: install  ## re-score the committed GPU runs: bench/results/accuracy.{md,json}
	$(PY) bench/accuracy/generate.py --check
	$(PY) bench/accuracy/report.py

# Not part of `make test` (minutes): mutation testing of the pure core's decision code (setup.cfg [mutmut]).
mutation: install  ## mutmut over the clock, stage args, executors and partition -> bench/results/mutation.md
	$(PY) -m pip install -q "mutmut>=3.3"
	rm -rf mutants && $(VENV)/bin/mutmut run || true
	$(PY) bench/mutation_report.py

clean:
	rm -rf $(VENV) runs .pytest_cache mutants

# On a GPU node: measure it (one process per GPU, self-launched under torchrun) into a profile;
# raw measurements go to profiling/profiles/raw/. PROFILE_ARGS=--quick for the <= 2 min version.
PROFILE_NAME ?= my-node
PROFILE_ARGS ?=
profile: install  ## measure this GPU node into profiling/profiles/$(PROFILE_NAME).json
	$(PY) -m mist_ds.profile --out profiling/profiles/$(PROFILE_NAME).json $(PROFILE_ARGS)

# Offline GPU hosts: wheels for what such a host lacks (deepspeed is an sdist: built here into a
# pure wheel; its compiled ops JIT-build on the GPU host). Target: CPython 3.12, x86-64 manylinux.
# liger-kernel (pure Python + Triton; the GPU image has torch and triton, not it), at the version the dev extra
# pins (pyproject.toml): without it the runtime's 'auto' loss falls back from 'liger' to 'chunked_compile'
# (config/kernel_picks.py) and RunReport.kernels says so.
WHEELHOUSE ?= .whl
WHEEL_PY ?= 3.12
PLATFORMS := $(foreach p,manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64,--platform $(p))
wheelhouse: install  ## wheels to carry to an offline GPU host (pip install --no-index .whl/*.whl)
	mkdir -p $(WHEELHOUSE)
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w $(WHEELHOUSE) "deepspeed==$$($(PY) -c 'from importlib.metadata import version; print(version("deepspeed"))')"
	$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version $(WHEEL_PY) \
	    --implementation cp $(PLATFORMS) -d $(WHEELHOUSE) \
	    hjson "pydantic==$$($(PY) -c 'from importlib.metadata import version; print(version("pydantic"))')" \
	    "pydantic-core==$$($(PY) -c 'from importlib.metadata import version; print(version("pydantic-core"))')" \
	    annotated-types typing-inspection "typing-extensions>=4.14" "liger-kernel==$$($(PY) -c 'from importlib.metadata import version; print(version("liger-kernel"))')"
	ls $(WHEELHOUSE)
