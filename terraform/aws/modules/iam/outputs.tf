output "role_arn" {
  description = "ARN of the IRSA role (the eks.amazonaws.com/role-arn annotation of skyduck's service account)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the IRSA role."
  value       = aws_iam_role.this.name
}

output "policy_arn" {
  description = "ARN of the least-privilege policy attached to the role."
  value       = aws_iam_policy.this.arn
}
