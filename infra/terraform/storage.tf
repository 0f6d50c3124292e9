# One data volume per CPU worker. The node-preparation playbook formats it and mounts it at the
# local-path provisioner's root, so MinIO and PostgreSQL volumes live on block storage that
# outlives the VM and can be snapshotted.
resource "openstack_blockstorage_volume_v3" "data" {
  for_each    = toset(local.workers)
  name        = "${each.key}-data"
  size        = var.data_volume_size_gb
  volume_type = var.data_volume_type
  description = "LLaRA++ data (MinIO objects, PostgreSQL) for ${each.key}"
}

resource "openstack_compute_volume_attach_v2" "data" {
  for_each    = toset(local.workers)
  instance_id = openstack_compute_instance_v2.node[each.key].id
  volume_id   = openstack_blockstorage_volume_v3.data[each.key].id
}
