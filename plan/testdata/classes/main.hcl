recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}

suppress "optouts" {
  csv   = "optouts.csv"
  phone = row.phone
}

campaign "promo" {
  recipients = recipients.people
  stop_at    = "2026-12-01T00:00:00Z"

  message "offer" {
    template  = "offer"
    variables = { "1" = row.name }
  }

  message "ask" {
    after = message.offer
    delay = "10m"
    interactive = {
      type = "button"
      body = { text = "Want a code, ${row.name}?" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "yes", title = "Yes" } },
          { type = "reply", reply = { id = "no", title = "No" } },
        ]
      }
    }
  }

  message "code" {
    after = message.ask
    when  = reply.id == "yes"
    text  = "Your code, ${row.name}: P-${upper(row.id)}"
  }

  message "nudge" {
    after = message.ask
    delay = "20h"
    when  = reply == null
    text  = "Still interested?"
  }
}
