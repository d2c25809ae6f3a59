output "blob_private_endpoint_id" {
  description = "Resource id of the storage account's blob private endpoint."
  value       = azurerm_private_endpoint.this["blob"].id
}

output "key_vault_private_endpoint_id" {
  description = "Resource id of the key vault's private endpoint."
  value       = azurerm_private_endpoint.this["vault"].id
}

output "blob_private_ip" {
  description = "Private IP address of the blob endpoint."
  value       = azurerm_private_endpoint.this["blob"].private_service_connection[0].private_ip_address
}

output "key_vault_private_ip" {
  description = "Private IP address of the key vault endpoint."
  value       = azurerm_private_endpoint.this["vault"].private_service_connection[0].private_ip_address
}

output "private_dns_zone_ids" {
  description = "Resource ids of the privatelink DNS zones, by endpoint (blob, vault)."
  value       = { for key, zone in azurerm_private_dns_zone.this : key => zone.id }
}
