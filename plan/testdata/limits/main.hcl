frequency_cap {
  max = 1
  per = "168h"
}

provider "briq" {
  daily_first_contacts = 3
  pair_spacing         = "6s"
}

recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}

campaign "welcome" {
  recipients = recipients.people

  message "hello" {
    template  = "hello"
    variables = { "1" = row.name }
  }

  message "tip" {
    after = message.hello
    delay = "2s"
    text  = "Reply HELP any time, ${row.name}."
  }
}

campaign "promo" {
  recipients = recipients.people

  message "offer" {
    template  = "offer"
    variables = { "1" = row.name }
  }
}

campaign "flash" {
  recipients = recipients.people
  stop_at    = "2026-11-23T00:00:00Z"

  message "sale" {
    template  = "sale"
    variables = { "1" = row.name }
  }
}
