#!/bin/sh
# labelsync sharded apply on Kubernetes, in order: Kubernetes has no dependencies between
# Jobs, so this script applies each step once the previous one completed.
#   kubectl create secret generic labelsync --from-literal=tensorbay-access-key="$TENSORBAY_ACCESS_KEY"
#   sh examples/sharding/kubernetes/run.sh
set -eu
here=$(dirname "$0")
kubectl apply -f "$here/volumes.yml"
kubectl delete job labelsync-prepare labelsync-shards labelsync-finish --ignore-not-found
kubectl apply -f "$here/prepare-job.yml"
kubectl wait --for=condition=complete --timeout=1h job/labelsync-prepare
kubectl apply -f "$here/shards-job.yml"
# Complete, or Failed once a shard ran out of retries (then fix and re-run that index).
kubectl wait --for=condition=complete --timeout=24h job/labelsync-shards
kubectl apply -f "$here/finish-job.yml"
kubectl wait --for=condition=complete --timeout=1h job/labelsync-finish
kubectl logs job/labelsync-finish
