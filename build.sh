#!/usr/bin/env bash
# Builds Weaving on a fresh machine (the .NET 10 SDK on PATH), in Release.
#
#   ./build.sh sample   restore, build the solution (which weaves TestAssemblies/WordCount with the in-solution
#                       weaver; the build log at normal verbosity shows its stages), pack into nuget/, then run the
#                       woven WordCount in memory and print its report.
#   ./build.sh test     install and start RabbitMQ when needed, build, pack, run Tests/ and end with one line
#                       "N passed, N failed, N skipped" read from the trx; exits non-zero if a test failed or none ran.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No MSBuild nodes left running after a build: CI ends every process the run leaves behind, and tests build too.
export MSBUILDDISABLENODEREUSE=1

readonly CONFIGURATION=Release
readonly RESULTS=TestResults
readonly TRX=tests.trx

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

build_and_pack() {
  local verbosity=$1
  step "restore"
  dotnet restore Weaving.sln
  step "build Weaving.sln ($CONFIGURATION, $verbosity verbosity)"
  dotnet build Weaving.sln -c "$CONFIGURATION" --no-restore -v "$verbosity"
  step "pack Weaver.Fody into nuget/"
  dotnet pack Weaver/Weaver.csproj -c "$CONFIGURATION" --no-restore --no-build -o nuget
  ls -l nuget/Weaver.Fody.*.nupkg
}

# RabbitMQ for Tests/Distributed: installed from Debian when missing, started detached when not running, left running.
ensure_rabbitmq() {
  export PATH="$PATH:/usr/sbin:/sbin"
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    step "install rabbitmq-server"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server
  fi
  if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    step "RabbitMQ is running"
    return
  fi
  step "start RabbitMQ"
  as_root rabbitmq-server -detached
  local deadline=$((SECONDS + 180))
  until rabbitmq-diagnostics -q ping >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      echo "RabbitMQ did not answer within 180 s" >&2
      exit 1
    fi
    sleep 0.3
  done
  as_root rabbitmqctl -q await_startup
}

# Prints "N passed, N failed, N skipped" from the trx counters; fails when a test failed or none ran.
summarize() {
  local trx=$1 test_exit=$2
  local counters=""
  [[ -f $trx ]] && counters=$(grep -o '<Counters [^>]*' "$trx" | head -n 1 || true)
  count() { local n; n=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${n:-0}"; }
  local passed failed skipped
  passed=$(count passed)
  failed=$(($(count failed) + $(count error) + $(count timeout) + $(count aborted)))
  skipped=$(($(count notExecuted) + $(count inconclusive) + $(count notRunnable)))
  [[ -n $counters ]] || echo "no test results in $trx" >&2
  echo "$passed passed, $failed failed, $skipped skipped"
  if ((failed > 0 || passed + failed == 0 || test_exit != 0)); then
    return 1
  fi
}

sample() {
  build_and_pack normal
  step "run the woven WordCount (in memory; stage map: TestAssemblies/WordCount/bin/$CONFIGURATION/net10.0/WordCount.stages.md)"
  dotnet "TestAssemblies/WordCount/bin/$CONFIGURATION/net10.0/WordCount.dll"
}

run_tests() {
  ensure_rabbitmq
  build_and_pack minimal
  step "test"
  rm -rf "$RESULTS"
  local test_exit=0
  dotnet test Tests/Tests.csproj -c "$CONFIGURATION" --no-build \
    --results-directory "$RESULTS" \
    --logger "trx;LogFileName=$TRX" --logger "console;verbosity=normal" \
    --blame-hang-timeout 10m --blame-hang-dump-type none \
    || test_exit=$?
  summarize "$RESULTS/$TRX" "$test_exit"
}

case "${1:-}" in
  sample) sample ;;
  test) run_tests ;;
  *)
    echo "usage: ./build.sh sample | test" >&2
    exit 2
    ;;
esac
