# validate checks every variant for every recipient: only the long variant
# reads name, which k2 lacks, and only the follow-up for long is too long.
recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  key   = row.id
}

campaign "ab" {
  recipients = recipients.customers

  message "offer" {
    variant "short" {
      weight   = 1
      template = "offer_short"
    }
    variant "long" {
      weight    = 1
      template  = "offer_long"
      variables = { "1" = row.name }
    }
  }

  message "ask" {
    after = message.offer
    text  = variant == "long" ? format("%5000s", row.id) : "Want it?"
  }
}
