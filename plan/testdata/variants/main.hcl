recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}

campaign "ab" {
  recipients = recipients.people
  holdout    = 0.2

  message "offer" {
    variant "short" {
      weight    = 1
      template  = "offer_short"
      variables = { "1" = row.name }
    }
    variant "long" {
      weight    = 1
      template  = "offer_long"
      variables = { "1" = row.name, "2" = "20%" }
    }
  }

  message "ask" {
    after = message.offer
    text  = variant == "short" ? "Want the code, ${row.name}?" : "Want your 20% code, ${row.name}?"
  }
}
