# The user-assigned managed identity skyduck runs as, federated with its Kubernetes service account
# (AKS workload identity), and its two data roles, each on a single resource.

resource "azurerm_user_assigned_identity" "skyduck" {
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_federated_identity_credential" "skyduck" {
  name                = "${var.name}-aks"
  resource_group_name = var.resource_group_name
  parent_id           = azurerm_user_assigned_identity.skyduck.id
  audience            = ["api://AzureADTokenExchange"]
  issuer              = var.oidc_issuer_url
  subject             = "system:serviceaccount:${var.namespace}:${var.service_account_name}"
}

# Read, write, list and delete blobs in THE snapshots container only.
resource "azurerm_role_assignment" "container" {
  scope                = var.container_resource_manager_id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.skyduck.principal_id
  principal_type       = "ServicePrincipal"
}

# Wrap and unwrap data keys with THE key only (every version of it).
resource "azurerm_role_assignment" "key" {
  scope                = var.key_resource_versionless_id
  role_definition_name = "Key Vault Crypto User"
  principal_id         = azurerm_user_assigned_identity.skyduck.principal_id
  principal_type       = "ServicePrincipal"
}
