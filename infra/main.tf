# What wrangler does not manage well on its own: the D1 database of each
# environment, the Pages project, and the site's custom domain with its DNS
# record. The Worker and its Durable Objects stay with `wrangler deploy`
# (wrangler.toml), the site's files with `wrangler pages deploy` (make deploy).
#
# The provider reads the API token from CLOUDFLARE_API_TOKEN: no credential is
# ever written in these files or in a committed terraform.tfvars.
provider "cloudflare" {}

locals {
  # <name>-<environment>: the database_name of each environment in wrangler.toml,
  # which is how wrangler finds the database (no id is committed anywhere).
  d1_databases = { for env in var.environments : env => "${var.name}-${env}" }
  custom_site  = var.site_hostname != ""
}

# What is global: accounts, sessions, friendships, blocks, bans, the room
# directory. Messages live in each room's Durable Object, not here. Replacing a
# database loses its data, hence prevent_destroy.
resource "cloudflare_d1_database" "chat" {
  for_each = local.d1_databases

  account_id = var.account_id
  name       = each.value

  lifecycle {
    prevent_destroy = true
  }
}

# The files messages carry (issue 17): one R2 bucket per environment, named as
# wrangler.toml's r2_buckets. Replacing one loses every attachment.
resource "cloudflare_r2_bucket" "files" {
  for_each = { for env in var.environments : env => "${var.name}-${env}-files" }

  account_id = var.account_id
  name       = each.value

  lifecycle {
    prevent_destroy = true
  }
}

# A direct-upload project: `wrangler pages deploy pages/dist` uploads the built
# site. Deploys of branch "main" are production; "staging" is a preview alias.
resource "cloudflare_pages_project" "site" {
  account_id        = var.account_id
  name              = var.pages_project
  production_branch = "main"
}

# The site on a domain of yours (optional): the Pages custom domain and the
# proxied CNAME record that points it at the project.
resource "cloudflare_pages_domain" "site" {
  count = local.custom_site ? 1 : 0

  account_id   = var.account_id
  project_name = cloudflare_pages_project.site.name
  name         = var.site_hostname
}

resource "cloudflare_dns_record" "site" {
  count = local.custom_site ? 1 : 0

  zone_id = var.zone_id
  name    = var.site_hostname
  type    = "CNAME"
  content = cloudflare_pages_project.site.subdomain
  proxied = true
  ttl     = 1 # automatic

  lifecycle {
    precondition {
      condition     = var.zone_id != ""
      error_message = "Set zone_id to the zone of site_hostname."
    }
  }
}
