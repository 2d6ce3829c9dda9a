locals {
  long = join("", [for i in range(1000) : "xxxxx"])
}

recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  key   = row.id
}

campaign "long" {
  recipients = recipients.customers

  message "template" {
    template = substr(local.long, 0, 513)
  }

  message "text" {
    after = message.template
    text  = local.long
  }

  message "caption" {
    after = message.template
    media {
      kind     = "DOCUMENT"
      url      = "https://example.com/menu.pdf"
      caption  = substr(local.long, 0, 1025)
      filename = "${substr(local.long, 0, 300)}.pdf"
    }
  }

  message "per_row" {
    after = message.template
    text  = "Hi ${row.note}"
  }

  message "empty" {
    after = message.template
    text  = row.empty
  }
}
