#!/bin/bash
# What checkpoints cost with a state of some size: WordCount through the broker (one host per group) on a text of
# LINES lines of 10 words drawn from WORDS distinct ones (its stateful group holds a dictionary of them), hosts with
# checkpoints and without (Weaving__Checkpoints), alternating, ROUNDS times. Prints wall time of a run (after a warm-up
# run) and the CPU seconds of the stateful group's host. Extra host settings pass through the environment
# (Weaving__Prefetch=1000 Weaving__MaxMessageBytes=1048576, say, to checkpoint every 500 messages).
# Needs a Release build (dotnet build Weaving.sln -c Release) and RabbitMQ; uses the virtual host weaving-bench-checkpoints.
#   benchmarks/checkpoint-cost.sh [WORDS=20000] [LINES=3000] [ROUNDS=2]
set -euo pipefail
WORDS=${1:-20000}; LINES=${2:-3000}; ROUNDS=${3:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOST=$ROOT/Runtime.Host/bin/Release/net10.0/Runtime.Host.dll
APP=$ROOT/TestAssemblies/WordCount/bin/Release/net10.0/WordCount.dll
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
VHOST=weaving-bench-checkpoints
rabbitmqctl -q add_vhost $VHOST 2>/dev/null || true
rabbitmqctl -q set_permissions -p $VHOST guest '.*' '.*' '.*'
export WEAVING_RABBITMQ=amqp://guest:guest@localhost:5672/$VHOST DOTNET_CLI_TELEMETRY_OPTOUT=1
python3 -c "
import random
random.seed(7)
vocab=['w%05d'%i for i in range($WORDS)]
print('\n'.join(' '.join(random.choice(vocab) for _ in range(10)) for _ in range($LINES)))" > "$WORK/text.txt"

run() {
  export Weaving__Checkpoints=$1
  dotnet "$HOST" --app "$APP" --stage OnLine 2>"$WORK/online.err" >/dev/null & local online=$!
  dotnet "$HOST" --app "$APP" --stage OnEnd 2>"$WORK/onend.err" >"$WORK/onend.out" & local onend=$!
  until grep -q consuming "$WORK/online.err" && grep -q consuming "$WORK/onend.err"; do sleep 0.2; done
  dotnet "$HOST" --app "$APP" --stage Main -- "$WORK/text.txt" >/dev/null 2>&1
  local start=$(date +%s.%N)
  dotnet "$HOST" --app "$APP" --stage Main -- "$WORK/text.txt" >/dev/null 2>&1
  local end=$(date +%s.%N)
  local cpu=$(awk '{print ($14+$15)/100}' /proc/$onend/stat)
  kill $online $onend; wait $online $onend 2>/dev/null || true
  echo "checkpoints=$1: run $(echo "$end - $start" | bc) s, stateful host CPU $cpu s (both runs); $(head -1 "$WORK/onend.out")"
}
for _ in $(seq "$ROUNDS"); do run false; run true; done
rabbitmqctl -q list_queues -p $VHOST name message_bytes | grep 'WordCount.OnEnd.checkpoint' | sed 's/^/last checkpoint, bytes: /'
