# The key vault (RBAC authorization, purge protection, no public network access) and the RSA key that
# wraps skyduck's data keys (SKYDUCK_KMS_KEY) and is the storage account's customer-managed key.

resource "azurerm_key_vault" "this" {
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  tenant_id                     = var.tenant_id
  sku_name                      = var.sku_name
  enable_rbac_authorization     = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = var.soft_delete_retention_days
  public_network_access_enabled = false
  tags                          = var.tags

  network_acls {
    default_action = "Deny"
    # The storage account reaches its customer-managed key as a trusted Azure service.
    bypass = "AzureServices"
  }
}

# Terraform's own principal may manage keys in this vault only (not the resource group).
resource "azurerm_role_assignment" "administrator" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Crypto Officer"
  principal_id         = var.administrator_principal_id
}

# Joins the ids the key waits for into one dependency.
resource "terraform_data" "key_prerequisites" {
  input = var.key_depends_on
}

resource "azurerm_key_vault_key" "this" {
  name         = var.key_name
  key_vault_id = azurerm_key_vault.this.id
  key_type     = var.key_type
  key_size     = var.key_size
  key_opts     = ["wrapKey", "unwrapKey"]
  tags         = var.tags

  rotation_policy {
    expire_after         = var.key_expire_after
    notify_before_expiry = "P30D"

    automatic {
      time_after_creation = var.key_rotation_interval
    }
  }

  depends_on = [
    azurerm_role_assignment.administrator,
    terraform_data.key_prerequisites,
  ]
}
