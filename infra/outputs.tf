output "d1_database_ids" {
  description = "D1 database IDs by environment (wrangler finds them by name; for reference and imports)."
  value       = { for env, db in cloudflare_d1_database.chat : env => db.id }
}

output "pages_url" {
  description = "The site on pages.dev (production deployments)."
  value       = "https://${cloudflare_pages_project.site.subdomain}"
}

output "site_url" {
  description = "The site on its custom domain, if site_hostname is set."
  value       = local.custom_site ? "https://${var.site_hostname}" : null
}
