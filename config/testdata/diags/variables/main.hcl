variable "discount" {
  type = string
}

variable "count" {
  type    = number
  default = "many"
}

variable "api_key" {
  type      = string
  sensitive = true
  default   = "secret-key"
}

variable "bad type" {
  type = strng
}

provider "briq" {
  api_key = var.api_key
}

recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "c" {
  recipients = recipients.customers

  message "offer" {
    template  = "offer"
    variables = { "1" = var.api_key }
  }
}
