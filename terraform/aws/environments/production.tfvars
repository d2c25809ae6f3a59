# skyduck on AWS, production: terraform plan -var-file=environments/production.tfvars
# Pin the image by digest in production, e.g. ghcr.io/skyduck/skyduck-aws@sha256:<64 hex digits>.
name        = "skyduck"
environment = "production"
image       = "ghcr.io/skyduck/skyduck-aws:0.1.0"

region               = "eu-west-1"
vpc_cidr             = "10.42.0.0/16"
private_subnet_cidrs = ["10.42.0.0/19", "10.42.32.0/19", "10.42.64.0/19"]
public_subnet_cidr   = "10.42.192.0/24"
namespace            = "skyduck"

snapshot_interval    = "15m"
force_destroy_bucket = false
node_instance_types  = ["m6i.large"]
node_min_size        = 2
node_desired_size    = 2
node_max_size        = 4

labels = { "team" = "data-platform", "cost-center" = "skyduck-production" }
