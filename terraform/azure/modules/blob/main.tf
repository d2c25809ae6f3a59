# The storage account that holds skyduck's snapshots: TLS 1.2, HTTPS only, no shared keys, no public
# network access or public blobs, versioning and soft delete, infrastructure (double) encryption and a
# customer-managed key from Key Vault, and the private "snapshots" container.

# The account's own identity, used only to reach its customer-managed key.
resource "azurerm_user_assigned_identity" "storage" {
  name                = "${var.storage_account_name}-cmk"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

# Wrap/unwrap on THE key, nothing else in the vault.
resource "azurerm_role_assignment" "storage_key" {
  scope                = var.key_resource_versionless_id
  role_definition_name = "Key Vault Crypto Service Encryption User"
  principal_id         = azurerm_user_assigned_identity.storage.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_storage_account" "this" {
  name                     = var.storage_account_name
  location                 = var.location
  resource_group_name      = var.resource_group_name
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.replication_type
  access_tier              = "Hot"

  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  public_network_access_enabled     = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  cross_tenant_replication_enabled  = false

  tags = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.storage.id]
  }

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices"]
  }

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }
  }

  # The customer-managed key is set by azurerm_storage_account_customer_managed_key below.
  lifecycle {
    ignore_changes = [customer_managed_key]
  }
}

resource "azurerm_storage_account_customer_managed_key" "this" {
  storage_account_id        = azurerm_storage_account.this.id
  key_vault_id              = var.key_vault_id
  key_name                  = var.key_name
  user_assigned_identity_id = azurerm_user_assigned_identity.storage.id

  depends_on = [azurerm_role_assignment.storage_key]
}

# Created through the resource manager API (storage_account_id), so Terraform needs neither shared keys
# nor a line of sight to the blob endpoint for it.
resource "azurerm_storage_container" "snapshots" {
  name                  = var.container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"

  depends_on = [azurerm_storage_account_customer_managed_key.this]
}
