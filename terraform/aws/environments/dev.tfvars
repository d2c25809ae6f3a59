# skyduck on AWS, dev: terraform plan -var-file=environments/dev.tfvars
name        = "skyduck"
environment = "dev"
image       = "ghcr.io/skyduck/skyduck-aws:0.1.0"

region               = "eu-west-1"
vpc_cidr             = "10.40.0.0/16"
private_subnet_cidrs = ["10.40.0.0/19", "10.40.32.0/19"]
public_subnet_cidr   = "10.40.192.0/24"
namespace            = "skyduck"

snapshot_interval    = "5m"
force_destroy_bucket = true
node_instance_types  = ["t3.medium"]
node_min_size        = 1
node_desired_size    = 1
node_max_size        = 2

labels = { "team" = "data-platform", "cost-center" = "skyduck-dev" }
