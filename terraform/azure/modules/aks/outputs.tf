output "cluster_id" {
  description = "Resource id of the AKS cluster."
  value       = azurerm_kubernetes_cluster.this.id
}

output "cluster_name" {
  description = "Name of the AKS cluster."
  value       = azurerm_kubernetes_cluster.this.name
}

output "private_fqdn" {
  description = "Private FQDN of the cluster's API server (resolvable inside the VNet and peered networks)."
  value       = azurerm_kubernetes_cluster.this.private_fqdn
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster, which the managed identity's federated credential trusts."
  value       = azurerm_kubernetes_cluster.this.oidc_issuer_url
}

output "kube_config" {
  description = "Connection details for the kubernetes provider (host and base64-encoded PEM credentials)."
  sensitive   = true
  value = {
    host                   = azurerm_kubernetes_cluster.this.kube_config[0].host
    client_certificate     = azurerm_kubernetes_cluster.this.kube_config[0].client_certificate
    client_key             = azurerm_kubernetes_cluster.this.kube_config[0].client_key
    cluster_ca_certificate = azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate
  }
}

output "namespace" {
  description = "Namespace skyduck runs in."
  value       = kubernetes_namespace_v1.skyduck.metadata[0].name
}

output "service_account_name" {
  description = "Name of skyduck's service account."
  value       = kubernetes_service_account_v1.skyduck.metadata[0].name
}

output "service_url" {
  description = "In-cluster URL of skyduck's ClusterIP service."
  value       = "http://${kubernetes_service_v1.skyduck.metadata[0].name}.${kubernetes_namespace_v1.skyduck.metadata[0].name}.svc.cluster.local:${local.port}"
}
