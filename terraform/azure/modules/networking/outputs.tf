output "vnet_id" {
  description = "Resource id of the virtual network."
  value       = azurerm_virtual_network.this.id
}

output "vnet_name" {
  description = "Name of the virtual network."
  value       = azurerm_virtual_network.this.name
}

output "aks_subnet_id" {
  description = "Resource id of the AKS subnet (its NSG is associated)."
  value       = azurerm_subnet.aks.id
  depends_on  = [azurerm_subnet_network_security_group_association.aks]
}

output "private_endpoint_subnet_id" {
  description = "Resource id of the private endpoint subnet (its NSG is associated)."
  value       = azurerm_subnet.private_endpoints.id
  depends_on  = [azurerm_subnet_network_security_group_association.private_endpoints]
}

output "hub_peering_id" {
  description = "Resource id of the peering from this network to the hub, or null without a hub."
  value       = one(azurerm_virtual_network_peering.to_hub[*].id)
}
