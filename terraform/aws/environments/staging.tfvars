# skyduck on AWS, staging: terraform plan -var-file=environments/staging.tfvars
name        = "skyduck"
environment = "staging"
image       = "ghcr.io/skyduck/skyduck-aws:0.1.0"

region               = "eu-west-1"
vpc_cidr             = "10.41.0.0/16"
private_subnet_cidrs = ["10.41.0.0/19", "10.41.32.0/19", "10.41.64.0/19"]
public_subnet_cidr   = "10.41.192.0/24"
namespace            = "skyduck"

snapshot_interval   = "15m"
node_instance_types = ["t3.large"]
node_min_size       = 1
node_desired_size   = 2
node_max_size       = 3

labels = { "team" = "data-platform", "cost-center" = "skyduck-staging" }
