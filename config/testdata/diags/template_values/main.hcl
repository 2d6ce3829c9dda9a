# Template parameters WhatsApp refuses: line breaks, tabs, more than 4
# spaces in a row. Per recipient, with the CSV line; the first 10 are shown.
recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "launch" {
  recipients = recipients.customers

  message "hello" {
    template  = "welcome"
    variables = { "1" = row.name, "2" = "fine" }
  }

  message "note" {
    after     = message.hello
    template  = "note"
    variables = { "1" = "Hi ${row.name}" }
  }
}
