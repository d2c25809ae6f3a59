variable "name" {
  description = "Name prefix of the network resources."
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
  description = "Resource group the network resources are created in."
  type        = string
}

variable "vnet_address_space" {
  description = "Address space of the virtual network (one or more CIDR blocks)."
  type        = list(string)
  validation {
    condition     = length(var.vnet_address_space) > 0 && alltrue([for cidr in var.vnet_address_space : can(cidrnetmask(cidr))])
    error_message = "vnet_address_space must hold at least one IPv4 CIDR block, e.g. [\"10.40.0.0/16\"]."
  }
}

variable "aks_subnet_prefix" {
  description = "CIDR of the subnet the AKS nodes (and, with Azure CNI, the pods) get their addresses from."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.aks_subnet_prefix))
    error_message = "aks_subnet_prefix must be an IPv4 CIDR block inside vnet_address_space, e.g. 10.40.0.0/20."
  }
}

variable "private_endpoint_subnet_prefix" {
  description = "CIDR of the subnet that holds the private endpoints of the storage account and the key vault."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.private_endpoint_subnet_prefix))
    error_message = "private_endpoint_subnet_prefix must be an IPv4 CIDR block inside vnet_address_space, e.g. 10.40.16.0/24."
  }
}

variable "hub_vnet_id" {
  description = "Resource id of a hub virtual network to peer with (both directions), or null for no peering."
  type        = string
  default     = null
  nullable    = true
  validation {
    condition     = var.hub_vnet_id == null || can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Network/virtualNetworks/[^/]+$", var.hub_vnet_id))
    error_message = "hub_vnet_id must be null or a virtual network resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<name>."
  }
}

variable "tags" {
  description = "Tags put on every network resource."
  type        = map(string)
  default     = {}
}
