#!/usr/bin/env bash
# `make deploy`: sam build + sam deploy of infra/template.yaml, wait for RDS Proxy's target, then
# run the migrations once. docs/deployment.md walks through it.
#
# Settings (make passes them as variables): STAGE, AWS_REGION, STACK, MODEL, SECRETS_REVISION,
# DB_DELETION_PROTECTION (empty: off while the stack does not exist yet, then on for prod),
# PARAMS (more `Key=Value` parameter overrides, passed through as they are), and
# KOPICHAT_DEPLOY_POLL_S / KOPICHAT_DEPLOY_WAIT_S (how often and how long to wait for the proxy).
set -euo pipefail

STAGE=${STAGE:-prod}
AWS_REGION=${AWS_REGION:-eu-west-1}
STACK=${STACK:-kopichat-$STAGE}
MODEL=${MODEL:-openai:gpt-4o-mini}
SECRETS_REVISION=${SECRETS_REVISION:-1}
DB_DELETION_PROTECTION=${DB_DELETION_PROTECTION:-}
PARAMS=${PARAMS:-}
POLL_S=${KOPICHAT_DEPLOY_POLL_S:-15}
WAIT_S=${KOPICHAT_DEPLOY_WAIT_S:-1200}
BUILD_DIR=.aws-sam/build

say() { echo "kopichat: $*"; }

stack_status=$(aws cloudformation describe-stacks --stack-name "$STACK" --region "$AWS_REGION" \
  --query 'Stacks[0].StackStatus' --output text 2>/dev/null || echo NONE)
case "$stack_status" in
  ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED)
    say "stack $STACK is in $stack_status: a failed first deploy cannot be updated."
    say "delete it first (sam delete --stack-name $STACK --region $AWS_REGION), then deploy again;"
    say "docs/deployment.md, \"When the first deploy fails\", says what to check."
    exit 1 ;;
esac

# Deletion protection stays off until the stack exists: with it on, a failed first deploy could
# not delete the instance on rollback and the stack would end in ROLLBACK_FAILED.
if [ -z "$DB_DELETION_PROTECTION" ]; then
  if [ "$STAGE" = prod ] && [ "$stack_status" != NONE ]; then
    DB_DELETION_PROTECTION=true
  else
    DB_DELETION_PROTECTION=false
  fi
fi
say "stack $STACK ($stack_status), stage $STAGE, deletion protection $DB_DELETION_PROTECTION"

sam build --template-file infra/template.yaml --build-dir "$BUILD_DIR"
# PARAMS is split on spaces on purpose: each word is one Key=Value override.
# shellcheck disable=SC2086
sam deploy --template-file "$BUILD_DIR/template.yaml" --stack-name "$STACK" \
  --region "$AWS_REGION" --capabilities CAPABILITY_IAM --resolve-s3 --resolve-image-repos \
  --no-fail-on-empty-changeset \
  --parameter-overrides "Stage=$STAGE" "ModelName=$MODEL" "SecretsRevision=$SECRETS_REVISION" \
  "DbDeletionProtection=$DB_DELETION_PROTECTION" $PARAMS

# On a first deploy RDS Proxy registers its target a few minutes after the stack is complete;
# a migration started before that cannot connect.
proxy="kopichat-$STAGE"
waited=0
while :; do
  state=$(aws rds describe-db-proxy-targets --db-proxy-name "$proxy" --region "$AWS_REGION" \
    --query "Targets[?Type=='RDS_INSTANCE'].TargetHealth.State | [0]" --output text 2>/dev/null \
    || echo UNKNOWN)
  [ "$state" = AVAILABLE ] && break
  if [ "$waited" -ge "$WAIT_S" ]; then
    say "RDS Proxy $proxy target is still $state after ${WAIT_S} s; migrations not run"
    say "check: aws rds describe-db-proxy-targets --db-proxy-name $proxy --region $AWS_REGION"
    exit 1
  fi
  say "waiting for RDS Proxy $proxy: target $state"
  sleep "$POLL_S"
  waited=$((waited + POLL_S))
done
say "RDS Proxy $proxy target AVAILABLE: running the migrations"

mkdir -p .aws-sam
err=$(aws lambda invoke --function-name "kopichat-$STAGE-migrate" --region "$AWS_REGION" \
  --cli-read-timeout 330 --query FunctionError --output text .aws-sam/migrate-result.json)
cat .aws-sam/migrate-result.json
echo
if [ "$err" != None ]; then
  say "migration failed ($err): see log group /aws/lambda/kopichat-$STAGE-migrate"
  say "and \"Repairing a half-applied migration\" in docs/deployment.md"
  exit 1
fi
say "deployed $STACK"
