# skyduck on Azure: a resource group, the spoke network, Key Vault and its RSA key, the storage account
# with the snapshots container, private endpoints for both, the managed identity skyduck runs as, and a
# private AKS cluster running the skyduck-azure image with workload identity.

data "azurerm_client_config" "current" {}

locals {
  prefix = "${var.name}-${var.environment}"

  # Storage account and key vault names are global: a short hash of subscription, name and environment
  # keeps them unique and stable. Both stay within their limits (22 and 23 characters at most).
  compact_name         = replace(var.name, "-", "")
  name_suffix          = substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.name}/${var.environment}"), 0, 8)
  storage_account_name = "${substr(local.compact_name, 0, 10)}${substr(var.environment, 0, 4)}${local.name_suffix}"
  key_vault_name       = "${substr(local.compact_name, 0, 9)}-${substr(var.environment, 0, 4)}-${local.name_suffix}"

  service_account_name = "skyduck"

  tags = merge(var.labels, {
    application = "skyduck"
    environment = var.environment
    managed-by  = "terraform"
  })

  # What the shared outputs (shared_outputs.tf) report.
  bucket            = module.blob.bucket
  kms_key           = module.key_vault.key_versionless_id
  workload_identity = module.identity.client_id

  # Every SKYDUCK_* variable the workload gets; the aks module adds AZURE_CLIENT_ID.
  skyduck_environment = {
    SKYDUCK_CLOUD             = "azure"
    SKYDUCK_STORAGE_BUCKET    = local.bucket
    SKYDUCK_KMS_KEY           = local.kms_key
    SKYDUCK_IDENTITY          = "workload"
    SKYDUCK_LISTEN            = "0.0.0.0:8080"
    SKYDUCK_SNAPSHOT_INTERVAL = var.snapshot_interval
    SKYDUCK_DATA_DIR          = "/var/lib/skyduck"
    SKYDUCK_NATIVE_CACHE      = "/var/cache/skyduck/native"
  }
}

resource "azurerm_resource_group" "this" {
  name     = "${local.prefix}-rg"
  location = var.location
  tags     = local.tags
}

module "networking" {
  source = "./modules/networking"

  name                           = local.prefix
  location                       = azurerm_resource_group.this.location
  resource_group_name            = azurerm_resource_group.this.name
  vnet_address_space             = var.vnet_address_space
  aks_subnet_prefix              = var.aks_subnet_prefix
  private_endpoint_subnet_prefix = var.private_endpoint_subnet_prefix
  hub_vnet_id                    = var.hub_vnet_id
  tags                           = local.tags
}

module "key_vault" {
  source = "./modules/key_vault"

  name                       = local.key_vault_name
  location                   = azurerm_resource_group.this.location
  resource_group_name        = azurerm_resource_group.this.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  administrator_principal_id = data.azurerm_client_config.current.object_id
  # The vault has no public access: the key is created once its private endpoint is in place.
  key_depends_on = [module.private_link.key_vault_private_endpoint_id]
  tags           = local.tags
}

module "blob" {
  source = "./modules/blob"

  storage_account_name        = local.storage_account_name
  location                    = azurerm_resource_group.this.location
  resource_group_name         = azurerm_resource_group.this.name
  replication_type            = var.environment == "production" ? "GZRS" : "ZRS"
  key_vault_id                = module.key_vault.key_vault_id
  key_name                    = module.key_vault.key_name
  key_resource_versionless_id = module.key_vault.key_resource_versionless_id
  tags                        = local.tags
}

module "private_link" {
  source = "./modules/private_link"

  name                = local.prefix
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  subnet_id           = module.networking.private_endpoint_subnet_id
  vnet_id             = module.networking.vnet_id
  storage_account_id  = module.blob.storage_account_id
  key_vault_id        = module.key_vault.key_vault_id
  tags                = local.tags
}

module "identity" {
  source = "./modules/identity"

  name                          = "${local.prefix}-skyduck"
  location                      = azurerm_resource_group.this.location
  resource_group_name           = azurerm_resource_group.this.name
  oidc_issuer_url               = module.aks.oidc_issuer_url
  namespace                     = var.namespace
  service_account_name          = local.service_account_name
  container_resource_manager_id = module.blob.container_resource_manager_id
  key_resource_versionless_id   = module.key_vault.key_resource_versionless_id
  tags                          = local.tags
}

module "aks" {
  source = "./modules/aks"

  name                 = "${local.prefix}-aks"
  location             = azurerm_resource_group.this.location
  resource_group_name  = azurerm_resource_group.this.name
  subnet_id            = module.networking.aks_subnet_id
  kubernetes_version   = var.kubernetes_version
  sku_tier             = var.environment == "production" ? "Standard" : "Free"
  node_vm_size         = var.node_vm_size
  node_count           = var.node_count
  namespace            = var.namespace
  service_account_name = local.service_account_name
  image                = var.image
  workload_client_id   = local.workload_identity
  skyduck_environment  = local.skyduck_environment
  tags                 = local.tags
}
