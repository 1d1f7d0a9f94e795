#!/usr/bin/env bash
# Runs every test project (unit, property, native-peer and interop tests), one after the other, each writing
# its own TRX file (tests/<Project>.trx under --results-directory, default artifacts/test-results).
# Extra arguments go to every `dotnet test` (e.g. -c Release, --filter Category!=Interop).
set -uo pipefail
cd "$(dirname "$0")"
results=artifacts/test-results
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --results-directory) results=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
status=0
for project in tests/*/*.csproj; do
    name=$(basename "$project" .csproj)
    case "$name" in Xen.TestSupport | Xen.HostProbe) continue ;; esac # the tests' library and probe program, not test projects
    dotnet test "$project" --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
        --results-directory "$results" "${args[@]}" || status=1
done
exit $status
