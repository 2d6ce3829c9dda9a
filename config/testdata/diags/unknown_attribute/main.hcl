recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  kee   = row.id
}

campaign "welcome" {
  recipients = recipients.customers
  start     = "2026-11-27T08:00:00+03:00"

  message "hello" {
    template  = "welcome"
    varibles  = { "1" = row.first_name }
  }
}
