#!/usr/bin/env bash
# The Docker versions docker-compose.yml is supported with: Compose >= 2.24 and Docker Engine
# >= 25 (healthcheck `start_interval`). Older ones may reject the file or ignore the option; this
# says so in one line before `docker compose up` starts.
set -euo pipefail

MIN_COMPOSE=2.24.0
MIN_ENGINE=25.0.0

compose=$(docker compose version --short 2>/dev/null || true)
engine=$(docker version --format '{{.Server.Version}}' 2>/dev/null || true)
compose=${compose#v}

# older A B: whether version A sorts before version B
older() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

if [ -z "$compose" ] || older "$compose" "$MIN_COMPOSE"; then
  echo "kopichat: docker compose ${compose:-is missing}: docker-compose.yml needs Compose >= $MIN_COMPOSE (update Docker Desktop, or the docker-compose-plugin package)"
  exit 1
fi
if [ -z "$engine" ] || older "$engine" "$MIN_ENGINE"; then
  echo "kopichat: Docker Engine ${engine:-does not answer}: docker-compose.yml needs Docker Engine >= $MIN_ENGINE (healthcheck start_interval)"
  exit 1
fi
