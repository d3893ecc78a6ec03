# Any GPU session (nvidia-h200, 1 GPU, ~6-9 min; results are packed after each file, so a call cut at its limit still
# returns the files before): every gpu-marked test, one file at a time with its own time limit and
# short tracebacks, so a slow file cannot hide the others' failures (S14-3/4 lost theirs to one time limit). Session 14
# found three kinds broken after seven sessions without a full run; run this whenever the budget allows.
source bench/calls/prefix.sh
prebuild
for f in $(grep -rlE "mark\.gpu|pytestmark = pytest\.mark\.gpu" tests --include="test_*.py" | sort); do
  name=$(basename $f .py)
  timeout 150 python3 -m pytest -q -rfE --tb=short -m gpu $f --basetemp=/tmp/pt_$name -p no:cacheprovider \
    > $R/$name.log 2>&1
  echo "$f rc $?" >> $R/summary.log
  pack
done
