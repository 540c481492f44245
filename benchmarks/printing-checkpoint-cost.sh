#!/bin/bash
# What holding a stateful group's console output for its checkpoints costs: Reliable through the broker (one host per
# group), its stateful group printing a line every 50 events, hosts with checkpoints (the output held until the
# checkpoint that carries it is confirmed) and without (Weaving__Checkpoints=false: printed as it goes), alternating,
# ROUNDS times. Prints the wall time of a run after a warm-up run, and whether all processes' output together is the
# unwoven program's (without checkpoints a host keeps its state from the warm-up run: it is not, as documented).
# Needs a Release build (dotnet build Weaving.sln -c Release) and RabbitMQ; uses the virtual host weaving-bench-printing.
#   benchmarks/printing-checkpoint-cost.sh [EVENTS=20000] [ROUNDS=3]
set -euo pipefail
EVENTS=${1:-20000}; ROUNDS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOST=$ROOT/Runtime.Host/bin/Release/net10.0/Runtime.Host.dll
APP=$ROOT/TestAssemblies/Reliable/bin/Release/net10.0/Reliable.dll
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
VHOST=weaving-bench-printing
export DOTNET_CLI_TELEMETRY_OPTOUT=1
expected=$(dotnet "$ROOT/TestAssemblies/Reliable/bin/Release/net10.0/unwoven/Reliable.dll" "$EVENTS" print=50 | md5sum)

run() {
  rabbitmqctl -q delete_vhost $VHOST 2>/dev/null || true
  rabbitmqctl -q add_vhost $VHOST
  rabbitmqctl -q set_permissions -p $VHOST guest '.*' '.*' '.*'
  export WEAVING_RABBITMQ=amqp://guest:guest@localhost:5672/$VHOST Weaving__Checkpoints=$1
  # Every process appends to one file, as the differential tests' shared output does.
  : > "$WORK/out"
  dotnet "$HOST" --app "$APP" --stage OnEvent 2>"$WORK/onevent.err" >>"$WORK/out" & local onevent=$!
  dotnet "$HOST" --app "$APP" --stage OnEnd 2>"$WORK/onend.err" >>"$WORK/out" & local onend=$!
  until grep -q consuming "$WORK/onevent.err" && grep -q consuming "$WORK/onend.err"; do sleep 0.2; done
  dotnet "$HOST" --app "$APP" --stage Main -- 500 print=50 >/dev/null 2>&1
  : > "$WORK/out"
  local start end
  start=$(date +%s.%N)
  dotnet "$HOST" --app "$APP" --stage Main -- "$EVENTS" print=50 >>"$WORK/out" 2>/dev/null
  end=$(date +%s.%N)
  kill -TERM $onevent $onend; wait $onevent $onend || true
  local same="not the unwoven program's"; [ "$(md5sum < "$WORK/out")" = "$expected" ] && same="the unwoven program's"
  printf 'checkpoints=%-5s %6.2f s, output %s\n' "$1" "$(echo "$end - $start" | bc)" "$same"
}

for _ in $(seq "$ROUNDS"); do run true; run false; done
rabbitmqctl -q delete_vhost $VHOST
