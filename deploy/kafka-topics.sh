#!/usr/bin/env bash
# Creates Amtsweg's topics on a Kafka cluster. Usage:
#   BOOTSTRAP=kafka-1:9092 ./kafka-topics.sh
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP to the cluster's bootstrap servers}"
PARTITIONS=${PARTITIONS:-12}
REPLICATION=${REPLICATION:-3}
create() {
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor "$REPLICATION" \
    --config min.insync.replicas=2 "${@:3}"
}
for t in amtsweg.intake.v1 amtsweg.applicant.v1 amtsweg.status.v1; do
  create "$t" "$PARTITIONS"
  create "$t.dlq" 1
done
create amtsweg.procedure-events.v1 "$PARTITIONS" --config retention.ms=-1
create amtsweg.procedure-events.v1.dlq 1
