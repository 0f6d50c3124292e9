#!/bin/sh
# Buckets, users and the upload event of LLaRA++'s MinIO; run by playbooks/storage.yml in a
# one-off Job (image minio/mc) inside llara-platform. Idempotent: a re-run changes nothing.
# Every secret comes from the environment (the Job's Secret), never from this file.
set -eu
export MC_CONFIG_DIR=/tmp/.mc

mc alias set llara http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "llara/$LLARA_BUCKET" "llara/$LLARA_MLFLOW_BUCKET"

# One user per consumer, each limited to its bucket.
policy() {  # name bucket
  cat > "/tmp/$1.json" <<JSON
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": ["arn:aws:s3:::$2"]},
  {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::$2/*"]}
]}
JSON
  mc admin policy create llara "$1" "/tmp/$1.json"
}
user() {  # access-key secret-key policy
  mc admin user add llara "$1" "$2"
  mc admin user info llara "$1" --json | grep -q "\"$3\"" || mc admin policy attach llara "$3" --user "$1"
}
policy llara-data "$LLARA_BUCKET"
policy llara-mlflow-artifacts "$LLARA_MLFLOW_BUCKET"
user "$FUNCTIONS_ACCESS_KEY" "$FUNCTIONS_SECRET_KEY" llara-data
user "$TRAIN_ACCESS_KEY" "$TRAIN_SECRET_KEY" llara-data
user "$MLFLOW_ACCESS_KEY" "$MLFLOW_SECRET_KEY" llara-mlflow-artifacts

# Upload-triggered ETL: every object put under raw/ is posted to the etl web action, with the
# token llara.etl.webhook checks (MinIO sends it as "Authorization: Bearer <token>").
mc admin config set llara notify_webhook:llara \
  endpoint="$WEBHOOK_ENDPOINT" auth_token="$WEBHOOK_TOKEN" queue_limit="100000"
mc admin service restart llara
mc ready llara
mc event add "llara/$LLARA_BUCKET" arn:minio:sqs::llara:webhook --event put --prefix raw/ --ignore-existing
mc event list "llara/$LLARA_BUCKET"
