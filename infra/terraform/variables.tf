variable "os_cloud" {
  description = "Name of the cloud entry in clouds.yaml (OS_CLOUD); null to use OS_* environment variables."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name, so several deployments can share a project."
  type        = string
  default     = "llara"
}

variable "image_name" {
  description = "Glance image for every node (Ubuntu 24.04 LTS is what the Ansible playbooks target)."
  type        = string
  default     = "CC-Ubuntu24.04"
}

variable "ssh_public_key" {
  description = "OpenSSH public key installed for the default user on every node."
  type        = string
}

variable "admin_cidrs" {
  description = "CIDRs allowed to reach the bastion over SSH (22). Never 0.0.0.0/0."
  type        = list(string)
  validation {
    condition     = length(var.admin_cidrs) > 0 && !contains(var.admin_cidrs, "0.0.0.0/0")
    error_message = "admin_cidrs must name the operators' networks, not the whole internet."
  }
}

variable "public_cidrs" {
  description = "CIDRs allowed to reach the HTTPS ingress (443: function URLs, MinIO uploads, MLflow UI)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "external_network_name" {
  description = "Name of the provider network floating IPs come from (e.g. public)."
  type        = string
  default     = "public"
}

variable "subnet_cidr" {
  description = "CIDR of the private cluster subnet."
  type        = string
  default     = "192.168.50.0/24"
}

variable "dns_nameservers" {
  description = "DNS resolvers handed out on the cluster subnet."
  type        = list(string)
  default     = ["8.8.8.8", "1.1.1.1"]
}

variable "control_plane_count" {
  description = "Kubernetes control-plane (and etcd) nodes; use an odd number."
  type        = number
  default     = 1
  validation {
    condition     = var.control_plane_count % 2 == 1
    error_message = "etcd needs an odd number of members."
  }
}

variable "control_plane_flavor" {
  description = "Nova flavor of the control-plane nodes."
  type        = string
  default     = "m1.large"
}

variable "worker_count" {
  description = "CPU worker nodes (functions, MinIO, MLflow, PostgreSQL); the first also carries the ingress."
  type        = number
  default     = 2
  validation {
    condition     = var.worker_count >= 1
    error_message = "At least one CPU worker is needed: it carries the ingress controller and the platform."
  }
}

variable "worker_flavor" {
  description = "Nova flavor of the CPU workers."
  type        = string
  default     = "m1.xlarge"
}

variable "gpu_worker_count" {
  description = "GPU worker nodes for batch training (0 trains on CPU workers)."
  type        = number
  default     = 1
}

variable "gpu_worker_flavor" {
  description = "Nova flavor with a GPU passed through, for training nodes."
  type        = string
  default     = "g1.h100.pci.1"
}

variable "data_volume_size_gb" {
  description = "Size of the Cinder data volume attached to each worker (MinIO objects, PostgreSQL)."
  type        = number
  default     = 200
}

variable "data_volume_type" {
  description = "Cinder volume type of the data volumes (null: the cloud's default)."
  type        = string
  default     = null
}

variable "bastion_flavor" {
  description = "Nova flavor of the bastion (SSH jump host only)."
  type        = string
  default     = "m1.small"
}
