# The subscription comes from the environment (ARM_SUBSCRIPTION_ID) or the Azure CLI login.
provider "azurerm" {
  # The storage account has no shared keys: the provider talks to its data plane with Entra ID.
  storage_use_azuread = true

  features {
    key_vault {
      # Purge protection is on; a destroyed vault or key stays recoverable rather than purged.
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
      recover_soft_deleted_keys       = true
    }

    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}

# The private cluster's API server, reached from the VNet or a peered network.
provider "kubernetes" {
  host                   = module.aks.kube_config.host
  client_certificate     = base64decode(module.aks.kube_config.client_certificate)
  client_key             = base64decode(module.aks.kube_config.client_key)
  cluster_ca_certificate = base64decode(module.aks.kube_config.cluster_ca_certificate)
}
