variable "code" {
  type      = string
  default   = "SECRET-123"
  sensitive = true
}

recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  key   = "${row.phone}-${var.code}"
}

campaign "c" {
  recipients = recipients.customers

  message "offer" {
    template = "offer"
  }

  message "code" {
    after = message.offer
    text  = "Your code is ${var.code}"
  }

  message "list" {
    after = message.offer
    interactive = {
      type   = "button"
      body   = { text = "Code ${var.code} for ${row.phone}" }
      action = { buttons = [{ type = "reply", reply = { id = "ok", title = "OK" } }] }
    }
  }
}
