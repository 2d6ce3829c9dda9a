# A/B test: two versions of an offer, each to half of the customers, and a
# control group of 10% who get nothing, so the report can say which version
# gets more answers, and whether the campaign moves anyone at all.
#
#   ujumbe validate                            # checks both variants for everyone
#   ujumbe plan -sandbox                       # counts per variant and the holdout
#   ujumbe apply -sandbox -auto-approve -wait  # rehearse it against the sandbox
#   ujumbe show -sandbox                       # the funnel per variant

variable "discount" {
  type    = string
  default = "20%"
}

provider "briq" {
  rate  = 10
  burst = 1
}

recipients "customers" {
  csv            = "customers.csv"
  phone          = row.phone
  key            = row.customer_id
  default_region = "TZ"
}

campaign "spring_sale" {
  recipients = recipients.customers
  start_at   = "2026-11-20T09:00:00+03:00"
  stop_at    = "2026-11-22T20:00:00+03:00"

  # 10% of the customers, picked by a stable hash of the campaign and their
  # key, get nothing: the control group the report compares against.
  holdout = 0.1

  send_window {
    from      = "09:00"
    to        = "19:00"
    time_zone = "Africa/Dar_es_Salaam"
  }

  # Each remaining customer is assigned one variant, by a stable hash of the
  # campaign and their key, in proportion to the weights; the plan shows how
  # many each gets, and the state records which one each was sent.
  message "offer" {
    variant "short" {
      weight    = 50
      template  = "spring_offer_short"
      variables = { "1" = row.first_name }
    }
    variant "long" {
      weight    = 50
      template  = "spring_offer_long"
      variables = { "1" = row.first_name, "2" = var.discount }
    }
  }

  # Later messages read the assigned variant's name as variant.
  message "ask" {
    after = message.offer
    delay = "5m"
    interactive = {
      type = "button"
      body = { text = variant == "short" ? "Want the code, ${row.first_name}?" : "Want your ${var.discount} code, ${row.first_name}?" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "yes", title = "Yes please" } },
          { type = "reply", reply = { id = "no", title = "No thanks" } },
        ]
      }
    }
  }

  message "code" {
    after = message.ask
    when  = reply.id == "yes"
    text  = "Your code: SPRING-${upper(variant)}-${row.customer_id}"
  }
}
