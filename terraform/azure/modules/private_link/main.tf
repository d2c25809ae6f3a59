# Private endpoints for the storage account (blob) and the key vault in the private endpoint subnet, and
# the privatelink DNS zones, linked to the VNet, that make <account>.blob.core.windows.net and
# <vault>.vault.azure.net resolve to them.

locals {
  endpoints = {
    blob = {
      resource_id = var.storage_account_id
      subresource = "blob"
      dns_zone    = "privatelink.blob.core.windows.net"
    }
    vault = {
      resource_id = var.key_vault_id
      subresource = "vault"
      dns_zone    = "privatelink.vaultcore.azure.net"
    }
  }
}

resource "azurerm_private_dns_zone" "this" {
  for_each = local.endpoints

  name                = each.value.dns_zone
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "this" {
  for_each = local.endpoints

  name                  = "${var.name}-${each.key}"
  resource_group_name   = var.resource_group_name
  private_dns_zone_name = azurerm_private_dns_zone.this[each.key].name
  virtual_network_id    = var.vnet_id
  registration_enabled  = false
  tags                  = var.tags
}

resource "azurerm_private_endpoint" "this" {
  for_each = local.endpoints

  name                          = "${var.name}-${each.key}-pe"
  location                      = var.location
  resource_group_name           = var.resource_group_name
  subnet_id                     = var.subnet_id
  custom_network_interface_name = "${var.name}-${each.key}-pe-nic"
  tags                          = var.tags

  private_service_connection {
    name                           = "${var.name}-${each.key}"
    private_connection_resource_id = each.value.resource_id
    subresource_names              = [each.value.subresource]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = each.key
    private_dns_zone_ids = [azurerm_private_dns_zone.this[each.key].id]
  }

  depends_on = [azurerm_private_dns_zone_virtual_network_link.this]
}
