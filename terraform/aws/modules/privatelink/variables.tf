variable "name" {
  description = "Name prefix of the endpoints and their security group."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$", var.name))
    error_message = "name must be 1-63 characters of letters, digits and hyphens, starting with a letter or digit."
  }
}

variable "region" {
  description = "AWS region of the VPC, used in the endpoint service names (com.amazonaws.<region>.<service>)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1 (matching ^[a-z]{2}(-[a-z]+)+-\\d$)."
  }
}

variable "vpc_id" {
  description = "Id of the cluster's VPC."
  type        = string
  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id, vpc- followed by 8 or 17 hexadecimal digits."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; the endpoints' security group admits HTTPS (443) from it."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block, e.g. 10.40.0.0/16."
  }
}

variable "subnet_ids" {
  description = "Private subnets the interface endpoints (KMS, STS, extra services) get a network interface in: at most one per availability zone."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must hold at least one subnet id (subnet- followed by 8 or 17 hexadecimal digits)."
  }
}

variable "route_table_ids" {
  description = "Route tables of the private subnets; the S3 gateway endpoint adds its route to each."
  type        = list(string)
  validation {
    condition     = length(var.route_table_ids) >= 1 && alltrue([for id in var.route_table_ids : can(regex("^rtb-[0-9a-f]{8,17}$", id))])
    error_message = "route_table_ids must hold at least one route table id (rtb- followed by 8 or 17 hexadecimal digits)."
  }
}

variable "extra_interface_services" {
  description = "More AWS services to reach through interface endpoints, by short name (e.g. [\"ecr.api\", \"ecr.dkr\", \"ec2\", \"logs\"] for nodes without internet egress)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for s in var.extra_interface_services : can(regex("^[a-z0-9][a-z0-9.-]*$", s)) && !contains(["s3", "kms", "sts"], s)])
    error_message = "extra_interface_services must be short service names such as ecr.api, and must not repeat s3, kms or sts, which this module always creates."
  }
}

variable "tags" {
  description = "Tags put on the endpoints and the security group (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}
}
