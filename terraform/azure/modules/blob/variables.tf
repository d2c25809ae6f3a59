variable "storage_account_name" {
  description = "Name of the storage account (globally unique, part of https://<name>.blob.core.windows.net)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name must be 3-24 characters of lowercase letters and digits only."
  }
}

variable "container_name" {
  description = "Name of the private container that holds skyduck's encrypted snapshots."
  type        = string
  default     = "snapshots"
  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9])*$", var.container_name)) && length(var.container_name) >= 3 && length(var.container_name) <= 63
    error_message = "container_name must be 3-63 characters of lowercase letters, digits and single hyphens, starting and ending with a letter or digit."
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
  description = "Resource group the storage account and its encryption identity are created in."
  type        = string
}

variable "replication_type" {
  description = "Storage account replication: LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  type        = string
  default     = "ZRS"
  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "soft_delete_retention_days" {
  description = "Days deleted blobs and containers stay recoverable (1-365)."
  type        = number
  default     = 30
  validation {
    condition     = var.soft_delete_retention_days >= 1 && var.soft_delete_retention_days <= 365
    error_message = "soft_delete_retention_days must be between 1 and 365."
  }
}

variable "key_vault_id" {
  description = "Resource id of the key vault that holds the customer-managed key."
  type        = string
}

variable "key_name" {
  description = "Name of the key vault key that encrypts the account (customer-managed key, versionless so rotations are picked up)."
  type        = string
}

variable "key_resource_versionless_id" {
  description = "Versionless resource manager id of that key: the account's identity gets Key Vault Crypto Service Encryption User on this key only."
  type        = string
  validation {
    condition     = can(regex("(?i)/providers/Microsoft.KeyVault/vaults/[^/]+/keys/[^/]+$", var.key_resource_versionless_id))
    error_message = "key_resource_versionless_id must be a key's versionless resource id ending in /providers/Microsoft.KeyVault/vaults/<vault>/keys/<key>."
  }
}

variable "tags" {
  description = "Tags put on the storage account and its identity."
  type        = map(string)
  default     = {}
}
