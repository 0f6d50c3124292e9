data "openstack_networking_network_v2" "external" {
  name     = var.external_network_name
  external = true
}

resource "openstack_networking_network_v2" "cluster" {
  name           = "${var.name_prefix}-net"
  admin_state_up = true
}

resource "openstack_networking_subnet_v2" "cluster" {
  name            = "${var.name_prefix}-subnet"
  network_id      = openstack_networking_network_v2.cluster.id
  cidr            = var.subnet_cidr
  ip_version      = 4
  dns_nameservers = var.dns_nameservers
}

# Nodes reach the internet (packages, images) through the router; nothing reaches them except
# through the floating IPs below and the security groups in security.tf.
resource "openstack_networking_router_v2" "cluster" {
  name                = "${var.name_prefix}-router"
  admin_state_up      = true
  external_network_id = data.openstack_networking_network_v2.external.id
}

resource "openstack_networking_router_interface_v2" "cluster" {
  router_id = openstack_networking_router_v2.cluster.id
  subnet_id = openstack_networking_subnet_v2.cluster.id
}

resource "openstack_networking_floatingip_v2" "bastion" {
  pool = var.external_network_name
}

resource "openstack_networking_floatingip_v2" "ingress" {
  pool = var.external_network_name
}

resource "openstack_networking_floatingip_associate_v2" "bastion" {
  floating_ip = openstack_networking_floatingip_v2.bastion.address
  port_id     = openstack_networking_port_v2.bastion.id
  depends_on  = [openstack_networking_router_interface_v2.cluster]
}

# The ingress controller runs on the first worker (hostNetwork 80/443, see the Ansible
# kubespray group_vars); its floating IP is the public address of every URL.
resource "openstack_networking_floatingip_associate_v2" "ingress" {
  floating_ip = openstack_networking_floatingip_v2.ingress.address
  port_id     = openstack_networking_port_v2.worker[0].id
  depends_on  = [openstack_networking_router_interface_v2.cluster]
}
