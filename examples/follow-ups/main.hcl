# Follow-ups: a template, then a button question in the same conversation,
# then a branch on the answer and a nudge for those who did not answer.

variable "discount" {
  type    = string
  default = "25%"
}

provider "briq" {
  rate  = 10
  burst = 1
}

recipients "customers" {
  csv            = "customers.csv"
  phone          = row.phone
  key            = row.customer_id
  where          = row.opt_in == "yes"
  default_region = "TZ"
}

suppress "optouts" {
  csv            = "optouts.csv"
  phone          = row.phone
  default_region = "TZ"
}

campaign "black_friday" {
  recipients = recipients.customers
  start_at   = "2026-11-27T08:00:00+03:00"
  stop_at    = "2026-11-30T20:00:00+03:00"

  send_window {
    from      = "09:00"
    to        = "19:00"
    time_zone = "Africa/Dar_es_Salaam"
  }

  # First contact: always an approved template.
  message "offer" {
    template = "bf_offer_2026"
    variables = {
      "1" = coalesce(row.first_name, "there")
      "2" = var.discount
    }
  }

  # Ten minutes later, in the same conversation: a yes/no question.
  message "ask" {
    after = message.offer
    delay = "10m"
    interactive = {
      type = "button"
      body = { text = "Hi ${coalesce(row.first_name, "there")}, want your ${var.discount} code?" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "yes", title = "Yes please" } },
          { type = "reply", reply = { id = "no", title = "No thanks" } },
        ]
      }
    }
  }

  # Those who tapped "Yes please" get their code.
  message "code" {
    after = message.ask
    when  = reply.id == "yes"
    text  = "Your code: BF-${upper(row.code)}. Valid until Sunday."
  }

  # Those who have not answered four hours later get one reminder, well inside
  # the 24h window the offer opened. (A 20h delay would fall in the night, be
  # held for the send window and meet the window's close the next morning.)
  message "nudge" {
    after = message.ask
    delay = "4h"
    when  = reply == null
    text  = "Still interested in ${var.discount} off? Tap \"Yes please\" above."
  }
}
