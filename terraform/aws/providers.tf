provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.labels, {
      "project"     = "skyduck"
      "name"        = var.name
      "environment" = var.environment
      "managed-by"  = "terraform"
    })
  }
}

# Configured from the cluster this configuration creates. The token comes from `aws eks get-token`
# (the AWS CLI must be on PATH) so that it is fresh for every call, however long an apply takes.
# The API endpoint is private unless endpoint_public_access is set: run Terraform from inside the VPC
# (or over a VPN or through a bastion) otherwise.
provider "kubernetes" {
  host                   = module.eks.cluster_endpoint
  cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
  }
}
