#!/usr/bin/env bash
# For a model whose prepared folder is over one transfer (the full
# 30-block SmolLM2: 116 MB of weights): the .qcw is split with
# `split -b 39000000 -d` into qcwpart00..02 and sent in three device calls
# on one warm machine, the first two copying their part to /tmp; this
# script (in the third folder, with qcw.sha256 = the whole file's sha256)
# reassembles the weights file, checks it and runs run_models.sh.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ls -la /tmp/qcwpart00 /tmp/qcwpart01 "$here/qcwpart02" || { echo "missing part"; exit 1; }
q="$here/smollm2/modules/mixed-head4.sm_90.qcw"
cat /tmp/qcwpart00 /tmp/qcwpart01 "$here/qcwpart02" > "$q"
echo "$(cat "$here/qcw.sha256")  $q" | sha256sum -c - || exit 1
bash "$here/run_models.sh"
