recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "menu" {
  recipients = recipients.customers

  message "hello" {
    template = "hello"
  }

  message "ask" {
    after = message.hello
    interactive = {
      type = "button"
      body = { text = "Want your code?" }
      action = {
        buttons = [
          { type = "reply", reply = { id = "yes", title = "Yes please" } },
          { type = "reply", reply = { id = "no", title = "No thanks" } },
        ]
      }
    }
  }

  # A typo on either side of ==, and in contains: errors with a suggestion.
  message "code" {
    after = message.ask
    when  = reply.id == "yse"
    text  = "Your code: BF-1."
  }

  message "sorry" {
    after = message.ask
    when  = "NO" != reply.id && reply.id != ""
    text  = "Maybe next time."
  }

  message "either" {
    after = message.ask
    when  = contains(["yes", "noo"], reply.id)
    text  = "Thanks for answering."
  }

  # A title compared in the wrong case, and one never offered.
  message "titled" {
    after = message.ask
    when  = reply.title == "Yes Please" || reply.title == "Sure"
    text  = "Thanks."
  }

  # Ids offered, and a text answer (""): fine.
  message "fine" {
    after = message.ask
    when  = reply.id == "yes" || reply.id == "no" || reply.id == ""
    text  = "Noted."
  }

  message "pick" {
    after = message.hello
    interactive = {
      type   = "list"
      body   = { text = "Pick a plan" }
      action = {
        button   = "Plans"
        sections = [{ title = "Plans", rows = [{ id = "plan-${row.plan}", title = "Yours" }, { id = "gold", title = "Gold" }] }]
      }
    }
  }

  # An id read from the row: the offered ids are not known, no check.
  message "picked" {
    after = message.pick
    when  = reply.id == "silver"
    text  = "Silver it is."
  }
}
