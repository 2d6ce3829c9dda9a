# List menu: a template greeting, then a WhatsApp list message to pick from,
# then a thank-you that quotes the choice.

provider "briq" {}

recipients "members" {
  csv            = "members.csv"
  phone          = row.phone
  key            = row.member_id
  default_region = "TZ"
}

campaign "menu" {
  recipients = recipients.members

  message "hello" {
    template  = "menu_intro"
    variables = { "1" = coalesce(row.name, "rafiki") }
  }

  message "menu" {
    after = message.hello
    delay = "1m"
    interactive = {
      type   = "list"
      header = { type = "text", text = "Today's menu" }
      body   = { text = "Karibu ${coalesce(row.name, "rafiki")}! What would you like us to bring to ${row.branch}?" }
      footer = { text = "Reply within 24 hours" }
      action = {
        button = "See options"
        sections = [
          {
            title = "Drinks"
            rows = [
              { id = "chai", title = "Chai", description = "Spiced tea with milk" },
              { id = "kahawa", title = "Kahawa", description = "Black coffee, Kilimanjaro beans" },
            ]
          },
          {
            title = "Food"
            rows = [
              { id = "mandazi", title = "Mandazi", description = "Three fresh mandazi" },
              { id = "chipsi", title = "Chipsi mayai", description = "Chips omelette" },
            ]
          },
        ]
      }
    }
  }

  message "thanks" {
    after = message.menu
    when  = reply != null
    text  = "Asante! One ${reply.title} is on its way to ${row.branch}."
  }
}
