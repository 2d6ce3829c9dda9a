# Journeys whose names and conditions need escaping in DOT and Mermaid:
# hyphens, quotes, backslashes, <, >, &, |, # and names Mermaid reads as
# keywords or edge ends (end, o..., x...).

recipients "people" {
  csv   = "people.csv"
  phone = row.phone
  key   = row.id
}

campaign "spring-sale" {
  recipients = recipients.people

  message "hello-1" {
    template  = "spring_hi"
    variables = { "1" = row.name }
  }

  message "pick" {
    after = message.hello-1
    delay = "1d12h"
    interactive = {
      type   = "button"
      body   = { text = "Which one?" }
      action = { buttons = [
        { type = "reply", reply = { id = "a\"b", title = "A" } },
        { type = "reply", reply = { id = "x|y", title = "X" } },
      ] }
    }
  }

  message "x_ray" {
    after = message.pick
    when  = reply.id == "a\"b" || reply.text == "#1 <ok> & \\ `tick`"
    text  = "Thanks!"
  }

  message "o_k" {
    after = message.pick
    when  = reply.id == "x|y"
    media {
      kind = "IMAGE"
      url  = "https://example.com/a.png"
    }
  }
}

campaign "end" {
  recipients = recipients.people

  message "end" {
    template = "bye"
  }

  message "second" {
    template = "bye_again"
  }

  message "later" {
    after = message.end
    delay = "30s"
    text  = "One more thing."
  }
}
