variable "name" {
  description = "Name of the key vault (globally unique, part of https://<name>.vault.azure.net)."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "key vault name must be 3-24 characters of letters, digits and hyphens, start with a letter, end with a letter or digit, and have no two hyphens in a row."
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
  description = "Resource group the key vault is created in."
  type        = string
}

variable "tenant_id" {
  description = "Entra ID tenant the key vault trusts."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.tenant_id))
    error_message = "tenant_id must be a GUID."
  }
}

variable "sku_name" {
  description = "Key vault SKU: premium (HSM-backed keys) or standard."
  type        = string
  default     = "premium"
  validation {
    condition     = contains(["standard", "premium"], var.sku_name)
    error_message = "sku_name must be standard or premium."
  }
}

variable "key_name" {
  description = "Name of the RSA key that wraps skyduck's data keys and the storage account's encryption key."
  type        = string
  default     = "skyduck"
  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,127}$", var.key_name))
    error_message = "key_name must be 1-127 letters, digits and hyphens."
  }
}

variable "key_type" {
  description = "RSA-HSM (needs the premium SKU) or RSA."
  type        = string
  default     = "RSA-HSM"
  validation {
    condition     = contains(["RSA", "RSA-HSM"], var.key_type)
    error_message = "key_type must be RSA or RSA-HSM."
  }
}

variable "key_size" {
  description = "RSA modulus size in bits."
  type        = number
  default     = 3072
  validation {
    condition     = contains([3072, 4096], var.key_size)
    error_message = "key_size must be 3072 or 4096."
  }
}

variable "key_rotation_interval" {
  description = "ISO 8601 duration after creation at which Key Vault makes a new key version (e.g. P90D)."
  type        = string
  default     = "P90D"
  validation {
    condition     = can(regex("^P[0-9]+[DMY]$", var.key_rotation_interval))
    error_message = "key_rotation_interval must be an ISO 8601 duration in days, months or years, e.g. P90D."
  }
}

variable "key_expire_after" {
  description = "ISO 8601 duration after which a key version expires; must be longer than key_rotation_interval (e.g. P2Y)."
  type        = string
  default     = "P2Y"
  validation {
    condition     = can(regex("^P[0-9]+[DMY]$", var.key_expire_after))
    error_message = "key_expire_after must be an ISO 8601 duration in days, months or years, e.g. P2Y."
  }
}

variable "soft_delete_retention_days" {
  description = "Days a deleted vault or key stays recoverable (7-90)."
  type        = number
  default     = 90
  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90
    error_message = "soft_delete_retention_days must be between 7 and 90."
  }
}

variable "administrator_principal_id" {
  description = "Object id of the principal that runs Terraform; it gets Key Vault Crypto Officer on this vault only, to create and rotate the key."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.administrator_principal_id))
    error_message = "administrator_principal_id must be an object id (GUID)."
  }
}

variable "key_depends_on" {
  description = "Ids the key waits for (the vault's private endpoint and DNS record): the vault has no public access, so Terraform creates the key through the private endpoint."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags put on the key vault and the key."
  type        = map(string)
  default     = {}
}
