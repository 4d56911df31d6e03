#!/usr/bin/env bash
# The main job (scripts/demo's scenario) as a kernel-lab suite, so CI proves it: two directors running
# Vigil with the tutorial's keepalived.conf, two LVS-DR real servers, a client; failover and load balancing.
exec "$(cd "$(dirname "$0")/../../.." && pwd)/scripts/seed-scenario"
