variable "account_id" {
  description = "Cloudflare account ID (the dashboard shows it on the Workers & Pages overview)."
  type        = string
}

variable "name" {
  description = "Prefix of the D1 database names, <name>-<environment>, as in wrangler.toml."
  type        = string
  default     = "edge-chat"
}

variable "environments" {
  description = "The wrangler.toml environments that get a D1 database."
  type        = set(string)
  default     = ["staging", "production"]
}

variable "pages_project" {
  description = "Name of the Pages project (PAGES_PROJECT in the Makefile and the workflow)."
  type        = string
  default     = "edge-chat"
}

variable "site_hostname" {
  description = "Custom domain of the site, such as chat.example.com; empty to use only <project>.pages.dev."
  type        = string
  default     = ""
}

variable "zone_id" {
  description = "Zone ID of the domain of site_hostname (needed only with site_hostname)."
  type        = string
  default     = ""
}
