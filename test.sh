#!/usr/bin/env bash
# Runs every test project of the solution (unit, property, native-peer and interop tests).
# Extra arguments go to `dotnet test` (e.g. -c Release, --filter Category!=Interop).
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet test Xen.Protocols.sln --logger "trx;LogFilePrefix=results" --logger "console;verbosity=minimal" "$@"
