output "key_ring_id" {
  description = "Full name of the key ring: projects/<project>/locations/<region>/keyRings/<ring>."
  value       = google_kms_key_ring.this.id
}

output "crypto_key_id" {
  description = "Full name of the crypto key (projects/<project>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>), as SKYDUCK_KMS_KEY and the bucket's default_kms_key_name take it."
  value       = google_kms_crypto_key.this.id
}

output "crypto_key_name" {
  description = "Short name of the crypto key."
  value       = google_kms_crypto_key.this.name
}

output "gcs_service_agent_binding" {
  description = "ID of the grant that lets the Cloud Storage service agent use the key; resources that need CMEK to work can depend on it."
  value       = google_kms_crypto_key_iam_member.gcs_service_agent.id
}
