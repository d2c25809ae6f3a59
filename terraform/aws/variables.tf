# Variables of the AWS root only. The variables every cloud shares (name, environment, image,
# snapshot_interval, labels) come from ../shared/variables.tf through the shared_variables.tf symlink.

variable "region" {
  description = "AWS region everything is deployed in, e.g. eu-west-1 (also SKYDUCK_CLOUD_REGION)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1 (matching ^[a-z]{2}(-[a-z]+)+-\\d$)."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC, e.g. 10.40.0.0/16."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length from /16 to /24 (the sizes AWS allows for a VPC), e.g. 10.40.0.0/16."
  }
}

variable "private_subnet_cidrs" {
  description = "IPv4 CIDR blocks of the private subnets (nodes, control plane interfaces, VPC endpoints), one per availability zone, at least two; each inside vpc_cidr."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_cidrs) >= 2 && alltrue([for cidr in var.private_subnet_cidrs : can(cidrnetmask(cidr))])
    error_message = "private_subnet_cidrs must hold at least two IPv4 CIDR blocks (EKS needs subnets in two availability zones), e.g. [\"10.40.0.0/19\", \"10.40.32.0/19\"]."
  }
  validation {
    condition     = length(distinct(var.private_subnet_cidrs)) == length(var.private_subnet_cidrs)
    error_message = "private_subnet_cidrs must not repeat a CIDR block."
  }
}

variable "enable_nat_gateway" {
  description = "Whether the private subnets reach the Internet through a NAT gateway in a public subnet (needed to pull images from registries outside AWS, such as ghcr.io). Without it, add ecr.api, ecr.dkr and ec2 to extra_interface_services and pull from ECR."
  type        = bool
  default     = true
}

variable "public_subnet_cidr" {
  description = "IPv4 CIDR block of the public subnet that holds the NAT gateway; inside vpc_cidr and apart from the private subnets. Unused when enable_nat_gateway is false."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.public_subnet_cidr))
    error_message = "public_subnet_cidr must be an IPv4 CIDR block, e.g. 10.40.192.0/24."
  }
}

variable "extra_interface_services" {
  description = "AWS services reached through interface VPC endpoints besides KMS and STS, by short name (e.g. ecr.api, ecr.dkr, ec2, logs)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for s in var.extra_interface_services : can(regex("^[a-z0-9][a-z0-9.-]*$", s)) && !contains(["s3", "kms", "sts"], s)])
    error_message = "extra_interface_services must be short service names such as ecr.api, other than s3, kms and sts (always created)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace skyduck runs in; the IRSA role trusts only its service account there."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label: at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "service_account" {
  description = "Name of skyduck's Kubernetes service account (the IRSA subject)."
  type        = string
  default     = "skyduck"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account))
    error_message = "service_account must be a DNS-1123 subdomain: lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit."
  }
}

variable "bucket_name" {
  description = "Name of the snapshot bucket; null (the default) makes it <name>-<environment>-snapshots-<account id>."
  type        = string
  default     = null
  validation {
    condition     = var.bucket_name == null || (length(coalesce(var.bucket_name, "x")) >= 3 && length(coalesce(var.bucket_name, "x")) <= 63 && can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", coalesce(var.bucket_name, "x"))) && !strcontains(coalesce(var.bucket_name, "x"), ".."))
    error_message = "bucket_name must be null or 3-63 characters of lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit, without two adjacent dots."
  }
}

variable "force_destroy_bucket" {
  description = "Whether terraform destroy may delete the snapshot bucket while it still holds snapshots. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the EKS cluster, e.g. 1.31."
  type        = string
  default     = "1.31"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must be a Kubernetes minor version such as 1.31."
  }
}

variable "endpoint_public_access" {
  description = "Whether the EKS API is also reachable from the Internet (from public_access_cidrs). Terraform configures the workload through the API, so without it Terraform must run inside the VPC or over a VPN."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the public EKS API endpoint when endpoint_public_access is true."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrnetmask(cidr))]) && !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "public_access_cidrs must hold IPv4 CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the EKS managed node group."
  type        = list(string)
  default     = ["t3.large"]
  validation {
    condition     = length(var.node_instance_types) >= 1 && alltrue([for t in var.node_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "node_instance_types must hold at least one EC2 instance type such as t3.large."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 1
  validation {
    condition     = var.node_min_size >= 1 && floor(var.node_min_size) == var.node_min_size
    error_message = "node_min_size must be a whole number of at least 1."
  }
}

variable "node_desired_size" {
  description = "Number of nodes the node group starts with (node_min_size <= node_desired_size <= node_max_size)."
  type        = number
  default     = 2
  validation {
    condition     = var.node_desired_size >= 1 && floor(var.node_desired_size) == var.node_desired_size
    error_message = "node_desired_size must be a whole number of at least 1."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
  default     = 3
  validation {
    condition     = var.node_max_size >= 1 && floor(var.node_max_size) == var.node_max_size
    error_message = "node_max_size must be a whole number of at least 1."
  }
}
