# skyduck on AWS: a KMS key and an encrypted snapshot bucket, a private VPC with endpoints for S3, KMS
# and STS, an EKS cluster running skyduck's AWS image, and the IRSA role skyduck runs as.

data "aws_caller_identity" "current" {}

data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  prefix = "${var.name}-${var.environment}"
  azs    = slice(data.aws_availability_zones.available.names, 0, min(length(var.private_subnet_cidrs), length(data.aws_availability_zones.available.names)))

  bucket_name = coalesce(var.bucket_name, "${local.prefix}-snapshots-${data.aws_caller_identity.current.account_id}")

  # The values of the shared outputs (shared_outputs.tf).
  bucket            = module.s3.bucket_name
  kms_key           = module.kms.key_arn
  workload_identity = module.iam.role_arn

  # What the skyduck deployment runs with: exactly this map is its container environment.
  skyduck_environment = {
    SKYDUCK_CLOUD             = "aws"
    SKYDUCK_STORAGE_BUCKET    = local.bucket
    SKYDUCK_KMS_KEY           = local.kms_key
    SKYDUCK_CLOUD_REGION      = var.region
    SKYDUCK_IDENTITY          = "workload"
    SKYDUCK_LISTEN            = "0.0.0.0:8080"
    SKYDUCK_SNAPSHOT_INTERVAL = var.snapshot_interval
  }
}

# ---------------------------------------------------------------------------------------------------
# Network: a VPC with one private subnet per availability zone and, optionally, a NAT gateway.
# ---------------------------------------------------------------------------------------------------

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.prefix }
}

resource "aws_subnet" "private" {
  count = length(var.private_subnet_cidrs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.private_subnet_cidrs[count.index]
  availability_zone = local.azs[count.index % length(local.azs)]

  tags = {
    Name                              = "${local.prefix}-private-${count.index}"
    "kubernetes.io/role/internal-elb" = "1"
  }

  lifecycle {
    precondition {
      condition     = length(data.aws_availability_zones.available.names) >= 2
      error_message = "the region must have at least two available availability zones for EKS."
    }
  }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${local.prefix}-private" }
}

resource "aws_route_table_association" "private" {
  count = length(aws_subnet.private)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

resource "aws_internet_gateway" "this" {
  count = var.enable_nat_gateway ? 1 : 0

  vpc_id = aws_vpc.this.id
  tags   = { Name = local.prefix }
}

resource "aws_subnet" "public" {
  count = var.enable_nat_gateway ? 1 : 0

  vpc_id            = aws_vpc.this.id
  cidr_block        = var.public_subnet_cidr
  availability_zone = local.azs[0]

  tags = {
    Name                     = "${local.prefix}-public"
    "kubernetes.io/role/elb" = "1"
  }
}

resource "aws_route_table" "public" {
  count = var.enable_nat_gateway ? 1 : 0

  vpc_id = aws_vpc.this.id
  tags   = { Name = "${local.prefix}-public" }
}

resource "aws_route" "public_internet" {
  count = var.enable_nat_gateway ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count = var.enable_nat_gateway ? 1 : 0

  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count = var.enable_nat_gateway ? 1 : 0

  domain = "vpc"
  tags   = { Name = "${local.prefix}-nat" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = var.enable_nat_gateway ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
  tags          = { Name = local.prefix }
}

resource "aws_route" "private_nat" {
  count = var.enable_nat_gateway ? 1 : 0

  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

# ---------------------------------------------------------------------------------------------------
# Key, bucket, private endpoints
# ---------------------------------------------------------------------------------------------------

module "kms" {
  source = "./modules/kms"

  name = "skyduck-${local.prefix}"
}

module "s3" {
  source = "./modules/s3"

  bucket_name   = local.bucket_name
  kms_key_arn   = module.kms.key_arn
  force_destroy = var.force_destroy_bucket
}

module "privatelink" {
  source = "./modules/privatelink"

  name                     = local.prefix
  region                   = var.region
  vpc_id                   = aws_vpc.this.id
  vpc_cidr                 = aws_vpc.this.cidr_block
  subnet_ids               = slice(aws_subnet.private[*].id, 0, length(local.azs)) # one per AZ
  route_table_ids          = [aws_route_table.private.id]
  extra_interface_services = var.extra_interface_services
}

# ---------------------------------------------------------------------------------------------------
# Cluster, workload and its identity
# ---------------------------------------------------------------------------------------------------

module "eks" {
  source = "./modules/eks"

  name                   = local.prefix
  kubernetes_version     = var.kubernetes_version
  subnet_ids             = aws_subnet.private[*].id
  endpoint_public_access = var.endpoint_public_access
  public_access_cidrs    = var.public_access_cidrs
  node_instance_types    = var.node_instance_types
  node_min_size          = var.node_min_size
  node_desired_size      = var.node_desired_size
  node_max_size          = var.node_max_size

  namespace           = var.namespace
  service_account     = var.service_account
  role_arn            = module.iam.role_arn
  image               = var.image
  skyduck_environment = local.skyduck_environment
}

module "iam" {
  source = "./modules/iam"

  name              = local.prefix
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer_url   = module.eks.oidc_issuer_url
  namespace         = var.namespace
  service_account   = var.service_account
  bucket_arn        = module.s3.bucket_arn
  kms_key_arn       = module.kms.key_arn
}
