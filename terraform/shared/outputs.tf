# Outputs every cloud root gives. Each root links this file in as shared_outputs.tf (a symlink) and
# defines the locals named here in its main.tf.

output "bucket" {
  description = "The bucket (or <account>/<container>) that holds skyduck's encrypted snapshots."
  value       = local.bucket
}

output "kms_key" {
  description = "The key that wraps skyduck's data keys, as SKYDUCK_KMS_KEY names it."
  value       = local.kms_key
}

output "workload_identity" {
  description = "The identity skyduck runs as: IAM role ARN, service account e-mail or managed identity client id."
  value       = local.workload_identity
}

output "skyduck_environment" {
  description = "The environment the skyduck workload runs with, in skyduck's own variable names."
  value       = local.skyduck_environment
}
