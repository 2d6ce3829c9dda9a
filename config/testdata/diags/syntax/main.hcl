campaign "broken" {
  recipients = recipients.customers
  message "offer" {
    template = "offer
  }
