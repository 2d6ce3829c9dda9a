recipients "customers" {
  csv            = "customers.csv"
  phone          = row.phone
  key            = row.id
  default_region = "TZ"
}

recipients "by_phone" {
  csv            = "customers.csv"
  phone          = row.phone
  where          = row.id != ""
  default_region = "TZ"
}

recipients "customers" {
  csv   = "other.csv"
  phone = row.phone
}

campaign "welcome" {
  recipients = recipients.customers

  message "hello" {
    template = "welcome"
  }

  message "hello" {
    template = "welcome_again"
  }
}

campaign "welcome" {
  recipients = recipients.customers

  message "x" {
    template = "x"
  }
}

variable "a" {
  default = "1"
}

variable "a" {
  default = "2"
}
