import json, subprocess, sys, os
from pathlib import Path
sys.path.insert(0, '.')
from tests.runtime.plans import CASES
from tests.runtime.test_loss_equivalence import deepspeed_cmd, cpu_env
host = Path('/tmp/sync/hostfile'); host.write_text('localhost slots=2\n')
port = 29650
for name in sys.argv[1:]:
    plan = CASES[name]
    p = Path(f'/tmp/sync/{name}.plan.json'); p.write_text(plan.model_dump_json())
    env = {**cpu_env(), 'MIST_DS_SYNC_STEP': '2', 'MIST_DS_SYNC_OUT': f'/tmp/sync/{name}.sites.json'}
    port += 1
    proc = subprocess.run(deepspeed_cmd(host, port, 'bench/runtime/host_sync_sites.py', '--plan', str(p), '--steps', '3', '--warmup', '1'),
                          env=env, capture_output=True, text=True, timeout=600)
    print(name, 'ga', plan.grad_accum_steps, 'rc', proc.returncode)
    if proc.returncode: print(proc.stdout[-2000:], proc.stderr[-2000:])
