# The customer-managed key that wraps skyduck's data keys (SKYDUCK_KMS_KEY).
#
# No key policy is written here: KMS then applies its default key policy, which delegates access to IAM
# in this account. Who may use the key is therefore decided by IAM policies alone, such as the
# least-privilege policy of the iam module, which names this key's ARN.

resource "aws_kms_key" "this" {
  description             = var.description
  key_usage               = "ENCRYPT_DECRYPT"
  deletion_window_in_days = var.deletion_window_in_days
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_period_in_days
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-snapshots"
  target_key_id = aws_kms_key.this.key_id
}
