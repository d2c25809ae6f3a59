output "key_vault_id" {
  description = "Resource id of the key vault."
  value       = azurerm_key_vault.this.id
}

output "key_vault_name" {
  description = "Name of the key vault."
  value       = azurerm_key_vault.this.name
}

output "key_vault_uri" {
  description = "Data plane URI of the key vault, https://<name>.vault.azure.net/."
  value       = azurerm_key_vault.this.vault_uri
}

output "key_name" {
  description = "Name of the RSA key."
  value       = azurerm_key_vault_key.this.name
}

output "key_versionless_id" {
  description = "Versionless key URL, https://<vault>.vault.azure.net/keys/<name>: what SKYDUCK_KMS_KEY takes."
  value       = azurerm_key_vault_key.this.versionless_id
}

output "key_resource_versionless_id" {
  description = "Versionless Azure Resource Manager id of the key: the scope of role assignments on this key."
  value       = azurerm_key_vault_key.this.resource_versionless_id
}
