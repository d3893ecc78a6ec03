# Next 2-GPU session (nvidia-h200-x2, ~9 min): issue 10's plan quality under the model as of session 15. A dry run of
# `bench/plan_quality.py plans` at commit ae1abcd (CPU) changes 5 of 7 winners, 4 of them to mistpipe at dp 2:
#   llama7b-2g-c78  stock DP2 ZeRO-1 mb1 ga16 rc11, predicted 5.552 (ran: PP2 ZeRO-1, 5.665 measured)
#   llama13b-2g-c78 mistpipe DP2 ZeRO-1 mb1 ga16 rc2, 11.157 (ran: stock ZeRO-3 + offload, 17.271)
#   llama7b-2g-c40  mistpipe DP2 ZeRO-3 mb1 ga16 rc0, 6.058 (ran: stock ZeRO-1 + offload, 8.274)
#   llama2.7b-2g-c24 mistpipe DP2 ZeRO-1 mb1 ga16 rc0, 2.863 (ran: 3.709)
#   llama3-8b-2g-c78-s8192 mistpipe DP2 ZeRO-1 mb1 ga8 rc0, 7.080 (ran: stock ZeRO-3, 8.841)
# Before the call, here: `python bench/plan_quality.py plans --refresh` (moves the old pairs to superseded/, writes
# the new plans and jobs.json) and commit. After: python bench/accuracy/unpack.py $X/pq/accuracy_jobs.json
# --results bench/results/plan_quality, then `python bench/plan_quality.py report` and `make accuracy`.
# The two mistpipe runs at dp 2 scored so far missed by -24% and -40% (sessions 5-6): these are their check.
source bench/calls/prefix.sh
prebuild
clocklog
python3 bench/accuracy/run_batch.py --jobs bench/results/plan_quality/jobs.json --out $R/pq --budget-s 480 --no-build > $R/pq.log 2>&1
echo "rc $?" >> $R/pq.log
kill %1 2>/dev/null
pack
