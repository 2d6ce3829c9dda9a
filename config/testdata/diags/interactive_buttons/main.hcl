recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
  key   = row.id
}

campaign "buttons" {
  recipients = recipients.customers

  message "offer" {
    template = "offer"
  }

  message "too_many" {
    after = message.offer
    interactive = {
      type   = "button"
      header = { type = "text", text = "A header that is far longer than the sixty characters WhatsApp allows" }
      body   = { text = "Pick one" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "a", title = "Yes" } },
          { type = "reply", reply = { id = "a", title = "Yes" } },
          { type = "reply", reply = { id = "c", title = "This title is way too long" } },
          { type = "url", reply = { id = "", title = "" } },
        ]
      }
    }
  }

  message "no_body" {
    after = message.offer
    interactive = {
      type   = "button"
      footer = { text = 42 }
      action = { buttons = [] }
    }
  }

  message "per_row" {
    after = message.offer
    interactive = {
      type   = "button"
      body   = { text = "Choose" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "yes", title = row.yes } },
          { type = "reply", reply = { id = "no", title = "No" } },
        ]
      }
    }
  }

  message "wrong_type" {
    after       = message.offer
    interactive = { type = "buton", body = { text = "x" } }
  }

  message "not_object" {
    after       = message.offer
    interactive = "buttons please"
  }
}
