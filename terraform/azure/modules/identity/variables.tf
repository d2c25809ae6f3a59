variable "name" {
  description = "Name of the user-assigned managed identity skyduck runs as."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$", var.name))
    error_message = "name must be 3-128 characters of letters, digits, hyphens and underscores, starting with a letter or digit."
  }
}

variable "location" {
  description = "Azure region, as its lowercase programmatic name (e.g. westeurope)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be the region's programmatic name: lowercase letters and digits only (e.g. westeurope, not \"West Europe\")."
  }
}

variable "resource_group_name" {
  description = "Resource group the identity is created in."
  type        = string
}

variable "oidc_issuer_url" {
  description = "OIDC issuer URL of the AKS cluster whose service account tokens this identity trusts."
  type        = string
  validation {
    condition     = can(regex("^https://", var.oidc_issuer_url))
    error_message = "oidc_issuer_url must be an https:// URL (the AKS cluster's oidc_issuer_url)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of skyduck's service account."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "service_account_name" {
  description = "Name of skyduck's Kubernetes service account."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account_name))
    error_message = "service_account_name must be a DNS subdomain: lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit."
  }
}

variable "container_resource_manager_id" {
  description = "Resource manager id of the snapshots container: Storage Blob Data Contributor is granted on it alone."
  type        = string
  validation {
    condition     = can(regex("(?i)/providers/Microsoft.Storage/storageAccounts/[^/]+/blobServices/default/containers/[^/]+$", var.container_resource_manager_id))
    error_message = "container_resource_manager_id must be a container's id ending in /providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<container>, not an account, resource group or subscription."
  }
}

variable "key_resource_versionless_id" {
  description = "Versionless resource manager id of the key: Key Vault Crypto User is granted on it alone."
  type        = string
  validation {
    condition     = can(regex("(?i)/providers/Microsoft.KeyVault/vaults/[^/]+/keys/[^/]+$", var.key_resource_versionless_id))
    error_message = "key_resource_versionless_id must be a key's versionless resource id ending in /providers/Microsoft.KeyVault/vaults/<vault>/keys/<key>, not a vault, resource group or subscription."
  }
}

variable "tags" {
  description = "Tags put on the identity."
  type        = map(string)
  default     = {}
}
