output "storage_account_id" {
  description = "Resource id of the storage account."
  value       = azurerm_storage_account.this.id
}

output "storage_account_name" {
  description = "Name of the storage account."
  value       = azurerm_storage_account.this.name
}

output "primary_blob_endpoint" {
  description = "Blob endpoint of the account (resolves to the private endpoint inside the VNet)."
  value       = azurerm_storage_account.this.primary_blob_endpoint
}

output "container_name" {
  description = "Name of the snapshots container."
  value       = azurerm_storage_container.snapshots.name
}

output "container_resource_manager_id" {
  description = "Resource manager id of the snapshots container: the scope of data role assignments on it."
  value       = azurerm_storage_container.snapshots.resource_manager_id
}

output "bucket" {
  description = "The container as SKYDUCK_STORAGE_BUCKET names it: <account>/<container>."
  value       = "${azurerm_storage_account.this.name}/${azurerm_storage_container.snapshots.name}"
}

output "encryption_identity_id" {
  description = "Resource id of the user-assigned identity the account uses to reach its customer-managed key."
  value       = azurerm_user_assigned_identity.storage.id
}
