# The campaign of TestRebuildEqualsBuild: a send window, a question, a
# branch on its answer, a nudge to those who did not answer and a
# reminder template 20h after the offer. The provider's limits are the
# defaults (pair spacing 6s, no frequency cap); the test plans under
# others as well.
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
  start_at   = "2026-11-21T06:00:00Z"
  stop_at    = "2026-11-25T00:00:00Z"

  send_window {
    from      = "08:00"
    to        = "20:00"
    time_zone = "Africa/Dar_es_Salaam"
  }

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

  message "remind" {
    after     = message.offer
    delay     = "20h"
    template  = "remind"
    variables = { "1" = row.name }
  }

  message "nudge" {
    after = message.ask
    delay = "20h"
    when  = reply == null
    text  = "Still interested?"
  }
}
