output "s3_endpoint_id" {
  description = "Id of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "kms_endpoint_id" {
  description = "Id of the KMS interface endpoint."
  value       = aws_vpc_endpoint.interface["kms"].id
}

output "sts_endpoint_id" {
  description = "Id of the STS interface endpoint."
  value       = aws_vpc_endpoint.interface["sts"].id
}

output "interface_endpoint_ids" {
  description = "Ids of every interface endpoint, by service short name."
  value       = { for service, endpoint in aws_vpc_endpoint.interface : service => endpoint.id }
}

output "security_group_id" {
  description = "Id of the security group of the interface endpoints (443 from the VPC CIDR)."
  value       = aws_security_group.endpoints.id
}
