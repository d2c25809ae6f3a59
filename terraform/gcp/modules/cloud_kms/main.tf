# The key ring and the crypto key that wrap skyduck's data keys and encrypt the snapshot bucket (CMEK).
# Key rings and keys cannot be deleted in Cloud KMS: `terraform destroy` only schedules the key's
# versions for destruction and forgets the ring.

resource "google_kms_key_ring" "this" {
  project  = var.project_id
  name     = "${var.name}-keyring"
  location = var.region
}

resource "google_kms_crypto_key" "this" {
  name            = "${var.name}-snapshots"
  key_ring        = google_kms_key_ring.this.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = var.rotation_period
  labels          = var.labels

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.protection_level
  }
}

# The Cloud Storage service agent of the project encrypts objects with the bucket's default key, so it
# needs encrypt/decrypt on THIS key only (not on the ring, not on the project).
data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

resource "google_kms_crypto_key_iam_member" "gcs_service_agent" {
  crypto_key_id = google_kms_crypto_key.this.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}
