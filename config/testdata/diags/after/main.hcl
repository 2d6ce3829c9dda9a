recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "flow" {
  recipients = recipients.customers

  message "offer" {
    template = "offer"
    delay    = "10m"
    when     = row.phone != ""
  }

  message "ping" {
    after = message.pong
    text  = "ping"
  }

  message "pong" {
    after = message.ping
    text  = "pong"
  }

  message "self" {
    after = message.self
    text  = "me again"
  }

  message "greeting" {
    template  = "greeting"
    variables = { "1" = reply.title }
  }

  message "wrong_after" {
    after = "offer"
    text  = "x"
  }

  message "other_campaign" {
    after = campaign.other.message.offer
    text  = "x"
  }

  message "bad_delay" {
    after = message.offer
    delay = "ten minutes"
    text  = "x"
  }

  message "negative_delay" {
    after = message.offer
    delay = "1d-2h"
    text  = "x"
  }
}
