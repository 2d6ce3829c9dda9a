variable "discount" {
  default = "20%"
}

locals {
  greeting = "Hi"
}

recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  where = row.opt_inn == "yes"
}

campaign "welcome" {
  recipients = recipients.customer

  message "hello" {
    template = "welcome"
  }
}

campaign "again" {
  recipients = recipients.customers

  message "hello" {
    template  = "welcome"
    variables = { "1" = row.frist_name, "2" = var.discont, "3" = local.greting }
  }

  message "more" {
    after = message.helo
    text  = "${nothing.here} ${recipient.name} ${reply.idd}"
  }
}
