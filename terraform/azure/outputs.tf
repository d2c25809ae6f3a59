# Azure-only outputs. The outputs every cloud gives (bucket, kms_key, workload_identity,
# skyduck_environment) come from ../shared/outputs.tf through the shared_outputs.tf symlink.

output "resource_group_name" {
  description = "Resource group that holds everything this root creates."
  value       = azurerm_resource_group.this.name
}

output "storage_account_name" {
  description = "Name of the storage account that holds the snapshots."
  value       = module.blob.storage_account_name
}

output "key_vault_name" {
  description = "Name of the key vault that holds skyduck's key."
  value       = module.key_vault.key_vault_name
}

output "aks_cluster_name" {
  description = "Name of the private AKS cluster (az aks get-credentials --resource-group <rg> --name <this>)."
  value       = module.aks.cluster_name
}

output "skyduck_service_url" {
  description = "In-cluster URL of skyduck's ClusterIP service."
  value       = module.aks.service_url
}
