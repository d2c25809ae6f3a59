output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "URL of the cluster's Kubernetes API server."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded certificate authority data of the cluster's API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Id of the security group EKS made for the control plane and the managed nodes."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider, the federated principal of IRSA trust policies."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "oidc_issuer_url" {
  description = "Issuer URL of the cluster's OIDC provider (https://oidc.eks.<region>.amazonaws.com/id/<id>)."
  value       = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

output "node_group_name" {
  description = "Name of the managed node group."
  value       = aws_eks_node_group.this.node_group_name
}

output "node_role_arn" {
  description = "ARN of the node group's IAM role."
  value       = aws_iam_role.node.arn
}

output "namespace" {
  description = "Namespace skyduck runs in."
  value       = kubernetes_namespace_v1.skyduck.metadata[0].name
}

output "service_account" {
  description = "Name of skyduck's service account."
  value       = kubernetes_service_account_v1.skyduck.metadata[0].name
}

output "service_dns_name" {
  description = "In-cluster DNS name and port of skyduck's ClusterIP service."
  value       = "${kubernetes_service_v1.skyduck.metadata[0].name}.${kubernetes_namespace_v1.skyduck.metadata[0].name}.svc.cluster.local:${var.container_port}"
}
