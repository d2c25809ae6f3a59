variable "name" {
  description = "Name prefix of the private endpoints."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,39}$", var.name))
    error_message = "name must be 2-40 characters of lowercase letters, digits and hyphens, starting with a letter."
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
  description = "Resource group the private endpoints and private DNS zones are created in."
  type        = string
}

variable "subnet_id" {
  description = "Resource id of the private endpoint subnet."
  type        = string
}

variable "vnet_id" {
  description = "Resource id of the virtual network the private DNS zones are linked to."
  type        = string
}

variable "storage_account_id" {
  description = "Resource id of the storage account that gets a blob private endpoint."
  type        = string
}

variable "key_vault_id" {
  description = "Resource id of the key vault that gets a vault private endpoint."
  type        = string
}

variable "tags" {
  description = "Tags put on the private endpoints and DNS zones."
  type        = map(string)
  default     = {}
}
